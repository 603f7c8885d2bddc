// bench_serve: live ingestion figures of `vatt serve` on this machine, with N RTSP streams served by
// gst-rtsp-server in this process (10 fps live test pattern + audio) on 127.0.0.1:
//   - per stream: clips taken, clips dropped over the run (zero drops = the streams are sustained)
//   - latency from the end of a clip's window in the stream to the moment /api/search returns it (p50/p99)
//   - resident memory of the service over the run (first sample after warm-up, last, peak)
//   - with --restarts R: the RTSP server withdrawn and offered again R times: recoveries, time from the
//     server's return to the first new frame and to the first new clip, and whether any clip index repeats
//   - with --api DB: C concurrent clients (--clients 20) each sending --requests text searches to a service on
//     an existing store DB (e.g. one filled to 100k clips by bench_search --fill): latency p50/p99, requests/s
//
// Usage: bench_serve --checkpoint CKPT [--streams 1,2,4] [--seconds 60] [--size 640x360] [--restarts 20]
//                    [--set NODE.OPT=V]...
//        bench_serve --checkpoint CKPT --streams '' --api DB [--clients 20] [--requests 50]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/graphs/rtsp_server.h"
#include "tests/graphs/run_vatt.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Service {
  vatt::test::Child child;
  int port = 0;
  explicit Service(const std::vector<std::string>& args) {
    child = vatt::test::spawn_vatt(args);
    for (int i = 0; i < 1200 && !port; ++i) {
      const std::string out = child.output();
      const auto at = out.find("http://127.0.0.1:");
      if (at != std::string::npos) port = std::atoi(out.c_str() + at + 17);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!port) {
      std::fprintf(stderr, "vatt serve did not start:\n%s\n", child.output().c_str());
      std::exit(1);
    }
  }
  ~Service() {
    kill(child.pid, SIGTERM);
    child.wait();
  }
  json get(const std::string& path) const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    auto r = c.Get(path.c_str());
    return r ? json::parse(r->body, nullptr, false) : json();
  }
  void add(const std::string& name, const std::string& uri) const {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Post("/api/sources", json{{"name", name}, {"uri", uri}}.dump(), "application/json");
    if (!r || r->status != 201) {
      std::fprintf(stderr, "cannot add %s: %s\n", uri.c_str(), r ? r->body.c_str() : "no answer");
      std::exit(1);
    }
  }
  json source(const std::string& name) const {
    for (const auto& s : get("/api/sources"))
      if (s.value("name", "") == name) return s;
    return json();
  }
};

std::vector<std::string> base_args(const std::string& db, const std::string& ckpt,
                                   const std::vector<std::string>& sets) {
  std::vector<std::string> a = {"serve",       "--db",          db,  "--checkpoint", ckpt, "--listen",
                                "127.0.0.1:0", "--max-sources", "64"};
  for (const auto& s : sets) a.insert(a.end(), {"--set", s});
  return a;
}

int g_width = 160, g_height = 120;

void run_streams(int n, double seconds, const std::string& ckpt, const std::vector<std::string>& sets) {
  vatt::test::RtspServer rtsp(n, g_width, g_height);
  const std::string db = vatt::test::temp_path("bench-serve-" + std::to_string(n));
  std::filesystem::remove_all(db);
  Service svc(base_args(db, ckpt, sets));
  for (int i = 0; i < n; ++i) svc.add("cam" + std::to_string(i), rtsp.uri(i));
  std::map<std::string, double> seen;  // clip id -> latency
  std::vector<double> lat;
  std::vector<long> rss;
  const auto t0 = Clock::now();
  auto last_rss = t0;
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    for (int i = 0; i < n; ++i) {
      const json r = svc.get("/api/search?q=green%20screen&k=100&source=cam" + std::to_string(i));
      const double t = now_s();
      for (const auto& h : r.value("results", json::array())) {
        const std::string id = h["id"];
        if (seen.count(id) || !h.contains("wall_start")) continue;
        const double end =
            h["wall_start"].get<double>() + (h["end"].get<double>() - h["start"].get<double>());
        seen[id] = t - end;
        lat.push_back(t - end);
      }
    }
    if (Clock::now() - last_rss > std::chrono::seconds(5)) {
      rss.push_back(rss_kib(svc.child.pid));
      last_rss = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  uint64_t clips = 0, dropped = 0;
  for (const auto& s : svc.get("/api/sources")) {
    clips += s.value("clips", 0);
    dropped += s.value("dropped", 0);
  }
  std::printf("%-8d %8.0f %8llu %8llu %10.2f %10.2f %10.2f %9ld %9ld %9ld\n", n, seconds,
              static_cast<unsigned long long>(clips), static_cast<unsigned long long>(dropped), pct(lat, 0.5),
              pct(lat, 0.99), lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()),
              rss.size() > 1 ? rss[1] : -1, rss.empty() ? -1 : rss.back(),
              rss.empty() ? -1 : *std::max_element(rss.begin(), rss.end()));
  std::fflush(stdout);
}

void run_restarts(int restarts, const std::string& ckpt, std::vector<std::string> sets) {
  vatt::test::RtspServer rtsp(1);
  const std::string db = vatt::test::temp_path("bench-serve-restarts");
  std::filesystem::remove_all(db);
  sets.push_back("src.backoff_max_seconds=1");
  sets.push_back("src.stall_seconds=2");
  Service svc(base_args(db, ckpt, sets));
  svc.add("cam", rtsp.uri());
  auto wait_until = [](double limit, auto fn) {
    const auto end = Clock::now() + std::chrono::duration<double>(limit);
    while (Clock::now() < end && !fn()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return fn();
  };
  wait_until(60, [&] { return svc.source("cam").value("clips", 0) >= 1; });
  std::vector<double> to_frame, to_clip;
  int recovered = 0;
  for (int r = 0; r < restarts; ++r) {
    rtsp.take_down();
    wait_until(20, [&] { return svc.source("cam").value("state", "") != "live"; });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const json before = svc.source("cam");
    const uint64_t frames = before.value("frames", uint64_t{0}), clips = before.value("clips", uint64_t{0});
    rtsp.bring_back();
    const auto t = Clock::now();
    const bool f = wait_until(30, [&] { return svc.source("cam").value("frames", uint64_t{0}) > frames; });
    if (f) to_frame.push_back(std::chrono::duration<double>(Clock::now() - t).count());
    const bool c = wait_until(30, [&] { return svc.source("cam").value("clips", uint64_t{0}) > clips; });
    if (c) to_clip.push_back(std::chrono::duration<double>(Clock::now() - t).count());
    recovered += f && c;
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const json res = svc.get("/api/search?q=green%20screen&k=100&source=cam");
  std::set<std::string> ids;
  size_t n = 0;
  for (const auto& h : res.value("results", json::array())) {
    ids.insert(h["id"].get<std::string>());
    ++n;
  }
  const json st = svc.source("cam");
  std::printf(
      "restarts %d: recovered %d, reconnects %d; server back -> first frame p50 %.2f s max %.2f s, -> first "
      "clip "
      "p50 %.2f s max %.2f s; %zu clips searchable, %zu distinct (repeated index: %s)\n",
      restarts, recovered, st.value("reconnects", 0), pct(to_frame, 0.5),
      to_frame.empty() ? 0 : *std::max_element(to_frame.begin(), to_frame.end()), pct(to_clip, 0.5),
      to_clip.empty() ? 0 : *std::max_element(to_clip.begin(), to_clip.end()), n, ids.size(),
      n == ids.size() ? "none" : "YES");
}

void run_api(const std::string& db, int clients, int requests, const std::string& ckpt,
             const std::vector<std::string>& sets) {
  Service svc(base_args(db, ckpt, sets));
  // Words of the generated corpus' vocabulary (a query without any known word is a 400).
  const std::vector<std::string> queries = {"a red screen",
                                            "the checkerboard",
                                            "green screen here",
                                            "a blue screen",
                                            "the test card",
                                            "now watch the green screen",
                                            "this video shows a red screen",
                                            "there is a checkerboard"};
  svc.get("/api/search?q=red&k=10");  // the index is loaded (and caught up) by the first query
  std::vector<std::vector<double>> ms(static_cast<size_t>(clients));
  std::atomic<int> failures{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", svc.port);
      cli.set_read_timeout(60, 0);
      for (int r = 0; r < requests; ++r) {
        const std::string& q = queries[static_cast<size_t>(c + r) % queries.size()];
        const auto a = Clock::now();
        std::string enc;
        for (char ch : q) enc += ch == ' ' ? std::string("%20") : std::string(1, ch);
        auto res = cli.Get(("/api/search?k=10&q=" + enc).c_str());
        ms[static_cast<size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - a).count());
        if (!res || res->status != 200) failures.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  for (const auto& v : ms) all.insert(all.end(), v.begin(), v.end());
  const json one = svc.get("/api/search?q=red&k=10");
  std::printf(
      "api: %d clients x %d text searches on %llu clips: p50 %.1f ms, p99 %.1f ms, max %.1f ms, %.0f "
      "requests/s, %d failed\n",
      clients, requests, static_cast<unsigned long long>(one.value("clips", uint64_t{0})), pct(all, 0.5),
      pct(all, 0.99), all.empty() ? 0 : *std::max_element(all.begin(), all.end()),
      static_cast<double>(all.size()) / wall, failures.load());
}

}  // namespace

int main(int argc, char** argv) {
  std::string ckpt;
  std::vector<int> streams = {1, 2, 4};
  double seconds = 60;
  int restarts = 0, clients = 20, requests = 50;
  std::string api_db;
  std::vector<std::string> sets;
  for (int i = 1; i < argc; ++i) {
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (!std::strcmp(argv[i], "--checkpoint")) {
      ckpt = next();
    } else if (!std::strcmp(argv[i], "--streams")) {
      streams.clear();
      std::stringstream ss(next());
      for (std::string x; std::getline(ss, x, ',');)
        if (!x.empty()) streams.push_back(std::stoi(x));
    } else if (!std::strcmp(argv[i], "--seconds")) {
      seconds = std::stod(next());
    } else if (!std::strcmp(argv[i], "--restarts")) {
      restarts = std::stoi(next());
    } else if (!std::strcmp(argv[i], "--size")) {
      const std::string v = next();
      const auto x = v.find('x');
      g_width = std::stoi(v.substr(0, x));
      g_height = std::stoi(v.substr(x + 1));
    } else if (!std::strcmp(argv[i], "--api")) {
      api_db = next();
    } else if (!std::strcmp(argv[i], "--clients")) {
      clients = std::stoi(next());
    } else if (!std::strcmp(argv[i], "--requests")) {
      requests = std::stoi(next());
    } else if (!std::strcmp(argv[i], "--set")) {
      sets.push_back(next());
    } else {
      std::fprintf(stderr,
                   "usage: bench_serve --checkpoint CKPT [--streams 1,2,4] [--seconds 60] [--restarts 20] "
                   "[--set N.O=V]\n");
      return 2;
    }
  }
  if (ckpt.empty()) {
    std::fprintf(stderr,
                 "bench_serve: --checkpoint CKPT is needed (a model trained by graphs/pretrain.yaml)\n");
    return 2;
  }
  if (!streams.empty() && streams.front() > 0) {
    std::printf(
        "live RTSP streams (10 fps, %dx%d VP8 + Opus, encoded in this process) into vatt serve; latency = "
        "clip's end in the stream -> /api/search returns it (polled every 100 ms)\n",
        g_width, g_height);
    std::printf("%-8s %8s %8s %8s %10s %10s %10s %9s %9s %9s\n", "streams", "seconds", "clips", "dropped",
                "lat p50 s", "lat p99 s", "lat max s", "rss0 KiB", "rss KiB", "peak KiB");
    for (int n : streams) run_streams(n, seconds, ckpt, sets);
  }
  if (restarts > 0) run_restarts(restarts, ckpt, sets);
  if (!api_db.empty()) run_api(api_db, clients, requests, ckpt, sets);
  return 0;
}
