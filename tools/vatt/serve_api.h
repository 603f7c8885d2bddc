// What `vatt serve` answers over HTTP: search over the store the live graph fills, the live sources, clips
// and their thumbnails, health and Prometheus metrics, and the web page. cpp-httplib does the HTTP.
//
//   GET  /api/search?q=TEXT&k=N[&source=&after=&before=&per_video=1]   text query (video-text space)
//   POST /api/search?kind=video|audio[&k=N]                              body: a query file
//   GET  /api/sources    POST /api/sources {name, uri}    DELETE /api/sources/NAME
//   GET  /api/clips/ID   GET /api/clips/ID/thumbnail.jpg                ID = SOURCEHEX-INDEX
//   GET  /api/health     GET /metrics (Prometheus text)                 GET / (web/index.html), /app.js, ...
//   GET  /files/PATH     a media file inside the roots (byte ranges), for the page's player
//
// Every error is {"error": MESSAGE} with its 4xx/5xx status. With a token, every /api and /metrics request
// must carry it (Authorization: Bearer TOKEN, or ?token=TOKEN for links), compared in constant time.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/metrics.h"

namespace httplib {
class Server;
}

namespace vatt::nodes {
class LiveSources;
class QueryEncoder;
}  // namespace vatt::nodes
namespace vatt::storage {
class ClipStore;
class VectorIndex;
}  // namespace vatt::storage

namespace vatt::cli {

struct ServeConfig {
  std::string db;
  std::string checkpoint;          ///< what encodes queries (the live graph's embed checkpoint)
  std::string web_dir;             ///< index.html, app.js, style.css
  std::string token;               ///< empty: no check (loopback only)
  std::vector<std::string> roots;  ///< folders whose files /files/PATH may send (the page plays clips)
  size_t max_body = 64u << 20;
  int threads = 1;        ///< LibTorch threads for query encoding
  int http_threads = 32;  ///< connections served at once
};

class ServeApi {
 public:
  ServeApi(ServeConfig cfg, std::shared_ptr<storage::ClipStore> store,
           std::shared_ptr<nodes::LiveSources> live, std::function<pipeline::RunMetrics()> metrics);
  ~ServeApi();
  /// Installs the routes and limits on `svr`.
  void install(httplib::Server& svr);
  uint64_t model_id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Constant-time comparison of two strings (for tokens).
bool same_token(const std::string& a, const std::string& b);
/// A random token of 128 bits, as 32 hex digits (from std::random_device).
std::string random_token();

}  // namespace vatt::cli
