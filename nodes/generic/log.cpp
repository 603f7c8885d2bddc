// `log`: a sink that writes what it receives to the log; made for `errors` ports (one line per ErrorRecord
// naming the node, the kind, the key and the reason).
//
//   --in(any)--> log
#include <spdlog/spdlog.h>

#include <atomic>

#include "nodes/register_all.h"

namespace vatt::nodes {
namespace {

class LogNode final : public pipeline::Node {
 public:
  explicit LogNode(const pipeline::NodeConfig& cfg) : every_(cfg.options.get_int("every")) {
    const std::string& lvl = cfg.options.get_string("level");
    static const std::map<std::string, spdlog::level::level_enum> levels = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},   {"critical", spdlog::level::critical}};
    auto it = levels.find(lvl);
    if (it != levels.end())
      level_ = it->second;
    else
      throw std::invalid_argument("level '" + lvl +
                                  "': expected trace, debug, info, warn, error or critical");
    if (every_ < 1) throw std::invalid_argument("every must be >= 1");
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter&) override {
    const uint64_t n = seen_.fetch_add(1);
    if (n % static_cast<uint64_t>(every_)) return;
    if (in.holds<pipeline::ErrorRecord>()) {
      const auto& e = in.as<pipeline::ErrorRecord>();
      spdlog::log(level_, "error from {} [{}] at ({}, {}): {}", e.node, e.kind, e.key.source, e.key.seq,
                  e.reason);
    } else {
      spdlog::log(level_, "message ({}, {}) of type {}", in.key().source, in.key().seq, in.payload_type());
    }
  }

  std::map<std::string, double> gauges() const override {
    return {{"logged", static_cast<double>(seen_.load())}};
  }

 private:
  int64_t every_;
  spdlog::level::level_enum level_;
  std::atomic<uint64_t> seen_{0};
};

}  // namespace

void register_log(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "log";
  c.doc = "sink that logs each message (ErrorRecords with node, kind, key and reason)";
  c.inputs = {{"in", "any", "messages to log, usually from errors ports"}};
  c.errors_port = false;
  c.options = {
      pipeline::string_option("level", "warn", "log level",
                              {"trace", "debug", "info", "warn", "error", "critical"}),
      pipeline::int_option("every", 1, "log one message in this many", 1),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<LogNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
