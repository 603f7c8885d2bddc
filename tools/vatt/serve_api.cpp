#include "tools/vatt/serve_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "nodes/media/ids.h"
#include "nodes/media/live_sources.h"
#include "nodes/media/source_list.h"
#include "nodes/train/query_encoder.h"
#include "storage/clip_store.h"
#include "storage/embedding_store.h"
#include "storage/vector_index.h"

namespace vatt::cli {

using nlohmann::json;
using storage::Space;
using Clock = std::chrono::steady_clock;

bool same_token(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::string& ref = a.size() == b.size() ? b : a;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ ref[i]);
  return diff == 0;
}

std::string random_token() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    out += buf;
  }
  return out;
}

namespace {

/// Thrown by handlers: the status and message of the JSON error body.
struct HttpError : std::runtime_error {
  HttpError(int s, const std::string& what) : std::runtime_error(what), status(s) {}
  int status;
};

void send_json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

std::string clip_id(uint64_t source, uint64_t clip) {
  return nodes::hex64(source) + "-" + std::to_string(clip);
}

std::pair<uint64_t, uint64_t> parse_clip_id(const std::string& id) {
  const auto dash = id.find('-');
  if (dash != 16 || id.size() < 18 || id.find_first_not_of("0123456789abcdef") != 16 ||
      id.find_first_not_of("0123456789", 17) != std::string::npos)
    throw HttpError(400, "clip id '" + id + "': expected SOURCE-INDEX (16 hex digits, a dash, a number)");
  return {std::stoull(id.substr(0, 16), nullptr, 16), std::stoull(id.substr(17))};
}

json status_json(const nodes::LiveSourceStatus& s) {
  return {{"name", s.name},
          {"uri", s.uri},
          {"kind", s.kind},
          {"state", s.state},
          {"clips", s.clips},
          {"dropped", s.dropped},
          {"reconnects", s.reconnects},
          {"errors", s.errors},
          {"errors_by_kind", s.errors_by_kind},
          {"last_error", s.last_error},
          {"lag_seconds", s.lag_seconds},
          {"clips_per_s", s.clips_per_s},
          {"frames", s.frames},
          {"files_done", s.files_done}};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

struct ServeApi::Impl {
  ServeConfig cfg;
  std::shared_ptr<storage::ClipStore> store;
  std::shared_ptr<nodes::LiveSources> live;
  std::function<pipeline::RunMetrics()> metrics;
  std::unique_ptr<nodes::QueryEncoder> encoder;
  std::mutex search_mu;  // one query at a time: the index and the encoder are not shared
  std::map<Space, std::unique_ptr<storage::VectorIndex>> index;
  std::map<std::string, std::pair<std::string, std::string>> files;  // web page: path -> (body, type)

  /// The index of `space`, caught up with the store; null while the model has no vector there.
  storage::VectorIndex* index_for(Space space) {
    auto& ix = index[space];
    if (ix) {
      ix->sync();
      return ix.get();
    }
    storage::EmbeddingStore es(store->db());
    for (const auto& m : es.models()) {
      if (m.id != encoder->model_id()) continue;
      auto sp = m.spaces.find(space);
      if (sp == m.spaces.end() || sp->second.count == 0) return nullptr;
      ix = std::make_unique<storage::VectorIndex>(store->db(), m.id, space);
      return ix.get();
    }
    return nullptr;
  }

  json search(const std::vector<float>& q, Space space, int k, const storage::SearchFilter& filter,
              bool per_video) {
    std::vector<storage::SearchHit> hits;
    uint64_t size = 0;
    if (auto* ix = index_for(space)) {
      hits = ix->search(q.data(), q.size(), k, filter, per_video);
      size = ix->live();
    }
    std::map<uint64_t, std::string> uris;
    for (const auto& s : store->sources()) uris[s.source_id] = s.uri;
    json results = json::array();
    int rank = 0;
    for (const auto& h : hits) {
      auto rec = store->get(h.source, h.clip);
      json r = {{"rank", ++rank},
                {"score", h.score},
                {"source", uris.count(h.source) ? uris[h.source] : nodes::hex64(h.source)},
                {"clip", h.clip},
                {"start", h.start_us / 1e6},
                {"end", h.end_us / 1e6},
                {"text", rec && rec->has_text() ? rec->text[0].text : ""},
                {"id", clip_id(h.source, h.clip)},
                {"thumbnail", store->thumbnail(h.source, h.clip)
                                  ? "/api/clips/" + clip_id(h.source, h.clip) + "/thumbnail.jpg"
                                  : ""}};
      if (rec && rec->wall_start_us) r["wall_start"] = rec->wall_start_us / 1e6;
      results.push_back(std::move(r));
    }
    return {{"results", results}, {"clips", size}, {"model", storage::hex_id(encoder->model_id())}};
  }

  storage::SearchFilter filter_of(const httplib::Request& req) {
    storage::SearchFilter f;
    if (req.has_param("source")) {
      std::string want = req.get_param_value("source");
      if (live)
        for (const auto& s : live->list())
          if (s.name == want) want = s.uri;
      const std::string as_uri = want.find("://") == std::string::npos ? nodes::to_uri(want) : want;
      std::unordered_set<uint64_t> allowed;
      for (const auto& s : store->sources())
        if (s.uri.rfind(want, 0) == 0 || s.uri.rfind(as_uri, 0) == 0) allowed.insert(s.source_id);
      f.sources = std::move(allowed);
    }
    auto seconds = [&](const char* name) -> std::optional<int64_t> {
      if (!req.has_param(name)) return std::nullopt;
      try {
        return static_cast<int64_t>(std::stod(req.get_param_value(name)) * 1e6);
      } catch (const std::exception&) {
        throw HttpError(400, std::string(name) + ": expected seconds");
      }
    };
    f.after_us = seconds("after");
    f.before_us = seconds("before");
    return f;
  }

  int k_of(const httplib::Request& req) {
    if (!req.has_param("k")) return 10;
    try {
      const int k = std::stoi(req.get_param_value("k"));
      if (k >= 1 && k <= 100) return k;
    } catch (const std::exception&) {
    }
    throw HttpError(400, "k: expected a number from 1 to 100");
  }

  std::string metrics_text() {
    std::ostringstream o;
    o << "# HELP vatt_source_clips_total Clips a live source gave.\n# TYPE vatt_source_clips_total counter\n";
    std::vector<nodes::LiveSourceStatus> all = live ? live->list() : std::vector<nodes::LiveSourceStatus>{};
    auto per_source = [&](const char* name, const char* type, const char* help, auto get) {
      if (std::string(name) != "vatt_source_clips_total")
        o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
      for (const auto& s : all) o << name << "{source=\"" << s.name << "\"} " << get(s) << "\n";
    };
    per_source("vatt_source_clips_total", "counter", "", [](const auto& s) { return s.clips; });
    per_source("vatt_source_dropped_total", "counter", "Clips dropped because ingestion fell behind.",
               [](const auto& s) { return s.dropped; });
    per_source("vatt_source_reconnects_total", "counter", "Reconnects of a live stream.",
               [](const auto& s) { return s.reconnects; });
    per_source("vatt_source_errors_total", "counter", "Errors of a source.",
               [](const auto& s) { return s.errors; });
    per_source("vatt_source_lag_seconds", "gauge", "Wall clock minus the end of the latest clip.",
               [](const auto& s) { return s.lag_seconds; });
    per_source("vatt_source_up", "gauge", "1 while a source is live or watching.",
               [](const auto& s) { return s.state == "live" || s.state == "watching" ? 1 : 0; });
    if (metrics) {
      const auto m = metrics();
      o << "# HELP vatt_node_in_total Messages a node processed.\n# TYPE vatt_node_in_total counter\n";
      for (const auto& n : m.nodes) o << "vatt_node_in_total{node=\"" << n.id << "\"} " << n.in << "\n";
      o << "# HELP vatt_node_out_total Messages a node emitted.\n# TYPE vatt_node_out_total counter\n";
      for (const auto& n : m.nodes) o << "vatt_node_out_total{node=\"" << n.id << "\"} " << n.out << "\n";
      o << "# HELP vatt_node_errors_total Errors a node reported.\n# TYPE vatt_node_errors_total counter\n";
      for (const auto& n : m.nodes)
        o << "vatt_node_errors_total{node=\"" << n.id << "\"} " << n.errors << "\n";
    }
    return o.str();
  }
};

ServeApi::ServeApi(ServeConfig cfg, std::shared_ptr<storage::ClipStore> store,
                   std::shared_ptr<nodes::LiveSources> live, std::function<pipeline::RunMetrics()> metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->store = std::move(store);
  impl_->live = std::move(live);
  impl_->metrics = std::move(metrics);
  impl_->encoder = std::make_unique<nodes::QueryEncoder>(impl_->cfg.checkpoint, impl_->cfg.threads);
  for (const auto& [file, type] :
       std::vector<std::pair<std::string, std::string>>{{"index.html", "text/html; charset=utf-8"},
                                                        {"app.js", "text/javascript; charset=utf-8"},
                                                        {"style.css", "text/css; charset=utf-8"}})
    impl_->files["/" + file] = {read_file(impl_->cfg.web_dir + "/" + file), type};
  impl_->files["/"] = impl_->files["/index.html"];
}

ServeApi::~ServeApi() {
  std::lock_guard<std::mutex> lk(impl_->search_mu);
  for (auto& [space, ix] : impl_->index) {
    try {
      if (ix) ix->save();
    } catch (const std::exception& e) {
      spdlog::warn("serve: cannot save the index: {}", e.what());
    }
  }
}

uint64_t ServeApi::model_id() const {
  return impl_->encoder->model_id();
}

void ServeApi::install(httplib::Server& svr) {
  Impl& im = *impl_;
  // One pool thread per open connection (cpp-httplib keeps a keep-alive connection on its thread): enough for
  // many clients at once; searches themselves take turns on the index.
  const size_t pool = static_cast<size_t>(std::max(4, im.cfg.http_threads));
  svr.new_task_queue = [pool] { return new httplib::ThreadPool(pool); };
  svr.set_payload_max_length(im.cfg.max_body);
  svr.set_read_timeout(5, 0);
  svr.set_write_timeout(5, 0);
  // Errors are JSON; the body a handler set is kept.
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const HttpError& e) {
      send_json(res, {{"error", e.what()}}, e.status);
    } catch (const nodes::LiveSourceError& e) {
      send_json(res, {{"error", e.what()}}, e.http_status());
    } catch (const nodes::QueryError& e) {
      send_json(res, {{"error", e.what()}}, 400);
    } catch (const std::exception& e) {
      send_json(res, {{"error", e.what()}}, 500);
    } catch (...) {
      send_json(res, {{"error", "unknown error"}}, 500);
    }
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string why = res.status == 404   ? "no such resource: " + req.path
                            : res.status == 413 ? "request body too large"
                                                : "request failed";
    send_json(res, {{"error", why}}, res.status);
  });
  // Token: every API call and the metrics carry it when the service has one.
  svr.set_pre_routing_handler([&im](const httplib::Request& req, httplib::Response& res) {
    if (im.cfg.token.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (req.path.rfind("/api/", 0) != 0 && req.path != "/metrics")
      return httplib::Server::HandlerResponse::Unhandled;
    std::string given;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0)
      given = auth.substr(7);
    else if (req.has_param("token"))
      given = req.get_param_value("token");
    if (!same_token(given, im.cfg.token)) {
      send_json(res, {{"error", "missing or wrong token (Authorization: Bearer TOKEN)"}}, 401);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  for (const auto& [path, body] : im.files) {
    const auto content = body;
    svr.Get(path, [content](const httplib::Request&, httplib::Response& res) {
      res.set_content(content.first, content.second.c_str());
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'");
    });
  }

  svr.Get("/api/health", [&im](const httplib::Request&, httplib::Response& res) {
    send_json(res, {{"status", "ok"},
                    {"model", storage::hex_id(im.encoder->model_id())},
                    {"sources", im.live ? im.live->list().size() : 0}});
  });

  svr.Get("/api/search", [&im](const httplib::Request& req, httplib::Response& res) {
    const auto t0 = Clock::now();
    if (!req.has_param("q") || req.get_param_value("q").empty())
      throw HttpError(400, "q: a text query is needed");
    const int k = im.k_of(req);
    auto filter = im.filter_of(req);
    std::lock_guard<std::mutex> lk(im.search_mu);
    std::string q = req.get_param_value("q");
    std::replace(q.begin(), q.end(), '+', ' ');  // form encoding: a '+' is a space (a real '+' has no word)
    const auto t = im.encoder->text(q);
    json out = im.search(t.vector, Space::VideoVT, k, filter, req.has_param("per_video"));
    out["unknown_words"] = t.unknown;
    out["took_ms"] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    send_json(res, out);
  });

  svr.Post("/api/search", [&im](const httplib::Request& req, httplib::Response& res) {
    const auto t0 = Clock::now();
    const std::string kind = req.has_param("kind") ? req.get_param_value("kind") : "video";
    if (kind != "video" && kind != "audio") throw HttpError(400, "kind: expected video or audio");
    if (req.body.empty()) throw HttpError(400, "the body must hold the query file");
    const int k = im.k_of(req);
    auto filter = im.filter_of(req);
    // The query file goes to a private temporary file for the decoder, removed after.
    std::string path = (std::filesystem::temp_directory_path() / "vatt-query-XXXXXX").string();
    std::vector<char> tmpl(path.begin(), path.end());
    tmpl.push_back('\0');
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw HttpError(500, "cannot write the query file");
    path = tmpl.data();
    const bool written =
        ::write(fd, req.body.data(), req.body.size()) == static_cast<ssize_t>(req.body.size());
    ::close(fd);
    struct Remove {
      std::string p;
      ~Remove() { std::remove(p.c_str()); }
    } remove{path};
    if (!written) throw HttpError(500, "cannot write the query file");
    std::lock_guard<std::mutex> lk(im.search_mu);
    const Space query = kind == "audio" ? Space::AudioVA : Space::VideoVA;
    const auto q = im.encoder->file(path, query);
    json out = im.search(q, Space::VideoVA, k, filter, req.has_param("per_video"));
    out["took_ms"] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    send_json(res, out);
  });

  svr.Get("/api/sources", [&im](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    if (im.live)
      for (const auto& s : im.live->list()) list.push_back(status_json(s));
    send_json(res, list);
  });

  svr.Post("/api/sources", [&im](const httplib::Request& req, httplib::Response& res) {
    if (!im.live) throw HttpError(503, "this service has no live sources");
    json body;
    try {
      body = json::parse(req.body);
    } catch (const std::exception&) {
      throw HttpError(400, "the body must be JSON: {\"name\": NAME, \"uri\": URI}");
    }
    if (!body.is_object() || !body.contains("uri") || !body["uri"].is_string() || !body.contains("name") ||
        !body["name"].is_string())
      throw HttpError(400, "the body must be JSON: {\"name\": NAME, \"uri\": URI}");
    const auto st = im.live->add(body["name"].get<std::string>(), body["uri"].get<std::string>());
    send_json(res, status_json(st), 201);
  });

  svr.Delete(R"(/api/sources/([A-Za-z0-9_.\-]+))",
             [&im](const httplib::Request& req, httplib::Response& res) {
               if (!im.live) throw HttpError(503, "this service has no live sources");
               const std::string name = req.matches[1];
               im.live->remove(name);
               send_json(res, {{"removed", name}});
             });

  svr.Get(R"(/api/clips/([0-9a-f]+-[0-9]+))", [&im](const httplib::Request& req, httplib::Response& res) {
    const auto [source, clip] = parse_clip_id(req.matches[1]);
    auto rec = im.store->get(source, clip);
    if (!rec) throw HttpError(404, "no clip " + std::string(req.matches[1]));
    json text = json::array();
    for (const auto& t : rec->text)
      text.push_back({{"start", t.start_us / 1e6}, {"end", t.end_us / 1e6}, {"text", t.text}});
    json j = {
        {"id", clip_id(source, clip)},
        {"source", rec->uri},
        {"clip", clip},
        {"start", rec->start_us / 1e6},
        {"end", rec->end_us / 1e6},
        {"text", rec->has_text() ? rec->text[0].text : ""},
        {"candidates", text},
        {"labels", rec->labels},
        {"has_audio", rec->has_audio},
        {"thumbnail",
         im.store->thumbnail(source, clip) ? "/api/clips/" + clip_id(source, clip) + "/thumbnail.jpg" : ""}};
    if (rec->wall_start_us) j["wall_start"] = rec->wall_start_us / 1e6;
    send_json(res, j);
  });

  svr.Get(R"(/api/clips/([0-9a-f]+-[0-9]+)/thumbnail\.jpg)",
          [&im](const httplib::Request& req, httplib::Response& res) {
            const auto [source, clip] = parse_clip_id(req.matches[1]);
            auto jpeg = im.store->thumbnail(source, clip);
            if (!jpeg) throw HttpError(404, "clip " + std::string(req.matches[1]) + " has no thumbnail");
            res.set_content(*jpeg, "image/jpeg");
            res.set_header("Cache-Control", "max-age=86400");
          });

  svr.Get(R"(/files(/.+))", [&im](const httplib::Request& req, httplib::Response& res) {
    // Only files inside a root, after resolving symlinks and dot-dots.
    const auto inside = nodes::inside_roots(req.matches[1], im.cfg.roots);
    if (!inside) throw HttpError(403, "path outside the allowed root folders");
    const std::filesystem::path real = *inside;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(real, ec)) throw HttpError(404, "no such file");
    const auto size = std::filesystem::file_size(real, ec);
    const std::string path = real.string();
    const std::string ext = real.extension().string();
    const char* type = ext == ".mp4" || ext == ".m4v" ? "video/mp4"
                       : ext == ".webm"               ? "video/webm"
                                                      : "application/octet-stream";
    res.set_content_provider(size, type, [path](size_t offset, size_t length, httplib::DataSink& sink) {
      std::ifstream in(path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offset));
      std::vector<char> buf(std::min<size_t>(length, 1 << 16));
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      sink.write(buf.data(), static_cast<size_t>(in.gcount()));
      return in.gcount() > 0;
    });
  });

  svr.Get("/metrics", [&im](const httplib::Request&, httplib::Response& res) {
    res.set_content(im.metrics_text(), "text/plain; version=0.0.4");
  });
}

}  // namespace vatt::cli
