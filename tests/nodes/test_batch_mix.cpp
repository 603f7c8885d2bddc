// `batch` with `mix`: batches take from source groups in proportion to their weights, on the real runtime.
#include <gtest/gtest.h>

#include <map>

#include "nodes/media/clip.h"
#include "nodes/register_all.h"
#include "pipeline/runtime.h"

namespace vatt::nodes {
namespace {

// A source of clips whose URIs follow `pattern` (one letter per clip: 'a' -> /data/a/..., 'b' ->
// /data/b/...).
std::string g_pattern;
std::vector<pipeline::Batch> g_seen;

struct PatternSource final : pipeline::Node {
  size_t next = 0;
  bool produce(pipeline::Emitter& out) override {
    if (next >= g_pattern.size()) return false;
    Clip c;
    c.source_id = static_cast<uint64_t>(g_pattern[next]);
    c.clip_index = next;
    c.uri = std::string("file:///data/") + g_pattern[next] + "/v.webm";
    out.emit(0, pipeline::Message::make(pipeline::Key{c.source_id, next}, std::move(c)));
    ++next;
    return true;
  }
};

struct Capture final : pipeline::Node {
  void process(int, const pipeline::Message& in, pipeline::Emitter&) override {
    g_seen.push_back(in.as<pipeline::Batch>());
  }
};

pipeline::RunMetrics run(const std::string& pattern, const std::string& batch_options) {
  pipeline::Registry r;
  register_all_nodes(r);
  pipeline::NodeContract src;
  src.type = "pattern";
  src.doc = "test";
  src.outputs = {{"out", "clip", "", pipeline::KeyMode::New}};
  src.create = [](const pipeline::NodeConfig&) { return std::make_unique<PatternSource>(); };
  r.add(src);
  pipeline::NodeContract cap;
  cap.type = "capture";
  cap.doc = "test";
  cap.inputs = {{"in", "batch", ""}};
  cap.errors_port = false;
  cap.create = [](const pipeline::NodeConfig&) { return std::make_unique<Capture>(); };
  r.add(cap);
  const std::string g = R"(graph: g
nodes:
  - { id: src, type: pattern }
  - { id: batch, type: batch, options: )" +
                        batch_options + R"( }
  - { id: sink, type: capture }
  - { id: log, type: log }
edges:
  - src.out -> batch.in
  - batch.out -> sink.in
  - src.errors -> log.in
  - batch.errors -> log.in
)";
  g_pattern = pattern;
  g_seen.clear();
  auto spec = pipeline::load_graph_text(g, "g.yaml", r);
  pipeline::RunOptions ro;
  ro.progress_interval = 0;
  return pipeline::Runtime(spec, ro).run();
}

std::map<char, int> count(const pipeline::Batch& b) {
  std::map<char, int> n;
  for (const auto& m : b.items) n[m.as<Clip>().uri[13]]++;  // file:///data/<letter>/
  return n;
}

TEST(BatchMix, EachBatchTakesTheGroupsInProportionToTheirWeights) {
  // The sources arrive in runs (all of a, then all of b): the batches still mix 3:1 while the waiting a's
  // stay under starve_after batches' worth.
  auto m = run(std::string(30, 'a') + std::string(10, 'b'),
               "{ size: 4, partial: false, starve_after: 10, mix: [\"/data/a=3\", \"/data/b=1\"] }");
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  ASSERT_EQ(g_seen.size(), 10u);
  for (const auto& b : g_seen) {
    auto n = count(b);
    EXPECT_EQ(n['a'], 3);
    EXPECT_EQ(n['b'], 1);
  }
  EXPECT_EQ(m.node("batch")->gauges.at("starved_batches"), 0);
}

TEST(BatchMix, SharesAreLargestRemaindersOfTheWeights) {
  // size 5, weights 1:1:1 -> 2, 2, 1 (ties go to the first groups); "*" takes the rest.
  auto m =
      run("abcabcabcabcabc", "{ size: 5, partial: false, mix: [\"/data/a=1\", \"/data/b=1\", \"*=1\"] }");
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  ASSERT_FALSE(g_seen.empty());
  auto n = count(g_seen[0]);
  EXPECT_EQ(n['a'], 2);
  EXPECT_EQ(n['b'], 2);
  EXPECT_EQ(n['c'], 1);
}

TEST(BatchMix, AClipMatchingNoGroupIsAnErrorNamingIt) {
  auto m = run("aaaaxaaaa", "{ size: 4, partial: false, mix: [\"/data/a=1\"] }");
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.node("batch")->errors_by_kind.at("unmatched_mix"), 1u);
  EXPECT_EQ(g_seen.size(), 2u);
}

TEST(BatchMix, AGroupThatRunsDryDoesNotStallTraining) {
  // Only a's arrive: once a holds starve_after batches' worth, batches are filled from it alone.
  auto m = run(std::string(40, 'a'),
               "{ size: 4, partial: false, starve_after: 2, mix: [\"/data/a=3\", \"/data/b=1\"] }");
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_GE(g_seen.size(), 8u);
  for (const auto& b : g_seen) EXPECT_EQ(b.items.size(), 4u);
  EXPECT_GT(m.node("batch")->gauges.at("starved_batches"), 0);
}

TEST(BatchMix, ABadEntryIsRefusedWithWhatWasExpected) {
  pipeline::Registry r;
  register_all_nodes(r);
  pipeline::NodeConfig cfg;
  cfg.id = "batch";
  cfg.contract = r.find("batch");
  std::map<std::string, pipeline::Value> v;
  for (const auto& o : cfg.contract->options) v[o.name] = *o.default_value;
  v["mix"] = std::vector<std::string>{"/data/a"};
  cfg.options = pipeline::Options(v);
  try {
    cfg.contract->create(cfg);
    FAIL() << "accepted a mix entry without a weight";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "mix entry '/data/a': expected PREFIX=WEIGHT with a weight > 0");
  }
}

}  // namespace
}  // namespace vatt::nodes
