// Eval-time input from a checkpoint's description (nodes/train/eval_input.h): the blob train_vatt writes is
// read back (rates, clip length, vocabulary), and a decoded clip is cut to the trained input: frames picked
// by time, the centre square of the short side, audio resampled to the trained rate and cut or padded.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "nodes/train/eval_input.h"

namespace vatt::nodes {
namespace {

constexpr double kPi = 3.14159265358979323846;

// What train_vatt's blob() holds (describe_data plus format and batch count).
std::string train_blob(const Vocabulary* vocab) {
  nlohmann::json j;
  j["input"] = {{"fps", 8.0},
                {"sample_rate", 16000},
                {"clip_seconds", 3.2},
                {"frames", 16},
                {"crop", 112},
                {"audio_samples", 51200},
                {"video", "uint8 RGB, x / 127.5 - 1"},
                {"audio", "mono float in [-1, 1]"},
                {"eval_crop", "centre square of the short side, resized to crop"}};
  if (vocab) j["vocab"] = vocab->to_text();
  j["format"] = "vatt-train-1";
  j["batches"] = 42;
  return j.dump();
}

TEST(EvalInput, ParsesTheRatesClipLengthAndVocabularyOfATrainBlob) {
  const auto v = Vocabulary::build({{"cat", 5}, {"dog", 3}, {"fish", 1}});
  const auto s = parse_input_spec(train_blob(&v), "ckpt-7.pt", 16, 112, 51200);
  EXPECT_DOUBLE_EQ(s.fps, 8.0);
  EXPECT_EQ(s.sample_rate, 16000);
  EXPECT_DOUBLE_EQ(s.clip_seconds, 3.2);
  EXPECT_EQ(s.frames, 16);
  EXPECT_EQ(s.crop, 112);
  EXPECT_EQ(s.audio_samples, 51200);
  ASSERT_NE(s.vocab, nullptr);
  ASSERT_EQ(s.vocab->size(), v.size());
  for (const char* w : {"cat", "dog", "fish", "cow"}) EXPECT_EQ(s.vocab->id(w), v.id(w)) << w;
  EXPECT_EQ(s.vocab->id("cow"), Vocabulary::kUnk);
}

TEST(EvalInput, FramesCropAndSamplesFallBackToTheModels) {
  // A blob with rates but no frames/crop/audio_samples and no vocabulary.
  const std::string blob = R"({"input": {"fps": 12.5, "sample_rate": 8000}, "batches": 3})";
  const auto s = parse_input_spec(blob, "m.pt", 4, 64, 12345);
  EXPECT_DOUBLE_EQ(s.fps, 12.5);
  EXPECT_EQ(s.sample_rate, 8000);
  EXPECT_DOUBLE_EQ(s.clip_seconds, 0.0);  // not said
  EXPECT_EQ(s.frames, 4);
  EXPECT_EQ(s.crop, 64);
  EXPECT_EQ(s.audio_samples, 12345);
  EXPECT_EQ(s.vocab, nullptr);
  // A blob without an input description (a checkpoint saved before any data) keeps the defaults.
  const auto t = parse_input_spec(R"({"format": "vatt-train-1", "batches": 0})", "m.pt", 2, 32, 100);
  EXPECT_EQ(t.fps, 0.0);
  EXPECT_EQ(t.sample_rate, 0);
  EXPECT_EQ(t.frames, 2);
  EXPECT_EQ(t.crop, 32);
  EXPECT_EQ(t.audio_samples, 100);
}

TEST(EvalInput, AnEmptyBlobGivesDefaults) {
  const auto s = parse_input_spec("", "old.pt", 8, 224, 32000);
  EXPECT_EQ(s.fps, 0.0);
  EXPECT_EQ(s.sample_rate, 0);
  EXPECT_EQ(s.clip_seconds, 0.0);
  EXPECT_EQ(s.frames, 8);
  EXPECT_EQ(s.crop, 224);
  EXPECT_EQ(s.audio_samples, 32000);
  EXPECT_EQ(s.vocab, nullptr);
}

std::string error_of(const std::string& blob, const std::string& origin) {
  try {
    parse_input_spec(blob, origin, 1, 1, 1);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(EvalInput, AMalformedBlobThrowsNamingTheOrigin) {
  for (const char* bad : {"batches=3", "{\"input\": ", "[1, 2, 3]", "\"text\""}) {
    const auto msg = error_of(bad, "/ckpt/step-100.pt");
    EXPECT_EQ(msg.rfind("/ckpt/step-100.pt", 0), 0u) << bad << " -> " << msg;
  }
  // Ill-typed fields and a vocabulary that is not one.
  EXPECT_EQ(error_of(R"({"input": {"fps": "fast"}})", "a.pt").rfind("a.pt", 0), 0u);
  EXPECT_EQ(error_of(R"({"vocab": 5})", "a.pt").rfind("a.pt", 0), 0u);
  const auto msg = error_of(R"({"vocab": "# vatt vocabulary v1\ncat\tmany\n"})", "a.pt");
  EXPECT_EQ(msg, "a.pt (vocabulary):2: count of 'cat' is not a non-negative integer");
}

// A clip of `t` frames [h, w] whose every pixel of frame k is `pixel(k, y, x)`.
template <typename F>
Clip make_clip(int t, int h, int w, double fps, F pixel) {
  Clip c;
  c.uri = "file:///data/v.mp4";
  c.clip_index = 3;
  c.fps = fps;
  c.frames_t = t;
  c.height = h;
  c.width = w;
  c.has_video = true;
  std::vector<uint8_t> f(static_cast<size_t>(t) * h * w * 3);
  for (int k = 0; k < t; ++k)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const auto rgb = pixel(k, y, x);
        for (int ch = 0; ch < 3; ++ch) f[((static_cast<size_t>(k) * h + y) * w + x) * 3 + ch] = rgb[ch];
      }
  c.frames = std::make_shared<const std::vector<uint8_t>>(std::move(f));
  return c;
}

uint8_t grey(int k) {
  return static_cast<uint8_t>(10 + 15 * k);
}  // distinct for k < 16

InputSpec spec(int frames, int crop, double fps = 0, int samples = 0, int rate = 0) {
  InputSpec s;
  s.frames = frames;
  s.crop = crop;
  s.fps = fps;
  s.audio_samples = samples;
  s.sample_rate = rate;
  return s;
}

// The grey level of each output frame (all of its bytes must equal it).
std::vector<int> levels(const std::vector<uint8_t>& out, int frames, int crop) {
  std::vector<int> lv;
  const size_t n = static_cast<size_t>(crop) * crop * 3;
  for (int i = 0; i < frames; ++i) {
    const uint8_t first = out[static_cast<size_t>(i) * n];
    for (size_t k = 0; k < n; ++k)
      if (out[static_cast<size_t>(i) * n + k] != first) return {-1};
    lv.push_back(first);
  }
  return lv;
}

TEST(EvalInput, FramesArePickedByTimeAtTheTrainedRate) {
  const auto c = make_clip(16, 4, 6, 16.0, [](int k, int, int) {
    return std::array<uint8_t, 3>{grey(k), grey(k), grey(k)};
  });
  float audio = 0;
  // The clip runs at twice the model's rate: output frame i is source frame 2i.
  std::vector<uint8_t> out(8 * 2 * 2 * 3);
  prepare_clip(c, spec(8, 2, 8.0), out.data(), &audio);
  std::vector<int> expected;
  for (int i = 0; i < 8; ++i) expected.push_back(grey(2 * i));
  EXPECT_EQ(levels(out, 8, 2), expected);
  // More frames than the clip has at that rate: the last source frame repeats.
  out.assign(10 * 2 * 2 * 3, 0);
  prepare_clip(c, spec(10, 2, 8.0), out.data(), &audio);
  expected.push_back(grey(15));
  expected.push_back(grey(15));
  EXPECT_EQ(levels(out, 10, 2), expected);
  // 24 fps into a 10 fps model: frame i is the one nearest to i / 10 s, round(2.4 i).
  const auto d = make_clip(16, 4, 6, 24.0, [](int k, int, int) {
    return std::array<uint8_t, 3>{grey(k), grey(k), grey(k)};
  });
  out.assign(6 * 2 * 2 * 3, 0);
  prepare_clip(d, spec(6, 2, 10.0), out.data(), &audio);
  EXPECT_EQ(levels(out, 6, 2), (std::vector<int>{grey(0), grey(2), grey(5), grey(7), grey(10), grey(12)}));
  // Unknown model rate: frames as they come.
  out.assign(5 * 2 * 2 * 3, 0);
  prepare_clip(d, spec(5, 2, 0.0), out.data(), &audio);
  EXPECT_EQ(levels(out, 5, 2), (std::vector<int>{grey(0), grey(1), grey(2), grey(3), grey(4)}));
}

// Every output pixel is pure green (within rounding).
void expect_all_green(const std::vector<uint8_t>& out, const char* what) {
  for (size_t k = 0; k < out.size(); k += 3) {
    ASSERT_LE(out[k], 1) << what << " pixel " << k / 3;
    ASSERT_GE(out[k + 1], 254) << what << " pixel " << k / 3;
    ASSERT_LE(out[k + 2], 1) << what << " pixel " << k / 3;
  }
}

TEST(EvalInput, TheCentreSquareOfTheShortSideIsResizedToTheCrop) {
  using Px = std::array<uint8_t, 3>;
  const Px red{255, 0, 0}, green{0, 255, 0};
  float audio = 0;
  // Landscape 6 x 10: the centre square is columns 2..7; columns 0-1 and 8-9 are red.
  const auto land = make_clip(2, 6, 10, 0, [&](int, int, int x) { return x < 2 || x >= 8 ? red : green; });
  // Portrait 10 x 6: the centre square is rows 2..7.
  const auto port = make_clip(2, 10, 6, 0, [&](int, int y, int) { return y < 2 || y >= 8 ? red : green; });
  for (int crop : {3, 6, 9}) {  // down, same size, up
    std::vector<uint8_t> out(static_cast<size_t>(2 * crop * crop * 3), 7);
    prepare_clip(land, spec(2, crop), out.data(), &audio);
    expect_all_green(out, "landscape");
    out.assign(out.size(), 7);
    prepare_clip(port, spec(2, crop), out.data(), &audio);
    expect_all_green(out, "portrait");
  }
  // The crop keeps the square's own content: a left-to-right ramp over the square stays increasing.
  const auto ramp = make_clip(1, 6, 10, 0, [&](int, int, int x) {
    const auto v = static_cast<uint8_t>(x < 2 || x >= 8 ? 0 : 40 * (x - 1));
    return Px{v, v, v};
  });
  std::vector<uint8_t> out(6 * 6 * 3);
  prepare_clip(ramp, spec(1, 6), out.data(), &audio);
  for (int x = 0; x < 6; ++x) EXPECT_EQ(out[static_cast<size_t>(x) * 3], 40 * (x + 1)) << x;  // row 0
}

std::vector<float> sine(double hz, int rate, int n, double phase = 0.3) {
  std::vector<float> a(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    a[static_cast<size_t>(i)] = static_cast<float>(std::sin(2 * kPi * hz * i / rate + phase));
  return a;
}

int zero_crossings(const float* a, size_t n) {
  int z = 0;
  for (size_t i = 1; i < n; ++i)
    if ((a[i - 1] < 0) != (a[i] < 0)) ++z;
  return z;
}

Clip with_audio(std::vector<float> a, int rate) {
  auto c = make_clip(1, 2, 2, 0, [](int, int, int) { return std::array<uint8_t, 3>{0, 0, 0}; });
  c.sample_rate = rate;
  c.has_audio = true;
  c.audio = std::make_shared<const std::vector<float>>(std::move(a));
  return c;
}

TEST(EvalInput, AudioIsResampledToTheTrainedRateAndCut) {
  // 1 s of a 500 Hz sine at 16 kHz into a model trained at 8 kHz on 0.75 s (6000 samples).
  const auto src = sine(500, 16000, 16000);
  const auto c = with_audio(src, 16000);
  std::vector<uint8_t> frames(2 * 2 * 3);
  const size_t n = 6000;
  std::vector<float> out(n + 100, 9.0f);  // the tail past audio_samples must stay untouched
  prepare_clip(c, spec(1, 2, 0, static_cast<int>(n), 8000), frames.data(), out.data());
  // 0.75 s of 500 Hz: 375 periods, two zero crossings each. Copied without resampling it would be 0.375 s.
  EXPECT_NEAR(zero_crossings(out.data(), n), 750, 2);
  // Halving the rate lands on every other source sample exactly.
  for (size_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(out[i], src[2 * i]) << i;
  for (size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], 9.0f) << i;

  // Doubling the rate: even outputs are source samples, odd ones the midpoints.
  const auto low = sine(500, 8000, 800);
  std::vector<float> up(1000, 9.0f);
  prepare_clip(with_audio(low, 8000), spec(1, 2, 0, 1000, 16000), frames.data(), up.data());
  for (size_t i = 0; i < 500; ++i) {
    ASSERT_FLOAT_EQ(up[2 * i], low[i]) << i;
    ASSERT_NEAR(up[2 * i + 1], (low[i] + low[i + 1]) / 2, 1e-6) << i;
  }
  EXPECT_NEAR(zero_crossings(up.data(), up.size()), 2 * 500 * 1000 / 16000, 2);

  // Same rate: copied as is.
  std::vector<float> same(300, 9.0f);
  prepare_clip(with_audio(low, 8000), spec(1, 2, 0, 300, 8000), frames.data(), same.data());
  for (size_t i = 0; i < 300; ++i) ASSERT_EQ(same[i], low[i]) << i;
}

TEST(EvalInput, AShorterClipIsZeroPadded) {
  // 0.25 s at 16 kHz -> 2000 samples at 8 kHz, padded to 6000.
  const auto src = sine(500, 16000, 4000);
  std::vector<uint8_t> frames(2 * 2 * 3);
  std::vector<float> out(6000, 9.0f);
  prepare_clip(with_audio(src, 16000), spec(1, 2, 0, 6000, 8000), frames.data(), out.data());
  EXPECT_NEAR(zero_crossings(out.data(), 2000), 250, 2);
  for (size_t i = 0; i < 2000; ++i) ASSERT_FLOAT_EQ(out[i], src[2 * i]) << i;
  for (size_t i = 2000; i < out.size(); ++i) ASSERT_EQ(out[i], 0.0f) << i;
  // Same rate, shorter: padded too; no audio at all: silence.
  std::vector<float> same(500, 9.0f);
  prepare_clip(with_audio(std::vector<float>(100, 0.5f), 8000), spec(1, 2, 0, 500, 8000), frames.data(),
               same.data());
  for (size_t i = 0; i < 500; ++i) ASSERT_EQ(same[i], i < 100 ? 0.5f : 0.0f) << i;
  auto silent = with_audio({}, 8000);
  silent.audio = nullptr;
  same.assign(500, 9.0f);
  prepare_clip(silent, spec(1, 2, 0, 500, 8000), frames.data(), same.data());
  for (size_t i = 0; i < 500; ++i) ASSERT_EQ(same[i], 0.0f) << i;
}

TEST(EvalInput, AClipWithoutFramesThrowsNamingItsUri) {
  Clip c;
  c.uri = "file:///media/audio-only.ogg";
  c.clip_index = 4;
  c.sample_rate = 16000;
  c.audio = std::make_shared<const std::vector<float>>(16000, 0.0f);
  std::vector<uint8_t> frames(2 * 2 * 3);
  std::vector<float> audio(100);
  try {
    prepare_clip(c, spec(1, 2, 0, 100, 16000), frames.data(), audio.data());
    FAIL() << "prepared a clip without frames";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("file:///media/audio-only.ogg"), std::string::npos) << e.what();
  }
  // A frame buffer with no frames in it is no better.
  c.frames = std::make_shared<const std::vector<uint8_t>>();
  c.frames_t = 0;
  EXPECT_THROW(prepare_clip(c, spec(1, 2), frames.data(), audio.data()), std::invalid_argument);
}

}  // namespace
}  // namespace vatt::nodes
