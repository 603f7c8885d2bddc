// `passthrough`: forwards each message unchanged (the `map` of the generic nodes); can simulate work and
// failures, to exercise concurrency, ordering and error routing.
//
//   --in(any)--> passthrough --out(same)-->
//                            --errors-->   (the messages chosen by fail_every, with the reason)
#include <chrono>
#include <thread>

#include "nodes/register_all.h"

namespace vatt::nodes {
namespace {

class Passthrough final : public pipeline::Node {
 public:
  explicit Passthrough(const pipeline::NodeConfig& cfg)
      : sleep_us_(cfg.options.get_int("sleep_us")),
        spin_us_(cfg.options.get_int("spin_us")),
        jitter_us_(cfg.options.get_int("jitter_us")),
        fail_every_(cfg.options.get_int("fail_every")) {}  // ranges: the contract's

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    if (sleep_us_) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    if (jitter_us_) {
      // Deterministic per key (a hash), so that a run is repeatable while neighbours finish out of order.
      uint64_t h = (in.key().seq + 1) * 0x9E3779B97F4A7C15ull;
      h ^= h >> 29;
      std::this_thread::sleep_for(std::chrono::microseconds(h % static_cast<uint64_t>(jitter_us_ + 1)));
    }
    if (spin_us_) {
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
      while (std::chrono::steady_clock::now() < until) {
      }
    }
    if (fail_every_ && (in.key().seq + 1) % static_cast<uint64_t>(fail_every_) == 0)
      throw std::runtime_error("simulated failure for message seq " + std::to_string(in.key().seq) +
                               " (fail_every = " + std::to_string(fail_every_) + ")");
    out.emit(0, in);
  }

 private:
  int64_t sleep_us_, spin_us_, jitter_us_, fail_every_;
};

}  // namespace

void register_passthrough(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "passthrough";
  c.doc = "forwards messages unchanged; optional simulated work and failures";
  c.inputs = {{"in", "any", "any message"}};
  c.outputs = {{"out", "@in", "the same message, same key"}};
  c.max_concurrency = 0;
  c.options = {
      pipeline::int_option("sleep_us", 0, "sleep this long per message (slow I/O)", 0),
      pipeline::int_option("spin_us", 0, "busy-wait this long per message (CPU work)", 0),
      pipeline::int_option(
          "jitter_us", 0,
          "sleep a pseudo-random 0..jitter_us per message (makes concurrent calls finish out of order)", 0),
      pipeline::int_option("fail_every", 0,
                           "throw for messages whose key seq+1 is a multiple of this; 0 = never", 0),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<Passthrough>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
