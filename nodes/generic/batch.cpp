// `batch`: groups `size` messages into one Batch, in arrival order (make the input `ordered` to group in key
// order); flushes the remainder at the end of the stream when `partial` is set.
//
//   --in(any)--> batch --out(batch, new keys)-->
#include <mutex>

#include "nodes/register_all.h"

namespace vatt::nodes {
namespace {

class BatchNode final : public pipeline::Node {
 public:
  explicit BatchNode(const pipeline::NodeConfig& cfg)
      : size_(cfg.options.get_int("size")), partial_(cfg.options.get_bool("partial")) {
    if (size_ < 1) throw std::invalid_argument("size must be >= 1");
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    pending_.items.push_back(in);
    if (static_cast<int64_t>(pending_.items.size()) >= size_) emit(out);
  }

  void flush(pipeline::Emitter& out) override {
    if (partial_ && !pending_.items.empty()) emit(out);
    pending_.items.clear();
  }

 private:
  void emit(pipeline::Emitter& out) {
    pipeline::Batch b;
    b.items.swap(pending_.items);
    pending_.items.reserve(static_cast<size_t>(size_));
    out.emit(0, pipeline::Message::make(std::move(b)));
  }
  int64_t size_;
  bool partial_;
  pipeline::Batch pending_;
};

}  // namespace

void register_batch(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "batch";
  c.doc = "groups messages into batches of a fixed size";
  c.inputs = {{"in", "any", "messages to group"}};
  c.outputs = {
      {"out", "batch", "Batch of `size` messages (the last may be smaller)", pipeline::KeyMode::New}};
  c.options = {
      pipeline::int_option("size", 32, "messages per batch", 1),
      pipeline::bool_option("partial", true, "emit the last, smaller batch at the end"),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<BatchNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
