// Graph-file validation (issue: foundation, item 3): every kind of error is found before any data flows and
// is reported at its exact LINE:COL with what was expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/pipeline/test_util.h"

namespace vatt::test {
namespace {

using ::testing::HasSubstr;

// A valid graph the error cases below are variations of. Line numbers matter: keep this layout.
const char* kValid = R"(graph: t
nodes:
  - { id: src, type: counter, options: { count: 10 } }
  - { id: work, type: passthrough }
  - { id: sink, type: discard }
  - { id: log, type: log }
edges:
  - src.out -> work.in
  - work.out -> sink.in
  - src.errors -> log.in
  - work.errors -> log.in
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

TEST(GraphLoader, ValidGraphHasNoProblemsAndDefaultsApplied) {
  EXPECT_TRUE(problems(kValid).empty());
  auto spec = pipeline::load_graph_text(kValid, "test.yaml", test_registry());
  ASSERT_EQ(spec.nodes.size(), 4u);
  EXPECT_EQ(spec.nodes[0].options.get_int("count"), 10);
  EXPECT_EQ(spec.nodes[0].options.get_float("rate"), 0.0);  // default filled in
  EXPECT_EQ(spec.edges.size(), 4u);
  EXPECT_EQ(spec.edges[0].capacity, 64);
  // passthrough's "@in" output resolves to the type flowing in.
  EXPECT_EQ(spec.nodes[1].out_types[0], "count");
}

TEST(GraphLoader, YamlSyntaxErrorHasItsLine) {
  auto p = problems(
      replace(kValid, "  - { id: work, type: passthrough }", "  - { id: work, type: [passthrough }"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].substr(0, 2), "4:") << p[0];
  EXPECT_THAT(p[0], HasSubstr("YAML syntax"));
}

TEST(GraphLoader, UnknownNodeTypeNamesTheKnownOnes) {
  auto p = problems(replace(kValid, "type: passthrough", "type: passthru"));
  ASSERT_EQ(p.size(), 1u) << p[0];
  std::string known;
  for (const auto& t : test_registry().types()) known += (known.empty() ? "" : ", ") + t;
  EXPECT_EQ(p[0], "4:23: unknown node type 'passthru'; known types: " + known);
  // Sorted, the tests' types included.
  const auto types = test_registry().types();
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end()));
  EXPECT_LT(known.find("passthrough, "), known.find("takes_batch"));
}

TEST(GraphLoader, UnknownOptionPointsAtTheKey) {
  auto p = problems(replace(kValid, "options: { count: 10 }", "options: { cont: 10 }"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "3:42: unknown option 'cont' for node 'src' (type counter); expected one of: count, rate, "
            "payload_bytes, source");
}

TEST(GraphLoader, IllTypedOptionPointsAtTheValue) {
  auto p = problems(replace(kValid, "count: 10", "count: 1.5"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "3:49: option 'count' of node 'src': expected an integer, got '1.5'");
  p = problems(replace(kValid, "{ id: work, type: passthrough }",
                       "{ id: work, type: passthrough, options: { sleep_us: [1] } }"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("option 'sleep_us' of node 'work': expected int, got a list"));
}

TEST(GraphLoader, MissingRequiredOptionNamesItsTypeAndDoc) {
  std::string g = replace(kValid, "  - { id: log, type: log }",
                          "  - { id: log, type: log }\n  - { id: need, type: needs_path }");
  g = replace(g, "work.out -> sink.in", "work.out -> sink.in\n  - work.out -> need.in");
  auto p = problems(g);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "7:5: node 'need' (type needs_path) is missing required option 'path' (string: a file)");
  EXPECT_TRUE(problems(g, {"need.path=/tmp/x"}).empty());
}

TEST(GraphLoader, UnknownPortSaysWhichPortsExist) {
  auto p = problems(replace(kValid, "src.out -> work.in", "src.output -> work.in"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "8:5: node 'src' (type counter) has no output port 'output'; outputs: out, errors");
  p = problems(replace(kValid, "src.out -> work.in", "src.out -> work.out"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "8:5: 'work.out' is an output port; an edge goes from an output to an input");
}

TEST(GraphLoader, DanglingEdgeToAnUnknownNode) {
  auto p = problems(replace(kValid, "work.out -> sink.in", "work.out -> sinc.in"));
  ASSERT_GE(p.size(), 1u);
  EXPECT_EQ(p[0], "9:5: edge refers to unknown node 'sinc'; nodes: src, work, sink, log");
}

TEST(GraphLoader, DuplicateEdge) {
  auto p = problems(replace(kValid, "  - work.out -> sink.in\n",
                            "  - work.out -> sink.in\n  - { from: work.out, to: sink.in }\n"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "10:7: duplicate edge work.out -> sink.in (first at line 9)");
}

TEST(GraphLoader, PortTypeMismatchThroughAPassThrough) {
  // counter -> passthrough -> takes_batch: passthrough forwards 'count', the sink expects 'batch'.
  auto g = replace(kValid, "{ id: sink, type: discard }", "{ id: sink, type: takes_batch }");
  auto p = problems(g);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "9:5: type mismatch on edge work.out -> sink.in: work.out sends 'count' but input 'in' of node "
            "'sink' expects 'batch'");
  // With a batch node in between the types agree.
  g = replace(kValid, "{ id: sink, type: discard }",
              "{ id: sink, type: takes_batch }\n  - { id: b, type: batch }");
  g = replace(g, "work.out -> sink.in", "work.out -> b.in\n  - b.out -> sink.in\n  - b.errors -> log.in");
  EXPECT_TRUE(problems(g).empty());
}

TEST(GraphLoader, UnconsumedErrorsPort) {
  auto p = problems(replace(kValid, "  - work.errors -> log.in\n", ""));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "4:5: the errors port of node 'work' is not consumed; connect it, e.g. 'work.errors -> log.in' "
            "with a node of type log, or give every errors port a home with 'defaults: { errors: log.in }'");
}

TEST(GraphLoader, UnconnectedInputAndOutput) {
  auto p = problems(replace(kValid, "  - work.out -> sink.in\n", ""));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0],
            "4:5: output port 'out' of node 'work' is not connected; connect it (a node of type discard "
            "discards messages)");
  EXPECT_EQ(p[1], "5:5: input port 'in' of node 'sink' is not connected (nothing would reach it)");
}

TEST(GraphLoader, CycleMustBeMarkedAsBackEdge) {
  const char* cyc = R"(graph: t
nodes:
  - { id: src, type: counter }
  - { id: a, type: passthrough }
  - { id: b, type: passthrough }
  - { id: sink, type: discard }
  - { id: log, type: log }
edges:
  - src.out -> a.in
  - a.out -> b.in
  - b.out -> a.in
  - b.out -> sink.in
  - src.errors -> log.in
  - a.errors -> log.in
  - b.errors -> log.in
)";
  auto p = problems(cyc);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("closes a cycle; mark one edge of the cycle with 'back: true'"));
  EXPECT_TRUE(p[0].rfind("10:5:", 0) == 0 || p[0].rfind("11:5:", 0) == 0) << p[0];
  EXPECT_TRUE(problems(replace(cyc, "- b.out -> a.in", "- { from: b.out, to: a.in, back: true }")).empty());
}

TEST(GraphLoader, ConcurrencyBeyondTheTypesMaximum) {
  auto p = problems(replace(kValid, "{ id: src, type: counter, options: { count: 10 } }",
                            "{ id: src, type: counter, concurrency: 2, options: { count: 10 } }"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "3:44: concurrency of node 'src' (type counter): expected an integer from 1 to 1 (this type is "
            "serial)");
}

TEST(GraphLoader, OrderedPortNeedsOneLosslessSequence) {
  const char* two = R"(graph: t
nodes:
  - { id: s1, type: counter }
  - { id: s2, type: counter }
  - { id: sink, type: discard, ordered: [in] }
  - { id: log, type: log }
edges:
  - s1.out -> sink.in
  - s2.out -> sink.in
  - s1.errors -> log.in
  - s2.errors -> log.in
)";
  auto p = problems(two);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "5:5: input 'in' of node 'sink' is ordered, but its messages come from 2 sequences (s1.out, "
            "s2.out); order can be restored within one sequence only");
  auto lossy = replace(kValid, "{ id: sink, type: discard }", "{ id: sink, type: discard, ordered: [in] }");
  lossy = replace(lossy, "- src.out -> work.in", "- { from: src.out, to: work.in, policy: drop_oldest }");
  p = problems(lossy);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("a drop_oldest edge upstream loses messages"));
}

TEST(GraphLoader, UnknownKeysEverywhere) {
  auto p = problems(std::string("grph: x\n") + kValid);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "1:1: unknown key 'grph'; expected one of: graph, description, defaults, nodes, edges");
  p = problems(
      replace(kValid, "{ id: work, type: passthrough }", "{ id: work, type: passthrough, threads: 2 }"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "4:36: unknown node key 'threads'; expected one of: id, type, options, concurrency, ordered");
  p = problems(replace(kValid, "- src.out -> work.in", "- { from: src.out, to: work.in, size: 3 }"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "8:35: unknown edge key 'size'; expected one of: from, to, queue, policy, back");
}

TEST(GraphLoader, EdgeBoundsAndPolicies) {
  auto g = replace(kValid, "graph: t\n", "graph: t\ndefaults: { queue: 8, policy: drop_oldest }\n");
  g = replace(g, "- src.out -> work.in", "- { from: src.out, to: work.in, queue: 3, policy: block }");
  auto spec = pipeline::load_graph_text(g, "test.yaml", test_registry());
  EXPECT_EQ(spec.edges[0].capacity, 3);
  EXPECT_EQ(spec.edges[0].policy, pipeline::EdgePolicy::Block);
  EXPECT_EQ(spec.edges[1].capacity, 8);
  EXPECT_EQ(spec.edges[1].policy, pipeline::EdgePolicy::DropOldest);
  auto p = problems(replace(kValid, "- src.out -> work.in", "- { from: src.out, to: work.in, queue: 0 }"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "8:42: queue bound: expected an integer from 1 to 16777216");
  p = problems(replace(kValid, "- src.out -> work.in", "- { from: src.out, to: work.in, policy: newest }"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "8:43: edge policy: expected block or drop_oldest");
}

TEST(GraphLoader, SetOverridesAreTypedAndChecked) {
  auto spec =
      pipeline::load_graph_text(kValid, "test.yaml", test_registry(), {"src.count=99", "work.concurrency=3"});
  EXPECT_EQ(spec.nodes[0].options.get_int("count"), 99);
  EXPECT_EQ(spec.nodes[1].concurrency, 3);
  auto p = problems(kValid, {"src.cont=5"});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "--set src.cont=5: unknown option 'cont' for node 'src' (type counter); expected one of: count, "
            "rate, payload_bytes, source, concurrency");
  p = problems(kValid, {"src.count=many"});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "--set src.count=many: option 'count' of node 'src': expected an integer, got 'many'");
  p = problems(kValid, {"nosuch.count=1", "srccount"});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "--set nosuch.count=1: unknown node 'nosuch'; nodes of this graph: src, work, sink, log");
  EXPECT_EQ(p[1], "--set srccount: expected NODE.OPTION=VALUE");
}

TEST(GraphLoader, AllProblemsAreReportedNotOnlyTheFirst) {
  auto g = replace(kValid, "type: passthrough", "type: passthru");
  g = replace(g, "count: 10", "count: x");
  auto p = problems(g);
  EXPECT_EQ(p.size(), 2u);
}

// ${NODE.OPTION} references in string options (resolved after --set and defaults). `needs_path` has one
// required string option, `path`; `log` has the string option `level` (default "warn"); `counter`'s options
// are all numbers. Line numbers matter: node a is on line 4, b on line 5.
const char* kRefs = R"(graph: t
nodes:
  - { id: src, type: counter }
  - { id: a, type: needs_path, options: { path: /data } }
  - { id: b, type: needs_path, options: { path: "${a.path}/x" } }
  - { id: log, type: log }
edges:
  - src.out -> a.in
  - src.out -> b.in
  - src.errors -> log.in
)";

std::string path_of(const pipeline::GraphSpec& spec, const std::string& id) {
  const int i = spec.node_index(id);
  EXPECT_GE(i, 0) << id;
  return i < 0 ? std::string() : spec.nodes[static_cast<size_t>(i)].options.get_string("path");
}

pipeline::GraphSpec load(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  return pipeline::load_graph_text(yaml, "test.yaml", test_registry(), sets);
}

TEST(GraphLoaderReferences, AReferenceInsideALongerStringIsReplacedByTheValue) {
  ASSERT_TRUE(problems(kRefs).empty());
  auto spec = load(kRefs);
  EXPECT_EQ(path_of(spec, "a"), "/data");  // the referenced option itself is unchanged
  EXPECT_EQ(path_of(spec, "b"), "/data/x");
  // Several references in one string, text before, between and after them.
  spec = load(replace(kRefs, "\"${a.path}/x\"", "\"in ${a.path} and ${a.path}!\""));
  EXPECT_EQ(path_of(spec, "b"), "in /data and /data!");
}

TEST(GraphLoaderReferences, TheValueAfterSetAndDefaultsIsWhatArrives) {
  // --set on the referenced node: the overridden value is substituted, not the file's.
  auto spec = load(kRefs, {"a.path=/mnt/other"});
  EXPECT_EQ(path_of(spec, "a"), "/mnt/other");
  EXPECT_EQ(path_of(spec, "b"), "/mnt/other/x");
  // A reference given through --set on the referring node is resolved too.
  spec = load(kRefs, {"b.path=${a.path}/y"});
  EXPECT_EQ(path_of(spec, "b"), "/data/y");
  // A reference to an option left at its default gets the default (log.level defaults to "warn").
  spec = load(replace(kRefs, "\"${a.path}/x\"", "\"level-${log.level}\""));
  EXPECT_EQ(path_of(spec, "b"), "level-warn");
  spec = load(replace(kRefs, "\"${a.path}/x\"", "\"level-${log.level}\""), {"log.level=error"});
  EXPECT_EQ(path_of(spec, "b"), "level-error");
}

TEST(GraphLoaderReferences, ChainsResolveWhateverTheOrderOfTheNodes) {
  const std::string c_node = "\n  - { id: c, type: needs_path, options: { path: \"${b.path}/c\" } }";
  const std::string c_edge = "\n  - src.out -> c.in";
  // c -> b -> a, c declared last.
  auto g = replace(kRefs, "{ path: \"${a.path}/x\" } }", "{ path: \"${a.path}/b\" } }" + c_node);
  g = replace(g, "  - src.out -> b.in", "  - src.out -> b.in" + c_edge);
  ASSERT_TRUE(problems(g).empty());
  auto spec = load(g);
  EXPECT_EQ(path_of(spec, "a"), "/data");
  EXPECT_EQ(path_of(spec, "b"), "/data/b");
  EXPECT_EQ(path_of(spec, "c"), "/data/b/c");
  EXPECT_EQ(path_of(load(g, {"a.path=/r"}), "c"), "/r/b/c");
  // The same chain with the referring nodes declared before what they refer to.
  const char* reversed = R"(graph: t
nodes:
  - { id: c, type: needs_path, options: { path: "${b.path}/c" } }
  - { id: b, type: needs_path, options: { path: "${a.path}/b" } }
  - { id: a, type: needs_path, options: { path: /data } }
  - { id: src, type: counter }
  - { id: log, type: log }
edges:
  - src.out -> a.in
  - src.out -> b.in
  - src.out -> c.in
  - src.errors -> log.in
)";
  ASSERT_TRUE(problems(reversed).empty());
  spec = load(reversed);
  EXPECT_EQ(path_of(spec, "c"), "/data/b/c");
  EXPECT_EQ(path_of(spec, "b"), "/data/b");
}

TEST(GraphLoaderReferences, ACycleIsReportedAtTheReferringNode) {
  // a -> b -> a.
  auto p = problems(replace(kRefs, "{ path: /data }", "{ path: \"${b.path}\" }"));
  ASSERT_FALSE(p.empty());
  for (const auto& d : p) EXPECT_THAT(d, HasSubstr("reference cycle")) << d;
  // a is resolved first: its chain a.path -> b.path comes back to a.path, reported at node a (line 4).
  EXPECT_EQ(p[0], "4:5: option 'path' of node 'a': reference cycle a.path, b.path, a.path");
  // One cycle, one diagnostic: b (in the cycle too) is not reported again.
  EXPECT_EQ(p.size(), 1u) << ::testing::PrintToString(p);
  // A node referring to itself.
  p = problems(replace(kRefs, "\"${a.path}/x\"", "\"${b.path}/x\""));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "5:5: option 'path' of node 'b': reference cycle b.path, b.path");
}

TEST(GraphLoaderReferences, AnUnknownNodeOrOptionIsReportedAtTheReferringNode) {
  auto p = problems(replace(kRefs, "\"${a.path}/x\"", "\"${nosuch.path}/x\""));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(
      p[0],
      "5:5: option 'path' of node 'b': '${nosuch.path}' does not name an option of a node of this graph "
      "(expected ${NODE.OPTION})");
  p = problems(replace(kRefs, "\"${a.path}/x\"", "\"${a.nope}/x\""));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0],
            "5:5: option 'path' of node 'b': '${a.nope}' does not name an option of a node of this graph "
            "(expected ${NODE.OPTION})");
  // No dot, and no closing brace.
  p = problems(replace(kRefs, "\"${a.path}/x\"", "\"${apath}\""));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("'${apath}' does not name an option"));
  p = problems(replace(kRefs, "\"${a.path}/x\"", "\"${a.path\""));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("'${a.path' does not name an option"));
  // Through --set the error is still at the referring node.
  p = problems(kRefs, {"b.path=${zz.path}"});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("5:5: option 'path' of node 'b': '${zz.path}'"));
}

// An option reached once through another node's reference and once on its own reports its error once.
TEST(GraphLoaderReferences, AnErrorReachedThroughAChainIsReportedOnce) {
  auto p = problems(replace(replace(kRefs, "{ path: /data }", "{ path: \"${b.path}\" }"), "\"${a.path}/x\"",
                            "\"${nosuch.path}\""));
  ASSERT_EQ(p.size(), 1u) << ::testing::PrintToString(p);
  EXPECT_THAT(p[0], HasSubstr("5:5: option 'path' of node 'b': '${nosuch.path}'"));
}

TEST(GraphLoaderReferences, ANonStringTargetIsReportedAtTheReferringNode) {
  auto p = problems(replace(kRefs, "\"${a.path}/x\"", "\"${src.count}/x\""));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "5:5: option 'path' of node 'b' refers to ${src.count}, which is not a string option");
}

TEST(GraphLoaderReferences, DoubleDollarWritesALiteralReference) {
  auto spec = load(replace(kRefs, "\"${a.path}/x\"", "\"$${a.path} is ${a.path}\""));
  EXPECT_EQ(path_of(spec, "b"), "${a.path} is /data");
  // Only "$${" is an escape: a lone '$' or "$$" elsewhere stays as written.
  spec = load(replace(kRefs, "\"${a.path}/x\"", "\"$5 $$ ${a.path}\""));
  EXPECT_EQ(path_of(spec, "b"), "$5 $$ /data");
  // The escaped text of a referenced option arrives as a literal and is not resolved again.
  spec = load(replace(kRefs, "{ path: /data }", "{ path: \"$${nosuch.x}\" }"));
  EXPECT_EQ(path_of(spec, "a"), "${nosuch.x}");
  EXPECT_EQ(path_of(spec, "b"), "${nosuch.x}/x");
}

TEST(GraphLoader, DefaultsErrorsGivesEveryUnconsumedErrorsPortAnEdge) {
  const std::string g = R"(graph: d
defaults: { errors: log.in }
nodes:
  - { id: src, type: counter }
  - { id: work, type: passthrough }
  - { id: sink, type: discard }
  - { id: log, type: log }
edges:
  - src.out -> work.in
  - work.out -> sink.in
  - { from: work.errors, to: log.in, queue: 7 }
)";
  auto spec = pipeline::load_graph_text(g, "test.yaml", test_registry());
  std::vector<std::string> texts;
  for (const auto& e : spec.edges) texts.push_back(e.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"src.out -> work.in", "work.out -> sink.in",
                                             "work.errors -> log.in", "src.errors -> log.in"}));
  EXPECT_EQ(spec.edges[2].capacity, 7) << "an explicit errors edge is kept as written, not doubled";
  // Without the default the same graph names the port that nobody consumes and both ways to fix it.
  auto p = problems(replace(g, "defaults: { errors: log.in }\n", ""));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("the errors port of node 'src' is not consumed"), std::string::npos) << p[0];
  EXPECT_NE(p[0].find("defaults: { errors: log.in }"), std::string::npos) << p[0];
  auto bad = problems(replace(g, "errors: log.in", "errors: nowhere.in"));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("2:"), std::string::npos) << bad[0];
  EXPECT_NE(bad[0].find("unknown node 'nowhere'"), std::string::npos) << bad[0];
}

TEST(GraphLoader, ANumberOptionMayTakeAnotherNodesOptionByReference) {
  // A shape written once: work.spin_us and work.fail_every follow src.count, after --set and defaults.
  const std::string g = replace(kValid, "{ id: work, type: passthrough }",
                                "{ id: work, type: passthrough, options: { spin_us: \"${src.count}\", "
                                "fail_every: \"${work.spin_us}\" } }");
  auto spec = pipeline::load_graph_text(g, "test.yaml", test_registry());
  const auto& work = spec.nodes[static_cast<size_t>(spec.node_index("work"))].options;
  EXPECT_EQ(work.get_int("spin_us"), 10);
  EXPECT_EQ(work.get_int("fail_every"), 10);  // a chain
  auto set = pipeline::load_graph_text(g, "test.yaml", test_registry(), {"src.count=7"});
  EXPECT_EQ(set.nodes[static_cast<size_t>(set.node_index("work"))].options.get_int("fail_every"), 7);
  auto literal = pipeline::load_graph_text(g, "test.yaml", test_registry(), {"work.spin_us=3"});
  EXPECT_EQ(literal.nodes[static_cast<size_t>(literal.node_index("work"))].options.get_int("fail_every"), 3);
  // An integer feeds a float; a --set may itself be a reference.
  auto f = pipeline::load_graph_text(kValid, "test.yaml", test_registry(), {"src.rate=${src.count}"});
  EXPECT_DOUBLE_EQ(f.nodes[static_cast<size_t>(f.node_index("src"))].options.get_float("rate"), 10.0);
  // Errors name the referring option, once each.
  auto unknown = problems(replace(kValid, "{ id: work, type: passthrough }",
                                  "{ id: work, type: passthrough, options: { spin_us: \"${src.nope}\" } }"));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].find("option 'spin_us' of node 'work': '${src.nope}' does not name an option"),
            std::string::npos)
      << unknown[0];
  auto cycle = problems(replace(kValid, "{ id: work, type: passthrough }",
                                "{ id: work, type: passthrough, options: { spin_us: \"${work.sleep_us}\", "
                                "sleep_us: \"${work.spin_us}\" } }"));
  ASSERT_EQ(cycle.size(), 1u) << cycle.size();
  EXPECT_NE(cycle[0].find("reference cycle"), std::string::npos) << cycle[0];
  auto type = problems(kValid, {"src.rate=1.5", "work.spin_us=${src.rate}"});
  ASSERT_EQ(type.size(), 1u);
  EXPECT_NE(type[0].find("refers to ${src.rate} = 1.5, which is not of its type"), std::string::npos)
      << type[0];
  auto range = problems(kValid, {"src.count=2000000000", "src.payload_bytes=${src.count}"});
  ASSERT_EQ(range.size(), 1u);
  EXPECT_NE(range[0].find("option 'payload_bytes' of node 'src': expected"), std::string::npos) << range[0];
  EXPECT_NE(range[0].find("(from ${src.count})"), std::string::npos) << range[0];
}

TEST(GraphLoader, OptionsSayWhetherTheGraphGaveThemOrTheyAreDefaults) {
  auto spec = pipeline::load_graph_text(kValid, "test.yaml", test_registry());
  const auto& src = spec.nodes[static_cast<size_t>(spec.node_index("src"))].options;
  const auto& work = spec.nodes[static_cast<size_t>(spec.node_index("work"))].options;
  EXPECT_TRUE(src.given("count"));
  EXPECT_FALSE(src.given("rate"));
  EXPECT_FALSE(work.given("spin_us"));
  EXPECT_EQ(work.get_int("spin_us"), 0);
  // A --set of the default value is still given.
  auto set = pipeline::load_graph_text(kValid, "test.yaml", test_registry(), {"work.spin_us=0"});
  EXPECT_TRUE(set.nodes[static_cast<size_t>(set.node_index("work"))].options.given("spin_us"));
}

}  // namespace
}  // namespace vatt::test
