// symmetric NCE and MIL-NCE worked by hand on three clips (one without text), the text-less masking,
// and the (NCE + lambda MIL-NCE) / (1 + lambda) total.
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>

#include "model/loss.h"

namespace vatt::model {
namespace {

constexpr double kTau = 0.07;

// log(sum(exp(x / tau))) over hand-listed cosine similarities.
double lse(std::initializer_list<double> cosines) {
  double s = 0;
  for (double c : cosines) s += std::exp(c / kTau);
  return std::log(s);
}

torch::Tensor t64(std::initializer_list<double> v) {
  return torch::tensor(std::vector<double>(v), torch::kFloat64);
}

// Three clips. After L2 normalisation (some inputs are scaled on purpose, the loss must normalise):
//   v0 = (1, 0)      v1 = (0, 1)      v2 = (0.6, 0.8)
//   texts t0 = [(1, 0), (0.6, 0.8)]   t1 = [(0, 1), (0, 1)] (clip 1 has no text)   t2 = [(0, 1), (0.8, 0.6)]
//   audio a0 = (0.8, 0.6)  a1 = (0, 1)  a2 = (1, 0)
struct Batch {
  torch::Tensor video = torch::stack({t64({2, 0}), t64({0, 1}), t64({3, 4})});
  torch::Tensor text =
      torch::stack({torch::stack({t64({1, 0}), t64({0.6, 0.8})}), torch::stack({t64({0, 1}), t64({0, 7})}),
                    torch::stack({t64({0, 0.5}), t64({0.8, 0.6})})});
  torch::Tensor audio = torch::stack({t64({0.8, 0.6}), t64({0, 3}), t64({1, 0})});
  torch::Tensor mask = t64({1, 0, 1});
};

// Cosines v_i . t_j,l worked out:
//   v0.t0 = [1, 0.6]    v0.t1 = [0, 0]      v0.t2 = [0, 0.8]
//   v1.t0 = [0, 0.8]    v1.t1 = [1, 1]      v1.t2 = [1, 0.6]
//   v2.t0 = [0.6, 1]    v2.t1 = [0.8, 0.8]  v2.t2 = [0.8, 0.96]
// Anchor 0: first half s(v0, t_j,l) over clips with text (j = 0, 2): 1, 0.6, 0, 0.8;
//           second half s(v_j, t0,l) over all j: 1, 0.6, 0, 0.8, 0.6, 1; positives 1, 0.6.
// Anchor 2: first half (j = 0, 2): 0.6, 1, 0.8, 0.96; second half s(v_j, t2,l): 0, 0.8, 1, 0.6, 0.8, 0.96;
//           positives 0.8, 0.96.
// Clip 1 has no text: no term of its own, and t1 appears in no denominator. MIL-NCE = mean over clips 0, 2.
double expected_mil_nce() {
  const double l0 = lse({1, 0.6, 0, 0.8, 1, 0.6, 0, 0.8, 0.6, 1}) - lse({1, 0.6});
  const double l2 = lse({0.6, 1, 0.8, 0.96, 0, 0.8, 1, 0.6, 0.8, 0.96}) - lse({0.8, 0.96});
  return (l0 + l2) / 2;
}

// Cosines v_i . a_j:  v0: 0.8, 0, 1    v1: 0.6, 1, 0    v2: 0.96, 0.8, 0.6
// Anchor i: row {v_i . a_j} plus column {v_j . a_i}; one positive v_i . a_i.
double expected_nce() {
  const double l0 = lse({0.8, 0, 1, 0.8, 0.6, 0.96}) - 0.8 / kTau;
  const double l1 = lse({0.6, 1, 0, 0, 1, 0.8}) - 1 / kTau;
  const double l2 = lse({0.96, 0.8, 0.6, 1, 0, 0.6}) - 0.6 / kTau;
  return (l0 + l1 + l2) / 3;
}

TEST(Loss, MilNceMatchesHandWorkedValuesWithATextlessClip) {
  Batch b;
  auto got = symmetric_mil_nce(b.video, b.text, b.mask, kTau).item<double>();
  EXPECT_NEAR(got, expected_mil_nce(), 1e-9);
}

TEST(Loss, NceMatchesHandWorkedValues) {
  Batch b;
  auto got = symmetric_mil_nce(b.video, b.audio.unsqueeze(1), {}, kTau).item<double>();
  EXPECT_NEAR(got, expected_nce(), 1e-9);
}

TEST(Loss, TotalIsTheLambdaWeightedMean) {
  Batch b;
  // video_va and video_vt are the same vectors here; the heads make them differ in the model.
  auto terms = vatt_loss(b.video, b.audio, b.video, b.text, b.mask, kTau, 1.0);
  EXPECT_NEAR(terms.nce.item<double>(), expected_nce(), 1e-9);
  EXPECT_NEAR(terms.mil_nce.item<double>(), expected_mil_nce(), 1e-9);
  EXPECT_NEAR(terms.total.item<double>(), (expected_nce() + expected_mil_nce()) / 2, 1e-9);
  auto weighted = vatt_loss(b.video, b.audio, b.video, b.text, b.mask, kTau, 3.0);
  EXPECT_NEAR(weighted.total.item<double>(), (expected_nce() + 3 * expected_mil_nce()) / 4, 1e-9);
}

TEST(Loss, TextlessClipsTextsLeaveTheLossAndGetNoGradient) {
  Batch b;
  auto text = b.text.clone().requires_grad_(true);
  auto loss = symmetric_mil_nce(b.video, text, b.mask, kTau);
  loss.backward();
  EXPECT_EQ(text.grad()[1].abs().max().item<double>(), 0.0);
  EXPECT_GT(text.grad()[0].abs().max().item<double>(), 0.0);
  auto other = b.text.clone();
  other[1] = torch::randn({2, 2}, torch::kFloat64);
  EXPECT_NEAR(symmetric_mil_nce(b.video, other, b.mask, kTau).item<double>(), loss.item<double>(), 1e-12);
  // Unmasked, clip 1's texts do count: the mask is what removed them.
  EXPECT_GT(std::abs(symmetric_mil_nce(b.video, b.text, {}, kTau).item<double>() - loss.item<double>()),
            1e-3);
}

TEST(Loss, NoTextAtAllGivesZeroAndFiniteGradients) {
  Batch b;
  auto video = b.video.clone().requires_grad_(true);
  auto loss = symmetric_mil_nce(video, b.text, torch::zeros({3}, torch::kFloat64), kTau);
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(video.grad()).all().item<bool>());
}

}  // namespace
}  // namespace vatt::model
