// Test helpers shared by the pipeline suites.
#include "tests/pipeline/test_util.h"

#include <fstream>

#include "nodes/register_all.h"
#include "pipeline/runtime.h"

namespace vatt::test {

namespace {
class Sink final : public pipeline::Node {};

/// Emits every input twice on a port whose contract allows one message per call: a broken invariant.
class EmitsTwice final : public pipeline::Node {
 public:
  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    out.emit(0, in);
    out.emit(0, in);
  }
};

/// Reports three errors for every input and emits nothing (a batch whose items all fail, one by one).
class ErrorsThrice final : public pipeline::Node {
 public:
  void process(int, const pipeline::Message&, pipeline::Emitter& out) override {
    for (int i = 0; i < 3; ++i) out.error("item", "item " + std::to_string(i) + " failed");
  }
};

/// Emits a string on a port that carries counts: its contract and its payload disagree.
class EmitsWrongType final : public pipeline::Node {
 public:
  void process(int, const pipeline::Message&, pipeline::Emitter& out) override {
    out.emit(0, pipeline::Message::make(std::string("not a count")));
  }
};

/// Ends the run as a failure at its `after`-th input.
class FailsTheRun final : public pipeline::Node {
 public:
  explicit FailsTheRun(int64_t after) : after_(after) {}
  void process(int, const pipeline::Message&, pipeline::Emitter& out) override {
    if (++seen_ == after_) out.fail_run("gave up after " + std::to_string(after_) + " inputs");
  }

 private:
  int64_t after_, seen_ = 0;
};
}  // namespace

const pipeline::Registry& test_registry() {
  static const pipeline::Registry reg = [] {
    pipeline::Registry r;
    nodes::register_generic_nodes(r);
    pipeline::NodeContract a;
    a.type = "needs_path";
    a.doc = "test node with a required option";
    a.inputs = {{"in", "any", ""}};
    a.errors_port = false;
    a.options = {{"path", pipeline::OptionType::String, std::nullopt, "a file"}};
    a.create = [](const pipeline::NodeConfig&) { return std::make_unique<Sink>(); };
    r.add(a);
    pipeline::NodeContract b;
    b.type = "takes_batch";
    b.doc = "test node whose input is typed";
    b.inputs = {{"in", "batch", ""}};
    b.errors_port = false;
    b.create = [](const pipeline::NodeConfig&) { return std::make_unique<Sink>(); };
    r.add(b);
    pipeline::NodeContract f;
    f.type = "fails_to_construct";
    f.doc = "test node whose factory throws";
    f.inputs = {{"in", "any", ""}};
    f.errors_port = false;
    f.create = [](const pipeline::NodeConfig&) -> std::unique_ptr<pipeline::Node> {
      throw std::runtime_error("no such device");
    };
    r.add(f);
    pipeline::NodeContract t;
    t.type = "emits_twice";
    t.doc = "test node that breaks max_out";
    t.inputs = {{"in", "any", ""}};
    t.outputs = {{"out", "@in", ""}};
    t.create = [](const pipeline::NodeConfig&) { return std::make_unique<EmitsTwice>(); };
    r.add(t);
    pipeline::NodeContract e3;
    e3.type = "errors_thrice";
    e3.doc = "test node that reports three errors per input";
    e3.inputs = {{"in", "any", ""}};
    e3.create = [](const pipeline::NodeConfig&) { return std::make_unique<ErrorsThrice>(); };
    r.add(e3);
    pipeline::NodeContract w;
    w.type = "emits_wrong_type";
    w.doc = "test node whose payload is not its port's type";
    w.inputs = {{"in", "any", ""}};
    w.outputs = {{"out", "count", ""}};
    w.create = [](const pipeline::NodeConfig&) { return std::make_unique<EmitsWrongType>(); };
    r.add(w);
    pipeline::NodeContract g;
    g.type = "fails_the_run";
    g.doc = "test node that calls fail_run";
    g.inputs = {{"in", "any", ""}};
    g.errors_port = false;
    g.options = {pipeline::int_option("after", 10, "inputs before it fails the run", 1)};
    g.create = [](const pipeline::NodeConfig& c) {
      return std::make_unique<FailsTheRun>(c.options.get_int("after"));
    };
    r.add(g);
    return r;
  }();
  return reg;
}

pipeline::RunMetrics run_yaml(const std::string& yaml, const std::vector<std::string>& sets, int threads) {
  auto spec = pipeline::load_graph_text(yaml, "test.yaml", test_registry(), sets);
  pipeline::RunOptions ro;
  ro.threads = threads;
  ro.progress_interval = 0;
  pipeline::Runtime rt(spec, ro);
  return rt.run();
}

std::vector<std::string> problems(const std::string& yaml, const std::vector<std::string>& sets) {
  try {
    pipeline::load_graph_text(yaml, "test.yaml", test_registry(), sets);
  } catch (const pipeline::GraphError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) {
      std::string s = d.str();
      if (s.rfind("test.yaml:", 0) == 0) s = s.substr(10);
      out.push_back(s);
    }
    return out;
  }
  return {};
}

long peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

}  // namespace vatt::test
