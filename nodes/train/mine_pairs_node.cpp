// `mine_pairs`: each clip's MIL-NCE positives from its own video's text (nodes/train/mine_pairs.h): its own
// words plus the nearest segments in time, optionally within max_gap_seconds; never a segment of another
// video. Clips without text pass through unchanged (text_mask 0 later).
//
//   --in(clip)--> mine_pairs --out(clip)-->
#include <memory>

#include "nodes/register_all.h"
#include "nodes/train/mine_pairs.h"

namespace vatt::nodes {
namespace {

constexpr pipeline::Output<Clip> kOut{0};  // outputs[0], `out`, of the contract below

class MinePairsNode final : public pipeline::Node {
 public:
  explicit MinePairsNode(const pipeline::NodeConfig& cfg) : miner_(options(cfg)) {}

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    auto clip = in.shared<Clip>();
    auto mined = miner_.mine(*clip);
    if (mined == clip->text) {
      out.send(kOut, in.key(), clip);
      return;
    }
    Clip c = *clip;  // metadata copied, frame/audio buffers shared
    c.text = std::move(mined);
    out.send(kOut, in.key(), std::move(c));
  }

  std::map<std::string, double> gauges() const override {
    return {{"videos", static_cast<double>(miner_.videos())}};
  }

 private:
  static PairMinerOptions options(const pipeline::NodeConfig& cfg) {
    PairMinerOptions o;
    o.candidates = static_cast<int>(cfg.options.get_int("candidates"));
    o.max_gap_us = static_cast<int64_t>(cfg.options.get_float("max_gap_seconds") * 1e6);
    o.videos_cached = static_cast<size_t>(cfg.options.get_int("videos_cached"));
    return o;
  }
  PairMiner miner_;
};

}  // namespace

void register_mine_pairs(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "mine_pairs";
  c.doc = "MIL-NCE positives: own words + nearest segments in time of the same video";
  c.inputs = {{"in", "clip", "clips with aligned text"}};
  c.outputs = {{"out", "clip", "the clips with their mined text candidates"}};
  c.max_concurrency = 0;
  c.options = {
      pipeline::int_option("candidates", 5, "texts per clip: own words + nearest segments (5)", 1, 64),
      pipeline::float_option("max_gap_seconds", 0.0, "neighbours at most this far from the clip; 0 = any", 0),
      pipeline::int_option("videos_cached", 4096, "videos whose segments are remembered", 1),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<MinePairsNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
