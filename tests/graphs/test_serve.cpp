// Live ingestion through the real `vatt serve` on 127.0.0.1 with a model trained here: an RTSP server in this
// process (gst-rtsp-server) streams a live test pattern that the service ingests, loses when the server goes
// away and takes up again when it is back (reconnect counted, no clip index reused); a file copied into a
// watched folder becomes searchable with its transcript and a JPEG thumbnail (beside a stream, in one service);
// kill -9 in the middle of a folder and a restart store every clip exactly once, and a stream restarted so
// reuses no clip index; a slow graph makes a stream drop and count; bad requests get their 4xx as JSON; a
// token guards the API; headless Chromium opens the page with a query and shows results with thumbnails.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "tests/graphs/rtsp_server.h"
#include "tests/graphs/run_vatt.h"
#include "tests/graphs/trained_fixture.h"

namespace vatt::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

/// `vatt serve` in the background on a free loopback port.
struct Serve {
  Child child;
  int port = 0;
  bool reaped = false;
  int code = -1;

  static Serve start(std::vector<std::string> args) {
    Serve s;
    std::vector<std::string> all = {"serve", "--listen", "127.0.0.1:0", "--checkpoint", trained().ckpt};
    all.insert(all.end(), args.begin(), args.end());
    s.child = spawn_vatt(all);
    const auto end = Clock::now() + std::chrono::seconds(120);
    const std::regex url(R"(vatt serve: http://127\.0\.0\.1:(\d+)/)");
    while (Clock::now() < end && !s.port) {
      std::smatch m;
      const std::string out = s.child.output();
      if (std::regex_search(out, m, url)) s.port = std::stoi(m[1]);
      int status = 0;
      if (!s.port && waitpid(s.child.pid, &status, WNOHANG) == s.child.pid) {
        s.reaped = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return s;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
  int stop(int sig = SIGTERM) {
    if (reaped) return code;
    kill(child.pid, sig);
    code = child.wait();
    reaped = true;
    return code;
  }
  ~Serve() {
    if (!reaped && child.pid > 0) stop(SIGKILL);
  }
};

json get_json(httplib::Client& c, const std::string& path, int* status = nullptr) {
  auto r = c.Get(path.c_str());
  if (!r) return json();
  if (status) *status = r->status;
  return json::parse(r->body, nullptr, false);
}

/// Polls `fn` every 200 ms until it is true or `seconds` pass.
template <class F>
bool eventually(double seconds, F fn) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return fn();
}

json source_status(httplib::Client& c, const std::string& name) {
  for (const auto& s : get_json(c, "/api/sources"))
    if (s.value("name", "") == name) return s;
  return json();
}

/// The first subtitle line of a corpus video: what its narration says.
std::string narration(const std::string& video) {
  std::ifstream in(fs::path(video).replace_extension(".srt"));
  std::string line;
  for (int i = 0; i < 3 && std::getline(in, line); ++i) {
  }
  return line;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch)) {
      out += static_cast<char>(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

std::string fresh_dir(const std::string& name) {
  const std::string d = temp_path(name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(ServeLive, AnRtspStreamIsIngestedAndSurvivesItsServerGoingAwayAndComingBack) {
  RtspServer rtsp;
  const std::string dir = fresh_dir("serve-rtsp");
  fs::create_directories(dir + "/inbox");
  auto s = Serve::start({"--db", dir + "/db", "--root", dir, "--set", "src.stall_seconds=3", "--set",
                         "src.backoff_max_seconds=2", "--set", "src.settle_seconds=0.5"});
  ASSERT_GT(s.port, 0) << s.child.output();
  auto c = s.client();
  auto r = c.Post("/api/sources", json{{"name", "cam"}, {"uri", rtsp.uri()}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(json::parse(r->body)["kind"], "stream");
  // A watched folder beside the stream, in the same service.
  auto f =
      c.Post("/api/sources", json{{"name", "inbox"}, {"uri", dir + "/inbox"}}.dump(), "application/json");
  ASSERT_EQ(f->status, 201) << f->body;
  const std::string video = trained().corpus + "/heldout/h007.webm";
  fs::copy_file(fs::path(video).replace_extension(".srt"), dir + "/inbox/h007.srt");
  fs::copy_file(video, dir + "/inbox/h007.webm");
  ASSERT_TRUE(eventually(60, [&] { return source_status(c, "cam").value("clips", 0) >= 2; }))
      << source_status(c, "cam").dump() << "\n"
      << s.child.output();
  json st = source_status(c, "cam");
  EXPECT_EQ(st["state"], "live");
  EXPECT_LT(st["lag_seconds"].get<double>(), 10.0);
  const int before = st["clips"];

  rtsp.take_down();
  ASSERT_TRUE(eventually(30, [&] { return source_status(c, "cam").value("reconnects", 0) >= 1; }))
      << source_status(c, "cam").dump();
  rtsp.bring_back();
  ASSERT_TRUE(eventually(60, [&] {
    const json now = source_status(c, "cam");
    return now.value("state", "") == "live" && now.value("clips", 0) >= before + 2;
  })) << source_status(c, "cam").dump();

  // Every clip of the stream is stored once and searchable, with its wall-clock start; no index was reused.
  ASSERT_TRUE(
      eventually(20,
                 [&] {
                   return get_json(c, "/api/search?q=green+screen&k=100&source=cam")["results"].size() >=
                          static_cast<size_t>(before + 2);
                 }))
      << get_json(c, "/api/search?q=green+screen&k=100&source=cam").dump() << "\n"
      << source_status(c, "cam").dump() << "\n"
      << s.child.output();
  const json res = get_json(c, "/api/search?q=green+screen&k=100&source=cam")["results"];
  std::set<std::string> ids;
  for (const auto& h : res) {
    ids.insert(h["id"].get<std::string>());
    EXPECT_EQ(h["source"], rtsp.uri());
    EXPECT_GT(h.value("wall_start", 0.0), 1.7e9);
  }
  EXPECT_EQ(ids.size(), res.size());
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("vatt_source_reconnects_total{source=\"cam\"}"), std::string::npos) << metrics;
  // The folder's video was taken in meanwhile, and its narration finds it.
  const json fromfolder = get_json(c, "/api/search?k=5&source=inbox&q=" + url_encode(narration(video)));
  ASSERT_FALSE(fromfolder["results"].empty()) << fromfolder.dump();
  EXPECT_NE(fromfolder["results"][0]["source"].get<std::string>().find("h007.webm"), std::string::npos);
  EXPECT_EQ(s.stop(), 143) << s.child.output();
}

TEST(ServeLive, AStreamThatIngestionCannotKeepUpWithDropsItsOldestClipsAndCountsThem) {
  // The live graph with a slow stage (10 s per clip) before embedding: clips come every 3.2 s, so the
  // stream's queue of one clip overflows; the oldest go, counted, and nothing grows.
  RtspServer rtsp;
  const std::string dir = fresh_dir("serve-overload");
  const std::string graph = dir + "/slow.yaml";
  std::ofstream(graph)
      << "graph: slow\ndefaults: { queue: 1, threads: 1, errors: log.in }\nnodes:\n"
         "  - { id: src, type: live_source, options: { db: \"${store.db}\", fps: 2.5, short_side: 40, "
         "sample_rate: 8000, clip_seconds: 3.2, queue: 1 } }\n"
         "  - { id: slow, type: passthrough, options: { sleep_us: 10000000 } }\n"
         "  - { id: batch, type: batch, options: { size: 1, partial: true } }\n"
         "  - { id: model, type: embed, options: { checkpoint: x, threads: 1 } }\n"
         "  - { id: store, type: embedding_store, options: { db: x, store_clips: true } }\n"
         "  - { id: log, type: log }\nedges:\n  - src.clips -> slow.in\n  - slow.out -> batch.in\n"
         "  - batch.out -> model.in\n  - model.out -> store.in\n";
  auto s = Serve::start({"--db", dir + "/db", "--graph", graph});
  ASSERT_GT(s.port, 0) << s.child.output();
  auto c = s.client();
  auto r = c.Post("/api/sources", json{{"name", "cam"}, {"uri", rtsp.uri()}}.dump(), "application/json");
  ASSERT_EQ(r->status, 201) << r->body;
  ASSERT_TRUE(eventually(90, [&] { return source_status(c, "cam").value("dropped", 0) >= 2; }))
      << source_status(c, "cam").dump() << "\n"
      << s.child.output();
  const json st = source_status(c, "cam");
  EXPECT_EQ(st["state"], "live") << "falling behind is not a failure";
  EXPECT_LE(st["dropped"].get<int>(), st["clips"].get<int>()) << "only clips that came can be dropped";
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("vatt_source_dropped_total{source=\"cam\"} "), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("vatt_source_dropped_total{source=\"cam\"} 0\n"), std::string::npos) << metrics;
  EXPECT_EQ(s.stop(), 143);
}

// ---- a watched folder, the API and the page, on one service ----

class ServeFolder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(fresh_dir("serve-folder"));
    fs::create_directories(*dir_ + "/inbox");
    serve_ = new Serve(Serve::start({"--db", *dir_ + "/db", "--root", *dir_, "--token", "s3cret-token",
                                     "--max-body-mib", "1", "--set", "src.settle_seconds=1"}));
  }
  static void TearDownTestSuite() {
    delete serve_;
    fs::remove_all(*dir_);
    delete dir_;
  }
  static httplib::Client client() {
    auto c = serve_->client();
    c.set_bearer_token_auth("s3cret-token");
    return c;
  }
  /// Copies held-out video `name` (and its subtitles) into the inbox once, and waits until it is searchable.
  static std::string ingested(const std::string& name) {
    const std::string src = trained().corpus + "/heldout/" + name;
    const std::string dst = *dir_ + "/inbox/" + name;
    auto c = client();
    if (!fs::exists(dst)) {
      if (source_status(c, "inbox").is_null()) {
        auto r = c.Post("/api/sources", json{{"name", "inbox"}, {"uri", *dir_ + "/inbox"}}.dump(),
                        "application/json");
        if (!r || r->status != 201) throw std::runtime_error("cannot add the inbox");
      }
      fs::copy_file(fs::path(src).replace_extension(".srt"), fs::path(dst).replace_extension(".srt"));
      fs::copy_file(src, dst);
    }
    const std::string q = "/api/search?k=20&source=inbox&q=" + url_encode(narration(src));
    eventually(60, [&] {
      const json found = get_json(c, q);
      for (const auto& h : found["results"])
        if (h["source"].get<std::string>().find(name) != std::string::npos) return true;
      return false;
    });
    return q;
  }
  static std::string* dir_;
  static Serve* serve_;
};
std::string* ServeFolder::dir_ = nullptr;
Serve* ServeFolder::serve_ = nullptr;

TEST_F(ServeFolder, AFileCopiedIntoAWatchedFolderBecomesSearchableWithItsTranscriptAndThumbnail) {
  ASSERT_GT(serve_->port, 0) << serve_->child.output();
  const std::string q = ingested("h000.webm");
  auto c = client();
  const json out = get_json(c, q);
  ASSERT_FALSE(out["results"].empty()) << out.dump() << "\n" << serve_->child.output();
  const json top = out["results"][0];
  EXPECT_NE(top["source"].get<std::string>().find("h000.webm"), std::string::npos);
  EXPECT_FALSE(top["text"].get<std::string>().empty());
  for (const char* key : {"rank", "score", "source", "clip", "start", "end", "text", "thumbnail"})
    EXPECT_TRUE(top.contains(key)) << key;
  EXPECT_TRUE(out.contains("took_ms"));
  auto jpeg = c.Get(top["thumbnail"].get<std::string>().c_str());
  ASSERT_TRUE(jpeg);
  EXPECT_EQ(jpeg->status, 200);
  EXPECT_EQ(jpeg->get_header_value("Content-Type"), "image/jpeg");
  ASSERT_GT(jpeg->body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(jpeg->body[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>(jpeg->body[1]), 0xD8);
  const json clip = get_json(c, "/api/clips/" + top["id"].get<std::string>());
  EXPECT_EQ(clip["source"], top["source"]);
  EXPECT_FALSE(clip["candidates"].empty());
  const json inbox = source_status(c, "inbox");
  EXPECT_EQ(inbox["kind"], "folder");
  EXPECT_EQ(inbox["state"], "watching");
  EXPECT_GE(inbox["files_done"].get<int>(), 1);
  EXPECT_EQ(inbox["dropped"], 0) << "a watched folder waits, it never drops";
}

TEST_F(ServeFolder, AVideoFilePostedAsAQueryFindsItselfAndThePlayerGetsByteRanges) {
  ASSERT_GT(serve_->port, 0) << serve_->child.output();
  ingested("h000.webm");
  auto c = client();
  std::ifstream in(trained().corpus + "/heldout/h000.webm", std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = c.Post("/api/search?kind=video&k=3&source=inbox", body, "video/webm");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json out = json::parse(r->body);
  ASSERT_FALSE(out["results"].empty()) << out.dump();
  EXPECT_NE(out["results"][0]["source"].get<std::string>().find("h000.webm"), std::string::npos)
      << out.dump();
  // The page's player asks for a stored file's bytes by range; only files inside the roots are sent.
  const std::string path = *dir_ + "/inbox/h000.webm";
  auto part = c.Get(("/files" + path).c_str(), {{"Range", "bytes=0-99"}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, body.substr(0, 100));
  EXPECT_EQ(part->get_header_value("Content-Type"), "video/webm");
  EXPECT_EQ(c.Post("/api/search?kind=picture", body, "video/webm")->status, 400);
}

TEST_F(ServeFolder, BadRequestsGetTheirStatusAsJsonAndTheTokenGuardsTheApi) {
  ASSERT_GT(serve_->port, 0) << serve_->child.output();
  auto anon = serve_->client();
  auto r = anon.Get("/api/sources");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("token"), std::string::npos);
  anon.set_bearer_token_auth("wrong-token!");
  EXPECT_EQ(anon.Get("/api/health")->status, 401);
  EXPECT_EQ(anon.Get("/")->status, 200) << "the page itself holds no data";

  auto c = client();
  auto post = [&](const json& body) {
    auto res = c.Post("/api/sources", body.dump(), "application/json");
    return std::make_pair(res->status, json::parse(res->body, nullptr, false));
  };
  EXPECT_EQ(post({{"name", "x"}, {"uri", "file:///etc/passwd"}}).first, 403);
  EXPECT_EQ(post({{"name", "x"}, {"uri", *dir_ + "/../../etc"}}).first, 403);
  EXPECT_EQ(post({{"name", "x"}, {"uri", "ftp://example.org/a.mp4"}}).first, 400);
  EXPECT_EQ(post({{"name", "bad name!"}, {"uri", *dir_ + "/inbox"}}).first, 400);
  EXPECT_EQ(post({{"name", "x"}, {"uri", *dir_ + "/missing"}}).first, 404);
  EXPECT_EQ(post({{"uri", *dir_ + "/inbox"}}).first, 400);
  auto bad_json = c.Post("/api/sources", "{not json", "application/json");
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_TRUE(json::parse(bad_json->body).contains("error"));
  // A symlink that leads out of the root is outside it.
  fs::create_directory_symlink("/etc", *dir_ + "/escape");
  EXPECT_EQ(post({{"name", "x"}, {"uri", *dir_ + "/escape"}}).first, 403);
  EXPECT_EQ(c.Delete("/api/sources/nosuch")->status, 404);
  EXPECT_EQ(c.Get("/api/search")->status, 400);
  EXPECT_EQ(c.Get("/api/search?q=green&k=0")->status, 400);
  EXPECT_EQ(c.Get("/api/clips/0123456789abcdef-99")->status, 404);
  EXPECT_EQ(c.Get("/api/clips/nonsense")->status, 404);
  EXPECT_EQ(c.Get("/api/clips/0123456789abcdef-99/thumbnail.jpg")->status, 404);
  EXPECT_EQ(c.Get("/files/etc/passwd")->status, 403);
  const std::string big(2u << 20, 'x');
  auto huge = c.Post("/api/search?kind=video", big, "application/octet-stream");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  // A name that exists already.
  ingested("h000.webm");
  EXPECT_EQ(post({{"name", "inbox"}, {"uri", *dir_}}).first, 409);
}

TEST_F(ServeFolder, HeadlessChromiumOpensAQueryLinkAndShowsResultsWithThumbnails) {
  ASSERT_GT(serve_->port, 0) << serve_->child.output();
  const std::string src = trained().corpus + "/heldout/h000.webm";
  ingested("h000.webm");
  const std::string url = "http://127.0.0.1:" + std::to_string(serve_->port) +
                          "/?token=s3cret-token&q=" + url_encode(narration(src));
  const std::string out = temp_path("chromium.html"), log = temp_path("chromium.log");
  const std::string cmd =
      "timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run "
      "--enable-logging=stderr --v=0 --virtual-time-budget=10000 --dump-dom '" +
      url + "' > " + out + " 2> " + log;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  const std::string dom((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ifstream lin(log);
  const std::string console((std::istreambuf_iterator<char>(lin)), std::istreambuf_iterator<char>());
  size_t results = 0;
  for (size_t p = dom.find("class=\"result\""); p != std::string::npos;
       p = dom.find("class=\"result\"", p + 1))
    ++results;
  EXPECT_GE(results, 1u) << dom;
  EXPECT_NE(dom.find("thumbnail.jpg"), std::string::npos);
  EXPECT_NE(dom.find("h000.webm"), std::string::npos);
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  EXPECT_EQ(console.find(":CONSOLE("), std::string::npos) << console;
}

TEST(ServeLive, KillNineThenARestartStoresEveryFolderClipOnceAndAStreamReusesNoIndex) {
  const std::string dir = fresh_dir("serve-kill");
  fs::create_directories(dir + "/inbox");
  const std::vector<std::string> videos = {"h001.webm", "h002.webm", "h003.webm",
                                           "h004.webm", "h005.webm", "h006.webm"};
  for (const auto& v : videos) {
    const fs::path src = trained().corpus + "/heldout/" + v;
    fs::copy_file(src, dir + "/inbox/" + v);
    fs::copy_file(fs::path(src).replace_extension(".srt"),
                  dir + "/inbox/" + fs::path(v).replace_extension(".srt").string());
  }
  RtspServer rtsp;
  std::ofstream(dir + "/sources.txt") << "inbox " << dir << "/inbox\ncam " << rtsp.uri() << "\n";
  const std::vector<std::string> args = {"--db",      dir + "/db",          "--root", dir,
                                         "--sources", dir + "/sources.txt", "--set",  "src.settle_seconds=0"};
  size_t at_kill = 0;
  {
    auto s = Serve::start(args);
    ASSERT_GT(s.port, 0) << s.child.output();
    auto c = s.client();
    ASSERT_TRUE(eventually(60, [&] { return source_status(c, "inbox").value("clips", 0) >= 2; }));
    at_kill = source_status(c, "inbox").value("clips", 0);
    EXPECT_EQ(s.stop(SIGKILL), 128 + SIGKILL);
  }
  auto s = Serve::start(args);
  ASSERT_GT(s.port, 0) << s.child.output();
  auto c = s.client();
  EXPECT_EQ(source_status(c, "inbox")["kind"], "folder") << "the source list came back from the store";
  // 6 videos of 3 clips each.
  auto all = [&] { return get_json(c, "/api/search?q=screen&k=100&source=inbox")["results"]; };
  EXPECT_EQ(source_status(c, "cam")["kind"], "stream");
  ASSERT_TRUE(eventually(90, [&] { return all().size() >= 18; })) << all().size() << "\n" << s.child.output();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // anything more would be a duplicate
  const json res = all();
  std::set<std::string> ids;
  std::map<std::string, int> per_video;
  for (const auto& h : res) {
    ids.insert(h["id"].get<std::string>());
    per_video[h["source"].get<std::string>()]++;
  }
  EXPECT_EQ(res.size(), 18u);
  EXPECT_EQ(ids.size(), res.size()) << "a clip stored twice";
  EXPECT_EQ(per_video.size(), 6u);
  for (const auto& [v, n] : per_video) EXPECT_EQ(n, 3) << v;
  std::printf("killed with %zu of 18 clips given; after the restart: %zu stored once each\n", at_kill,
              ids.size());
  // The stream: clips stored, then kill -9 again; after that restart it goes on from "now" with new clips
  // and never uses an index of before again.
  const std::string stream_q = "/api/search?q=green+screen&k=100&source=cam";
  ASSERT_TRUE(eventually(30, [&] { return get_json(c, stream_q)["results"].size() >= 2; }));
  EXPECT_EQ(s.stop(SIGKILL), 128 + SIGKILL);
  auto again = Serve::start(args);
  ASSERT_GT(again.port, 0) << again.child.output();
  auto c2 = again.client();
  const size_t stored = get_json(c2, stream_q)["results"].size();
  ASSERT_TRUE(eventually(30, [&] { return get_json(c2, stream_q)["results"].size() >= stored + 2; }));
  const json stream = get_json(c2, stream_q)["results"];
  std::set<uint64_t> indices;
  for (const auto& h : stream) indices.insert(h["clip"].get<uint64_t>());
  EXPECT_EQ(indices.size(), stream.size()) << "a stream clip index was used twice";
  EXPECT_EQ(get_json(c2, "/api/search?q=screen&k=100&source=inbox")["results"].size(), 18u);
  EXPECT_EQ(again.stop(), 143);
}

}  // namespace
}  // namespace vatt::test
