// Crop/flip/colour augmentation. Per frame: each needed source row interpolated horizontally once (taps
// precomputed per column), the vertical blend into planar float channels, the colour passes four pixels at a
// time, then clipped and interleaved back to bytes.
#include "nodes/train/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

// Per-element horizontal taps of one interleaved RGB row: element (j, c) reads source bytes i0[j] * 3 + c and
// i1[j] * 3 + c; stored per channel so that each channel's row is written contiguously (planar).
struct RowTaps {
  std::vector<int32_t> i0, i1;  // [3][n] byte offsets within a source row
  std::vector<float> w1;        // [n]
};

RowTaps planar_taps(const std::vector<Tap>& cols) {
  const size_t n = cols.size();
  RowTaps t;
  t.i0.resize(3 * n);
  t.i1.resize(3 * n);
  t.w1.resize(n);
  for (size_t j = 0; j < n; ++j) {
    t.w1[j] = cols[j].w1;
    for (size_t c = 0; c < 3; ++c) {
      t.i0[c * n + j] = cols[j].i0 * 3 + static_cast<int32_t>(c);
      t.i1[c * n + j] = cols[j].i1 * 3 + static_cast<int32_t>(c);
    }
  }
  return t;
}

// One source row interpolated horizontally into three planar rows of n floats (not yet scaled to [0, 1]).
// The bytes [lo, hi) the taps read (the crop window's) are converted to floats first (one vectorised pass
// into `scratch`, indexed like the row), so that the taps gather floats instead of converting every byte
// they read twice.
void horizontal(const uint8_t* __restrict bytes, size_t lo, size_t hi, const RowTaps& t, size_t n,
                float* __restrict scratch, float* __restrict out) {
  for (size_t k = lo; k < hi; ++k) scratch[k] = bytes[k];
  const float* __restrict row = scratch;
  for (size_t c = 0; c < 3; ++c) {
    const int32_t* __restrict i0 = t.i0.data() + c * n;
    const int32_t* __restrict i1 = t.i1.data() + c * n;
    const float* __restrict w1 = t.w1.data();
    float* __restrict o = out + c * n;
    for (size_t j = 0; j < n; ++j) {
      const float a = row[i0[j]];
      o[j] = a + w1[j] * (row[i1[j]] - a);
    }
  }
}

// Four floats (and four int32) as GCC/Clang vector types: the colour passes are written once for `float` and
// for these, so that their selects compile to vector blends (the autovectoriser gives up on the hue's many
// selects). The operations are the scalar ones, lane by lane: the bytes do not depend on the vector width.
typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));
inline int32_t to_int(float v) {
  return static_cast<int32_t>(v);
}
inline I4 to_int(F4 v) {
  return __builtin_convertvector(v, I4);
}
inline float to_float(int32_t v) {
  return static_cast<float>(v);
}
inline F4 to_float(I4 v) {
  return __builtin_convertvector(v, F4);
}
// std::max / std::min's own definitions, usable on vectors.
template <class T>
inline T max_of(T a, T b) {
  return a < b ? b : a;
}
template <class T>
inline T min_of(T a, T b) {
  return b < a ? b : a;
}

// Brightness, then the saturation change of the HSV round trip done in RGB: every channel moves away from
// (or towards) the maximum v by s' / s with s' = clamp(s * sat, 0, 1), since a channel is v - v s (1 - f)
// for its hue fraction f; without saturation (s = 0, or v <= 0) every channel becomes v, as the round trip
// gives. Values are not clipped between the steps, as in the released code.
template <class F>
inline void bright_saturate(F& x, F& y, F& z, float bright, float sat) {
  x += bright, y += bright, z += bright;
  if (sat == 1.0f) return;
  const F zero = F{}, one = zero + 1.0f;
  const F v = max_of(x, max_of(y, z)), mn = min_of(x, min_of(y, z));
  const auto some = (v > 0) & (v - mn > 0);
  const F s0 = (some ? v - mn : one) / (some ? v : one);
  const F f = some ? min_of(max_of(s0 * sat, zero), one) / s0 : zero;
  x = v - (v - x) * f;
  y = v - (v - y) * f;
  z = v - (v - z) * f;
}

// The hue shift of one pixel (or four): RGB -> HSV -> RGB with h + hue, h, s, v as the released code's
// colour-space conversion, every branch a select of candidates computed with safe divisors.
template <class F>
inline void shift_hue(F& x, F& y, F& z, float hue) {
  const F zero = F{}, one = zero + 1.0f;
  const F mx = max_of(x, max_of(y, z)), mn = min_of(x, min_of(y, z)), c = mx - mn;
  const F v = mx;
  const F s = (mx > 0 ? c : zero) / (mx > 0 ? mx : one);
  const F cs = c > 0 ? c : one;
  // The sector's numerator and offset picked first, so that one division serves all three candidates:
  // ((y - z) / c + 0) / 6 is (y - z) / c / 6 (adding zero changes no value but -0's sign, which the
  // sum with `hue` below and the selects ignore).
  const auto at_r = mx == x, at_g = mx == y;
  const F num = at_r ? y - z : (at_g ? z - x : x - y);
  const F off = at_r ? zero : (at_g ? zero + 2.0f : zero + 4.0f);
  F h = (num / cs + off) / 6.0f;
  h = c > 0 ? h : zero;
  h = h < 0 ? h + 1.0f : h;
  const F hs = h + hue;
  const F ts = to_float(to_int(hs));  // floor(hs) for |hs| < 2^31: truncation, one down below zero
  const F hh = (hs - (ts > hs ? ts - 1.0f : ts)) * 6.0f;  // in [0, 6]
  const auto i = to_int(hh);                              // hh >= 0: truncation is the floor
  const F f = hh - to_float(i);
  const auto sector = i >= 6 ? i - 6 : i;
  const F p = v * (1.0f - s), q = v * (1.0f - s * f), t = v * (1.0f - s * (1.0f - f));
  x = (sector == 0) | (sector == 5) ? v : (sector == 1 ? q : (sector == 4 ? t : p));
  y = (sector == 1) | (sector == 2) ? v : (sector == 0 ? t : (sector == 3 ? q : p));
  z = (sector == 3) | (sector == 4) ? v : (sector == 2 ? t : (sector == 5 ? q : p));
}

// Pixels k..k+3 of three planes.
inline void load4(const float* r, const float* g, const float* b, size_t k, F4& x, F4& y, F4& z) {
  std::memcpy(&x, r + k, sizeof x);
  std::memcpy(&y, g + k, sizeof y);
  std::memcpy(&z, b + k, sizeof z);
}

// Applies `fn` to every pixel of three planes of n floats: four at a time as F4, the rest one by one.
template <class Fn>
void for_each_pixel(float* __restrict r, float* __restrict g, float* __restrict b, size_t n, Fn fn) {
  size_t k = 0;
  for (; k + 4 <= n; k += 4) {
    F4 x, y, z;
    load4(r, g, b, k, x, y, z);
    fn(x, y, z);
    std::memcpy(r + k, &x, sizeof x);
    std::memcpy(g + k, &y, sizeof y);
    std::memcpy(b + k, &z, sizeof z);
  }
  for (; k < n; ++k) fn(r[k], g[k], b[k]);
}

// Means of three planes accumulated in double, in four interleaved partial sums per plane (element k into
// sum k % 4; the tail into sum 0), fed by a pass that has the values in registers anyway.
struct Means {
  typedef double D4 __attribute__((vector_size(32)));
  D4 acc[3] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
  void add(F4 x, F4 y, F4 z) {
    acc[0] += __builtin_convertvector(x, D4);
    acc[1] += __builtin_convertvector(y, D4);
    acc[2] += __builtin_convertvector(z, D4);
  }
  void add(float x, float y, float z) { acc[0][0] += x, acc[1][0] += y, acc[2][0] += z; }
  float mean(int c, size_t n) const {
    const D4& a = acc[c];
    return static_cast<float>((a[0] + a[1] + a[2] + a[3]) / static_cast<double>(n));
  }
};

// Clipped to [0, 1], scaled to 8 bits and rounded half away from zero (the value is >= 0 after the clip).
template <class F>
inline auto to_byte(F v) {
  const F zero = F{}, one = zero + 1.0f;
  return to_int(min_of(max_of(v, zero), one) * 255.0f + 0.5f);
}

// Three planes of n floats to n interleaved RGB bytes, four at a time.
void interleave_bytes(const float* __restrict r, const float* __restrict g, const float* __restrict b,
                      size_t n, uint8_t* __restrict out) {
  size_t k = 0;
  for (; k + 4 <= n; k += 4) {
    F4 x, y, z;
    load4(r, g, b, k, x, y, z);
    const I4 bx = to_byte(x), by = to_byte(y), bz = to_byte(z);
    for (int u = 0; u < 4; ++u) {
      uint8_t* o = out + (k + static_cast<size_t>(u)) * 3;
      o[0] = static_cast<uint8_t>(bx[u]), o[1] = static_cast<uint8_t>(by[u]),
      o[2] = static_cast<uint8_t>(bz[u]);
    }
  }
  for (; k < n; ++k) {
    out[k * 3 + 0] = static_cast<uint8_t>(to_byte(r[k]));
    out[k * 3 + 1] = static_cast<uint8_t>(to_byte(g[k]));
    out[k * 3 + 2] = static_cast<uint8_t>(to_byte(b[k]));
  }
}

}  // namespace

void apply_augment(const uint8_t* frames, int t, int height, int width, const AugmentDraw& d, int crop,
                   uint8_t* out) {
  if (crop < 1 || d.w < 1 || d.h < 1 || d.x < 0 || d.y < 0 || d.x + d.w > width || d.y + d.h > height)
    throw std::invalid_argument("augment: crop window outside the frame");
  const size_t n = static_cast<size_t>(crop);
  const RowTaps cols = planar_taps(taps(crop, d.x, d.w, width, d.flip));
  const auto rows = taps(crop, d.y, d.h, height, false);
  const size_t plane = n * n;
  // Planar [3][crop][crop] floats, and two horizontally interpolated source rows (each [3][crop]) kept
  // while consecutive output rows read them.
  const float bright = static_cast<float>(d.brightness), con = static_cast<float>(d.contrast);
  const float sat = static_cast<float>(d.saturation), hue = static_cast<float>(d.hue);
  const size_t row_len = static_cast<size_t>(width) * 3;
  const size_t lo = static_cast<size_t>(d.x) * 3, hi = static_cast<size_t>(d.x + d.w) * 3;  // the taps' span
  std::vector<float> buf(plane * 3), hrow(6 * n), rowf(row_len);
  float* const pr = buf.data();
  float* const pg = pr + plane;
  float* const pb = pg + plane;
  for (int f = 0; f < t; ++f) {
    const uint8_t* src = frames + static_cast<size_t>(f) * height * width * 3;
    uint8_t* dst = out + static_cast<size_t>(f) * plane * 3;
    int held[2] = {-1, -1};  // source row in each half of hrow
    for (size_t i = 0; i < n; ++i) {
      const Tap& ry = rows[i];
      float* line[2];
      const int want[2] = {ry.i0, ry.i1};
      int slot0 = held[0] == want[0] ? 0 : held[1] == want[0] ? 1 : -1;
      if (slot0 < 0) {
        slot0 = held[0] == want[1] ? 1 : 0;  // keep the slot that already holds the second row
        horizontal(src + static_cast<size_t>(want[0]) * row_len, lo, hi, cols, n, rowf.data(),
                   hrow.data() + slot0 * 3 * n);
        held[slot0] = want[0];
      }
      const int slot1 = want[1] == want[0] ? slot0 : 1 - slot0;
      if (held[slot1] != want[1]) {
        horizontal(src + static_cast<size_t>(want[1]) * row_len, lo, hi, cols, n, rowf.data(),
                   hrow.data() + slot1 * 3 * n);
        held[slot1] = want[1];
      }
      line[0] = hrow.data() + slot0 * 3 * n;
      line[1] = hrow.data() + slot1 * 3 * n;
      const float wy = ry.w1;
      for (size_t c = 0; c < 3; ++c) {
        const float* __restrict a = line[0] + c * n;
        const float* __restrict b = line[1] + c * n;
        float* __restrict o = buf.data() + c * plane + i * n;
        for (size_t j = 0; j < n; ++j) o[j] = (a[j] + wy * (b[j] - a[j])) * (1.0f / 255.0f);
      }
    }
    if (d.colour) {
      Means sums;
      for_each_pixel(pr, pg, pb, plane, [&](auto& x, auto& y, auto& z) {
        bright_saturate(x, y, z, bright, sat);
        sums.add(x, y, z);
      });
      // Contrast about the channel means taken after the saturation, then the hue.
      const float m[3] = {sums.mean(0, plane), sums.mean(1, plane), sums.mean(2, plane)};
      for_each_pixel(pr, pg, pb, plane, [&](auto& x, auto& y, auto& z) {
        x = (x - m[0]) * con + m[0], y = (y - m[1]) * con + m[1], z = (z - m[2]) * con + m[2];
        if (hue != 0.0f) shift_hue(x, y, z, hue);
      });
    }
    // Clipped to [0, 1] once and rounded half away from zero (the values are >= 0 here), interleaved back.
    interleave_bytes(pr, pg, pb, plane, dst);
  }
}

}  // namespace vatt::nodes
