// vatt search: nearest clips of a store to a typed text, a video or audio file, or a stored clip; and
// vatt models: the models whose embeddings a store holds.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "nodes/media/decoder.h"
#include "nodes/media/ids.h"
#include "nodes/train/query_encoder.h"
#include "storage/clip_store.h"
#include "storage/embedding_store.h"
#include "storage/vector_index.h"
#include "tools/vatt/cli_common.h"

namespace vatt::cli {

namespace {

using storage::Space;

/// The model of the store named by a (prefix of a) hex id, or the latest; nullopt with a message printed.
std::optional<storage::ModelRecord> pick_model(const storage::EmbeddingStore& es, const std::string& want,
                                               const std::string& db) {
  auto models = es.models();
  if (models.empty()) {
    std::fprintf(stderr, "vatt: %s holds no embeddings yet (fill it with graphs/embed.yaml)\n", db.c_str());
    return std::nullopt;
  }
  if (want.empty()) return models.back();
  std::vector<storage::ModelRecord> hits;
  for (const auto& m : models)
    if (storage::hex_id(m.id).rfind(want, 0) == 0) hits.push_back(m);
  if (hits.size() == 1) return hits[0];
  std::string list;
  for (const auto& m : models) list += " " + storage::hex_id(m.id);
  std::fprintf(stderr, "vatt: --model %s %s in %s (models:%s)\n", want.c_str(),
               hits.empty() ? "is not" : "names more than one model", db.c_str(), list.c_str());
  return std::nullopt;
}

bool open_store_checked(const std::string& db) {
  if (!storage::ClipStore::exists_at(db)) {
    std::fprintf(stderr, "vatt: --db %s: no such database (expected a folder written by vatt)\n", db.c_str());
    return false;
  }
  return true;
}

}  // namespace

int cmd_models(const Args& args) {
  po::options_description opts("vatt models options");
  std::string db;
  opts.add_options()("db", po::value(&db)->required(), "database folder")(
      "json", "one JSON object per model: model, checkpoint, step, config, clips, videos, spaces");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc =
          parse_args(args,
                     "usage: vatt models --db DIR [--json]\n"
                     "Lists the models whose embeddings the store holds (the latest last: the default of "
                     "vatt search).",
                     opts, pos, vm))
    return *rc;
  if (!open_store_checked(db)) return 2;
  try {
    storage::ClipStore store(db, storage::Access::ReadOnly);
    storage::EmbeddingStore es(store.db());
    const auto models = es.models();
    if (models.empty() && !vm.count("json"))
      std::fprintf(stderr, "%s holds no embeddings yet (fill it with graphs/embed.yaml)\n", db.c_str());
    for (const auto& m : models) {
      if (vm.count("json")) {
        nlohmann::json spaces = nlohmann::json::object();
        for (const auto& [s, i] : m.spaces)
          spaces[storage::space_name(s)] = {{"dim", i.dim}, {"vectors", i.count - i.dead}};
        nlohmann::json j = {{"model", storage::hex_id(m.id)},
                            {"checkpoint", m.checkpoint},
                            {"step", m.step},
                            {"config", m.config_name},
                            {"clips", m.clips()},
                            {"videos", m.videos()},
                            {"video_clips", m.video_clips},
                            {"spaces", spaces}};
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::printf("%s  %-6s step %-8lld %8llu clips %6llu videos  %s\n", storage::hex_id(m.id).c_str(),
                    m.config_name.c_str(), static_cast<long long>(m.step),
                    static_cast<unsigned long long>(m.clips()), static_cast<unsigned long long>(m.videos()),
                    m.checkpoint.c_str());
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt: %s\n", e.what());
    return 1;
  }
  return 0;
}

int cmd_search(const Args& args) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  po::options_description opts("vatt search options");
  std::string db, text, video, audio, clip, space_arg, source, split, model_arg, checkpoint, kind = "auto";
  int k = 10, threads = 0, ef_search = 64, nprobe = 16, repeat = 0;
  double after = -1, before = -1;
  opts.add_options()("db", po::value(&db)->required(), "database folder (clips + embeddings)")(
      "text", po::value(&text), "query: a typed text (video-text space)")(
      "video", po::value(&video), "query: a video file (its clips averaged)")(
      "audio", po::value(&audio), "query: an audio (or video) file's sound (video-audio space)")(
      "clip", po::value(&clip), "query: a stored clip, SOURCE:INDEX (SOURCE = URI, path or hex source id)")(
      "space", po::value(&space_arg), "vt or va (default: vt for text, video and clips; va for audio)")(
      ",k", po::value(&k)->default_value(10), "results")("per-video", "the best clip of each video only")(
      "source", po::value(&source), "only sources whose URI starts with this (a path is made a file:// URI)")(
      "split", po::value(&split), "only clips of this dataset split")(
      "after", po::value(&after), "only clips starting at or after this time (seconds)")(
      "before", po::value(&before), "only clips ending at or before this time (seconds)")(
      "model", po::value(&model_arg), "model id (or a unique prefix; default: the store's latest)")(
      "checkpoint", po::value(&checkpoint),
      "encode the query with this checkpoint (default: the one the model was embedded with)")(
      "index", po::value(&kind)->default_value("auto"), "auto, flat, hnsw, ivf or ivfpq")(
      "ef-search", po::value(&ef_search)->default_value(64), "hnsw: candidates per query")(
      "nprobe", po::value(&nprobe)->default_value(16), "ivf: lists visited per query")(
      "threads", po::value(&threads)->default_value(0), "LibTorch threads for encoding the query (0 = all)")(
      "repeat", po::value(&repeat)->default_value(0),
      "benchmark: encode and search the query N more times in this process; print p50/p99 latency")(
      "json", "one JSON object per result: rank, score, source, clip, start, end, text, model");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc =
          parse_args(args,
                     "usage: vatt search --db DIR (--text \"...\" | --video FILE | --audio FILE | --clip "
                     "SOURCE:INDEX) [-k N] [--space vt|va] [--per-video] [filters] [--json]\n"
                     "Finds the stored clips nearest to the query (cosine similarity).",
                     opts, pos, vm))
    return *rc;
  const int queries = !text.empty() + !video.empty() + !audio.empty() + !clip.empty();
  if (queries != 1) {
    std::fprintf(stderr, "vatt: give exactly one query: --text, --video, --audio or --clip\n");
    return 2;
  }
  if (k < 1) {
    std::fprintf(stderr, "vatt: -k must be at least 1\n");
    return 2;
  }
  if (space_arg.empty()) space_arg = audio.empty() ? "vt" : "va";
  if (space_arg != "vt" && space_arg != "va") {
    std::fprintf(stderr, "vatt: --space %s: expected vt or va\n", space_arg.c_str());
    return 2;
  }
  const bool vt = space_arg == "vt";
  if (!text.empty() && !vt) {
    std::fprintf(stderr, "vatt: a text query lives in the video-text space: --space vt\n");
    return 2;
  }
  if (!audio.empty() && vt) {
    std::fprintf(stderr, "vatt: an audio query lives in the video-audio space: --space va\n");
    return 2;
  }
  for (const auto* f : {&video, &audio})
    if (!f->empty() && !std::filesystem::is_regular_file(*f)) {
      std::fprintf(stderr, "vatt: query file %s does not exist\n", f->c_str());
      return 2;
    }
  if (!open_store_checked(db)) return 2;
  const Space gallery = vt ? Space::VideoVT : Space::VideoVA;
  const bool as_json = vm.count("json") != 0;
  try {
    auto store = storage::ClipStore::open_shared(db, storage::Access::ReadOnly);
    storage::EmbeddingStore es(store->db());
    const auto sources = store->sources();  // read once: the --clip lookup, --source and the results
    auto model = pick_model(es, model_arg, db);
    if (!model) return 2;
    const std::string model_hex = storage::hex_id(model->id);
    auto sp = model->spaces.find(gallery);
    if (sp == model->spaces.end() || sp->second.count == sp->second.dead) {
      std::fprintf(stderr, "vatt: model %s has no %s vectors in %s: nothing to search\n", model_hex.c_str(),
                   storage::space_name(gallery), db.c_str());
      return 1;
    }
    // The query vector.
    std::vector<float> q;
    storage::SearchFilter filter;
    std::unique_ptr<nodes::QueryEncoder> encoder;
    if (!clip.empty()) {
      const auto colon = clip.rfind(':');
      uint64_t index = 0;
      if (colon == std::string::npos || colon + 1 >= clip.size() ||
          clip.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
        std::fprintf(stderr, "vatt: --clip %s: expected SOURCE:INDEX (e.g. /data/a.webm:3)\n", clip.c_str());
        return 2;
      }
      index = std::stoull(clip.substr(colon + 1));
      const std::string src = clip.substr(0, colon);
      std::optional<uint64_t> source_id;
      const std::string uri = nodes::to_uri(src);
      for (const auto& s : sources)
        if (s.uri == src || s.uri == uri || storage::hex_id(s.source_id) == src) source_id = s.source_id;
      if (!source_id) {
        std::fprintf(stderr, "vatt: --clip: no source %s in %s\n", src.c_str(), db.c_str());
        return 2;
      }
      auto v = es.get(model->id, gallery, *source_id, index);
      if (!v) {
        std::fprintf(stderr, "vatt: --clip: clip %llu of %s has no %s vector of model %s\n",
                     static_cast<unsigned long long>(index), src.c_str(), storage::space_name(gallery),
                     model_hex.c_str());
        return 2;
      }
      q = std::move(v->v);
      filter.exclude = std::make_pair(*source_id, index);
    } else {
      // The model's weights: a weights-only copy kept beside the index (written at the first query; a
      // training checkpoint also carries the optimiser state, 3x the bytes), else the checkpoint.
      const std::string ckpt = checkpoint.empty() ? model->checkpoint : checkpoint;
      const std::string cache = storage::index_dir_for(db) + "/" + model_hex + ".safetensors";
      std::error_code ec;
      bool from_cache = checkpoint.empty() && std::filesystem::exists(cache, ec);
      if (from_cache) {
        try {
          encoder = std::make_unique<nodes::QueryEncoder>(cache, threads);
          if (encoder->model_id() != model->id) encoder.reset();
        } catch (const std::exception&) {
          encoder.reset();
        }
        if (!encoder) {
          spdlog::warn("search: {} holds other or damaged weights; reading {} instead", cache, ckpt);
          std::filesystem::remove(cache, ec);
          from_cache = false;
        }
      }
      if (!encoder) {
        if (!std::filesystem::exists(ckpt, ec)) {
          std::fprintf(stderr,
                       "vatt: the checkpoint of model %s, %s, is gone: give --checkpoint FILE to encode the "
                       "query\n",
                       model_hex.c_str(), ckpt.c_str());
          return 2;
        }
        encoder = std::make_unique<nodes::QueryEncoder>(ckpt, threads);
      }
      auto& enc = *encoder;
      if (enc.model_id() != model->id) {
        std::fprintf(stderr, "vatt: %s holds other weights (model %s) than model %s of the store\n",
                     enc.checkpoint().c_str(), storage::hex_id(enc.model_id()).c_str(), model_hex.c_str());
        return 2;
      }
      if (!from_cache) {
        try {
          std::filesystem::create_directories(storage::index_dir_for(db), ec);
          enc.save_weights(cache);
        } catch (const std::exception& e) {
          spdlog::warn("search: cannot keep the model's weights in {}: {}", cache, e.what());
        }
      }
      try {
        if (!text.empty()) {
          auto t = enc.text(text);
          if (!t.unknown.empty()) {
            std::string list;
            for (const auto& w : t.unknown) list += (list.empty() ? "" : ", ") + w;
            std::fprintf(stderr, "vatt: not in the model's vocabulary (searched as <unk>): %s\n",
                         list.c_str());
          }
          q = std::move(t.vector);
        } else if (!video.empty()) {
          q = enc.file(video, gallery);
        } else {
          q = enc.file(audio, Space::AudioVA);
        }
      } catch (const nodes::QueryError& e) {
        std::fprintf(stderr, "vatt: %s\n", e.what());
        return text.empty() ? 1 : 2;
      }
    }
    // Filters.
    if (!source.empty()) {
      const std::string uri_prefix = source.find("://") == std::string::npos ? nodes::to_uri(source) : source;
      std::unordered_set<uint64_t> allowed;
      for (const auto& s : sources)
        if (s.uri.rfind(source, 0) == 0 || s.uri.rfind(uri_prefix, 0) == 0) allowed.insert(s.source_id);
      filter.sources = std::move(allowed);
    }
    filter.split = split;
    if (vm.count("after")) filter.after_us = static_cast<int64_t>(after * 1e6);
    if (vm.count("before")) filter.before_us = static_cast<int64_t>(before * 1e6);

    storage::IndexOptions io;
    io.kind = kind;
    io.ef_search = ef_search;
    io.nprobe = nprobe;
    storage::VectorIndex index(store->db(), model->id, gallery, io);
    const auto& st = index.status();
    if (st.rebuilt)
      spdlog::info("index: built {} over {} vectors in {:.0f} ms ({})", st.kind, index.size(), st.build_ms,
                   st.reason);
    else if (st.caught_up)
      spdlog::info("index: {} caught up with {} new vectors", st.kind, st.caught_up);
    const auto t1 = Clock::now();
    auto hits = index.search(q.data(), q.size(), k, filter, vm.count("per-video") != 0);
    const double search_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();

    std::map<uint64_t, std::string> uris;
    for (const auto& s : sources) uris[s.source_id] = s.uri;
    int rank = 0;
    if (!as_json && !hits.empty())
      std::printf("%4s  %7s  %-44s %4s  %15s  %s\n", "rank", "score", "source", "clip", "time (s)", "text");
    for (const auto& h : hits) {
      ++rank;
      auto rec = store->get(h.source, h.clip);
      const std::string t = rec && rec->has_text() ? rec->text[0].text : "";
      const std::string uri = uris.count(h.source) ? uris[h.source] : storage::hex_id(h.source);
      if (as_json) {
        nlohmann::json j = {{"rank", rank},   {"score", h.score},          {"source", uri},
                            {"clip", h.clip}, {"start", h.start_us / 1e6}, {"end", h.end_us / 1e6},
                            {"text", t},      {"model", model_hex}};
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::string shown = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
        if (shown.size() > 44) shown = "..." + shown.substr(shown.size() - 41);
        std::printf("%4d  %7.4f  %-44s %4llu  %7.2f-%7.2f  %s\n", rank, h.score, shown.c_str(),
                    static_cast<unsigned long long>(h.clip), h.start_us / 1e6, h.end_us / 1e6, t.c_str());
      }
    }
    const double total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (repeat > 0) {
      // In-process latency of a query (what a running service pays): text encoding (or file decoding and
      // encoding) plus the index search, `repeat` times.
      std::vector<double> ms;
      for (int i = 0; i < repeat; ++i) {
        const auto a = Clock::now();
        std::vector<float> qq = q;
        if (encoder && !text.empty()) qq = encoder->text(text).vector;
        if (encoder && !video.empty()) qq = encoder->file(video, gallery);
        if (encoder && !audio.empty()) qq = encoder->file(audio, Space::AudioVA);
        auto again = index.search(qq.data(), qq.size(), k, filter, vm.count("per-video") != 0);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
        if (again.size() != hits.size()) throw std::runtime_error("a repeated query gave other results");
      }
      std::sort(ms.begin(), ms.end());
      std::fprintf(stderr,
                   "repeat %d: query in process (encoding + search) p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                   repeat, ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.back());
    }
    if (!as_json)
      std::fprintf(stderr, "%d result(s) of %llu clips; model %s, %s index, search %.2f ms, %.0f ms in all\n",
                   rank, static_cast<unsigned long long>(index.live()), model_hex.c_str(), st.kind.c_str(),
                   search_ms, total_ms);
    if (hits.empty() && !as_json) std::fprintf(stderr, "no clip matches the filters\n");
  } catch (const nodes::QueryError& e) {
    std::fprintf(stderr, "vatt: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace vatt::cli
