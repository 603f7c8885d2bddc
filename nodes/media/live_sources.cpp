#include "nodes/media/live_sources.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "nodes/media/ids.h"
#include "nodes/media/source_decode.h"
#include "storage/clip_store.h"

namespace vatt::nodes {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr const char* kKeyPrefix = "live/source/";

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

}  // namespace

struct LiveSources::Source {
  std::string name, uri, kind;
  std::string target;  // what is decoded or watched: the URI, or the canonical local path
  std::thread thread;
  std::atomic<bool> stop{false};
  std::mutex mu;  // status, sleeping
  std::condition_variable wake;
  LiveSourceStatus st;
  std::deque<SteadyClock::time_point> recent;  // clip times of the last 10 s
  std::deque<Clip> q;                          // guarded by LiveSources::mu_
  uint64_t next_index = 0;
  DecodeProgress progress;                // frames as they arrive (status: frames, and live from the first)
  std::atomic<uint64_t> session_from{0};  // progress.frames when the current session began
};

LiveSources::LiveSources(LiveOptions options, std::shared_ptr<storage::ClipStore> store)
    : opt_(std::move(options)), store_(std::move(store)) {
  opt_.decode.sampling = "all";
  opt_.decode.validate();
}

LiveSources::~LiveSources() {
  stop();
}

std::string LiveSources::checked_uri(const std::string& uri, std::string* kind) const {
  const auto sep = uri.find("://");
  std::string path;
  if (sep != std::string::npos) {
    std::string scheme = uri.substr(0, sep);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme == "rtsp" || scheme == "rtsps" || scheme == "http" || scheme == "https" || scheme == "v4l2") {
      *kind = "stream";
      return uri;
    }
    if (scheme != "file")
      throw LiveSourceError(400,
                            "uri scheme '" + scheme + "' is not allowed (rtsp, http, https, v4l2, file)");
    path = uri.substr(sep + 3);
  } else if (uri.rfind("/dev/video", 0) == 0) {
    *kind = "stream";
    return "v4l2://" + uri;
  } else {
    path = uri;
  }
  if (path.empty()) throw LiveSourceError(400, "uri names no path");
  if (opt_.roots.empty())
    throw LiveSourceError(403,
                          "local files are refused: the service was started without a root folder (--root)");
  const auto inside = inside_roots(path, opt_.roots);
  if (!inside) throw LiveSourceError(403, "path " + path + " is outside the allowed root folders");
  const fs::path real = *inside;
  std::error_code ec;
  if (fs::is_directory(real, ec)) {
    *kind = "folder";
  } else if (fs::is_regular_file(real, ec)) {
    *kind = "file";
  } else {
    throw LiveSourceError(404, "no such file or folder: " + path);
  }
  return real.string();
}

LiveSourceStatus LiveSources::add(const std::string& name, const std::string& uri, bool persist) {
  if (!valid_name(name))
    throw LiveSourceError(400, "source name '" + name + "': expected 1-64 of A-Z a-z 0-9 _ - .");
  std::string kind;
  const std::string target = checked_uri(uri, &kind);
  auto s = std::make_shared<Source>();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) throw LiveSourceError(503, "the service is stopping");
    if (sources_.count(name)) throw LiveSourceError(409, "a source named '" + name + "' exists already");
    for (const auto& [n, o] : sources_)
      if (o->target == target) throw LiveSourceError(409, "source '" + n + "' reads " + uri + " already");
    if (sources_.size() >= opt_.max_sources)
      throw LiveSourceError(429, "at most " + std::to_string(opt_.max_sources) + " sources");
    s->name = name;
    s->uri = uri;
    s->kind = kind;
    s->target = target;
    s->st.name = name;
    s->st.uri = uri;
    s->st.kind = kind;
    s->st.state = kind == "stream" ? "connecting" : "watching";
    if (kind == "stream" && store_)
      if (auto rec = store_->source(fnv1a64(target))) s->next_index = rec->cursor;
    sources_[name] = s;
  }
  if (persist && store_)
    store_->db().put(storage::Family::Runs, std::string(kKeyPrefix) + name,
                     nlohmann::json{{"name", name}, {"uri", uri}}.dump(), true);
  Source* raw = s.get();
  s->thread = std::thread([this, raw] {
    if (raw->kind == "stream")
      run_stream(*raw);
    else
      run_folder(*raw);
  });
  spdlog::info("live: source {} ({}) added: {}", name, kind, uri);
  return *status(name);
}

void LiveSources::remove(const std::string& name) {
  std::shared_ptr<Source> s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = sources_.find(name);
    if (it == sources_.end()) throw LiveSourceError(404, "no source named '" + name + "'");
    s = it->second;
    sources_.erase(it);
  }
  if (store_) {
    storage::WriteSet w;
    w.erase(storage::Family::Runs, std::string(kKeyPrefix) + name);
    store_->db().write(w, true);
  }
  halt(*s);
  if (s->thread.joinable()) s->thread.join();
  spdlog::info("live: source {} removed", name);
}

std::vector<LiveSourceStatus> LiveSources::list() const {
  std::vector<std::shared_ptr<Source>> all;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [n, s] : sources_) all.push_back(s);
  }
  std::vector<LiveSourceStatus> out;
  const auto now = SteadyClock::now();
  for (const auto& s : all) {
    std::lock_guard<std::mutex> lk(s->mu);
    while (!s->recent.empty() && now - s->recent.front() > std::chrono::seconds(10)) s->recent.pop_front();
    s->st.clips_per_s = static_cast<double>(s->recent.size()) / 10.0;
    LiveSourceStatus st = s->st;
    st.frames = s->progress.frames.load();
    if (st.state == "connecting" && st.frames > s->session_from.load()) st.state = "live";  // data flows
    out.push_back(std::move(st));
  }
  return out;
}

std::optional<LiveSourceStatus> LiveSources::status(const std::string& name) const {
  for (auto& st : list())
    if (st.name == name) return st;
  return std::nullopt;
}

size_t LiveSources::restore() {
  if (!store_) return 0;
  std::vector<std::pair<std::string, std::string>> kept;
  store_->db().scan(storage::Family::Runs, kKeyPrefix, [&](std::string_view, std::string_view v) {
    try {
      const auto j = nlohmann::json::parse(v);
      kept.emplace_back(j.at("name").get<std::string>(), j.at("uri").get<std::string>());
    } catch (const std::exception& e) {
      spdlog::warn("live: a kept source record is unreadable ({}); skipped", e.what());
    }
    return true;
  });
  size_t n = 0;
  for (const auto& [name, uri] : kept) {
    try {
      add(name, uri, false);
      ++n;
    } catch (const std::exception& e) {
      spdlog::warn("live: kept source {} ({}) cannot start again: {}", name, uri, e.what());
    }
  }
  return n;
}

std::optional<std::variant<Clip, SourceError>> LiveSources::next() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    if (stopping_) return std::nullopt;
    if (!problems_.empty()) {
      SourceError e = std::move(problems_.front());
      problems_.pop_front();
      return e;
    }
    if (!sources_.empty()) {
      std::vector<Source*> order;
      for (auto& [n, s] : sources_) order.push_back(s.get());
      for (size_t k = 0; k < order.size(); ++k) {
        Source* s = order[(rr_ + k) % order.size()];
        if (s->q.empty()) continue;
        Clip c = std::move(s->q.front());
        s->q.pop_front();
        rr_ = (rr_ + k + 1) % order.size();
        lk.unlock();
        ready_.notify_all();  // a folder waiting for room
        return c;
      }
    }
    ready_.wait(lk);
  }
}

void LiveSources::halt(Source& s) {
  // Under both locks, so that a thread between its check of `stop` and its wait cannot miss the wake-up.
  {
    std::lock_guard<std::mutex> lk(mu_);
    s.stop = true;
  }
  { std::lock_guard<std::mutex> lk(s.mu); }
  s.wake.notify_all();
  ready_.notify_all();
}

void LiveSources::stop() {
  std::map<std::string, std::shared_ptr<Source>> all;
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (stopping_) {  // another caller is stopping them: wait until it is done
      ready_.wait(lk, [&] { return stopped_; });
      return;
    }
    stopping_ = true;
    all.swap(sources_);
  }
  for (auto& [n, s] : all) halt(*s);
  for (auto& [n, s] : all)
    if (s->thread.joinable()) s->thread.join();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopped_ = true;
  }
  ready_.notify_all();
}

bool LiveSources::push(Source& s, Clip&& c) {
  std::unique_lock<std::mutex> lk(mu_);
  if (s.kind == "stream") {
    if (s.q.size() >= opt_.queue) {
      s.q.pop_front();
      std::lock_guard<std::mutex> sl(s.mu);
      s.st.dropped++;
    }
  } else {
    ready_.wait(lk, [&] { return s.stop.load() || stopping_ || s.q.size() < opt_.queue; });
    if (s.stop || stopping_) return false;
  }
  s.q.push_back(std::move(c));
  {
    std::lock_guard<std::mutex> sl(s.mu);
    s.st.clips++;
    s.recent.push_back(SteadyClock::now());
    while (s.recent.size() > 4096) s.recent.pop_front();
  }
  lk.unlock();
  ready_.notify_all();
  return !s.stop;
}

void LiveSources::report(Source& s, const std::string& kind, const std::string& reason, bool to_graph) {
  {
    std::lock_guard<std::mutex> lk(s.mu);
    s.st.errors++;
    s.st.errors_by_kind[kind]++;
    s.st.last_error = kind + ": " + reason;
  }
  if (to_graph) {
    std::lock_guard<std::mutex> lk(mu_);
    problems_.push_back(SourceError{kind, s.name + ": " + reason});
    ready_.notify_all();
  }
}

bool LiveSources::sleep_for(Source& s, double seconds) {
  std::unique_lock<std::mutex> lk(s.mu);
  s.wake.wait_for(lk, std::chrono::duration<double>(seconds), [&] { return s.stop.load(); });
  return !s.stop;
}

void LiveSources::run_stream(Source& s) {
  std::mt19937_64 rng(fnv1a64(s.target) ^ static_cast<uint64_t>(now_us()));
  double backoff = opt_.backoff_initial_seconds;
  const uint64_t source_id = fnv1a64(s.target);
  DecodeOptions o = opt_.decode;
  o.live = true;
  o.timeout_seconds = opt_.stall_seconds;
  const std::string fingerprint = "live-" + hex64(source_id), digest = o.digest();
  bool first_session = true;
  while (!s.stop) {
    if (!first_session) {
      std::lock_guard<std::mutex> lk(s.mu);
      s.st.reconnects++;
    }
    first_session = false;
    {
      std::lock_guard<std::mutex> lk(s.mu);
      s.st.state = "connecting";
      s.session_from = s.progress.frames.load();
    }
    bool got = false;
    int64_t base_us = 0;
    try {
      const auto stats = decode_clips(
          s.target, o,
          [&](Clip&& c) {
            const int64_t now = now_us();
            if (!got) {
              got = true;
              base_us = now - c.end_us;
              backoff = opt_.backoff_initial_seconds;
              std::lock_guard<std::mutex> lk(s.mu);
              s.st.state = "live";
            }
            c.source_id = source_id;
            c.uri = s.target;
            c.fingerprint = fingerprint;
            c.options_digest = digest;
            c.clip_index = s.next_index++;
            c.wall_start_us = base_us + c.start_us;
            {
              std::lock_guard<std::mutex> lk(s.mu);
              s.st.lag_seconds = std::max(0.0, static_cast<double>(now - (base_us + c.end_us)) / 1e6);
            }
            return push(s, std::move(c));
          },
          &s.stop, &s.progress);
      (void)stats;
      if (s.stop) break;
      report(s, "ended", "the stream ended", false);
    } catch (const DecodeError& e) {
      report(s, e.kind(), e.what(), false);
    } catch (const std::exception& e) {
      report(s, "decode_error", e.what(), false);
    }
    if (s.stop) break;
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    const double wait = backoff * jitter(rng);
    {
      std::lock_guard<std::mutex> lk(s.mu);
      s.st.state = "backing_off";
      spdlog::warn("live: {}: {}; reconnecting in {:.1f} s", s.name, s.st.last_error, wait);
    }
    if (!sleep_for(s, wait)) break;
    backoff = std::min(backoff * 2, opt_.backoff_max_seconds);
  }
  std::lock_guard<std::mutex> lk(s.mu);
  s.st.state = "stopped";
}

void LiveSources::ingest_file(Source& s, const MediaSource& file) {
  DecodeOptions o = opt_.decode;
  const SourceIdentity id = identify(file, o);
  if (!resume_point(store_.get(), id, o)) return;  // ingested before (this run or an earlier one)
  TranscriptOptions to = opt_.text;
  to.require_video = o.require_video;
  const Transcript text = choose_transcript(file, SourceAnnotations{}, to, &s.stop);
  if (text.subtitle_error) report(s, text.subtitle_error->kind, text.subtitle_error->reason, true);
  if (s.stop) return;
  try {
    decode_source(
        file, o, id, SourceAnnotations{}, text, opt_.text.candidates, 0,
        [&](Clip&& c) { return push(s, std::move(c)); }, &s.stop, &s.progress);
    if (text.asr_error) report(s, text.asr_error->kind, text.asr_error->reason, true);
    std::lock_guard<std::mutex> lk(s.mu);
    if (!s.stop) s.st.files_done++;
  } catch (const DecodeError& e) {
    report(s, e.kind(), file.name() + ": " + e.what(), true);
  } catch (const std::exception& e) {
    report(s, "decode_error", file.name() + ": " + e.what(), true);
  }
}

void LiveSources::run_folder(Source& s) {
  if (s.kind == "file") {
    MediaSource m;
    m.path = s.target;
    m.uri = to_uri(s.target);
    ingest_file(s, m);
    std::lock_guard<std::mutex> lk(s.mu);
    s.st.state = s.stop ? "stopped" : "done";
    return;
  }
  // inotify wakes the scan early when something is written or moved in; the scan itself is what decides.
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  std::map<std::string, int> watched;
  auto watch = [&](const std::string& dir) {
    if (fd < 0 || watched.count(dir)) return;
    const int wd = inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
    if (wd >= 0) watched[dir] = wd;
  };
  if (fd < 0)
    spdlog::warn("live: {}: no inotify ({}); scanning every {} s", s.name, errno, opt_.poll_seconds);
  struct Seen {
    uintmax_t size = 0;
    fs::file_time_type mtime;
    SteadyClock::time_point stable_since;
    bool done = false;
  };
  std::map<std::string, Seen> seen;
  SourceListOptions lo;
  lo.extensions = opt_.extensions;
  while (!s.stop) {
    watch(s.target);
    std::vector<MediaSource> files;
    try {
      files = list_sources(s.target, lo);
    } catch (const std::exception& e) {
      report(s, "not_found", e.what(), false);
    }
    const auto now = SteadyClock::now();
    bool pending = false;
    for (const auto& f : files) {
      watch(fs::path(f.path).parent_path().string());
      std::error_code ec;
      const auto size = fs::file_size(f.path, ec);
      const auto mtime = fs::last_write_time(f.path, ec);
      if (ec) continue;
      auto [it, fresh] = seen.try_emplace(f.path);
      Seen& e = it->second;
      if (fresh || e.size != size || e.mtime != mtime) {
        e.size = size;
        e.mtime = mtime;
        e.stable_since = now;
        e.done = false;
      }
      if (e.done) continue;
      if (std::chrono::duration<double>(now - e.stable_since).count() < opt_.settle_seconds || size == 0) {
        pending = true;  // still being written: look again once it has settled
        continue;
      }
      ingest_file(s, f);
      if (s.stop) break;
      e.done = true;
    }
    // Sleep until the next scan: inotify events (or the settle time of a pending file) end it early.
    const double wait = pending ? std::min(opt_.poll_seconds, opt_.settle_seconds / 2) : opt_.poll_seconds;
    const auto until = SteadyClock::now() + std::chrono::duration<double>(wait);
    while (!s.stop && SteadyClock::now() < until) {
      if (fd >= 0) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
          char buf[4096];
          while (::read(fd, buf, sizeof buf) > 0) {
          }
          if (!pending) break;  // something arrived: scan now
        }
      } else if (!sleep_for(s, 0.1)) {
        break;
      }
    }
  }
  if (fd >= 0) ::close(fd);
  std::lock_guard<std::mutex> lk(s.mu);
  s.st.state = "stopped";
}

}  // namespace vatt::nodes
