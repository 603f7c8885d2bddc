// Every graph file shipped in graphs/ is valid (`vatt check`), and the demo graph runs to completion.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/graphs/run_vatt.h"

namespace vatt::test {
namespace {

namespace fs = std::filesystem;

TEST(GraphFiles, EveryShippedGraphPassesCheck) {
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(std::string(VATT_SOURCE_DIR) + "/graphs")) {
    if (entry.path().extension() != ".yaml") continue;
    ++seen;
    auto r = run_vatt({"check", entry.path().string()});
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.output;
    EXPECT_NE(r.output.find(": ok (graph '"), std::string::npos) << r.output;
  }
  EXPECT_GE(seen, 1);
}

TEST(GraphFiles, DemoGraphRunsAndReportsMetrics) {
  const std::string metrics = temp_path("demo-metrics.json");
  auto r = run_vatt({"run", std::string(VATT_SOURCE_DIR) + "/graphs/demo.yaml", "--metrics", metrics, "--set",
                     "src.count=3000"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(metrics);
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["status"], "completed");
  const auto& n = j["nodes"];
  EXPECT_EQ(n["src"]["out"], 3000);
  // fail_every 97 on keys 0..2999: keys 96, 193, ... -> 30 failures, each logged, the rest batched in order.
  EXPECT_EQ(n["work"]["errors"], 30);
  EXPECT_EQ(n["work"]["errors_by_kind"]["exception"], 30);
  EXPECT_EQ(n["batch"]["in"], 2970);
  EXPECT_EQ(n["batch"]["out"], (2970 + 15) / 16);
  EXPECT_EQ(n["log"]["in"], 30);
  for (const auto& e : j["edges"]) EXPECT_LE(e["max_depth"].get<int>(), e["capacity"].get<int>()) << e.dump();
  // The summary table names every node.
  for (const char* id :
       {"src (counter)", "work (passthrough)", "batch (batch)", "sink (discard)", "log (log)"})
    EXPECT_NE(r.output.find(id), std::string::npos) << id;
  std::remove(metrics.c_str());
}

}  // namespace
}  // namespace vatt::test
