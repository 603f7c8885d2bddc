// `embedding_store`: keeps what `embed` made of each clip in the RocksDB database of the clips
// (storage/embedding_store.h): per clip and space (video_va, audio_va, video_vt, text_vt, optionally the
// backbones' AGG features) one vector keyed (model, space, source, clip), one atomic write per batch; the
// clip's metadata and texts go to the clip store too (a store filled from video files can then show a
// result's source, times and transcript). At the end, one vector per video and space: the mean of its clips,
// or of `video_clips` uniformly spaced ones, re-normalised.
//
//   --in(embeddings)--> embedding_store        errors: batches that could not be written
//
// Serial (one writer). Re-embedding the same clips with the same model adds nothing; after kill -9 the same
// command adds exactly what is missing.
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <set>

#include "nodes/media/decoder.h"
#include "nodes/media/ids.h"
#include "nodes/register_all.h"
#include "nodes/train/embedding.h"
#include "storage/clip_store.h"
#include "storage/embedding_store.h"

namespace vatt::nodes {
namespace {

using storage::EmbeddingStore;
using storage::Space;

/// Identifies a clip's content: the source's fingerprint and the decode options that cut it.
uint64_t content_id(const storage::ClipRecord& r) {
  return fnv1a64(r.options_digest, fnv1a64(r.fingerprint));
}

class EmbeddingStoreNode final : public pipeline::Node {
 public:
  explicit EmbeddingStoreNode(const pipeline::NodeConfig& cfg)
      : id_(cfg.id),
        path_(cfg.options.get_string("db")),
        features_(cfg.options.get_bool("features")),
        clips_(cfg.options.get_bool("store_clips")),
        video_clips_(static_cast<int>(cfg.options.get_int("video_clips"))),
        sync_(cfg.options.get_bool("sync")) {}

  void open() override { store_ = storage::ClipStore::open_shared(path_); }

  void process(int, const pipeline::Message& in, pipeline::Emitter&) override {
    const auto& b = in.as<EmbeddingBatch>();
    if (!b.model) throw std::invalid_argument("embeddings without a model: connect embed.out to this node");
    std::lock_guard<std::mutex> lk(mu_);
    if (!writer_ || writer_->record().id != b.model->id) {
      if (writer_) writer_->commit(sync_);
      storage::ModelRecord info;
      info.id = b.model->id;
      info.checkpoint = b.model->checkpoint;
      info.step = b.model->step;
      info.config_name = b.model->config_name;
      info.config = b.model->config;
      info.video_clips = video_clips_;
      embeddings_ = std::make_unique<EmbeddingStore>(store_->db());
      writer_ = std::make_unique<EmbeddingStore::Writer>(*embeddings_, info);
    }
    for (const auto& e : b.items) {
      if (!e.record) throw std::invalid_argument("embedded clip without its record");
      const auto& r = *e.record;
      if (clips_) store_->put(r, nullptr, sync_);
      const uint64_t content = content_id(r);
      storage::Entry entry{e.source_id, e.clip_index, e.start_us, e.end_us, false, r.split};
      bool added = false;
      auto put = [&](Space s, const std::vector<float>& v) {
        if (v.empty()) return;
        added |= writer_->add(s, e.source_id, e.clip_index, content, entry, v.data(), v.size()) !=
                 EmbeddingStore::Writer::Result::Skipped;
      };
      put(Space::VideoVA, e.video_va);
      if (e.has_audio) put(Space::AudioVA, e.audio_va);
      put(Space::VideoVT, e.video_vt);
      if (e.has_text) put(Space::TextVT, e.text_vt);
      if (features_) {
        put(Space::VideoFeature, e.video_feature);
        if (e.has_audio) put(Space::AudioFeature, e.audio_feature);
      }
      (added ? added_ : skipped_).fetch_add(1);
      sources_.insert(e.source_id);
    }
    writer_->commit(sync_);
  }

  void flush(pipeline::Emitter&) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (!writer_) return;
    const uint64_t model = writer_->record().id;
    size_t pending = 0;
    for (uint64_t source : sources_) {
      bool changed = false;
      for (auto [clip_space, video_space] :
           {std::pair{Space::VideoVA, Space::VideoVAMean}, std::pair{Space::AudioVA, Space::AudioVAMean},
            std::pair{Space::VideoVT, Space::VideoVTMean}}) {
        std::vector<storage::StoredVector> vs;
        embeddings_->scan_vectors(model, clip_space, source,
                                  [&](uint64_t, uint64_t, const storage::StoredVector& v) {
                                    vs.push_back(v);
                                    return true;
                                  });
        if (vs.empty()) continue;
        // K uniformly spaced clips (the centres of K equal parts of the video), or all of them.
        std::vector<size_t> pick;
        const size_t n = vs.size(), k = video_clips_ > 0 ? static_cast<size_t>(video_clips_) : n;
        if (k >= n) {
          for (size_t i = 0; i < n; ++i) pick.push_back(i);
        } else {
          for (size_t i = 0; i < k; ++i) pick.push_back(std::min(n - 1, (2 * i + 1) * n / (2 * k)));
        }
        std::vector<float> mean(vs[0].v.size(), 0.0f);
        uint64_t content = fnv1a64(std::to_string(pick.size()));
        for (size_t i : pick) {
          for (size_t d = 0; d < mean.size(); ++d) mean[d] += vs[i].v[d];
          content = fnv1a64(std::to_string(vs[i].seq) + ":" + std::to_string(vs[i].fingerprint), content);
        }
        double norm = 0;
        for (float x : mean) norm += static_cast<double>(x) * x;
        norm = std::sqrt(norm);
        if (norm > 0)
          for (float& x : mean) x = static_cast<float>(x / norm);
        auto first = embeddings_->entry_at(model, clip_space, vs[pick.front()].seq);
        auto last = embeddings_->entry_at(model, clip_space, vs[pick.back()].seq);
        storage::Entry entry{source,
                             0,
                             first ? first->start_us : 0,
                             last ? last->end_us : 0,
                             false,
                             first ? first->split : std::string()};
        if (writer_->add(video_space, source, 0, content, entry, mean.data(), mean.size()) !=
            EmbeddingStore::Writer::Result::Skipped)
          changed = true;
        if (++pending >= 256) {
          writer_->commit(sync_);
          pending = 0;
        }
      }
      if (changed) ++videos_;
    }
    writer_->commit(sync_);
    const auto& rec = writer_->record();
    spdlog::info(
        "{}: model {} ({} after {} steps): {} clip(s) added, {} already stored; {} per-video "
        "vector(s) updated; the store holds {} clips and {} videos of this model, in {}",
        id_, storage::hex_id(rec.id), rec.config_name, rec.step, added_.load(), skipped_.load(), videos_,
        rec.clips(), rec.videos(), path_);
  }

  void close() override {
    std::lock_guard<std::mutex> lk(mu_);
    writer_.reset();
    embeddings_.reset();
    store_.reset();
  }

  std::map<std::string, double> gauges() const override {
    return {{"added", static_cast<double>(added_.load())},
            {"skipped", static_cast<double>(skipped_.load())},
            {"videos", static_cast<double>(videos_)}};
  }

 private:
  std::string id_, path_;
  bool features_, clips_;
  int video_clips_;
  bool sync_;
  std::mutex mu_;
  std::shared_ptr<storage::ClipStore> store_;
  std::unique_ptr<EmbeddingStore> embeddings_;
  std::unique_ptr<EmbeddingStore::Writer> writer_;
  std::set<uint64_t> sources_;
  std::atomic<uint64_t> added_{0}, skipped_{0};
  std::atomic<uint64_t> videos_{0};
};

}  // namespace

void register_embedding_store(pipeline::Registry& registry) {
  using pipeline::OptionType;
  pipeline::NodeContract c;
  c.type = "embedding_store";
  c.doc =
      "keeps each clip's embeddings (and per-video means) in the RocksDB store; re-embedding adds nothing";
  c.inputs = {{"in", "embeddings", "embedded clips from embed"}};
  c.options = {
      pipeline::required_option("db", OptionType::String,
                                "database folder (the clip store; created if missing)"),
      pipeline::bool_option("features", false, "also keep the backbones' AGG features (for linear probes)"),
      pipeline::bool_option(
          "store_clips", true,
          "also store each clip's metadata and texts in the clip store (skipped when there)"),
      pipeline::int_option("video_clips", 0,
                           "clips averaged into each video's vector: K uniformly spaced ones (0 = all)", 0),
      pipeline::bool_option("sync", false, "fsync each batch's write (survives power loss, slower)"),
  };
  c.progress_gauges = {"added", "skipped"};
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<EmbeddingStoreNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
