// The contract every node type declares (ports, options, concurrency) and the interface its instances
// implement.
//
//            +---------------------------+
//   in[0] -->|                           |--> out[0]
//   in[1] -->|   Node (process/produce)  |--> out[1]
//            |                           |--> errors   (ErrorRecord; every node but sinks has one)
//            +---------------------------+
//
// Invariants the runtime keeps for every node:
//  - process() is called with at most `concurrency` calls in flight (1 = serial, never two at once).
//  - One call emits at most `max_out` messages on each output port (what bounds every edge's occupancy).
//  - An exception from process()/produce() becomes one ErrorRecord on `errors`; the run goes on. A node
//    (not a source) whose last kMaxFailuresInARow calls all failed ends the run with exit 1 and the last
//    reason: a run that can only fail stops instead of spinning.
//  - A broken invariant (InvariantError, e.g. more than `max_out` messages from one call) fails the run.
//  - flush() runs once after all input has been processed (also on SIGINT/SIGTERM), close() once at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/message.h"
#include "pipeline/value.h"
#include "pipeline/worker.h"

namespace vatt::pipeline {

/// How an output port's messages relate to the input's keys: `Preserve` emits (at most) one message per input
/// with the input's sequence position (order can be restored downstream); `New` starts a new sequence.
enum class KeyMode { Preserve, New };

struct PortSpec {
  std::string name;
  /// Message type name ("count", "batch", "error", "clip", ...). Inputs may say "any". Outputs may say "@in"
  /// to mean "whatever arrives on the first input port" (pass-through nodes).
  std::string type;
  std::string doc;
  KeyMode keys = KeyMode::Preserve;
  bool optional = false;  ///< may be left unconnected
};

struct OptionSpec {
  std::string name;
  OptionType type;
  std::optional<Value> default_value;  ///< none: the option is required
  std::string doc;
  // Defaulted so that contracts written as {name, type, default, doc} stay valid (no missing initialisers).
  std::optional<double> min = std::nullopt;  ///< Int/Float: allowed range (checked when the graph is loaded)
  std::optional<double> max = std::nullopt;
  std::vector<std::string> choices = {};  ///< String: the allowed values, when it is a closed set

  /// Empty when `v` satisfies min/max/choices, else constraint().
  std::string check(const Value& v) const;
  /// The constraint in words ("an integer >= 0", "one of a, b"); empty when there is none.
  std::string constraint() const;
};

/// Option declarations with their constraints, for contracts.
inline OptionSpec int_option(std::string name, int64_t def, std::string doc, std::optional<double> min = {},
                             std::optional<double> max = {}) {
  return OptionSpec{std::move(name), OptionType::Int, Value(def), std::move(doc), min, max, {}};
}
inline OptionSpec float_option(std::string name, double def, std::string doc, std::optional<double> min = {},
                               std::optional<double> max = {}) {
  return OptionSpec{std::move(name), OptionType::Float, Value(def), std::move(doc), min, max, {}};
}
inline OptionSpec bool_option(std::string name, bool def, std::string doc) {
  return OptionSpec{std::move(name), OptionType::Bool, Value(def), std::move(doc), {}, {}, {}};
}
inline OptionSpec string_option(std::string name, std::string def, std::string doc,
                                std::vector<std::string> choices = {}) {
  return OptionSpec{std::move(name),   OptionType::String, Value(std::move(def)), std::move(doc), {}, {},
                    std::move(choices)};
}
inline OptionSpec list_option(std::string name, std::vector<std::string> def, std::string doc) {
  return OptionSpec{
      std::move(name), OptionType::StringList, Value(std::move(def)), std::move(doc), {}, {}, {}};
}
/// An option without a default: the graph must give it.
inline OptionSpec required_option(std::string name, OptionType type, std::string doc) {
  return OptionSpec{std::move(name), type, std::nullopt, std::move(doc), {}, {}, {}};
}

class Node;
struct NodeConfig;
class Registry;
class Services;

/// Calls in a row that all failed (threw, or reported errors and emitted nothing) after which a node ends the
/// run with exit 1.
constexpr int kMaxFailuresInARow = 100;
/// produce() calls in a row that threw after which a source stops (bad inputs it reports are not counted).
constexpr int kMaxSourceFailuresInARow = 1000;

/// A broken invariant of the runtime's contract (a bug in a node, not bad input): it fails the run.
class InvariantError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct NodeContract {
  std::string type;
  std::string doc;  ///< one line
  std::vector<PortSpec> inputs;
  std::vector<PortSpec> outputs;  ///< without `errors`, which `errors_port` adds as the last output
  bool errors_port = true;
  std::vector<OptionSpec> options;
  int max_concurrency = 1;  ///< 1 = serial; 0 = any
  int max_out = 1;          ///< most messages one call emits per output port
  /// Gauges shown on the progress line (all of them when empty); the summary and --metrics have every gauge.
  std::vector<std::string> progress_gauges;
  std::function<std::unique_ptr<Node>(const NodeConfig&)> create;

  bool is_source() const { return inputs.empty(); }
  const OptionSpec* option(const std::string& name) const;
  int input_index(const std::string& name) const;   ///< -1 if none
  int output_index(const std::string& name) const;  ///< includes `errors`; -1 if none
  int output_count() const { return static_cast<int>(outputs.size()) + (errors_port ? 1 : 0); }
  int errors_index() const { return errors_port ? static_cast<int>(outputs.size()) : -1; }
};

/// What a node instance is built from: its id in the graph, its contract and its resolved options.
struct NodeConfig {
  std::string id;
  const NodeContract* contract = nullptr;
  Options options;
  int concurrency = 1;
  /// Which data-parallel worker this process is (from the runner: nodes never read the environment).
  WorkerInfo worker;
  /// The node and message types the graph was loaded with (e.g. Registry::origin); null outside a graph.
  const Registry* registry = nullptr;
  /// What the program around the graph shares with its nodes (services.h); null when it shares nothing.
  Services* services = nullptr;
};

/// A node's handle on one of its output ports, typed by the payload the port carries: `send` through it
/// cannot put another C++ type on the port (and the runtime checks the port's registered type on every emit).
/// Declared beside the contract, e.g. `constexpr pipeline::Output<Clip> kClips{0};` for outputs[0].
template <class T>
struct Output {
  int index;
};

/// Where a node sends its results. Valid only during the call it was passed to.
class Emitter {
 public:
  virtual ~Emitter() = default;
  /// Sends `value` on `port` under `key` / under the key the port gives (see emit).
  template <class T>
  void send(Output<T> port, Key key, T value) {
    emit(port.index, Message::make(key, std::move(value)));
  }
  template <class T>
  void send(Output<T> port, T value) {
    emit(port.index, Message::make(std::move(value)));
  }
  /// Forwards an existing payload of the port's type without copying it.
  template <class T>
  void send(Output<T> port, Key key, std::shared_ptr<const T> value) {
    emit(port.index, Message::share(key, std::move(value)));
  }
  /// Sends `msg` on output port `port` (index into the contract's outputs). A message with a default key
  /// gets the input's key (Preserve ports) or the next key of the node's own sequence (New ports).
  virtual void emit(int port, Message msg) = 0;
  /// Reports a problem with the current input on the `errors` port: `kind` is counted, `reason` is shown.
  virtual void error(const std::string& kind, const std::string& reason) = 0;
  /// Ends the run early and cleanly (a trainer that reached its step count): sources stop, in-flight work
  /// drains, every node is flushed and closed, the run completes with exit 0 and `reason` in its status.
  virtual void stop_run(const std::string& reason) = 0;
  /// Ends the run early as a failure: the same drain, flush and close as stop_run, then exit 1 with `reason`
  /// (a trainer that cannot go on). A broken invariant is a bug instead: throw InvariantError.
  virtual void fail_run(const std::string& reason) = 0;
};

class Node {
 public:
  virtual ~Node() = default;
  /// Called once before any data flows; throw to fail the run (exit 1) with the reason.
  virtual void open() {}
  /// Non-sources: handle one message that arrived on input port `port`.
  virtual void process(int port, const Message& in, Emitter& out) {}
  /// Sources: emit the next message(s); return false when there is nothing more (the call emits nothing
  /// then).
  virtual bool produce(Emitter& out) { return false; }
  /// Sources: total messages expected, when known (gives the progress line an ETA).
  virtual std::optional<uint64_t> expected_total() const { return std::nullopt; }
  /// Progress of a node that knows where it ends (e.g. training steps): work done this run started at,
  /// done now, and the total. The progress line shows a percentage and an ETA from it.
  struct Progress {
    uint64_t start = 0, done = 0, total = 0;
  };
  virtual std::optional<Progress> progress() const { return std::nullopt; }
  /// Sources: unblock a produce() that waits on I/O because the run is stopping. Called from another thread.
  virtual void interrupt() {}
  /// After all input: emit what is held back (a partial batch, a last checkpoint).
  virtual void flush(Emitter& out) {}
  /// Last call: release resources. Throw to report a failure (exit 1).
  virtual void close() {}
  /// Node-specific figures for progress and metrics (e.g. "loss"); called from the reporter thread.
  virtual std::map<std::string, double> gauges() const { return {}; }
};

}  // namespace vatt::pipeline
