// Live sources that come and go while a graph runs: RTSP, HTTP(S) and HLS streams and v4l2 devices (each
// decoded by its own thread, reconnected with exponential back-off when it drops, errors or stalls), and
// watched folders (a new file is ingested once its size has been stable for a while; files already there are
// ingested once, resumed where a crash left them). What the `live_source` node emits and `vatt serve`'s API
// adds to and lists.
//
//   stream thread:  connect -> decode (live mode) -> clips -> per-source queue (full: the oldest is dropped,
//                   counted) ... error/stall/end -> back off 1 s, 2 s, ... 60 s (+-20% jitter) -> connect
//   folder thread:  scan (inotify wakes it, else every poll_seconds) -> stable new file -> decode ->
//                   per-source queue (full: the folder waits; its files are still there)
//   next():         the next clip of any source, round-robin
//
// The list of sources is kept in the clip store's database (family runs, key "live/source/NAME"), so sources
// added at run time come back after a restart. Streams continue their clip indices from the store (a restart
// ingests from "now" and never reuses an index); files resume at their first missing clip.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "nodes/media/clip.h"
#include "nodes/media/decoder.h"
#include "nodes/media/source_list.h"
#include "nodes/media/transcript.h"

namespace vatt::storage {
class ClipStore;
}

namespace vatt::nodes {

struct LiveOptions {
  DecodeOptions decode;       ///< frame rate, size, audio rate, clip length (sampling all)
  TranscriptOptions text;     ///< files of watched folders: subtitles, ASR
  double stall_seconds = 10;  ///< a stream that gives no data this long is reconnected
  double backoff_initial_seconds = 1, backoff_max_seconds = 60;
  size_t queue = 8;                  ///< clips a stream may have waiting; beyond, its oldest is dropped
  double settle_seconds = 2;         ///< a folder's new file must keep its size this long before it is read
  double poll_seconds = 1;           ///< folder scans when inotify is quiet (or unavailable)
  size_t max_sources = 16;           ///< add() refuses more
  std::vector<std::string> roots;    ///< local files and folders must lie inside one of these
  std::set<std::string> extensions;  ///< files a watched folder takes (lower case, no dot)
};

/// Where a source stands, as the API shows it.
struct LiveSourceStatus {
  std::string name, uri;
  std::string kind;   ///< stream | folder | file
  std::string state;  ///< connecting | live | backing_off | watching | done | stopped | failed
  uint64_t clips = 0, dropped = 0, reconnects = 0, errors = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  std::string last_error;
  double lag_seconds = 0;   ///< streams: wall clock minus the end of the latest clip's window
  double clips_per_s = 0;   ///< over the last 10 s
  uint64_t frames = 0;      ///< decoded video frames
  uint64_t files_done = 0;  ///< folders: files ingested
};

/// A request the API must refuse: bad name, scheme, path outside the roots, too many sources, a duplicate.
class LiveSourceError : public std::invalid_argument {
 public:
  LiveSourceError(int http_status, const std::string& what)
      : std::invalid_argument(what), status_(http_status) {}
  int http_status() const { return status_; }

 private:
  int status_;
};

class LiveSources {
 public:
  /// `store` (may be null) keeps the source list and gives streams and files their resume points.
  LiveSources(LiveOptions options, std::shared_ptr<storage::ClipStore> store);
  ~LiveSources();
  LiveSources(const LiveSources&) = delete;
  LiveSources& operator=(const LiveSources&) = delete;

  /// Validates, keeps (when `persist`) and starts a source. `uri`: rtsp://, http(s)://, v4l2:// or a
  /// /dev/video* path, or a local file or folder (a path or file:// URI) inside the roots. Throws
  /// LiveSourceError.
  LiveSourceStatus add(const std::string& name, const std::string& uri, bool persist = true);
  /// Stops and forgets a source (its stored clips stay). Throws LiveSourceError(404) for an unknown name.
  void remove(const std::string& name);
  std::vector<LiveSourceStatus> list() const;
  std::optional<LiveSourceStatus> status(const std::string& name) const;
  /// Starts the sources kept in the store; returns how many.
  size_t restore();

  /// The next clip of any source (round-robin), or a problem one reported; waits until there is one.
  /// nullopt once stop() was called.
  std::optional<std::variant<Clip, SourceError>> next();
  /// Ends every source thread and wakes next(). Idempotent.
  void stop();

 private:
  struct Source;
  void run_stream(Source& s);
  void run_folder(Source& s);
  void ingest_file(Source& s, const MediaSource& file);
  /// Queues a clip: streams drop their oldest when full; folders and files wait. False when stopping.
  bool push(Source& s, Clip&& c);
  void report(Source& s, const std::string& kind, const std::string& reason, bool to_graph);
  bool sleep_for(Source& s, double seconds);
  /// Tells a source's thread to end and wakes it wherever it waits.
  void halt(Source& s);
  std::string checked_uri(const std::string& uri, std::string* kind) const;

  LiveOptions opt_;
  std::shared_ptr<storage::ClipStore> store_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::map<std::string, std::shared_ptr<Source>> sources_;
  std::deque<SourceError> problems_;  // waiting for next()
  size_t rr_ = 0;
  bool stopping_ = false, stopped_ = false;
};

}  // namespace vatt::nodes
