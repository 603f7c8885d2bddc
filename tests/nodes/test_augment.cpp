// Augmentation: crop area and aspect within bounds, the same crop on every frame, flip rate ~0.5,
// colour rate ~0.8, reproducible from the seed, exact geometry on known images, and the same bytes as a plain
// per-pixel transcription of the operations (bilinear taps, brightness, HSV saturation, contrast, HSV hue),
// and the same bytes from the kernel of every instruction set this CPU has.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "nodes/train/augment.h"

namespace vatt::nodes {
namespace {

TEST(Augment, InceptionCropAreaAndAspectStayWithinTheirBounds) {
  AugmentOptions o;
  o.style = CropStyle::kInception;
  const int H = 240, W = 320;
  int flips = 0, colours = 0;
  const int n = 4000;
  for (int s = 0; s < n; ++s) {
    auto d = draw_augment(H, W, o, 1000 + s);
    ASSERT_GE(d.x, 0);
    ASSERT_GE(d.y, 0);
    ASSERT_LE(d.x + d.w, W);
    ASSERT_LE(d.y + d.h, H);
    const double area = static_cast<double>(d.w) * d.h / (H * W);
    const double aspect = static_cast<double>(d.w) / d.h;
    if (!(d.w == W && d.h == H)) {  // the fallback (whole frame) is allowed too
      EXPECT_GE(area, 0.08 - 0.01) << s;
      EXPECT_LE(area, 1.0 + 1e-9) << s;
      EXPECT_GE(aspect, 0.5 * 0.93) << s;  // rounding to whole pixels
      EXPECT_LE(aspect, 2.0 / 0.93) << s;
    }
    flips += d.flip;
    colours += d.colour;
    if (d.colour) {
      EXPECT_LE(std::abs(d.brightness), 32.0 / 255.0 + 1e-12);
      EXPECT_GE(d.saturation, 0.6);
      EXPECT_LE(d.saturation, 1.4);
      EXPECT_GE(d.contrast, 0.6);
      EXPECT_LE(d.contrast, 1.4);
      EXPECT_LE(std::abs(d.hue), 0.2);
    }
  }
  // Binomial(4000, p): 4 standard deviations.
  EXPECT_NEAR(flips / static_cast<double>(n), 0.5, 4 * std::sqrt(0.25 / n));
  EXPECT_NEAR(colours / static_cast<double>(n), 0.8, 4 * std::sqrt(0.16 / n));
}

TEST(Augment, VggCropIsTheShortSideScaledByIndependentJitterInItsBounds) {
  AugmentOptions o;  // the default style: VGG, jitter [0.8, 1.2] with p 0.8
  ASSERT_EQ(o.style, CropStyle::kVgg);
  const int H = 240, W = 320, n = 4000;
  int unjittered = 0, tall = 0, wide = 0;
  for (int s = 0; s < n; ++s) {
    auto d = draw_augment(H, W, o, 77 + s);
    ASSERT_GE(d.x, 0);
    ASSERT_GE(d.y, 0);
    ASSERT_LE(d.x + d.w, W);
    ASSERT_LE(d.y + d.h, H);
    // Window side = short side / factor, factor in [0.8, 1.2]; a window taller than the frame is clamped.
    ASSERT_GE(d.w, std::lround(240 / 1.2)) << s;
    ASSERT_LE(d.w, std::lround(240 / 0.8)) << s;
    ASSERT_GE(d.h, std::lround(240 / 1.2)) << s;
    ASSERT_LE(d.h, 240) << s;
    unjittered += d.w == 240 && d.h == 240;
    tall += d.h > d.w;
    wide += d.w > d.h;
  }
  // No jitter with p 0.2 (a jittered draw lands on exactly 240 x 240 rarely).
  EXPECT_NEAR(unjittered / static_cast<double>(n), 0.2, 4 * std::sqrt(0.16 / n) + 0.01);
  // Height and width factors are drawn independently: both shapes of window occur often.
  EXPECT_GT(tall, n / 5);
  EXPECT_GT(wide, n / 5);
}

TEST(Augment, ColourRunsSaturationBeforeContrast) {
  // Two pure colours, saturation 0 and contrast 0. The released code's order (saturation, then contrast)
  // makes both pixels grey at their maximum (255) and then averages them: 255. Contrast first would average
  // the channels to (127.5, 127.5, 0) and then take the maximum: 128.
  uint8_t out2[12];
  const uint8_t px2[] = {255, 0, 0, 0, 255, 0, 255, 0, 0, 0, 255, 0};  // 2x2 checker of the two colours
  AugmentDraw e;
  e.w = 2, e.h = 2, e.colour = true, e.saturation = 0, e.contrast = 0;
  apply_augment(px2, 1, 2, 2, e, 2, out2);
  for (uint8_t v : out2) EXPECT_EQ(v, 255);
  // Values go past 1 between the steps and are clipped once at the end: +40/255 brightness then contrast 0
  // keeps the mean of (255+40, 0+40, ...) per channel, not of values clipped to 255 first.
  const uint8_t bw[] = {250, 250, 250, 10, 10, 10, 250, 250, 250, 10, 10, 10};
  AugmentDraw f;
  f.w = 2, f.h = 2, f.colour = true, f.brightness = 40.0 / 255.0, f.contrast = 0;
  apply_augment(bw, 1, 2, 2, f, 2, out2);
  for (uint8_t v : out2)
    EXPECT_EQ(v, 170);  // (290 + 50) / 2; clipping first would give (255 + 50) / 2 = 152.5
}

TEST(Augment, SameSeedSameDrawDifferentSeedsDiffer) {
  AugmentOptions o;
  auto a = draw_augment(256, 256, o, 42), b = draw_augment(256, 256, o, 42),
       c = draw_augment(256, 256, o, 43);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.w, b.w);
  EXPECT_EQ(a.brightness, b.brightness);
  EXPECT_FALSE(a.x == c.x && a.y == c.y && a.w == c.w && a.h == c.h);
}

// Frames whose pixel value encodes its column: R = x, G = y, B = frame index.
std::vector<uint8_t> coded_frames(int t, int h, int w) {
  std::vector<uint8_t> f(static_cast<size_t>(t) * h * w * 3);
  for (int k = 0; k < t; ++k)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        uint8_t* p = &f[((static_cast<size_t>(k) * h + y) * w + x) * 3];
        p[0] = static_cast<uint8_t>(x);
        p[1] = static_cast<uint8_t>(y);
        p[2] = static_cast<uint8_t>(k * 10);
      }
  return f;
}

TEST(Augment, SameCropOnEveryFrameAndFlipMirrors) {
  const int T = 4, H = 100, W = 200, C = 50;
  auto in = coded_frames(T, H, W);
  AugmentDraw d;
  d.x = 20, d.y = 10, d.w = 50, d.h = 50;  // 1:1 scale: every output pixel is exactly one source pixel
  std::vector<uint8_t> out(static_cast<size_t>(T) * C * C * 3), flipped(out.size());
  apply_augment(in.data(), T, H, W, d, C, out.data());
  d.flip = true;
  apply_augment(in.data(), T, H, W, d, C, flipped.data());
  for (int k = 0; k < T; ++k)
    for (int i = 0; i < C; ++i)
      for (int j = 0; j < C; ++j) {
        const uint8_t* p = &out[((static_cast<size_t>(k) * C + i) * C + j) * 3];
        const uint8_t* q = &flipped[((static_cast<size_t>(k) * C + i) * C + j) * 3];
        ASSERT_EQ(p[0], 20 + j);  // same window on every frame
        ASSERT_EQ(p[1], 10 + i);
        ASSERT_EQ(p[2], k * 10);  // frames stay in order, untouched by colour
        ASSERT_EQ(q[0], 20 + (C - 1 - j));
        ASSERT_EQ(q[1], 10 + i);
      }
}

TEST(Augment, ColourChangeIsTheSameOnEveryFrameAndStaysInRange) {
  const int T = 3, H = 32, W = 32;
  std::vector<uint8_t> in(static_cast<size_t>(T) * H * W * 3);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>((i * 37) % 256);
  // Identical frames in, identical frames out (one draw for the clip).
  for (int k = 1; k < T; ++k) std::copy(in.begin(), in.begin() + H * W * 3, in.begin() + k * H * W * 3);
  AugmentOptions o;
  o.colour_p = 1.0;
  auto d = draw_augment(H, W, o, 7);
  ASSERT_TRUE(d.colour);
  std::vector<uint8_t> out(static_cast<size_t>(T) * o.crop * o.crop * 3);
  apply_augment(in.data(), T, H, W, d, o.crop, out.data());
  const size_t plane = static_cast<size_t>(o.crop) * o.crop * 3;
  for (int k = 1; k < T; ++k)
    ASSERT_TRUE(std::equal(out.begin(), out.begin() + plane, out.begin() + k * plane)) << "frame " << k;
  // Brightness alone moves every channel of a mid-grey by the same delta.
  std::vector<uint8_t> grey(static_cast<size_t>(H) * W * 3, 128), g2(grey.size());
  AugmentDraw b;
  b.w = W, b.h = H, b.colour = true, b.brightness = 20.0 / 255.0;
  apply_augment(grey.data(), 1, H, W, b, W, g2.data());
  for (uint8_t v : g2) ASSERT_EQ(v, 148);
}

TEST(Augment, EvaluationIsACentreCropOfTheShortSide) {
  AugmentOptions o;
  o.train = false;
  auto d = draw_augment(240, 320, o, 1);
  EXPECT_EQ(d.w, 240);
  EXPECT_EQ(d.h, 240);
  EXPECT_EQ(d.x, 40);
  EXPECT_EQ(d.y, 0);
  EXPECT_FALSE(d.flip);
  EXPECT_FALSE(d.colour);
}

// The augmentation written the plain way, one pixel at a time, with the colour-space conversions as their
// textbook formulas (h in [0, 1)); apply_augment's vectorised passes must give exactly these bytes.
void rgb_to_hsv(float r, float g, float b, float& h, float& s, float& v) {
  const float mx = std::max({r, g, b}), mn = std::min({r, g, b}), c = mx - mn;
  v = mx;
  s = mx > 0 ? c / mx : 0;
  if (c <= 0)
    h = 0;
  else if (mx == r)
    h = (g - b) / c / 6.0f;
  else if (mx == g)
    h = ((b - r) / c + 2.0f) / 6.0f;
  else
    h = ((r - g) / c + 4.0f) / 6.0f;
  if (h < 0) h += 1.0f;
}

void hsv_to_rgb(float h, float s, float v, float& r, float& g, float& b) {
  const float hh = (h - std::floor(h)) * 6.0f;
  const int k = static_cast<int>(hh) % 6;
  const float f = hh - std::floor(hh), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  const float rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  r = rgb[k][0], g = rgb[k][1], b = rgb[k][2];
}

std::vector<uint8_t> reference_augment(const std::vector<uint8_t>& frames, int t, int height, int width,
                                       const AugmentDraw& d, int crop) {
  auto tap = [](int j, int n, int start, int len, int size, int& i0, int& i1, float& w1) {
    const double src = std::clamp(start + (j + 0.5) * len / n - 0.5, static_cast<double>(start),
                                  static_cast<double>(start + len - 1));
    i0 = static_cast<int>(std::floor(src));
    i1 = std::min(i0 + 1, std::min(size - 1, start + len - 1));
    w1 = static_cast<float>(src - i0);
  };
  const size_t plane = static_cast<size_t>(crop) * crop;
  std::vector<uint8_t> out(plane * 3 * t);
  std::vector<float> px(plane * 3);
  for (int f = 0; f < t; ++f) {
    const uint8_t* src = frames.data() + static_cast<size_t>(f) * height * width * 3;
    for (int i = 0; i < crop; ++i)
      for (int j = 0; j < crop; ++j) {
        int y0, y1, x0, x1;
        float wy, wx;
        tap(i, crop, d.y, d.h, height, y0, y1, wy);
        tap(d.flip ? crop - 1 - j : j, crop, d.x, d.w, width, x0, x1, wx);
        for (int c = 0; c < 3; ++c) {
          auto at = [&](int y, int x) { return static_cast<float>(src[(y * width + x) * 3 + c]); };
          const float a = at(y0, x0) + wx * (at(y0, x1) - at(y0, x0));
          const float b = at(y1, x0) + wx * (at(y1, x1) - at(y1, x0));
          px[(static_cast<size_t>(i) * crop + j) * 3 + c] = (a + wy * (b - a)) * (1.0f / 255.0f);
        }
      }
    if (d.colour) {
      double mean[3] = {0, 0, 0};
      for (size_t k = 0; k < plane; ++k) {
        float* p = &px[k * 3];
        for (int c = 0; c < 3; ++c) p[c] += static_cast<float>(d.brightness);
        if (d.saturation != 1.0) {
          float h, s, v;
          rgb_to_hsv(p[0], p[1], p[2], h, s, v);
          hsv_to_rgb(h, std::clamp(s * static_cast<float>(d.saturation), 0.0f, 1.0f), v, p[0], p[1], p[2]);
        }
        for (int c = 0; c < 3; ++c) mean[c] += p[c];
      }
      for (size_t k = 0; k < plane; ++k) {
        float* p = &px[k * 3];
        for (int c = 0; c < 3; ++c) {
          const float m = static_cast<float>(mean[c] / static_cast<double>(plane));
          p[c] = (p[c] - m) * static_cast<float>(d.contrast) + m;
        }
        if (d.hue != 0) {
          float h, s, v;
          rgb_to_hsv(p[0], p[1], p[2], h, s, v);
          hsv_to_rgb(h + static_cast<float>(d.hue), s, v, p[0], p[1], p[2]);
        }
      }
    }
    for (size_t k = 0; k < plane * 3; ++k)
      out[static_cast<size_t>(f) * plane * 3 + k] =
          static_cast<uint8_t>(std::lround(std::clamp(px[k], 0.0f, 1.0f) * 255.0f));
  }
  return out;
}

TEST(Augment, VectorisedPassesGiveThePlainPerPixelBytes) {
  std::mt19937 rng(3);
  // Noise (every branch of the colour conversions taken at random) and smooth gradients; crops that shrink,
  // keep and enlarge the window; a side whose square is not a multiple of 4 (the one-by-one tail).
  struct Case {
    int h, w, crop;
    CropStyle style;
  };
  const Case cases[] = {{112, 149, 112, CropStyle::kVgg},
                        {90, 120, 37, CropStyle::kInception},
                        {40, 40, 57, CropStyle::kInception},
                        {64, 48, 32, CropStyle::kVgg}};
  size_t bytes = 0, differ = 0;
  for (const Case& cs : cases) {
    const int T = 2;
    std::vector<uint8_t> in(static_cast<size_t>(T) * cs.h * cs.w * 3);
    for (size_t k = 0; k < in.size() / 2; ++k) in[k] = static_cast<uint8_t>(rng());
    for (size_t k = in.size() / 2; k < in.size(); ++k)
      in[k] = static_cast<uint8_t>((k / 3 + 7 * (k % 3)) % 256);
    AugmentOptions o;
    o.crop = cs.crop;
    o.style = cs.style;
    o.colour_p = 0.9;
    o.hue = 0.5;  // wide shifts: hues wrap past 0 and 1
    for (uint64_t seed = 0; seed < 40; ++seed) {
      const AugmentDraw d = draw_augment(cs.h, cs.w, o, seed);
      std::vector<uint8_t> got(static_cast<size_t>(T) * cs.crop * cs.crop * 3);
      apply_augment(in.data(), T, cs.h, cs.w, d, cs.crop, got.data());
      const auto want = reference_augment(in, T, cs.h, cs.w, d, cs.crop);
      for (size_t k = 0; k < got.size(); ++k) {
        ASSERT_LE(std::abs(got[k] - want[k]), 1) << "crop " << cs.crop << " seed " << seed << " byte " << k;
        differ += got[k] != want[k];
      }
      bytes += got.size();
    }
  }
  // The saturation is done in RGB (the same change, other roundings) and the channel means are summed in
  // another order: a value at a rounding tie may land one step away, rarely.
  EXPECT_LT(static_cast<double>(differ), 1e-4 * static_cast<double>(bytes)) << differ << " of " << bytes;
}

TEST(Augment, EveryInstructionSetGivesTheSameBytes) {
  // The wide kernels (AVX2, AVX-512 where this CPU has them) against the four-lane one, byte for byte: sides
  // whose squares leave tails of every length (37^2 = 1369 = 85 * 16 + 9; 57^2 = 3249 = 203 * 16 + 1), noise
  // that takes every branch of the colour conversions, and the crops of pretraining.
  const auto kernels = augment_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_EQ(kernels.front(), AugmentKernel::kPortable);
  std::mt19937 rng(5);
  const struct {
    int h, w, crop;
  } cases[] = {{112, 149, 112}, {90, 120, 37}, {40, 40, 57}, {64, 48, 30}, {20, 26, 7}};
  size_t compared = 0;
  for (const auto& cs : cases) {
    const int T = 3;
    std::vector<uint8_t> in(static_cast<size_t>(T) * cs.h * cs.w * 3);
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    AugmentOptions o;
    o.crop = cs.crop;
    o.colour_p = 0.9;
    o.hue = 0.5;
    for (uint64_t seed = 0; seed < 30; ++seed) {
      const AugmentDraw d = draw_augment(cs.h, cs.w, o, seed);
      std::vector<uint8_t> want(static_cast<size_t>(T) * cs.crop * cs.crop * 3), got(want.size());
      apply_augment(in.data(), T, cs.h, cs.w, d, cs.crop, want.data(), AugmentKernel::kPortable);
      for (AugmentKernel k : kernels) {
        std::fill(got.begin(), got.end(), 0);
        apply_augment(in.data(), T, cs.h, cs.w, d, cs.crop, got.data(), k);
        ASSERT_EQ(got, want) << augment_kernel_name(k) << ", crop " << cs.crop << ", seed " << seed;
        ++compared;
      }
    }
  }
  std::printf("compared %zu clips on %zu instruction sets (widest: %s)\n", compared, kernels.size(),
              augment_kernel_name(kernels.back()));
}

TEST(Augment, RejectsAWindowOutsideTheFrame) {
  std::vector<uint8_t> in(10 * 10 * 3), out(4 * 4 * 3);
  AugmentDraw d;
  d.x = 5, d.y = 0, d.w = 10, d.h = 10;
  EXPECT_THROW(apply_augment(in.data(), 1, 10, 10, d, 4, out.data()), std::invalid_argument);
}

}  // namespace
}  // namespace vatt::nodes
