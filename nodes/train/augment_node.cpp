// `augment`: pretraining augmentation on each clip's frames (random crop, flip, colour; the same draw on every frame), seeded
// by (seed, source, clip index, epoch) so a run is reproducible whatever the thread timing. Evaluation mode
// takes a centre crop. Audio and text pass through untouched (shared, not copied).
//
//   --in(clip)--> augment --out(clip: frames [T, crop, crop, 3])-->
//                         --errors-->  (audio-only clips when video is required, bad frame buffers)
#include <memory>
#include <stdexcept>
#include <string>

#include "nodes/media/clip.h"
#include "nodes/register_all.h"
#include "nodes/train/augment.h"

namespace vatt::nodes {
namespace {

constexpr pipeline::Output<Clip> kOut{0};  // outputs[0], `out`, of the contract below

class AugmentNode final : public pipeline::Node {
 public:
  explicit AugmentNode(const pipeline::NodeConfig& cfg)
      : seed_(static_cast<uint64_t>(cfg.options.get_int("seed"))) {
    o_.crop = static_cast<int>(cfg.options.get_int("crop"));
    o_.train = cfg.options.get_string("mode") == "train";
    o_.flip_p = cfg.options.get_bool("flip") ? 0.5 : 0.0;
    o_.colour_p = cfg.options.get_bool("colour") ? 0.8 : 0.0;
    o_.min_area = cfg.options.get_float("min_area");
    o_.style = cfg.options.get_string("style") == "vgg" ? CropStyle::kVgg : CropStyle::kInception;
    o_.min_scale = cfg.options.get_float("min_scale");
    o_.max_scale = cfg.options.get_float("max_scale");
    if (o_.max_scale < o_.min_scale)
      throw std::invalid_argument("augment: max_scale (" + std::to_string(o_.max_scale) +
                                  ") is below min_scale (" + std::to_string(o_.min_scale) + ")");
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    const Clip& c = in.as<Clip>();
    if (!c.has_video || !c.frames || c.frames_t == 0) {
      out.error("no_video",
                "clip " + std::to_string(c.clip_index) + " of " + c.uri + " has no frames to augment");
      return;
    }
    const size_t need = static_cast<size_t>(c.frames_t) * c.height * c.width * 3;
    if (c.frames->size() != need) {
      out.error("bad_frames", "clip " + std::to_string(c.clip_index) + " of " + c.uri +
                                  ": frame buffer holds " + std::to_string(c.frames->size()) +
                                  " bytes, expected " + std::to_string(need));
      return;
    }
    // splitmix64 of (seed, source, clip, epoch): independent draws per clip and pass over the data,
    // identical across runs.
    uint64_t z = seed_ ^ (c.source_id * 0x9E3779B97F4A7C15ull) ^ (c.clip_index + 0x632BE59BD9B4E019ull) ^
                 (static_cast<uint64_t>(c.epoch) * 0xD6E8FEB86659FD93ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const AugmentDraw d = draw_augment(c.height, c.width, o_, z);
    auto frames =
        std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(c.frames_t) * o_.crop * o_.crop * 3);
    apply_augment(c.frames->data(), c.frames_t, c.height, c.width, d, o_.crop, frames->data());
    Clip a = c;
    a.frames = std::move(frames);
    a.height = a.width = o_.crop;
    out.send(kOut, in.key(), std::move(a));
  }

 private:
  uint64_t seed_;
  AugmentOptions o_;
};

}  // namespace

void register_augment(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "augment";
  c.doc =
      "crop (vgg or inception)/flip/colour per clip (same on every frame), seeded; eval mode: centre crop";
  c.inputs = {{"in", "clip", "decoded clips"}};
  c.outputs = {{"out", "clip", "the clip with frames [T, crop, crop, 3]"}};
  c.max_concurrency = 0;
  c.options = {
      pipeline::int_option("crop", 224, "output side in pixels", 16, 4096),
      pipeline::string_option("mode", "train", "train: random crop/flip/colour; eval: centre crop",
                              {"train", "eval"}),
      pipeline::string_option("style", "vgg",
                              "train crop: vgg (the released code's: short side to crop, H/W jitter, random "
                              "window) or inception (the paper's: random area and aspect)",
                              {"vgg", "inception"}),
      pipeline::float_option("min_scale", 0.8, "vgg: smallest height/width jitter factor (p = 0.8)", 0.1, 10),
      pipeline::float_option("max_scale", 1.2, "vgg: largest height/width jitter factor", 0.1, 10),
      pipeline::bool_option("flip", true, "horizontal flip with p = 0.5 (train)"),
      pipeline::bool_option("colour", true, "colour change with p = 0.8 (train)"),
      pipeline::float_option("min_area", 0.08, "inception: smallest crop area relative to the frame", 0.01,
                             1.0),
      pipeline::int_option("seed", 0, "augmentation seed (the same seed gives the same crops)", 0),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<AugmentNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
