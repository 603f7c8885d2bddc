// `counter`: a synthetic source that emits Count{0..count-1}, optionally rate-limited and with a payload
// blob, to drive and measure graphs without media.
//
//   counter --out(count)--> ...    errors: never in practice (declared for uniformity)
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "nodes/register_all.h"

namespace vatt::nodes {
namespace {

constexpr pipeline::Output<pipeline::Count> kOut{0};  // outputs[0], `out`, of the contract below

using pipeline::Count;
using pipeline::Message;

class Counter final : public pipeline::Node {
 public:
  explicit Counter(const pipeline::NodeConfig& cfg)
      : count_(cfg.options.get_int("count")),
        rate_(cfg.options.get_float("rate")),
        bytes_(cfg.options.get_int("payload_bytes")),
        source_(static_cast<uint64_t>(cfg.options.get_int("source"))) {
    if (count_ < 0) throw std::invalid_argument("count must be >= 0 (0 = endless)");
    if (rate_ < 0) throw std::invalid_argument("rate must be >= 0 (0 = as fast as possible)");
    if (bytes_ < 0) throw std::invalid_argument("payload_bytes must be >= 0");
  }

  void open() override { start_ = std::chrono::steady_clock::now(); }

  bool produce(pipeline::Emitter& out) override {
    if (count_ && next_ >= count_) return false;
    if (rate_ > 0) {
      auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(static_cast<double>(next_) / rate_));
      std::unique_lock<std::mutex> lk(mu_);
      if (cv_.wait_until(lk, due, [&] { return interrupted_; })) return false;
    }
    Count c;
    c.value = next_;
    if (bytes_) c.blob.assign(static_cast<size_t>(bytes_), static_cast<uint8_t>(next_));
    out.send(kOut, pipeline::Key{source_, static_cast<uint64_t>(next_)}, std::move(c));
    ++next_;
    return true;
  }

  std::optional<uint64_t> expected_total() const override {
    if (count_) return static_cast<uint64_t>(count_);
    return std::nullopt;
  }

  void interrupt() override {
    std::lock_guard<std::mutex> lk(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

 private:
  int64_t count_, next_ = 0;
  double rate_;
  int64_t bytes_;
  uint64_t source_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

}  // namespace

void register_counter(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "counter";
  c.doc = "synthetic source: emits Count{value 0..count-1}, for tests and benchmarks";
  c.outputs = {{"out", "count", "one Count per step, keys (source, value)", pipeline::KeyMode::New}};
  c.options = {
      pipeline::int_option("count", 1000, "messages to emit; 0 = endless", 0),
      pipeline::float_option("rate", 0.0, "messages per second; 0 = as fast as possible", 0),
      pipeline::int_option("payload_bytes", 0, "bytes of blob carried by each message", 0, 1 << 30),
      pipeline::int_option("source", 0, "source id put in the message keys", 0),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<Counter>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
