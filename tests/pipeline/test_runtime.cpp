// The graph runtime on real oneTBB (issue: foundation, item 5): bounded edges under back-pressure,
// drop_oldest, order restored under concurrency, errors routed to the errors port, flush/close, flat memory.
//
//   counter --(bound B)--> passthrough(xC) --(bound B)--> null(slow)
//       \--errors--> log        \--errors--> log
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "pipeline/runtime.h"
#include "tests/pipeline/test_util.h"

namespace vatt::test {
namespace {

std::string chain(int count, int queue, int conc, const std::string& work_opts, const std::string& sink_opts,
                  const std::string& src_opts = "", const std::string& sink_extra = "") {
  return "graph: chain\n"
         "defaults: { queue: " +
         std::to_string(queue) +
         " }\n"
         "nodes:\n"
         "  - { id: src, type: counter, options: { count: " +
         std::to_string(count) + src_opts +
         " } }\n"
         "  - { id: work, type: passthrough, concurrency: " +
         std::to_string(conc) + ", options: { " + work_opts +
         " } }\n"
         "  - { id: sink, type: discard, options: { " +
         sink_opts + " }" + sink_extra +
         " }\n"
         "  - { id: log, type: log, options: { level: debug } }\n"
         "edges:\n"
         "  - src.out -> work.in\n"
         "  - work.out -> sink.in\n"
         "  - src.errors -> log.in\n"
         "  - work.errors -> log.in\n";
}

TEST(Runtime, EveryMessageArrivesOnce) {
  auto m = run_yaml(chain(5000, 16, 4, "", ""));
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.status, "completed");
  EXPECT_EQ(m.node("src")->out, 5000u);
  EXPECT_EQ(m.node("work")->in, 5000u);
  EXPECT_EQ(m.node("sink")->gauges.at("received"), 5000);
  for (const auto& e : m.edges) EXPECT_EQ(e.depth, 0) << e.text;  // drained
}

TEST(Runtime, BackPressureKeepsEveryEdgeWithinItsBound) {
  // A fast source and a slow sink: the edges fill up to their bound and never beyond.
  const int bound = 8;
  auto m = run_yaml(chain(600, bound, 4, "", "sleep_us: 500"));
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.node("sink")->gauges.at("received"), 600);
  for (const auto& e : m.edges) EXPECT_LE(e.max_depth, bound) << e.text;
  // The bound was really reached (so the check above is not vacuous).
  EXPECT_EQ(m.edge("work.out -> sink.in")->max_depth, bound);
  EXPECT_EQ(m.edge("src.out -> work.in")->max_depth, bound);
}

TEST(Runtime, PerEdgeBoundOverridesTheDefault) {
  auto g = chain(300, 32, 2, "", "sleep_us: 300");
  g.replace(g.find("  - work.out -> sink.in"), 23, "  - { from: work.out, to: sink.in, queue: 3 }");
  auto m = run_yaml(g);
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.edge("work.out -> sink.in")->max_depth, 3);
  EXPECT_LE(m.edge("src.out -> work.in")->max_depth, 32);
}

TEST(Runtime, ResidentMemoryStaysFlatOverTenTimesMoreMessages) {
  // 256 KiB per message: an unbounded queue would need ~100 MB for 400 messages and ~1 GB for 4000.
  auto graph = [](int n) { return chain(n, 8, 2, "", "sleep_us: 50", ", payload_bytes: 262144"); };
  reset_peak_rss();
  auto small = run_yaml(graph(400));
  const long peak_small = peak_rss_kib();
  reset_peak_rss();
  auto big = run_yaml(graph(4000));
  const long peak_big = peak_rss_kib();
  ASSERT_EQ(small.exit_code, 0);
  ASSERT_EQ(big.exit_code, 0);
  EXPECT_EQ(big.node("sink")->gauges.at("received"), 4000);
  ASSERT_GT(peak_small, 0);
  RecordProperty("peak_rss_kib_400", static_cast<int>(peak_small));
  RecordProperty("peak_rss_kib_4000", static_cast<int>(peak_big));
  // Flat: 10x the messages may not add more than a few in-flight payloads' worth of memory.
  EXPECT_LT(peak_big, peak_small + 16 * 1024)
      << "peak RSS " << peak_small << " KiB -> " << peak_big << " KiB";
}

TEST(Runtime, DropOldestDropsAndCountsAndLosesNothingElse) {
  auto g = chain(3000, 64, 1, "", "sleep_us: 200");
  g.replace(g.find("  - work.out -> sink.in"), 23,
            "  - { from: work.out, to: sink.in, queue: 4, policy: drop_oldest }");
  auto m = run_yaml(g);
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  const auto* e = m.edge("work.out -> sink.in");
  EXPECT_GT(e->dropped, 0u);
  EXPECT_LE(e->max_depth, 4);
  // Every message is either received or counted as dropped.
  EXPECT_EQ(static_cast<uint64_t>(m.node("sink")->gauges.at("received")) + e->dropped, 3000u);
  // A drop_oldest edge never holds back its producer: the source ran at full speed.
  EXPECT_EQ(m.node("work")->out, 3000u);
}

TEST(Runtime, OrderRestoredUnderConcurrencyFour) {
  // Without `ordered`, jittered concurrent calls deliver out of order (the control that makes this test able
  // to fail)...
  auto unordered = run_yaml(chain(2000, 16, 4, "jitter_us: 300", "check_order: true"));
  EXPECT_GT(unordered.node("sink")->gauges.at("order_violations"), 0);
  EXPECT_EQ(unordered.exit_code, 1);  // the sink's close reports the violation
  // ...and with `ordered: [in]` every key arrives in order.
  auto ordered = run_yaml(chain(2000, 16, 4, "jitter_us: 300", "check_order: true", "", ", ordered: [in]"));
  ASSERT_EQ(ordered.exit_code, 0) << ordered.failure;
  EXPECT_EQ(ordered.node("sink")->gauges.at("order_violations"), 0);
  EXPECT_EQ(ordered.node("sink")->gauges.at("received"), 2000);
}

TEST(Runtime, OrderRestoredTwoHopsAfterAConcurrentNodeWithStragglers) {
  // A concurrent node whose calls take from 0 to 4 ms, then a serial one, then the ordered port, with edges of
  // 2: messages overtake a straggler by far more than an edge holds. Were the overtaking messages to keep
  // their producers' slots while they wait for their turn, `hop` would have no slot left for the straggler
  // and the run would never finish.
  const std::string g =
      "graph: hops\n"
      "defaults: { queue: 2, errors: log.in }\n"
      "nodes:\n"
      "  - { id: src, type: counter, options: { count: 600 } }\n"
      "  - { id: work, type: passthrough, concurrency: 2, options: { jitter_us: 4000 } }\n"
      "  - { id: hop, type: passthrough }\n"
      "  - { id: sink, type: discard, ordered: [in], options: { check_order: true } }\n"
      "  - { id: log, type: log }\n"
      "edges:\n"
      "  - src.out -> work.in\n"
      "  - work.out -> hop.in\n"
      "  - hop.out -> sink.in\n";
  auto m = run_yaml(g);
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.node("sink")->gauges.at("received"), 600);
  EXPECT_EQ(m.node("sink")->gauges.at("order_violations"), 0);
}

TEST(Runtime, OrderRestoredAcrossMessagesThatFailed) {
  // Failed messages leave gaps in the sequence; the ordered port must not wait for them forever.
  auto m = run_yaml(
      chain(1000, 16, 4, "jitter_us: 200, fail_every: 10", "check_order: true", "", ", ordered: [in]"));
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.node("sink")->gauges.at("received"), 900);
  EXPECT_EQ(m.node("work")->errors, 100u);
}

TEST(Runtime, AThrowingNodeRoutesTheMessageToErrorsAndTheRunCompletes) {
  auto m = run_yaml(chain(700, 16, 2, "fail_every: 7", ""));
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.status, "completed");
  const auto* w = m.node("work");
  EXPECT_EQ(w->errors, 100u);
  EXPECT_EQ(w->errors_by_kind.at("exception"), 100u);
  EXPECT_EQ(w->out, 600u);
  EXPECT_EQ(m.node("log")->in, 100u);
  EXPECT_EQ(m.node("sink")->gauges.at("received"), 600);
}

TEST(Runtime, BatchFlushesItsRemainderAtTheEnd) {
  const char* g = R"(graph: b
nodes:
  - { id: src, type: counter, options: { count: 103 } }
  - { id: batch, type: batch, ordered: [in], options: { size: 10 } }
  - { id: sink, type: discard }
  - { id: log, type: log }
edges:
  - src.out -> batch.in
  - batch.out -> sink.in
  - src.errors -> log.in
  - batch.errors -> log.in
)";
  auto m = run_yaml(g);
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.node("batch")->out, 11u);  // 10 full + 1 partial from flush
  EXPECT_EQ(m.node("sink")->gauges.at("received"), 11);
  auto no_partial = run_yaml(g, {"batch.partial=false"});
  EXPECT_EQ(no_partial.node("batch")->out, 10u);
}

TEST(Runtime, StopRequestDrainsFlushesAndReportsTheSignal) {
  auto spec = pipeline::load_graph_text(chain(0, 8, 2, "", "sleep_us: 100"), "test.yaml", test_registry());
  pipeline::RunOptions ro;
  ro.progress_interval = 0;
  pipeline::Runtime rt(spec, ro);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    rt.request_stop(15);
  });
  auto m = rt.run();
  stopper.join();
  EXPECT_EQ(m.exit_code, 143);
  EXPECT_EQ(m.status, "stopped by SIGTERM");
  EXPECT_GT(m.node("src")->out, 0u);
  // Drained: everything the source emitted reached the sink, nothing is left on the edges.
  EXPECT_EQ(static_cast<uint64_t>(m.node("sink")->gauges.at("received")), m.node("src")->out);
  for (const auto& e : m.edges) EXPECT_EQ(e.depth, 0) << e.text;
}

TEST(Runtime, ANodeCanEndTheRunCleanly) {
  // An endless source; the sink ends the run after 500 messages: drained, flushed, exit 0.
  auto m = run_yaml(chain(0, 8, 2, "", "stop_after: 500"));
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.status, "completed (stopped by node 'sink': received 500 messages)");
  EXPECT_GE(m.node("sink")->gauges.at("received"), 500);
  EXPECT_EQ(static_cast<uint64_t>(m.node("sink")->gauges.at("received")), m.node("src")->out);
  for (const auto& e : m.edges) EXPECT_EQ(e.depth, 0) << e.text;
}

TEST(Runtime, NodeThatFailsToOpenFailsTheRunWithItsName) {
  auto m = run_yaml(chain(10, 8, 1, "", "report: /nonexistent-dir/x.json"));
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_NE(m.failure.find("node 'sink' failed to close: cannot write report file /nonexistent-dir/x.json"),
            std::string::npos)
      << m.failure;
  auto bad = run_yaml(
      "graph: f\nnodes:\n  - { id: src, type: counter }\n  - { id: x, type: fails_to_construct }\n"
      "  - { id: log, type: log }\nedges:\n  - src.out -> x.in\n  - src.errors -> log.in\n");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.failure.find("node 'x' (fails_to_construct): no such device"), std::string::npos)
      << bad.failure;
}

TEST(Runtime, ARunWhoseNodeFailsEveryMessageStopsWithTheReasonInsteadOfSpinning) {
  // An endless source into a node that fails every message: the run ends with exit 1 after
  // kMaxFailuresInARow failures in a row, naming the node and its last error.
  auto m = run_yaml(chain(0, 8, 2, "fail_every: 1", ""));
  EXPECT_EQ(m.exit_code, 1) << m.status;
  EXPECT_NE(m.failure.find("node 'work': its last 100 inputs all failed, so the run can only fail (the last: "
                           "exception: "),
            std::string::npos)
      << m.failure;
  EXPECT_GE(m.node("work")->errors, 100u);
  EXPECT_LT(m.node("work")->errors, 200u) << "it went on long after the limit";
  // Failures that are not all in a row do not stop a run.
  auto ok = run_yaml(chain(1000, 8, 2, "fail_every: 2", ""));
  EXPECT_EQ(ok.exit_code, 0) << ok.failure;
  EXPECT_EQ(ok.node("work")->errors, 500u);
}

TEST(Runtime, ANodeCanFailTheRunAndABrokenInvariantFailsItToo) {
  const std::string g =
      "graph: f\nnodes:\n  - { id: src, type: counter }\n  - { id: x, type: fails_the_run, options: { after: "
      "50 } }\n  - { id: log, type: log }\nedges:\n  - src.out -> x.in\n  - src.errors -> log.in\n";
  auto m = run_yaml(g);
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_EQ(m.failure, "node 'x': gave up after 50 inputs");
  EXPECT_EQ(m.status, "failed");
  auto bug = run_yaml(
      "graph: b\nnodes:\n  - { id: src, type: counter }\n  - { id: x, type: emits_twice }\n"
      "  - { id: sink, type: discard }\n  - { id: log, type: log }\nedges:\n  - src.out -> x.in\n"
      "  - x.out -> sink.in\n  - src.errors -> log.in\n  - x.errors -> log.in\n");
  EXPECT_EQ(bug.exit_code, 1);
  EXPECT_NE(
      bug.failure.find("node 'x': broken invariant: node 'x' emitted more than 1 message(s) on port 'out'"),
      std::string::npos)
      << bug.failure;
}

TEST(Runtime, ErrorsPastMaxOutInOneCallStillReachTheErrorsPort) {
  // Three errors per call on a node whose max_out is 1: all of them arrive where its errors port leads.
  auto m = run_yaml(
      "graph: e\nnodes:\n  - { id: src, type: counter, options: { count: 20 } }\n"
      "  - { id: x, type: errors_thrice }\n  - { id: sink, type: discard }\n  - { id: log, type: log }\n"
      "edges:\n  - src.out -> x.in\n  - x.errors -> sink.in\n  - src.errors -> log.in\n");
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  EXPECT_EQ(m.node("x")->errors, 60u);
  EXPECT_EQ(m.node("sink")->in, 60u);
}

TEST(Runtime, APayloadThatIsNotItsPortsTypeIsABrokenInvariant) {
  // The port says count; the node emits a std::string: the run fails naming both, before anyone downstream
  // calls Message::as<Count>() on it.
  auto m = run_yaml(
      "graph: t\nnodes:\n  - { id: src, type: counter, options: { count: 5 } }\n"
      "  - { id: x, type: emits_wrong_type }\n  - { id: sink, type: discard }\n  - { id: log, type: log }\n"
      "edges:\n  - src.out -> x.in\n  - x.out -> sink.in\n  - src.errors -> log.in\n  - x.errors -> "
      "log.in\n");
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_NE(m.failure.find("node 'x' emitted std::__cxx11::basic_string"), std::string::npos) << m.failure;
  EXPECT_NE(m.failure.find("on port 'out', which carries 'count' (vatt::pipeline::Count)"), std::string::npos)
      << m.failure;
  EXPECT_EQ(m.node("sink")->in, 0u);
}

TEST(Registry, APortTypeMustBeARegisteredMessageType) {
  pipeline::Registry r;
  pipeline::NodeContract c;
  c.type = "t";
  c.doc = "d";
  c.inputs = {{"in", "clipz", ""}};
  c.create = [](const pipeline::NodeConfig&) { return std::unique_ptr<pipeline::Node>(); };
  try {
    r.add(c);
    FAIL() << "accepted an unregistered port type";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(),
                 "node type 't': input 'in' carries 'clipz', which is not a registered message type");
  }
  r.add_type<std::string>("clipz", "text");
  EXPECT_NO_THROW(r.add(c));
  EXPECT_THROW(r.add_type<std::string>("text", "the same C++ type again"), std::logic_error);
  EXPECT_EQ(r.type_of(typeid(std::string))->name, "clipz");
  EXPECT_EQ(r.type("batch")->cpp, &typeid(pipeline::Batch));
  // Origins: a type that names none says so.
  EXPECT_THROW(r.origin(pipeline::Message::make(std::string("x"))), std::invalid_argument);
}

}  // namespace
}  // namespace vatt::test
