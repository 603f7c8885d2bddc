// vatt clips: lists and inspects the clips an ingest stored (one line or one JSON object per clip).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "storage/clip_store.h"
#include "tools/vatt/cli_common.h"

namespace vatt::cli {

int cmd_clips(const Args& args) {
  po::options_description opts("vatt clips options");
  std::string db, source;
  opts.add_options()("db", po::value(&db)->required(), "clip store (database folder)")(
      "source", po::value(&source),
      "only clips of sources whose URI contains this (or whose id is this, hex)")(
      "json",
      "one JSON object per clip: source, source_id, clip, start, end (seconds), has_video, has_audio, "
      "has_text, text, candidates, labels, split, captions");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_args(args,
                           "usage: vatt clips --db PATH [--source S] [--json]\n"
                           "Lists the clips stored by an ingest (graphs/ingest.yaml).",
                           opts, pos, vm))
    return *rc;
  if (!std::filesystem::is_directory(db)) {
    std::fprintf(stderr, "vatt: --db %s: no such database folder\n", db.c_str());
    return 2;
  }
  const bool as_json = vm.count("json") != 0;
  try {
    storage::ClipStore store(db, storage::Access::ReadOnly);
    char idbuf[17];
    uint64_t n = 0;
    auto sources = store.sources();
    std::sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) { return a.uri < b.uri; });
    for (const auto& src : sources) {
      std::snprintf(idbuf, sizeof idbuf, "%016llx", static_cast<unsigned long long>(src.source_id));
      if (!source.empty() && src.uri.find(source) == std::string::npos && source != idbuf) continue;
      store.scan(src.source_id, [&](const storage::ClipRecord& c) {
        ++n;
        const std::string own = c.has_text() ? c.text[0].text : "";
        if (as_json) {
          nlohmann::json cands = nlohmann::json::array();
          for (const auto& t : c.text)
            cands.push_back({{"start", t.start_us / 1e6}, {"end", t.end_us / 1e6}, {"text", t.text}});
          nlohmann::json j = {
              {"source", c.uri},           {"source_id", idbuf},       {"clip", c.clip_index},
              {"start", c.start_us / 1e6}, {"end", c.end_us / 1e6},    {"has_video", c.has_video},
              {"has_audio", c.has_audio},  {"has_text", c.has_text()}, {"text", own},
              {"candidates", cands},       {"labels", c.labels},       {"split", c.split},
              {"captions", c.captions}};
          std::printf("%s\n", j.dump().c_str());
        } else {
          std::string labels;
          for (const auto& l : c.labels) labels += (labels.empty() ? "" : ",") + l;
          std::printf("%s #%llu %8.3f-%8.3f s  %s%s%s  %s%s%s\n", c.uri.c_str(),
                      static_cast<unsigned long long>(c.clip_index), c.start_us / 1e6, c.end_us / 1e6,
                      c.has_video ? "V" : "-", c.has_audio ? "A" : "-", c.has_text() ? "T" : "-",
                      labels.empty() ? "" : ("[" + labels + "] ").c_str(), own.empty() ? "" : "\"",
                      own.empty() ? "" : (own + "\"").c_str());
        }
        return true;
      });
    }
    if (!as_json) std::fprintf(stderr, "%llu clip(s)\n", static_cast<unsigned long long>(n));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace vatt::cli
