// Crop/flip/colour augmentation: precomputed bilinear taps per row and column, one pass per frame.
#include "nodes/train/augment.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace vatt::nodes {

AugmentDraw draw_augment(int height, int width, const AugmentOptions& o, uint64_t seed) {
  if (height < 1 || width < 1) throw std::invalid_argument("augment: empty frame");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  AugmentDraw d;
  if (!o.train) {
    const int side = std::min(height, width);
    d.w = d.h = side;
    d.x = (width - side) / 2;
    d.y = (height - side) / 2;
    return d;
  }
  d.x = 0, d.y = 0, d.w = width, d.h = height;
  if (o.style == CropStyle::kVgg) {
    double sh = 1, sw = 1;
    if (u01(rng) < o.scale_p) {
      sh = o.min_scale + (o.max_scale - o.min_scale) * u01(rng);
      sw = o.min_scale + (o.max_scale - o.min_scale) * u01(rng);
    }
    const double short_side = std::min(height, width);
    d.w = std::clamp(static_cast<int>(std::lround(short_side / sw)), 1, width);
    d.h = std::clamp(static_cast<int>(std::lround(short_side / sh)), 1, height);
    d.x = std::uniform_int_distribution<int>(0, width - d.w)(rng);
    d.y = std::uniform_int_distribution<int>(0, height - d.h)(rng);
  }
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(o.min_aspect), log_hi = std::log(o.max_aspect);
  for (int attempt = 0; o.style == CropStyle::kInception && attempt < 10; ++attempt) {
    const double target = area * (o.min_area + (o.max_area - o.min_area) * u01(rng));
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * u01(rng));
    const int w = static_cast<int>(std::lround(std::sqrt(target * aspect)));
    const int h = static_cast<int>(std::lround(std::sqrt(target / aspect)));
    if (w < 1 || h < 1 || w > width || h > height) continue;
    d.w = w;
    d.h = h;
    d.x = std::uniform_int_distribution<int>(0, width - w)(rng);
    d.y = std::uniform_int_distribution<int>(0, height - h)(rng);
    break;
  }
  d.flip = u01(rng) < o.flip_p;
  d.colour = u01(rng) < o.colour_p;
  d.brightness = (2 * u01(rng) - 1) * o.brightness;
  d.saturation = 1 + (2 * u01(rng) - 1) * o.saturation;
  d.contrast = 1 + (2 * u01(rng) - 1) * o.contrast;
  d.hue = (2 * u01(rng) - 1) * o.hue;
  if (!d.colour) d.brightness = 0, d.saturation = 1, d.contrast = 1, d.hue = 0;
  return d;
}

namespace {

struct Tap {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

// Half-pixel-centre bilinear taps from `n` output samples onto [start, start + len) of an axis of `size`.
std::vector<Tap> taps(int n, int start, int len, int size, bool mirror) {
  std::vector<Tap> out(static_cast<size_t>(n));
  const double scale = static_cast<double>(len) / n;
  for (int j = 0; j < n; ++j) {
    const int jj = mirror ? n - 1 - j : j;
    double src = start + (jj + 0.5) * scale - 0.5;
    src = std::clamp(src, static_cast<double>(start), static_cast<double>(start + len - 1));
    const int i0 = static_cast<int>(std::floor(src));
    const int i1 = std::min(i0 + 1, std::min(size - 1, start + len - 1));
    out[static_cast<size_t>(j)] = {i0, i1, static_cast<float>(src - i0)};
  }
  return out;
}

void rgb_to_hsv(float r, float g, float b, float& h, float& s, float& v) {
  const float mx = std::max({r, g, b}), mn = std::min({r, g, b}), c = mx - mn;
  v = mx;
  s = mx > 0 ? c / mx : 0;
  if (c <= 0) {
    h = 0;
  } else if (mx == r) {
    h = (g - b) / c / 6.0f;
  } else if (mx == g) {
    h = ((b - r) / c + 2.0f) / 6.0f;
  } else {
    h = ((r - g) / c + 4.0f) / 6.0f;
  }
  if (h < 0) h += 1.0f;
}

void hsv_to_rgb(float h, float s, float v, float& r, float& g, float& b) {
  const float hh = (h - std::floor(h)) * 6.0f;
  const int k = static_cast<int>(hh) % 6;
  const float f = hh - std::floor(hh), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (k) {
    case 0:
      r = v, g = t, b = p;
      break;
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    default:
      r = v, g = p, b = q;
      break;
  }
}

}  // namespace

void apply_augment(const uint8_t* frames, int t, int height, int width, const AugmentDraw& d, int crop,
                   uint8_t* out) {
  if (crop < 1 || d.w < 1 || d.h < 1 || d.x < 0 || d.y < 0 || d.x + d.w > width || d.y + d.h > height)
    throw std::invalid_argument("augment: crop window outside the frame");
  const auto cols = taps(crop, d.x, d.w, width, d.flip);
  const auto rows = taps(crop, d.y, d.h, height, false);
  const size_t plane = static_cast<size_t>(crop) * crop;
  std::vector<float> buf(plane * 3);
  for (int f = 0; f < t; ++f) {
    const uint8_t* src = frames + static_cast<size_t>(f) * height * width * 3;
    uint8_t* dst = out + static_cast<size_t>(f) * plane * 3;
    for (int i = 0; i < crop; ++i) {
      const Tap& ry = rows[static_cast<size_t>(i)];
      const uint8_t* r0 = src + static_cast<size_t>(ry.i0) * width * 3;
      const uint8_t* r1 = src + static_cast<size_t>(ry.i1) * width * 3;
      float* o = buf.data() + static_cast<size_t>(i) * crop * 3;
      for (int j = 0; j < crop; ++j) {
        const Tap& cx = cols[static_cast<size_t>(j)];
        for (int c = 0; c < 3; ++c) {
          const float a = r0[cx.i0 * 3 + c] + cx.w1 * (r0[cx.i1 * 3 + c] - r0[cx.i0 * 3 + c]);
          const float b = r1[cx.i0 * 3 + c] + cx.w1 * (r1[cx.i1 * 3 + c] - r1[cx.i0 * 3 + c]);
          o[j * 3 + c] = (a + ry.w1 * (b - a)) * (1.0f / 255.0f);
        }
      }
    }
    if (d.colour) {
      // Pass 1: brightness, then saturation in HSV (values are not clipped between the steps, as in the
      // released code; only the saturation itself stays in [0, 1]); the channel means for contrast are taken
      // after it.
      const float bright = static_cast<float>(d.brightness), con = static_cast<float>(d.contrast);
      const float sat = static_cast<float>(d.saturation), hue = static_cast<float>(d.hue);
      double mean[3] = {0, 0, 0};
      for (size_t k = 0; k < plane; ++k) {
        float* px = buf.data() + k * 3;
        for (int c = 0; c < 3; ++c) px[c] += bright;
        if (sat != 1.0f) {
          // The HSV round trip with s' = clamp(s * sat, 0, 1) and h, v kept, done in RGB: every channel moves
          // away from (or towards) the maximum v by s' / s, since a channel is v - v s (1 - f) for its hue
          // fraction f. Without saturation (s = 0, or v <= 0) every channel becomes v, as hsv_to_rgb gives.
          const float v = std::max(px[0], std::max(px[1], px[2]));
          const float mn = std::min(px[0], std::min(px[1], px[2]));
          const float s0 = v > 0 ? (v - mn) / v : 0;
          if (s0 > 0) {
            const float k = std::clamp(s0 * sat, 0.0f, 1.0f) / s0;
            for (int c = 0; c < 3; ++c) px[c] = v - (v - px[c]) * k;
          } else {
            px[0] = px[1] = px[2] = v;
          }
        }
        for (int c = 0; c < 3; ++c) mean[c] += px[c];
      }
      for (double& m : mean) m /= static_cast<double>(plane);
      // Pass 2: contrast about those means, then the hue shift.
      for (size_t k = 0; k < plane; ++k) {
        float* px = buf.data() + k * 3;
        for (int c = 0; c < 3; ++c)
          px[c] = (px[c] - static_cast<float>(mean[c])) * con + static_cast<float>(mean[c]);
        if (hue != 0.0f) {
          float h, s, v;
          rgb_to_hsv(px[0], px[1], px[2], h, s, v);
          hsv_to_rgb(h + hue, s, v, px[0], px[1], px[2]);
        }
      }
    }
    // Rounded half away from zero, as std::lround (the values are >= 0 here), without its library call.
    for (size_t k = 0; k < plane * 3; ++k)
      dst[k] = static_cast<uint8_t>(std::clamp(buf[k], 0.0f, 1.0f) * 255.0f + 0.5f);
  }
}

}  // namespace vatt::nodes
