// vatt serve: the live graph (graphs/live.yaml: live sources -> clips -> embed -> clip and embedding store)
// and, beside it in the same process, the HTTP API and web page that search what it stores (serve_api.h).
#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "nodes/media/live_sources.h"
#include "pipeline/runtime.h"
#include "storage/clip_store.h"
#include "storage/embedding_store.h"
#include "tools/vatt/cli_common.h"
#include "tools/vatt/serve_api.h"

namespace vatt::cli {

namespace {

bool loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

/// A YAML list of strings for --set (JSON is YAML): paths with any characters survive.
std::string yaml_list(const std::vector<std::string>& v) {
  nlohmann::json j = v;
  return j.dump();
}

}  // namespace

int cmd_serve(const Args& args) {
  po::options_description opts("vatt serve options");
  std::string db, graph = std::string(VATT_SOURCE_DIR) + "/graphs/live.yaml", checkpoint,
                  listen = "127.0.0.1:8080", token, sources, web = std::string(VATT_SOURCE_DIR) + "/web",
                  log_level = "info";
  std::vector<std::string> roots, sets;
  int max_sources = 16, threads = 1, http_threads = 32;
  size_t max_body_mib = 64;
  opts.add_options()("db", po::value(&db)->required(), "the database the live graph fills and search reads")(
      "graph", po::value(&graph), "the live graph (default: graphs/live.yaml of this checkout)")(
      "checkpoint", po::value(&checkpoint),
      "the model that embeds clips and queries (default: the latest model of --db)")(
      "listen", po::value(&listen), "HOST:PORT to serve on (default 127.0.0.1:8080; port 0 = any free port)")(
      "token", po::value(&token), "API token (default: VATT_TOKEN; required, or made up, off loopback)")(
      "root", po::value(&roots)->composing(),
      "a folder local sources may lie in (repeatable; none: no local paths)")(
      "sources", po::value(&sources), "a file of sources to start with, one per line: NAME URI")(
      "max-sources", po::value(&max_sources), "most live sources at once (default 16)")(
      "max-body-mib", po::value(&max_body_mib), "largest request body in MiB (default 64)")(
      "web", po::value(&web), "folder of the web page (index.html, app.js, style.css)")(
      "threads", po::value(&threads), "LibTorch threads of query encoding (default 1)")(
      "http-threads", po::value(&http_threads), "HTTP connections served at once (default 32)")(
      "set", po::value(&sets)->composing(), "NODE.OPTION=VALUE override of the live graph (repeatable)")(
      "log-level", po::value(&log_level), "trace, debug, info, warn, error");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc =
          parse_args(args,
                     "usage: vatt serve --db DIR [--checkpoint CKPT] [--listen 127.0.0.1:8080] [--root DIR] "
                     "[--sources FILE] [--token T]\n"
                     "Ingests live sources (RTSP/HTTP/HLS streams, v4l2, watched folders) into --db while "
                     "it serves search over HTTP with a web page at /.",
                     opts, pos, vm))
    return *rc;
  spdlog::set_level(spdlog::level::from_str(log_level));
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      listen.find_first_not_of("0123456789", colon + 1) != std::string::npos || colon + 1 == listen.size()) {
    std::fprintf(stderr, "vatt serve: --listen %s: expected HOST:PORT\n", listen.c_str());
    return 2;
  }
  const std::string host = listen.substr(0, colon);
  const int port = std::stoi(listen.substr(colon + 1));
  if (token.empty())
    if (const char* t = std::getenv("VATT_TOKEN")) token = t;
  if (!loopback(host) && token.empty()) {
    token = random_token();
    std::printf("vatt serve: listening beyond loopback: API token %s (Authorization: Bearer TOKEN)\n",
                token.c_str());
  }
  // The model: given, or the latest the store holds embeddings of.
  if (checkpoint.empty() && storage::ClipStore::exists_at(db)) {
    auto store = storage::ClipStore::open_shared(db, storage::Access::ReadOnly);
    auto models = storage::EmbeddingStore(store->db()).models();
    if (!models.empty()) checkpoint = models.back().checkpoint;
  }
  if (checkpoint.empty()) {
    std::fprintf(stderr, "vatt serve: --checkpoint is needed (%s holds no embeddings yet)\n", db.c_str());
    return 2;
  }
  std::vector<std::string> all_sets = {"store.db=" + db, "model.checkpoint=" + checkpoint,
                                       "src.roots=" + yaml_list(roots),
                                       "src.max_sources=" + std::to_string(max_sources)};
  if (!sources.empty()) all_sets.push_back("src.sources=" + sources);
  all_sets.insert(all_sets.end(), sets.begin(), sets.end());
  auto reg = make_registry();
  auto spec = load(graph, all_sets, reg);
  if (!spec) return 2;
  std::string live_id;
  for (const auto& n : spec->nodes)
    if (n.contract->type == "live_source") live_id = n.id;
  if (live_id.empty()) {
    std::fprintf(stderr, "vatt serve: %s has no live_source node\n", graph.c_str());
    return 2;
  }

  sigset_t set = block_stop_signals();

  pipeline::RunOptions ro;
  ro.threads = spec->default_threads;
  ro.progress_interval = 0;
  ro.services = std::make_shared<pipeline::Services>();
  pipeline::Runtime runtime(*spec, ro);
  pipeline::RunMetrics result;
  std::atomic<bool> graph_done{false};
  httplib::Server svr;
  std::thread graph_thread([&] {
    result = runtime.run();
    graph_done = true;
    svr.stop();
  });
  int stopped_by = 0;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      timespec ts{0, 100 * 1000 * 1000};
      const int sig = sigtimedwait(&set, nullptr, &ts);
      if (sig <= 0) continue;
      if (stopped_by) {
        std::fprintf(stderr, "\nvatt serve: second signal, exiting without draining\n");
        std::_Exit(128 + sig);
      }
      stopped_by = sig;
      spdlog::warn("received {}; stopping the server and draining the live graph",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
      svr.stop();
      runtime.request_stop(sig);
    }
  });
  auto finish = [&](int code) {
    runtime.request_stop(stopped_by ? stopped_by : SIGTERM);
    graph_thread.join();
    done = true;
    watcher.join();
    return code;
  };

  auto live = ro.services->wait<nodes::LiveSources>(live_id, std::chrono::seconds(60));
  if (!live) {
    if (graph_done) {
      std::fprintf(stderr, "vatt serve: the live graph failed: %s\n", result.failure.c_str());
      return finish(1);
    }
    std::fprintf(stderr, "vatt serve: the live graph did not start within 60 s\n");
    return finish(1);
  }
  std::unique_ptr<ServeApi> api;
  try {
    ServeConfig cfg;
    cfg.db = db;
    cfg.checkpoint = checkpoint;
    cfg.web_dir = web;
    cfg.token = token;
    cfg.roots = roots;
    cfg.max_body = max_body_mib << 20;
    cfg.threads = threads;
    cfg.http_threads = http_threads;
    api = std::make_unique<ServeApi>(cfg, storage::ClipStore::open_shared(db), live,
                                     [&] { return runtime.snapshot(); });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt serve: %s\n", e.what());
    return finish(1);
  }
  api->install(svr);
  const int bound = port == 0 ? svr.bind_to_any_port(host) : (svr.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    std::fprintf(stderr, "vatt serve: cannot listen on %s\n", listen.c_str());
    return finish(1);
  }
  const std::string url_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::printf("vatt serve: http://%s:%d/ (model %s, %zu source(s)%s)\n", url_host.c_str(), bound,
              storage::hex_id(api->model_id()).c_str(), live->list().size(),
              token.empty() ? "" : ", token required");
  std::fflush(stdout);
  if (!graph_done) svr.listen_after_bind();
  api.reset();  // saves the index
  const int code = finish(0);
  std::fprintf(stderr, "%s", pipeline::summary_table(result).c_str());
  if (stopped_by) return 128 + stopped_by;
  if (result.exit_code == 1) spdlog::error("{}", result.failure);
  return result.exit_code ? result.exit_code : code;
}

}  // namespace vatt::cli
