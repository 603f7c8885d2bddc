// `discard`: a sink that discards messages; can be slow (to test back-pressure) and can check that keys arrive
// in increasing order per source (to test ordered ports). An order violation fails the run at close.
//
//   --in(any)--> discard
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "nodes/register_all.h"

namespace vatt::nodes {
namespace {

class DiscardSink final : public pipeline::Node {
 public:
  explicit DiscardSink(const pipeline::NodeConfig& cfg)
      : sleep_us_(cfg.options.get_int("sleep_us")),
        check_order_(cfg.options.get_bool("check_order")),
        report_(cfg.options.get_string("report")),
        stop_after_(static_cast<uint64_t>(cfg.options.get_int("stop_after"))) {
    if (sleep_us_ < 0) throw std::invalid_argument("sleep_us must be >= 0");
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    if (sleep_us_) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    const uint64_t n = received_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (stop_after_ && n == stop_after_) out.stop_run("received " + std::to_string(n) + " messages");
    if (check_order_) {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = last_.find(in.key().source);
      if (it != last_.end() && in.key().seq <= it->second) violations_++;
      last_[in.key().source] = in.key().seq;
    }
  }

  void close() override {
    if (!report_.empty()) {
      std::ofstream out(report_);
      out << "{\"received\": " << received_.load() << ", \"order_violations\": " << violations_ << "}\n";
      if (!out) throw std::runtime_error("cannot write report file " + report_);
    }
    if (violations_)
      throw std::runtime_error(std::to_string(violations_) + " message(s) arrived out of key order");
  }

  std::map<std::string, double> gauges() const override {
    std::lock_guard<std::mutex> lk(mu_);
    std::map<std::string, double> g{{"received", static_cast<double>(received_.load())}};
    if (check_order_) g["order_violations"] = static_cast<double>(violations_);
    return g;
  }

 private:
  int64_t sleep_us_;
  bool check_order_;
  std::string report_;
  uint64_t stop_after_;
  std::atomic<uint64_t> received_{0};
  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> last_;
  uint64_t violations_ = 0;
};

}  // namespace

void register_discard(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "discard";
  c.doc = "sink that discards messages; optionally slow, optionally checks key order";
  c.inputs = {{"in", "any", "messages to discard"}};
  c.errors_port = false;
  c.max_concurrency = 0;
  c.options = {
      pipeline::int_option("sleep_us", 0, "sleep this long per message (a slow sink)", 0),
      pipeline::bool_option("check_order", false, "fail the run if keys of a source arrive out of order"),
      pipeline::string_option("report", "",
                              "at close, write {received, order_violations} as JSON to this file"),
      pipeline::int_option("stop_after", 0, "end the run cleanly after this many messages; 0 = never", 0),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<DiscardSink>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
