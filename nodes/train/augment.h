// Pretraining augmentation on uint8 frames: one random crop, flip and colour draw per clip, applied alike to
// every frame, resized to a square. Two crop styles: VGG (the released code's default: the short side
// scaled to the crop, height and width jittered, a random crop-sized window) and Inception (the paper's
// text: a window of random area and aspect). Evaluation mode: a centre crop of the short side.
#pragma once

#include <cstdint>
#include <vector>

namespace vatt::nodes {

enum class CropStyle {
  kVgg,  ///< short side -> crop, H and W scaled by independent factors in [min, max] with p, random window
  kInception,  ///< window of area in [min_area, max_area] of the frame and aspect in [min_aspect, max_aspect]
};

struct AugmentOptions {
  int crop = 224;     ///< output side
  bool train = true;  ///< false: centre crop of the short side, no flip, no colour
  CropStyle style = CropStyle::kVgg;
  double min_scale = 0.8, max_scale = 1.2;    ///< VGG: height/width jitter factors, drawn uniformly
  double scale_p = 0.8;                       ///< VGG: probability that the jitter happens at all
  double min_area = 0.08, max_area = 1.0;     ///< Inception: crop area relative to the frame
  double min_aspect = 0.5, max_aspect = 2.0;  ///< Inception: crop width / height (drawn log-uniformly)
  double flip_p = 0.5;
  double colour_p = 0.8;             ///< probability that the colour change happens at all
  double brightness = 32.0 / 255.0;  ///< delta drawn from [-b, b]
  double saturation = 0.4;           ///< factor drawn from [1-s, 1+s]
  double contrast = 0.4;             ///< factor drawn from [1-c, 1+c]
  double hue = 0.2;                  ///< delta (fraction of the hue circle) drawn from [-h, h]
};

/// One clip's draw: crop window in source pixels, flip, and the colour change.
struct AugmentDraw {
  int x = 0, y = 0, w = 0, h = 0;
  bool flip = false;
  bool colour = false;
  double brightness = 0, saturation = 1, contrast = 1, hue = 0;
};

/// Draws the augmentation of a [H, W] clip from `seed` alone (the same seed gives the same draw, whatever the
/// thread). VGG: the frame scaled so that its short side is `crop`, then by (sh, sw) (1, 1 without jitter);
/// the window is the source region that becomes crop x crop pixels of that scaled frame, short/sw wide and
/// short/sh high, clamped to the frame, at a uniform position. Inception: crops that do not fit after 10
/// tries fall back to the whole frame.
AugmentDraw draw_augment(int height, int width, const AugmentOptions& options, uint64_t seed);

/// The instruction sets apply_augment's passes are compiled for; every one gives the same bytes.
enum class AugmentKernel {
  kAuto,      ///< the widest this CPU has
  kPortable,  ///< 4 lanes (SSE2, any x86-64; plain C++ elsewhere)
  kAvx2,      ///< 8 lanes
  kAvx512,    ///< 16 lanes (AVX-512 F/BW/VL/DQ)
};

/// The kernels this CPU can run, narrowest first (kPortable always).
std::vector<AugmentKernel> augment_kernels();
const char* augment_kernel_name(AugmentKernel kernel);

/// Applies `d` to `frames` [T, H, W, 3] uint8 and writes [T, crop, crop, 3] uint8 to `out` (resized
/// bilinearly; colour in float in the released code's order: brightness, saturation (HSV), contrast (per
/// frame and channel mean), hue (HSV), then clipped to [0, 1] once and rounded back to 8 bits). `kernel`
/// other than kAuto is for tests and benchmarks (std::invalid_argument when this CPU lacks it).
void apply_augment(const uint8_t* frames, int t, int height, int width, const AugmentDraw& d, int crop,
                   uint8_t* out, AugmentKernel kernel = AugmentKernel::kAuto);

}  // namespace vatt::nodes
