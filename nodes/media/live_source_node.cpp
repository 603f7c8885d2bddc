// `live_source`: the clips of live sources (live_sources.h) that come and go while the graph runs. The node
// publishes its LiveSources as a service under its node id, so the program around the graph (vatt serve's
// HTTP API) adds, removes and lists sources; at open it starts the sources kept in `db` and those of the
// `sources` file. It never ends by itself: the run stops on SIGINT/SIGTERM (or when the program stops it).
//
//   live_source --clips(clip)--> ...     keys (source_id, clip_index); streams' indices continue across restarts
//               --errors-------> ...     a bad file in a watched folder, a bad subtitle file
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "nodes/media/live_sources.h"
#include "nodes/register_all.h"
#include "pipeline/services.h"
#include "storage/clip_store.h"

namespace vatt::nodes {
namespace {

constexpr pipeline::Output<Clip> kClips{0};  // outputs[0], `clips`, of the contract below

class LiveSourceNode final : public pipeline::Node {
 public:
  explicit LiveSourceNode(const pipeline::NodeConfig& cfg)
      : id_(cfg.id),
        services_(cfg.services),
        db_(cfg.options.get_string("db")),
        sources_file_(cfg.options.get_string("sources")) {
    const auto& o = cfg.options;
    auto& d = opt_.decode;
    d.fps = o.get_float("fps");
    d.short_side = static_cast<int>(o.get_int("short_side"));
    d.sample_rate = static_cast<int>(o.get_int("sample_rate"));
    d.clip_seconds = o.get_float("clip_seconds");
    if (const int64_t frames = o.get_int("frames"); frames > 0)
      d.clip_seconds = static_cast<double>(frames) / d.fps;
    d.validate();
    opt_.text.subtitles = o.get_bool("subtitles");
    opt_.text.asr = o.get_string("asr");
    opt_.text.candidates = static_cast<int>(o.get_int("text_candidates"));
    opt_.stall_seconds = o.get_float("stall_seconds");
    opt_.backoff_max_seconds = o.get_float("backoff_max_seconds");
    opt_.queue = static_cast<size_t>(o.get_int("queue"));
    opt_.settle_seconds = o.get_float("settle_seconds");
    opt_.poll_seconds = o.get_float("poll_seconds");
    opt_.max_sources = static_cast<size_t>(o.get_int("max_sources"));
    opt_.roots = o.get_list("roots");
    for (const auto& e : o.get_list("extensions")) opt_.extensions.insert(file_extension("x." + e));
  }

  void open() override {
    std::shared_ptr<storage::ClipStore> store;
    if (!db_.empty()) store = storage::ClipStore::open_shared(db_);
    live_ = std::make_shared<LiveSources>(opt_, store);
    const size_t kept = live_->restore();
    if (!sources_file_.empty()) read_sources_file();
    if (services_) services_->publish<LiveSources>(id_, live_);
    spdlog::info("{}: {} source(s) kept in {}, {} in all", id_, kept, db_.empty() ? "(no db)" : db_,
                 live_->list().size());
  }

  bool produce(pipeline::Emitter& out) override {
    auto item = live_->next();
    if (!item) return false;
    if (auto* e = std::get_if<SourceError>(&*item)) {
      out.error(e->kind, e->reason);
      return true;
    }
    auto& c = std::get<Clip>(*item);
    const pipeline::Key key{c.source_id, c.clip_index};
    out.send(kClips, key, std::move(c));
    return true;
  }

  void interrupt() override {
    if (live_) live_->stop();
  }

  void close() override {
    if (live_) live_->stop();
  }

  std::map<std::string, double> gauges() const override {
    if (!live_) return {};
    double clips = 0, dropped = 0, live = 0, errors = 0;
    const auto all = live_->list();
    for (const auto& s : all) {
      clips += static_cast<double>(s.clips);
      dropped += static_cast<double>(s.dropped);
      errors += static_cast<double>(s.errors);
      live += s.state == "live" || s.state == "watching";
    }
    return {{"sources", static_cast<double>(all.size())},
            {"live", live},
            {"clips", clips},
            {"dropped", dropped},
            {"source_errors", errors}};
  }

 private:
  /// One source per line: NAME URI, or a URI alone (named after its position); '#' starts a comment.
  void read_sources_file() {
    std::ifstream in(sources_file_);
    if (!in) throw std::runtime_error("sources file " + sources_file_ + ": cannot be read");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
      std::istringstream ls(line);
      std::string a, b;
      ls >> a >> b;
      if (a.empty()) continue;
      const std::string name = b.empty() ? "source" + std::to_string(n) : a, uri = b.empty() ? a : b;
      if (live_->status(name)) continue;  // kept from an earlier run
      try {
        live_->add(name, uri);
      } catch (const std::exception& e) {
        throw std::runtime_error(sources_file_ + ":" + std::to_string(n) + ": " + e.what());
      }
    }
  }

  std::string id_;
  pipeline::Services* services_;
  std::string db_, sources_file_;
  LiveOptions opt_;
  std::shared_ptr<LiveSources> live_;
};

}  // namespace

void register_live_source(pipeline::Registry& registry) {
  using pipeline::bool_option;
  using pipeline::float_option;
  using pipeline::int_option;
  using pipeline::string_option;
  pipeline::NodeContract c;
  c.type = "live_source";
  c.doc = "clips of live sources added and removed at run time: RTSP/HTTP/HLS streams, v4l2, watched folders";
  c.outputs = {
      {"clips", "clip", "one Clip per window, keys (source_id, clip_index)", pipeline::KeyMode::New}};
  c.progress_gauges = {"sources", "live", "clips", "dropped"};
  c.options = {
      string_option("db", "", "the clip store whose database keeps the source list and the resume points"),
      string_option("sources", "", "a file of sources to start with, one per line: NAME URI"),
      pipeline::list_option("roots", {},
                            "folders local files and watched folders must lie in (none: no local paths)"),
      int_option("max_sources", 16, "most sources at once", 1, 1024),
      float_option("fps", 10.0, "output frame rate", 0.1, 240),
      int_option("short_side", 256, "frames scaled so their short side is this; 0 = as is", 0, 4096),
      int_option("sample_rate", 48000, "audio rate (mono float)", 8000, 192000),
      float_option("clip_seconds", 3.2, "clip length in seconds", 0.01, 3600),
      int_option("frames", 0, "frames per clip; when set, clips are frames / fps seconds long", 0, 100000),
      float_option("stall_seconds", 10.0, "a stream without data this long is reconnected", 0.1),
      float_option("backoff_max_seconds", 60.0, "longest wait between reconnects (from 1 s, doubling)", 1),
      int_option("queue", 8, "clips a stream may have waiting; beyond, the oldest is dropped (counted)", 1),
      float_option("settle_seconds", 2.0, "a watched folder's new file must keep its size this long", 0),
      float_option("poll_seconds", 1.0, "folder scans when inotify is quiet", 0.05),
      pipeline::list_option("extensions", {"mp4", "webm", "mkv", "mov", "avi", "ogv", "m4v", "ts"},
                            "files a watched folder takes"),
      bool_option("subtitles", true, "read a .srt/.vtt beside each file of a watched folder"),
      string_option("asr", "off", "speech recognition of watched folders' files: auto, off, force",
                    {"auto", "off", "force"}),
      int_option("text_candidates", 5, "texts per clip: its own words plus the nearest segments", 1),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<LiveSourceNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
