// Hard negatives (beyond the paper): the memory bank's selection and their place in the MIL-NCE denominator.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include "model/loss.h"
#include "model/negatives.h"
#include "model/trainer.h"

namespace vatt::model {
namespace {

namespace F = torch::nn::functional;

TEST(NegativeBank, PicksTheMostSimilarTextsOfOtherVideosOnly) {
  torch::manual_seed(1);
  NegativeBank bank(64, 8, 3, torch::kCPU);
  auto entries = F::normalize(torch::randn({40, 8}), F::NormalizeFuncOptions().dim(-1));
  auto sources = torch::arange(40, torch::kLong).remainder(5);  // 5 videos
  bank.add(entries, sources);
  EXPECT_EQ(bank.size(), 40);
  auto anchors = torch::randn({6, 8});
  auto anchor_sources = torch::tensor({0, 1, 2, 3, 4, 0}, torch::kLong);
  auto h = bank.hardest(anchors, anchor_sources);
  ASSERT_EQ(h.negatives.sizes(), (std::vector<int64_t>{6, 3, 8}));
  EXPECT_TRUE(h.valid.all().item<bool>());
  auto a = F::normalize(anchors, F::NormalizeFuncOptions().dim(-1));
  for (int64_t i = 0; i < 6; ++i) {
    // Brute force: the 3 highest similarities among entries of another video.
    std::vector<std::pair<float, int64_t>> cand;
    for (int64_t j = 0; j < 40; ++j)
      if (sources[j].item<int64_t>() != anchor_sources[i].item<int64_t>())
        cand.emplace_back(a[i].dot(entries[j]).item<float>(), j);
    std::sort(cand.rbegin(), cand.rend());
    for (int64_t k = 0; k < 3; ++k)
      EXPECT_TRUE(
          torch::allclose(h.negatives[i][k], entries[cand[static_cast<size_t>(k)].second], 1e-6, 1e-6))
          << "anchor " << i << " slot " << k;
  }
}

TEST(NegativeBank, SlotsWithoutAnEntryOfAnotherVideoAreInvalid) {
  NegativeBank bank(8, 4, 3, torch::kCPU);
  auto h = bank.hardest(torch::randn({2, 4}), torch::tensor({1, 2}, torch::kLong));
  EXPECT_FALSE(h.valid.any().item<bool>()) << "empty bank";
  bank.add(torch::randn({3, 4}), torch::tensor({1, 1, 2}, torch::kLong));
  h = bank.hardest(torch::randn({2, 4}), torch::tensor({1, 2}, torch::kLong));
  EXPECT_EQ(h.valid[0].sum().item<int64_t>(), 1);  // video 1's anchor: only the one text of video 2
  EXPECT_EQ(h.valid[1].sum().item<int64_t>(), 2);
}

TEST(NegativeBank, KeepsTheNewestEntries) {
  NegativeBank bank(4, 2, 1, torch::kCPU);
  auto e = torch::tensor({1.f, 0.f, 0.f, 1.f, -1.f, 0.f, 0.f, -1.f, 0.7f, 0.7f, -0.7f, 0.7f}).view({6, 2});
  bank.add(e, torch::arange(6, torch::kLong));
  EXPECT_EQ(bank.size(), 4);
  // Entry 0 ((1, 0), source 0) was overwritten: the anchor (1, 0) now finds (0.7, 0.7) as its hardest.
  auto h = bank.hardest(torch::tensor({1.f, 0.f}).view({1, 2}), torch::tensor({99}, torch::kLong));
  EXPECT_TRUE(torch::allclose(h.negatives[0][0],
                              F::normalize(torch::tensor({0.7f, 0.7f}), F::NormalizeFuncOptions().dim(0))));
  EXPECT_THROW(NegativeBank(4, 2, 5, torch::kCPU), std::invalid_argument);
}

TEST(HardNegatives, InvalidSlotsChangeNothingAndValidOnesOnlyAddToTheDenominator) {
  torch::manual_seed(2);
  auto v = torch::randn({4, 8}), t = torch::randn({4, 5, 8}), mask = torch::ones({4});
  const double base = symmetric_mil_nce(v, t, mask, 0.07).item<double>();
  auto neg = torch::randn({4, 2, 8}).requires_grad_();
  auto none = torch::zeros({4, 2}, torch::kBool);
  EXPECT_DOUBLE_EQ(symmetric_mil_nce(v, t, mask, 0.07, neg, none).item<double>(), base);
  // A negative equal to each anchor's own first positive: the loss must rise.
  auto hard = t.select(1, 0).unsqueeze(1).repeat({1, 2, 1});
  auto all = torch::ones({4, 2}, torch::kBool);
  auto with = symmetric_mil_nce(v.clone().requires_grad_(), t, mask, 0.07, hard, all);
  EXPECT_GT(with.item<double>(), base + 0.1);
  // Negatives are constants: no gradient reaches them.
  auto va = v.clone().requires_grad_();
  auto l = symmetric_mil_nce(va, t, mask, 0.07, neg, all);
  l.backward();
  EXPECT_TRUE(va.grad().defined());
  EXPECT_FALSE(neg.grad().defined() && neg.grad().abs().sum().item<double>() > 0);
}

HostBatch random_host_batch(int64_t b, int seed) {
  torch::manual_seed(seed);
  HostBatch h;
  h.batch = b;
  h.frames = 8;
  h.height = h.width = 32;
  h.samples = 4096;
  auto v = torch::randint(0, 256, {b * 8 * 32 * 32 * 3}, torch::kInt32);
  h.video.assign(v.data_ptr<int32_t>(), v.data_ptr<int32_t>() + v.numel());
  auto a = torch::rand({b * 4096}) - 0.5;
  h.audio.assign(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
  auto t = torch::randint(2, 100, {b * 5 * 16}, torch::kInt32);
  h.text.assign(t.data_ptr<int32_t>(), t.data_ptr<int32_t>() + t.numel());
  h.text_mask.assign(static_cast<size_t>(b), 1.0f);
  for (int64_t i = 0; i < b; ++i) h.sources.push_back(static_cast<uint64_t>(seed * 100 + i));
  return h;
}

// tiny without any random draw (dropout, DropToken, audio noise), so that two trainers compare step for step.
TrainerOptions deterministic_tiny() {
  TrainerOptions o;
  o.config = "tiny";
  o.overrides = {"dropout=0", "droptoken.video=0", "droptoken.audio=0"};
  o.precision = "fp32";
  o.device = "cpu";
  o.threads = 2;
  o.audio_noise = 0;
  o.steps = 10;
  o.warmup = 0;
  return o;
}

TEST(HardNegatives, TheTrainerUsesTheBankFromTheSecondStepOn) {
  TrainerOptions o = deterministic_tiny();
  auto h = o;
  h.hard_negatives = 4;
  Trainer plain(o), hard(h);
  const auto b1 = random_host_batch(6, 1), b2 = random_host_batch(6, 2);
  // Step 1: the bank is empty, so both compute the same loss.
  EXPECT_DOUBLE_EQ(plain.step(b1).loss, hard.step(b1).loss);
  // Step 2: b1's texts are in the bank (other videos than b2's): the denominators grow.
  const double lp = plain.step(b2).mil_nce, lh = hard.step(b2).mil_nce;
  EXPECT_TRUE(std::isfinite(lh));
  EXPECT_GT(lh, lp);
}

TEST(HardNegatives, TheBankIsCheckpointedSoAResumedRunTakesTheSameStep) {
  char tmpl[] = "/tmp/vatt_negatives_XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  TrainerOptions o = deterministic_tiny();
  o.hard_negatives = 4;
  o.checkpoint_dir = dir;
  const auto b1 = random_host_batch(6, 1), b2 = random_host_batch(6, 2);
  double uninterrupted = 0;
  {
    Trainer t(o);
    t.step(b1);
    t.checkpoint("");  // the bank holds b1's texts now
    uninterrupted = t.step(b2).mil_nce;
  }
  Trainer resumed(o);
  ASSERT_TRUE(resumed.resume().has_value());
  // The same step as the run that went on: b1's texts are in the restored bank (an empty one would give the
  // plain loss, lower).
  EXPECT_DOUBLE_EQ(resumed.step(b2).mil_nce, uninterrupted);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace vatt::model
