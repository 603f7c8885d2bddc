// Crop/flip/colour augmentation. Per frame: each needed source row interpolated horizontally once (taps
// precomputed per column), the vertical blend into planar float channels, the colour passes on vectors, then
// clipped and interleaved back to bytes. The passes (augment_kernel.inc) are compiled for SSE2, AVX2 and
// AVX-512 and the widest the CPU has runs; all three give the same bytes.
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

// One clip's work for the kernels: the draw's taps and colour, and scratch memory, as plain pointers.
struct FrameJob {
  const uint8_t* frames;
  int t;
  size_t frame_bytes, row_len;  // bytes of a source frame and of one of its rows
  size_t n;                     // crop side
  // Columns: per channel c, element j reads source row bytes col_i0[c * n + j] and col_i1[c * n + j] with
  // weight col_w1[j] on the second; [lo, hi) the row bytes they span. Rows: output row i blends source rows
  // rows[i].i0 and rows[i].i1 with weight rows[i].w1 on the second.
  const int32_t *col_i0, *col_i1;
  const float* col_w1;
  size_t lo, hi;
  const Tap* rows;
  bool colour;
  float bright, saturation, contrast, hue;
  float* planes;  // [3][n][n]
  float* hrow;    // two interpolated source rows, [2][3][n]
  float* rowf;    // one source row as floats, [row_len]
  uint8_t* out;   // [t][n][n][3]
};

namespace portable {
#define VATT_AUG_LANES 4
#include "nodes/train/augment_kernel.inc"
#undef VATT_AUG_LANES
}  // namespace portable

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define VATT_AUG_X86 1
#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {
#define VATT_AUG_LANES 8
#include "nodes/train/augment_kernel.inc"
#undef VATT_AUG_LANES
}  // namespace avx2
#pragma GCC pop_options
#pragma GCC push_options
// 512-bit vectors for the colour passes (the explicit vector types), 256-bit ones where the compiler
// vectorises loops itself (the row taps and blends): 0.57-0.60 ms per 8 x 112 px clip, against 0.67-0.81 with
// 512 bits everywhere (interleaved runs).
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,prefer-vector-width=256")
namespace avx512 {
#define VATT_AUG_LANES 16
#include "nodes/train/augment_kernel.inc"
#undef VATT_AUG_LANES
}  // namespace avx512
#pragma GCC pop_options
#endif

AugmentKernel best_kernel() {
#ifdef VATT_AUG_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return AugmentKernel::kAvx512;
  if (__builtin_cpu_supports("avx2")) return AugmentKernel::kAvx2;
#endif
  return AugmentKernel::kPortable;
}

}  // namespace

std::vector<AugmentKernel> augment_kernels() {
  std::vector<AugmentKernel> out{AugmentKernel::kPortable};
  const AugmentKernel best = best_kernel();
  if (best == AugmentKernel::kAvx2 || best == AugmentKernel::kAvx512) out.push_back(AugmentKernel::kAvx2);
  if (best == AugmentKernel::kAvx512) out.push_back(AugmentKernel::kAvx512);
  return out;
}

const char* augment_kernel_name(AugmentKernel k) {
  switch (k) {
    case AugmentKernel::kAuto:
      return "auto";
    case AugmentKernel::kPortable:
      return "sse2";
    case AugmentKernel::kAvx2:
      return "avx2";
    case AugmentKernel::kAvx512:
      return "avx512";
  }
  return "?";
}

void apply_augment(const uint8_t* frames, int t, int height, int width, const AugmentDraw& d, int crop,
                   uint8_t* out, AugmentKernel kernel) {
  if (crop < 1 || d.w < 1 || d.h < 1 || d.x < 0 || d.y < 0 || d.x + d.w > width || d.y + d.h > height)
    throw std::invalid_argument("augment: crop window outside the frame");
  static const AugmentKernel best = best_kernel();
  if (kernel == AugmentKernel::kAuto) kernel = best;
  if (kernel != AugmentKernel::kPortable &&
      (best == AugmentKernel::kPortable || (kernel == AugmentKernel::kAvx512 && best != kernel)))
    throw std::invalid_argument(std::string("augment: this CPU has no ") + augment_kernel_name(kernel));
  const size_t n = static_cast<size_t>(crop);
  const auto cols = taps(crop, d.x, d.w, width, d.flip);
  const auto rows = taps(crop, d.y, d.h, height, false);
  // Per-element column taps of one interleaved RGB row, stored per channel so that each channel's row is
  // written contiguously (planar): element (j, c) reads source bytes i0[j] * 3 + c and i1[j] * 3 + c.
  std::vector<int32_t> col_i0(3 * n), col_i1(3 * n);
  std::vector<float> col_w1(n);
  for (size_t j = 0; j < n; ++j) {
    col_w1[j] = cols[j].w1;
    for (size_t c = 0; c < 3; ++c) {
      col_i0[c * n + j] = cols[j].i0 * 3 + static_cast<int32_t>(c);
      col_i1[c * n + j] = cols[j].i1 * 3 + static_cast<int32_t>(c);
    }
  }
  const size_t row_len = static_cast<size_t>(width) * 3;
  std::vector<float> planes(n * n * 3), hrow(6 * n), rowf(row_len);
  FrameJob job{};
  job.frames = frames;
  job.t = t;
  job.frame_bytes = static_cast<size_t>(height) * row_len;
  job.row_len = row_len;
  job.n = n;
  job.col_i0 = col_i0.data(), job.col_i1 = col_i1.data(), job.col_w1 = col_w1.data();
  job.lo = static_cast<size_t>(d.x) * 3, job.hi = static_cast<size_t>(d.x + d.w) * 3;  // the taps' span
  job.rows = rows.data();
  job.colour = d.colour;
  job.bright = static_cast<float>(d.brightness), job.saturation = static_cast<float>(d.saturation);
  job.contrast = static_cast<float>(d.contrast), job.hue = static_cast<float>(d.hue);
  job.planes = planes.data(), job.hrow = hrow.data(), job.rowf = rowf.data();
  job.out = out;
  switch (kernel) {
#ifdef VATT_AUG_X86
    case AugmentKernel::kAvx512:
      return avx512::augment_frames(job);
    case AugmentKernel::kAvx2:
      return avx2::augment_frames(job);
#endif
    default:
      return portable::augment_frames(job);
  }
}

}  // namespace vatt::nodes
