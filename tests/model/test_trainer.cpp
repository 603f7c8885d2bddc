// The LibTorch-free facades the graph nodes use: Trainer (steps, NaN/Inf skipping, checkpoints) and Embedder
// (a checkpoint in eval mode). Device from VATT_TEST_DEVICE (default cpu), so a GPU machine runs the same
// tests on CUDA (tools/gpu_check.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

#include "model/embedder.h"
#include "model/trainer.h"

namespace vatt::model {
namespace {

std::string test_device() {
  const char* d = std::getenv("VATT_TEST_DEVICE");
  return d && *d ? d : "cpu";
}

std::string temp_dir() {
  char tmpl[] = "/tmp/vatt_trainer_XXXXXX";
  return ::mkdtemp(tmpl);
}

TrainerOptions tiny(const std::string& dir = "") {
  TrainerOptions o;
  o.config = "tiny";
  o.overrides = {"dropout=0"};
  o.steps = 40;
  o.warmup = 2;
  o.lr = 3e-3;
  o.lr_end = 1e-3;
  o.precision = "fp32";
  o.device = test_device();
  o.threads = 2;
  o.checkpoint_dir = dir;
  o.seed = 5;
  return o;
}

// A random batch of the tiny model's shapes; clip i's text ids depend on i so the pairs are learnable.
HostBatch batch(int64_t b, uint32_t seed) {
  HostBatch h;
  h.batch = b;
  h.frames = 8;
  h.height = h.width = 32;
  h.samples = 4096;
  std::mt19937 rng(seed);
  h.video.resize(static_cast<size_t>(b * 8 * 32 * 32 * 3));
  for (auto& v : h.video) v = static_cast<uint8_t>(rng() & 255);
  h.audio.resize(static_cast<size_t>(b * 4096));
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (auto& a : h.audio) a = u(rng);
  h.text.assign(static_cast<size_t>(b * 5 * 16), 0);
  for (int64_t i = 0; i < b; ++i)
    for (int k = 0; k < 5; ++k)
      for (int w = 0; w < 4; ++w)
        h.text[static_cast<size_t>((i * 5 + k) * 16 + w)] = static_cast<int32_t>(2 + (i * 7 + w) % 90);
  h.text_mask.assign(static_cast<size_t>(b), 1.0f);
  return h;
}

TEST(Trainer, LossGoesDownWhenTheSameBatchComesAgain) {
  Trainer t(tiny());
  const auto b = batch(8, 1);
  const double first = t.step(b).loss;
  double last = first;
  for (int i = 0; i < 30; ++i) last = t.step(b).loss;
  EXPECT_TRUE(std::isfinite(first));
  EXPECT_LT(last, 0.7 * first) << "memorising one batch must lower the loss";
  EXPECT_EQ(t.steps_done(), 31);
}

TEST(Trainer, ANonFiniteLossIsSkippedCountedAndKInARowAbort) {
  auto o = tiny();
  o.max_bad_steps = 3;
  Trainer t(o);
  t.step(batch(4, 2));
  const auto before = t.flat_parameters();
  auto bad = batch(4, 3);
  bad.audio[7] = std::numeric_limits<float>::quiet_NaN();  // one NaN sample poisons the loss
  auto s = t.step(bad);
  EXPECT_TRUE(s.skipped);
  EXPECT_EQ(t.skipped_steps(), 1);
  EXPECT_EQ(t.steps_done(), 1) << "a skipped step does not advance the schedule";
  EXPECT_EQ(t.flat_parameters(), before) << "weights untouched";
  EXPECT_FALSE(t.step(batch(4, 4)).skipped);  // a good batch resets the run of bad ones
  EXPECT_TRUE(t.step(bad).skipped);
  EXPECT_TRUE(t.step(bad).skipped);
  try {
    t.step(bad);
    FAIL() << "the third non-finite loss in a row must abort";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("loss was NaN/Inf for 3 steps in a row"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(t.skipped_steps(), 4);
}

TEST(Trainer, ABatchOfTheWrongShapeNamesTheField) {
  Trainer t(tiny());
  auto b = batch(4, 5);
  b.samples = 2048;
  b.audio.resize(4 * 2048);
  try {
    t.step(b);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "batch does not fit the model: audio 2048 samples, model expects 4096");
  }
}

TEST(Embedder, EmbedsWithTheCheckpointAloneNormalisedAndDeterministic) {
  const std::string dir = temp_dir();
  {
    Trainer t(tiny(dir));
    for (int i = 0; i < 3; ++i) t.step(batch(8, 10 + static_cast<uint32_t>(i)));
    EXPECT_NE(t.checkpoint("{\"vocab\": \"v\"}"), "");
  }
  EXPECT_THROW(Embedder(EmbedderOptions{dir + "/missing", test_device(), 2, "fp32"}), std::runtime_error);
  Embedder e(EmbedderOptions{dir, test_device(), 2, "fp32"});  // a directory: its latest checkpoint
  EXPECT_EQ(e.step(), 3);
  EXPECT_EQ(e.user_blob(), "{\"vocab\": \"v\"}");
  EXPECT_EQ(e.path(), resolve_checkpoint(dir));
  auto b = batch(6, 20);
  const auto a = e.embed(b), again = e.embed(b);
  ASSERT_EQ(a.batch, 6);
  EXPECT_EQ(a.video_va, again.video_va) << "eval mode: no DropToken, no dropout";
  for (const auto* v : {&a.video_va, &a.audio_va, &a.video_vt, &a.text_vt}) {
    const size_t d = v->size() / 6;
    for (size_t i = 0; i < 6; ++i) {
      double n = 0;
      for (size_t k = 0; k < d; ++k) n += (*v)[i * d + k] * (*v)[i * d + k];
      EXPECT_NEAR(n, 1.0, 1e-4);
    }
  }
  // The text tower alone gives what embed() gave for each clip's first candidate.
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < 6; ++i)
    ids.insert(ids.end(), b.text.begin() + i * 80, b.text.begin() + i * 80 + 16);
  const auto t = e.embed_text(ids, 6);
  ASSERT_EQ(t.size(), a.text_vt.size());
  for (size_t k = 0; k < t.size(); ++k) EXPECT_NEAR(t[k], a.text_vt[k], 1e-5);
  // Embedding needs no text mask and accepts one candidate per clip.
  b.text_mask.clear();
  b.text = ids;
  EXPECT_EQ(e.embed(b).video_vt, a.video_vt);
  b.frames = 4;
  EXPECT_THROW(e.embed(b), std::invalid_argument);
}

}  // namespace
}  // namespace vatt::model
