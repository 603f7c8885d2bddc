// The `vatt` runner's contract (issue: foundation, items 5 and 7): exit codes 0/1/2/130/143, FILE:LINE:COL
// diagnostics, SIGTERM/SIGINT drain + flush + close, `vatt nodes`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/graphs/run_vatt.h"

namespace vatt::test {
namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// An endless, throttled source into a batch that only a flush completes, into a sink that reports at close.
std::string endless_graph(const std::string& report) {
  return "graph: endless\n"
         "nodes:\n"
         "  - { id: src, type: counter, options: { count: 0, rate: 2000 } }\n"
         "  - { id: batch, type: batch, options: { size: 1000000 } }\n"
         "  - { id: sink, type: discard, options: { report: " +
         report +
         " } }\n"
         "  - { id: log, type: log }\n"
         "edges:\n"
         "  - src.out -> batch.in\n"
         "  - batch.out -> sink.in\n"
         "  - src.errors -> log.in\n"
         "  - batch.errors -> log.in\n";
}

void expect_drained_and_flushed(int signo, int expected_exit, const char* status) {
  const std::string graph = temp_path("endless.yaml"), report = temp_path("report.json"),
                    metrics = temp_path("metrics.json");
  std::remove(report.c_str());
  write(graph, endless_graph(report));
  auto r = run_vatt({"run", graph, "--metrics", metrics, "--progress", "0"}, 1500, signo);
  EXPECT_EQ(r.exit_code, expected_exit) << r.output;
  std::ifstream min(metrics);
  ASSERT_TRUE(min.good()) << "no metrics written\n" << r.output;
  auto m = nlohmann::json::parse(min);
  EXPECT_EQ(m["status"], status);
  EXPECT_GT(m["nodes"]["src"]["out"].get<int>(), 0);
  // flush() ran: the batch that never filled was emitted; close() ran: the sink wrote its report.
  EXPECT_EQ(m["nodes"]["batch"]["out"], 1);
  std::ifstream rin(report);
  ASSERT_TRUE(rin.good()) << "sink was not closed\n" << r.output;
  auto rep = nlohmann::json::parse(rin);
  EXPECT_EQ(rep["received"], 1);
  for (const auto& p : {graph, report, metrics}) std::remove(p.c_str());
}

TEST(Cli, SigtermDrainsFlushesClosesAndExits143) {
  expect_drained_and_flushed(SIGTERM, 143, "stopped by SIGTERM");
}

TEST(Cli, SigintExits130) {
  expect_drained_and_flushed(SIGINT, 130, "stopped by SIGINT");
}

TEST(Cli, BrokenGraphPrintsFileLineColAndExits2) {
  const std::string graph = temp_path("broken.yaml");
  write(graph, "graph: broken\nnodes:\n  - { id: src, type: countr }\nedges: []\n");
  for (const char* cmd : {"check", "run"}) {
    auto r = run_vatt({cmd, graph});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(
        std::regex_search(r.output, std::regex(graph + ":3:22: unknown node type 'countr'; known types: ")))
        << r.output;
  }
  std::remove(graph.c_str());
}

TEST(Cli, UsageErrorsExit2AndHelpExits0) {
  EXPECT_EQ(run_vatt({}).exit_code, 2);
  EXPECT_EQ(run_vatt({"frobnicate"}).exit_code, 2);
  {
    // A missing graph is named as the argument it is, not as an option.
    auto r = run_vatt({"run"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("vatt: missing GRAPH (a file argument)"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("--graph"), std::string::npos) << r.output;
  }
  EXPECT_EQ(run_vatt({"run", "x.yaml", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(run_vatt({"check", "/nonexistent.yaml"}).exit_code, 2);
  for (const char* cmd : {"run", "check", "nodes", "version", "bench", "search", "models", "export"}) {
    auto r = run_vatt({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << r.output;
    EXPECT_NE(r.output.find("usage: vatt"), std::string::npos) << cmd;
  }
}

TEST(Cli, FramesAndAClipLengthThatDisagreeAreAnErrorEvenWhenTheLengthIsTheDefaultValue) {
  // 16 frames at 2.5 fps are 6.4 s; clip_seconds given as 3.2 (its default value) still disagrees.
  auto r = run_vatt({"run", std::string(VATT_SOURCE_DIR) + "/graphs/pretrain.yaml", "--progress", "0",
                     "--set", "src.uri=/tmp", "--set", "src.frames=16", "--set", "src.clip_seconds=3.2"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("but clip_seconds is 3.2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("set one of them"), std::string::npos) << r.output;
}

TEST(Cli, RuntimeFailureExits1) {
  const std::string graph = temp_path("fail.yaml");
  write(graph, endless_graph("/nonexistent-dir/r.json"));
  auto r = run_vatt({"run", graph, "--set", "src.count=10", "--set", "src.rate=0"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot write report file /nonexistent-dir/r.json"), std::string::npos) << r.output;
  std::remove(graph.c_str());
}

TEST(Cli, NodesListsEveryContract) {
  auto r = run_vatt({"nodes", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  std::vector<std::string> types;
  for (const auto& c : j) types.push_back(c["type"]);
  for (const char* t : {"batch", "counter", "log", "discard", "passthrough"})
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  auto text = run_vatt({"nodes", "counter"});
  EXPECT_NE(text.output.find("option count: int = 1000"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("out errors: error"), std::string::npos) << text.output;
}

}  // namespace
}  // namespace vatt::test
