// `video_source`: finds media (source_list.h), decodes up to `parallel` sources at once and emits their
// clips, each with its aligned text (transcript.h: subtitles, dataset captions, or speech recognised with
// pocketsphinx).
//
//   video_source --clips(clip)--> ...       keys (source_id, epoch << 40 | clip_index), source_id = hash of
//                                           the source URI
//                --errors-------> ...       one ErrorRecord per bad source (or bad subtitle file), naming it
//
// Memory stays bounded: each decoder thread hands clips through a queue of `queue` clips; when it is full the
// decoder waits, its appsinks fill and GStreamer stops reading; produce() blocks on the queue (sources may).
// Each decoder thread also holds back one clip, so that the last clip of a source can say it is the last.
//
// Training: `epochs` repeats the data (0 = until the run stops), `shuffle` draws a new order per epoch from
// `seed`, and data-parallel workers each read their shard (epoch_order.h). `uri` may also be a clip store:
// its clips are read back without decoding (stored_clips.h, what the `stored_clips` node type does), so one
// graph trains from videos or from a store.
//
// Resume (`resume_db`: the clip store this graph writes to): a source whose record there has the same content
// fingerprint and options and is complete is skipped without decoding; one that is half done is decoded from
// its first missing clip (decoded from the start, clips before it dropped; see DecodeOptions::first_clip).
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <variant>

#include "nodes/media/asr.h"
#include "nodes/media/clip.h"
#include "nodes/media/datasets.h"
#include "nodes/media/decoder.h"
#include "nodes/media/epoch_order.h"
#include "nodes/media/ids.h"
#include "nodes/media/source_decode.h"
#include "nodes/media/source_list.h"
#include "nodes/media/stored_clips.h"
#include "nodes/media/transcript.h"
#include "nodes/register_all.h"
#include "pipeline/services.h"
#include "storage/clip_store.h"

namespace vatt::nodes {
namespace {

constexpr pipeline::Output<Clip> kClips{0};  // outputs[0], `clips`, of the contract below

namespace fs = std::filesystem;
using pipeline::Message;

class VideoSource final : public pipeline::Node {
 public:
  explicit VideoSource(const pipeline::NodeConfig& cfg) : id_(cfg.id), uri_(cfg.options.get_string("uri")) {
    const auto& o = cfg.options;
    opt_.fps = o.get_float("fps");
    opt_.short_side = static_cast<int>(o.get_int("short_side"));
    opt_.sample_rate = static_cast<int>(o.get_int("sample_rate"));
    opt_.clip_seconds = o.get_float("clip_seconds");
    if (const int64_t frames = o.get_int("frames"); frames > 0) {
      // A clip of `frames` frames at `fps`: its length follows (32 frames at 10 fps = 3.2 s).
      const double seconds = static_cast<double>(frames) / opt_.fps;
      if (std::abs(seconds - opt_.clip_seconds) > 1e-6 && o.given("clip_seconds"))
        throw std::invalid_argument("frames " + std::to_string(frames) + " at fps " +
                                    std::to_string(opt_.fps) + " make clips of " + std::to_string(seconds) +
                                    " s, but clip_seconds is " + std::to_string(opt_.clip_seconds) +
                                    "; set one of them");
      opt_.clip_seconds = seconds;
    }
    opt_.stride_seconds = o.get_float("stride_seconds");
    opt_.max_clips = static_cast<int>(o.get_int("max_clips"));
    opt_.sampling = o.get_string("sampling");
    opt_.clips_per_source = static_cast<int>(o.get_int("clips_per_source"));
    opt_.seed = static_cast<uint64_t>(o.get_int("seed"));
    opt_.timeout_seconds = o.get_float("timeout_seconds");
    opt_.max_pixels = o.get_int("max_pixels");
    opt_.pad_short = o.get_bool("pad_short");
    opt_.validate();
    for (const auto& e : o.get_list("extensions")) list_.extensions.insert(file_extension("x." + e));
    for (const auto& e : o.get_list("audio_extensions")) audio_exts_.insert(file_extension("x." + e));
    for (const auto& e : o.get_list("image_extensions")) image_exts_.insert(file_extension("x." + e));
    list_.labels_from_folder = o.get_bool("labels_from_folder");
    parallel_ = static_cast<int>(o.get_int("parallel"));
    queue_cap_ = static_cast<size_t>(o.get_int("queue"));
    text_.subtitles = o.get_bool("subtitles");
    text_.candidates = static_cast<int>(o.get_int("text_candidates"));
    text_.asr = o.get_string("asr");
    text_.timeout_seconds = opt_.timeout_seconds;
    captions_ = o.get_string("captions");
    labels_csv_ = o.get_string("labels_csv");
    split_lists_ = o.get_list("split_lists");
    split_ = o.get_string("split");
    segments_ = o.get_bool("segments");
    resume_db_ = o.get_string("resume_db");
    epochs_ = o.get_int("epochs");
    shuffle_ = o.get_bool("shuffle");
    rank_ = cfg.worker.rank;
    world_ = cfg.worker.world_size;
    services_ = cfg.services;
    // asr's choices and the ranges of parallel, queue and text_candidates are the contract's (checked when
    // the graph loads).
    if (uri_.empty()) throw std::invalid_argument("uri must not be empty");
  }

  ~VideoSource() override { join(); }

  void open() override {
    ensure_gstreamer();
    if (text_.asr != "off" && !asr_available()) {
      if (text_.asr == "force")
        throw std::runtime_error("asr is force but the GStreamer element 'pocketsphinx' is not installed");
      spdlog::warn("{}: no speech recognition: the GStreamer element 'pocketsphinx' is not installed", id_);
      text_.asr = "off";
    }
    std::error_code ec;
    if (!resume_db_.empty() && fs::is_directory(resume_db_, ec))
      store_ = storage::ClipStore::open_shared(resume_db_);
    if (storage::ClipStore::exists_at(uri_)) {
      reader_ = std::make_unique<StoredClipReader>(uri_, rank_, world_);
      if (reader_->without_media())
        spdlog::warn(
            "{}: {} clip(s) of {} were stored without media (clip_store store_media off) and are left out",
            id_, reader_->without_media(), uri_);
    } else {
      load_datasets();
      sources_ = list_sources(uri_, list_);
      if (!split_.empty()) keep_split();
      if (segments_) expand_segments();
      keep_shard(sources_, rank_, world_);
    }
    if (world_ > 1 && units() == 0)
      throw std::runtime_error("data-parallel worker " + std::to_string(rank_) + " of " +
                               std::to_string(world_) + " has no data: " + uri_ + " holds fewer " +
                               (reader_ ? "stored clips" : "sources") +
                               " than workers (use fewer workers, or ingest into a clip store: its clips are "
                               "sharded one by one)");
    order_ = std::make_unique<EpochOrder>(units(), shuffle_, opt_.seed);
    // The readers start at the first produce(), once every node has opened: a resumed training run
    // (opened after this source) may have said where the data continues.
    const std::string shard_note =
        world_ > 1 ? fmt::format(" (shard {} of {})", rank_, world_) : std::string();
    if (reader_)
      spdlog::info("{}: {} stored clip(s) in clip store {}{}", id_, reader_->size(), uri_, shard_note);
    else
      spdlog::info("{}: {} source(s) under {}{}", id_, sources_.size(), uri_, shard_note);
  }

  bool produce(pipeline::Emitter& out) override {
    if (!started_) start_readers();
    std::variant<Clip, SourceError> item;
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (!next_item(lk, item)) return false;
    }
    space_.notify_all();
    if (auto* e = std::get_if<SourceError>(&item)) {
      out.error(e->kind, e->reason);
      return true;
    }
    auto& c = std::get<Clip>(item);
    const pipeline::Key key{c.source_id, (static_cast<uint64_t>(c.epoch) << 40) | c.clip_index};
    clips_out_.fetch_add(1);
    out.send(kClips, key, std::move(c));
    return true;
  }

  void interrupt() override {
    stop_ = true;
    cv_.notify_all();
    space_.notify_all();
  }

  void close() override {
    join();
    if (asr_sources_.load())
      spdlog::info(
          "{}: speech recognised in {} source(s): {:.1f} s of audio in {:.1f} s (real-time factor {:.2f})",
          id_, asr_sources_.load(), asr_audio_us_.load() / 1e6, asr_wall_us_.load() / 1e6,
          asr_audio_us_.load() ? static_cast<double>(asr_wall_us_.load()) / asr_audio_us_.load() : 0.0);
    store_.reset();
    reader_.reset();
  }

  std::map<std::string, double> gauges() const override {
    const double audio = static_cast<double>(asr_audio_us_.load()) / 1e6,
                 wall = static_cast<double>(asr_wall_us_.load()) / 1e6;
    return {{"sources", static_cast<double>(units())},  // stored clips when reading a clip store,
            {"sources_done", static_cast<double>(done_.load())},
            {"epoch", static_cast<double>(epoch_.load())},
            {"skipped_sources", static_cast<double>(skipped_.load())},
            {"resumed_sources", static_cast<double>(resumed_.load())},
            {"clips", static_cast<double>(clips_out_.load())},
            {"frames", static_cast<double>(frames_.load())},
            {"bad_sources", static_cast<double>(bad_.load())},
            {"asr_sources", static_cast<double>(asr_sources_.load())},
            {"asr_audio_seconds", audio},
            {"asr_seconds", wall},
            {"asr_rtf", audio > 0 ? wall / audio : 0.0}};
  }

 private:
  /// Reads the dataset files; one that cannot be used is reported once and the ingest goes on without it.
  void load_datasets() {
    auto guarded = [&](const std::function<void()>& fn) {
      try {
        fn();
      } catch (const std::exception& e) {
        bad_.fetch_add(1);
        preamble_.push_back(SourceError{"bad_dataset", e.what()});  // before the readers start: no wait
      }
    };
    if (!captions_.empty()) guarded([&] { datasets_.load_captions_json(captions_); });
    if (!labels_csv_.empty()) guarded([&] { datasets_.load_labels_csv(labels_csv_); });
    for (const auto& entry : split_lists_) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
        throw std::invalid_argument("split_lists entry '" + entry + "': expected NAME=PATH");
      guarded([&] { datasets_.load_split_list(entry.substr(0, eq), entry.substr(eq + 1)); });
    }
  }

  /// Keeps the sources whose split (their split folder, or what the dataset files say) names split_.
  void keep_split() {
    const size_t before = sources_.size();
    std::vector<MediaSource> kept;
    for (auto& s : sources_) {
      std::string names = s.split;
      if (s.is_file()) names += "," + datasets_.lookup(s.path).split;
      if (split_names(names).count(canonical_split(split_))) kept.push_back(std::move(s));
    }
    sources_ = std::move(kept);
    spdlog::info("{}: split '{}': {} of {} source(s)", id_, split_, sources_.size(), before);
    if (sources_.empty() && before > 0) {
      std::string unread;  // a dataset file that failed to load is the likely reason: say so here
      for (const auto& e : preamble_)
        if (const auto* err = std::get_if<SourceError>(&e)) unread += "; " + err->reason;
      throw std::runtime_error("split '" + split_ + "': none of the " + std::to_string(before) +
                               " source(s) under " + uri_ +
                               " is in it (splits come from split folders, captions JSON, labels_csv or "
                               "split_lists)" +
                               unread);
    }
  }

  /// Each timed caption of a file (YouCook2's annotated segments) becomes a source of its own: its clips lie
  /// in the segment, its sentence is its caption. Files without segments are left out (counted).
  void expand_segments() {
    std::vector<MediaSource> out;
    size_t without = 0;
    for (const auto& s : sources_) {
      const auto segs = s.is_file() ? datasets_.lookup(s.path).segments : std::vector<TextSegment>{};
      if (segs.empty()) {
        ++without;
        continue;
      }
      for (const auto& t : segs) {
        if (t.end_us <= t.start_us) continue;
        MediaSource m = s;
        m.start_us = t.start_us;
        m.end_us = t.end_us;
        m.segment_text = t.text;
        m.media_uri = s.uri;
        m.uri = fmt::format("{}#t={:g},{:g}", s.uri, t.start_us / 1e6, t.end_us / 1e6);
        out.push_back(std::move(m));
      }
    }
    spdlog::info("{}: segments: {} segment(s) of {} source(s){}", id_, out.size(), sources_.size() - without,
                 without ? fmt::format("; {} source(s) without segments left out", without) : "");
    sources_ = std::move(out);
  }

  /// Sources to decode, or stored clips to read.
  size_t units() const { return reader_ ? reader_->size() : sources_.size(); }

  /// Takes the next item in unit order (the dataset reports first, then the items of unit 0, 1, ... as the
  /// readers took them), whatever order the reader threads finish in: the clips of a seeded run come out the
  /// same every time. False when every reader has finished and nothing is left.
  bool next_item(std::unique_lock<std::mutex>& lk, std::variant<Clip, SourceError>& item) {
    for (;;) {
      if (!preamble_.empty()) {
        item = std::move(preamble_.front());
        preamble_.pop_front();
        return true;
      }
      auto it = units_.find(head_);
      if (it != units_.end() && !it->second.items.empty()) {
        item = std::move(it->second.items.front());
        it->second.items.pop_front();
        --queued_;
        return true;
      }
      if (it != units_.end() && it->second.done) {
        units_.erase(it);
        ++head_;
        space_.notify_all();
        continue;
      }
      if (running_ == 0) {
        // Every reader has finished: what is left (a unit a stopped reader took) goes out in unit order.
        if (units_.empty()) return false;
        head_ = units_.begin()->first;
        if (units_.begin()->second.items.empty() && !units_.begin()->second.done)
          units_.begin()->second.done = true;
        continue;
      }
      cv_.wait(lk);
    }
  }

  void start_readers() {
    started_ = true;
    // A clip store is read clip by clip, so a resumed training run's position is a unit to start from.
    if (auto at = reader_ && services_ ? services_->find<uint64_t>(kResumePositionService) : nullptr) {
      next_source_ = head_ = *at;
      spdlog::info("{}: resuming at clip {} of the read order (epoch {})", id_, *at, *at / units());
    }
    std::lock_guard<std::mutex> lk(mu_);
    for (int i = 0; i < std::min<int>(parallel_, static_cast<int>(units())); ++i) {
      ++running_;
      workers_.emplace_back([this] { work(); });
    }
  }

  /// Marks unit `pos` complete, so that the units after it can go out.
  void finish_unit(size_t pos) {
    std::lock_guard<std::mutex> lk(mu_);
    units_[pos].done = true;
    cv_.notify_all();
  }

  /// Reader thread: takes the next unit (a source to decode, or a stored clip to read), over `epochs` passes.
  void work() {
    const size_t n = units();
    for (;;) {
      const size_t i = next_source_.fetch_add(1);
      const uint64_t epoch = n ? i / n : 0;
      if (n == 0 || stop_ || (epochs_ > 0 && epoch >= static_cast<uint64_t>(epochs_))) {
        finish_unit(i);
        break;
      }
      if (epoch > epoch_.load()) epoch_.store(epoch);
      const size_t u = order_->at(epoch, i % n);
      if (reader_)
        read_stored(i, u, static_cast<uint32_t>(epoch));
      else
        decode_one(i, sources_[u], static_cast<uint32_t>(epoch));
      finish_unit(i);
      done_.fetch_add(1);
    }
    std::lock_guard<std::mutex> lk(mu_);
    --running_;
    cv_.notify_all();
  }

  /// Queues an item of unit `pos`; waits for room first (the unit going out next may hold `queue` items of
  /// its own, the others `queue` together, so a reader ahead never blocks the one the consumer waits for).
  /// False when stopping.
  bool push(size_t pos, std::variant<Clip, SourceError> item) {
    std::unique_lock<std::mutex> lk(mu_);
    space_.wait(lk, [&] {
      if (stop_) return true;
      if (pos == head_) return units_[pos].items.size() < queue_cap_;
      return queued_ - (units_.count(head_) ? units_[head_].items.size() : 0) < queue_cap_;
    });
    if (stop_) return false;
    units_[pos].items.push_back(std::move(item));
    ++queued_;
    cv_.notify_all();
    return true;
  }

  bool report(size_t pos, SourceError e) {
    bad_.fetch_add(1);
    return push(pos, std::move(e));
  }

  void read_stored(size_t pos, size_t u, uint32_t epoch) {
    auto item = reader_->read(u);
    if (auto* e = std::get_if<SourceError>(&item)) {
      report(pos, std::move(*e));
      return;
    }
    auto& c = std::get<Clip>(item);
    c.epoch = epoch;
    c.position = pos;
    frames_.fetch_add(static_cast<uint64_t>(c.frames_t));
    push(pos, std::move(c));
  }

  void decode_one(size_t pos, const MediaSource& s, uint32_t epoch) {
    auto fail = [&](const std::string& kind, const std::string& reason) {
      report(pos, SourceError{kind, s.name() + ": " + reason});
    };
    if (s.is_file()) {
      std::error_code ec;
      if (!fs::exists(s.path, ec)) return fail("not_found", "no such file");
      if (fs::is_regular_file(s.path, ec) && fs::file_size(s.path, ec) == 0)
        return fail("empty_file", "empty file (0 bytes)");
    }
    DecodeOptions o = opt_;
    o.require_video = !(s.is_file() && audio_exts_.count(file_extension(s.path)));
    if (s.is_file() && image_exts_.count(file_extension(s.path))) {
      // A still image: one clip, its frame repeated (image fine-tuning: the paper repeats it along time).
      o.sampling = "all";
      o.max_clips = 1;
      o.pad_short = true;
    }
    if (s.end_us > 0) {
      o.range_start_us = s.start_us;
      o.range_end_us = s.end_us;
    }
    const SourceIdentity id = identify(s, o);
    if (!resume_point(store_.get(), id, o)) {  // stored complete with the same content and options
      skipped_.fetch_add(1);
      return;
    }
    if (o.first_clip > 0) resumed_.fetch_add(1);

    SourceAnnotations ann = s.is_file() ? datasets_.lookup(s.path) : SourceAnnotations{};
    if (s.end_us > 0) {  // a segment: its sentence is its caption, and the text of its clips
      ann.segments.clear();
      ann.captions = {s.segment_text};
    }
    TranscriptOptions to = text_;
    to.require_video = o.require_video;
    const Transcript text = choose_transcript(s, ann, to, &stop_);
    if (text.subtitle_error && !report(pos, *text.subtitle_error)) return;
    if (text.asr_audio_seconds > 0) {
      asr_sources_.fetch_add(1);
      asr_audio_us_.fetch_add(static_cast<uint64_t>(text.asr_audio_seconds * 1e6));
      asr_wall_us_.fetch_add(static_cast<uint64_t>(text.asr_wall_seconds * 1e6));
    }
    if (stop_) return;

    try {
      const auto st = decode_source(
          s, o, id, ann, text, text_.candidates, epoch, [&](Clip&& c) { return push(pos, std::move(c)); },
          &stop_);
      frames_.fetch_add(st.frames);
      if (text.asr_error) report(pos, *text.asr_error);
    } catch (const DecodeError& e) {
      fail(e.kind(), e.what());
    } catch (const std::exception& e) {
      fail("decode_error", e.what());
    }
  }

  void join() {
    interrupt();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
    workers_.clear();
  }

  std::string id_, uri_;
  DecodeOptions opt_;
  SourceListOptions list_;
  std::set<std::string> audio_exts_, image_exts_;
  int parallel_ = 1;
  size_t queue_cap_ = 4;
  TranscriptOptions text_;
  std::string captions_, labels_csv_;
  std::vector<std::string> split_lists_;
  std::string split_;
  bool segments_ = false;
  std::string resume_db_;
  DatasetIndex datasets_;
  std::shared_ptr<storage::ClipStore> store_;  // resume_db, when it exists

  std::vector<MediaSource> sources_;
  std::unique_ptr<StoredClipReader> reader_;  // uri is a clip store: its clips are read back
  int64_t epochs_ = 1;
  bool shuffle_ = false;
  int rank_ = 0, world_ = 1;
  std::unique_ptr<EpochOrder> order_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<size_t> next_source_{0};
  pipeline::Services* services_ = nullptr;
  bool started_ = false;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, space_;
  // Items waiting to go out: dataset reports, then per unit position (the order readers took units in).
  struct UnitItems {
    std::deque<std::variant<Clip, SourceError>> items;
    bool done = false;
  };
  std::deque<std::variant<Clip, SourceError>> preamble_;
  std::map<size_t, UnitItems> units_;
  size_t head_ = 0;    // the unit going out next
  size_t queued_ = 0;  // items in units_
  int running_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> done_{0}, clips_out_{0}, frames_{0}, bad_{0}, skipped_{0}, resumed_{0};
  std::atomic<uint64_t> asr_sources_{0}, asr_audio_us_{0}, asr_wall_us_{0};
};

}  // namespace

void register_video_source(pipeline::Registry& registry) {
  using pipeline::OptionType;
  using pipeline::Value;
  pipeline::NodeContract c;
  c.type = "video_source";
  c.doc =
      "decodes media files, folders, list files or URIs with GStreamer into synced clips with aligned text";
  c.outputs = {
      {"clips", "clip", "one Clip per window, keys (source_id, clip_index)", pipeline::KeyMode::New}};
  c.progress_gauges = {"sources_done", "sources", "epoch", "bad_sources"};
  const std::vector<std::string> video_exts = {"mp4",  "webm", "mkv", "mov",  "avi", "ogv", "m4v", "mpg",
                                               "mpeg", "ts",   "wav", "flac", "ogg", "mp3", "m4a", "opus"};
  const std::vector<std::string> audio_exts = {"wav", "flac", "ogg", "mp3", "m4a", "opus"};
  using pipeline::bool_option;
  using pipeline::float_option;
  using pipeline::int_option;
  using pipeline::string_option;
  c.options = {
      pipeline::required_option(
          "uri", OptionType::String,
          "a media file, a folder (searched recursively), a .txt/.list file of paths/URIs, a URI, or a clip "
          "store written by the ingest graph (its clips are read back without decoding)"),
      int_option("epochs", 1, "passes over the data (0 = until the run stops, e.g. training)", 0),
      bool_option("shuffle", false, "a new order of sources (or stored clips) per epoch, drawn from seed"),
      pipeline::list_option("extensions", video_exts, "file extensions taken from folders"),
      pipeline::list_option(
          "audio_extensions", audio_exts,
          "extensions of audio files: they give audio-only clips (other files without video "
          "are errors)"),
      pipeline::list_option(
          "image_extensions", {"jpg", "jpeg", "png", "bmp", "webp"},
          "extensions of still images: each gives one clip of its frame repeated (add them to "
          "extensions to take images from folders)"),
      float_option("fps", 10.0, "output frame rate", 0.1, 240),
      int_option("short_side", 256, "frames scaled so their short side is this; 0 = as is", 0, 4096),
      int_option("sample_rate", 48000, "audio rate (mono float)", 8000, 192000),
      float_option("clip_seconds", 3.2, "clip length in seconds", 0.01, 3600),
      int_option("frames", 0,
                 "frames per clip; when set, clips are frames / fps seconds long (0 = clip_seconds)", 0,
                 100000),
      float_option("stride_seconds", 0.0, "distance between clip starts; 0 = clip_seconds", 0),
      int_option("max_clips", 0, "most clips per source; 0 = all", 0),
      string_option(
          "sampling", "all",
          "all (every stride), uniform (clips_per_source evenly spaced) or random (clips_per_source "
          "random)",
          {"all", "uniform", "random"}),
      int_option("clips_per_source", 4, "K for sampling uniform/random", 1),
      int_option("seed", 0, "seed of sampling random (mixed with each source URI)"),
      int_option("parallel", 1, "sources decoded at once (one thread each)", 1, 64),
      int_option("queue", 4, "decoded clips waiting in the node before decoders pause", 1),
      float_option("timeout_seconds", 30.0, "a source that yields no data this long fails", 0.001),
      int_option("max_pixels", int64_t{7680} * 4320, "larger source frames are rejected", 1),
      bool_option("subtitles", true, "read a .srt/.vtt beside each file (same stem)"),
      int_option("text_candidates", 5, "texts per clip: its own words plus the nearest segments (MIL-NCE)",
                 1),
      string_option(
          "captions", "",
          "captions JSON (HowTo100M id -> {start, end, text}, YouCook2 database, or MSR-VTT untimed "
          "captions), matched by stem"),
      string_option("labels_csv", "",
                    "labels CSV: ESC-50 meta/esc50.csv or AudioSet segments (YTID, start, end, labels)"),
      pipeline::list_option("split_lists", {}, "split lists as NAME=PATH (one file per line, UCF101 style)"),
      bool_option("labels_from_folder", false,
                  "label each file with its first folder under uri (class-folder datasets)"),
      string_option(
          "asr", "auto",
          "speech recognition (pocketsphinx, US English) of local files: auto = when the file has no "
          "subtitles or timed captions, force = always (replaces them), off = never",
          {"auto", "off", "force"}),
      string_option(
          "resume_db", "",
          "the clip store this graph writes to (clip_store's db): sources stored complete there are "
          "skipped without decoding, half-done ones resume at their first missing clip; empty = off"),
  };
  c.options.push_back(string_option(
      "split", "",
      "keep only the sources in this split (train, test, val, foldN, ...: from split folders, captions "
      "JSON, labels_csv or split_lists; training/testing/validation count as train/test/val); empty = all"));
  c.options.push_back(
      bool_option("segments", false,
                  "each timed caption segment of a file (YouCook2 annotations from captions) is a source of "
                  "its own: clips "
                  "inside the segment, its sentence as its caption (zero-shot retrieval per segment)"));
  c.options.push_back(bool_option(
      "pad_short", false,
      "a source shorter than one clip gives one padded clip (last frame repeated, silence) instead of a "
      "too_short error (evaluation: every labelled file counts)"));
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<VideoSource>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
