// Pretraining augmentation on uint8 frames: one random crop (area, aspect), flip and colour draw
// per clip, applied alike to every frame, resized to a square. Evaluation mode: a centre crop of the short
// side.
#pragma once

#include <cstdint>
#include <vector>

namespace vatt::nodes {

struct AugmentOptions {
  int crop = 224;                             ///< output side
  bool train = true;                          ///< false: centre crop of the short side, no flip, no colour
  double min_area = 0.08, max_area = 1.0;     ///< crop area relative to the frame
  double min_aspect = 0.5, max_aspect = 2.0;  ///< crop width / height (drawn log-uniformly)
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
/// thread). Crops that do not fit after 10 tries fall back to the whole frame.
AugmentDraw draw_augment(int height, int width, const AugmentOptions& options, uint64_t seed);

/// Applies `d` to `frames` [T, H, W, 3] uint8 and writes [T, crop, crop, 3] uint8 to `out` (resized
/// bilinearly; colour in float as brightness, contrast (per frame and channel mean), then saturation and hue
/// in HSV, clipped to [0, 1] and rounded back to 8 bits).
void apply_augment(const uint8_t* frames, int t, int height, int width, const AugmentDraw& d, int crop,
                   uint8_t* out);

}  // namespace vatt::nodes
