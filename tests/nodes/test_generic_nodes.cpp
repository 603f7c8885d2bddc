// The generic nodes through the real registry and runtime: contracts, keys, payloads.
#include <gtest/gtest.h>

#include "nodes/register_all.h"
#include "pipeline/runtime.h"

namespace vatt::nodes {
namespace {

TEST(GenericNodes, AllAreRegisteredWithContracts) {
  pipeline::Registry r;
  register_all_nodes(r);
  for (const char* t : {"counter", "passthrough", "batch", "log", "discard"}) {
    const auto* c = r.find(t);
    ASSERT_NE(c, nullptr) << t;
    EXPECT_FALSE(c->doc.empty()) << t;
    for (const auto& o : c->options) EXPECT_FALSE(o.doc.empty()) << t << "." << o.name;
  }
  EXPECT_TRUE(r.find("counter")->is_source());
  EXPECT_FALSE(r.find("log")->errors_port);
  EXPECT_THROW(register_all_nodes(r), std::logic_error);  // twice: duplicate types are refused
}

TEST(GenericNodes, CounterKeysAndPayloadReachTheBatch) {
  pipeline::Registry r;
  register_all_nodes(r);
  const char* g = R"(graph: g
nodes:
  - { id: src, type: counter, options: { count: 7, source: 42, payload_bytes: 3 } }
  - { id: batch, type: batch, ordered: [in], options: { size: 7 } }
  - { id: sink, type: discard }
  - { id: log, type: log }
edges:
  - src.out -> batch.in
  - batch.out -> sink.in
  - src.errors -> log.in
  - batch.errors -> log.in
)";
  // Look at what the batch emits through a node of our own on the real runtime.
  static std::vector<pipeline::Batch> seen;
  seen.clear();
  struct Capture final : pipeline::Node {
    void process(int, const pipeline::Message& in, pipeline::Emitter&) override {
      seen.push_back(in.as<pipeline::Batch>());
    }
  };
  pipeline::NodeContract cap;
  cap.type = "capture";
  cap.doc = "test";
  cap.inputs = {{"in", "batch", ""}};
  cap.errors_port = false;
  cap.create = [](const pipeline::NodeConfig&) { return std::make_unique<Capture>(); };
  r.add(cap);
  std::string text = g;
  text.replace(text.find("type: discard"), 13, "type: capture");
  auto spec = pipeline::load_graph_text(text, "g.yaml", r);
  pipeline::RunOptions ro;
  ro.progress_interval = 0;
  auto m = pipeline::Runtime(spec, ro).run();
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_EQ(seen[0].items.size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    const auto& msg = seen[0].items[i];
    EXPECT_EQ(msg.key().source, 42u);
    EXPECT_EQ(msg.key().seq, i);
    const auto& c = msg.as<pipeline::Count>();
    EXPECT_EQ(c.value, static_cast<int64_t>(i));
    EXPECT_EQ(c.blob, std::vector<uint8_t>(3, static_cast<uint8_t>(i)));
    EXPECT_THROW(msg.as<pipeline::Batch>(), pipeline::PayloadTypeError);
  }
}

TEST(GenericNodes, OptionConstraintsAreCheckedWhenTheGraphIsLoaded) {
  pipeline::Registry r;
  register_all_nodes(r);
  try {
    pipeline::load_graph_text(R"(graph: g
nodes:
  - { id: src, type: counter, options: { count: -1 } }
  - { id: sink, type: discard }
  - { id: log, type: log, options: { level: loud } }
edges:
  - src.out -> sink.in
  - src.errors -> log.in
)",
                              "g.yaml", r);
    FAIL() << "loaded";
  } catch (const pipeline::GraphError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_EQ(e.diagnostics()[0].str(),
              "g.yaml:3:49: option 'count' of node 'src': expected an integer >= 0, got -1");
    EXPECT_EQ(e.diagnostics()[1].str(),
              "g.yaml:5:45: option 'level' of node 'log': expected one of trace, debug, info, warn, error, "
              "critical, "
              "got loud");
  }
  EXPECT_THROW(pipeline::load_graph_text(
                   "graph: g\nnodes:\n  - { id: s, type: counter }\n  - { id: l, type: log }\nedges:\n"
                   "  - s.out -> l.in\n  - s.errors -> l.in\n",
                   "g.yaml", r, {"s.payload_bytes=2000000000"}),
               pipeline::GraphError);
}

TEST(GenericNodes, AContractWhoseDefaultBreaksItsConstraintIsRefused) {
  pipeline::Registry r;
  pipeline::NodeContract c;
  c.type = "bad";
  c.outputs = {{"out", "x", ""}};
  c.options = {pipeline::int_option("n", -5, "must be positive", 1)};
  c.create = [](const pipeline::NodeConfig&) -> std::unique_ptr<pipeline::Node> { return nullptr; };
  EXPECT_THROW(r.add(c), std::logic_error);
}

}  // namespace
}  // namespace vatt::nodes
