// the one attention function (scaled and T5's unscaled + bias paths), T5 relative-position buckets,
// RMS norm, and padding masks in both encoders.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/layers.h"

namespace vatt::model {
namespace {

torch::Tensor manual_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& bias, double scale) {
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (bias.defined()) scores = scores + bias;
  return torch::matmul(torch::softmax(scores, -1), v);
}

TEST(Attention, ScaledPathIsSoftmaxOfQkOverSqrtD) {
  torch::manual_seed(0);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto q = torch::randn({2, 3, 5, 8}, opts), k = torch::randn({2, 3, 5, 8}, opts),
       v = torch::randn({2, 3, 5, 8}, opts);
  auto expected = manual_attention(q, k, v, {}, 1.0 / std::sqrt(8.0));
  EXPECT_TRUE(torch::allclose(attention(q, k, v), expected, 1e-10, 1e-12));
  // A real difference between the two scalings, so the check above can fail.
  EXPECT_FALSE(torch::allclose(manual_attention(q, k, v, {}, 1.0), expected, 1e-3, 1e-3));
}

TEST(Attention, UnscaledPathWithAdditiveBiasIsExact) {
  torch::manual_seed(1);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto q = torch::randn({2, 4, 6, 4}, opts), k = torch::randn({2, 4, 6, 4}, opts),
       v = torch::randn({2, 4, 6, 4}, opts);
  auto bias = torch::randn({1, 4, 6, 6}, opts);
  auto expected = manual_attention(q, k, v, bias, 1.0);
  EXPECT_TRUE(torch::allclose(attention(q, k, v, bias, 1.0), expected, 1e-10, 1e-12));
  // Same in float32, the precision the model trains in.
  auto f = [](const torch::Tensor& t) { return t.to(torch::kFloat); };
  EXPECT_TRUE(torch::allclose(attention(f(q), f(k), f(v), f(bias), 1.0), f(expected), 1e-4, 1e-5));
}

TEST(Attention, PaddedKeysGetNoWeight) {
  torch::manual_seed(2);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto q = torch::randn({1, 2, 4, 4}, opts), k = torch::randn({1, 2, 4, 4}, opts),
       v = torch::randn({1, 2, 4, 4}, opts);
  auto valid = torch::tensor({{1, 1, 1, 0}});
  auto bias = padding_bias(valid, torch::kFloat64);
  ASSERT_EQ(bias.sizes(), (std::vector<int64_t>{1, 1, 1, 4}));
  EXPECT_EQ(bias[0][0][0][3].item<double>(), kMaskedScore);
  EXPECT_EQ(bias[0][0][0][0].item<double>(), 0.0);
  auto out = attention(q, k, v, bias);
  // Dropping the padded key altogether gives the same answer.
  using torch::indexing::Slice;
  auto expected = manual_attention(q, k.index({Slice(), Slice(), Slice(0, 3)}),
                                   v.index({Slice(), Slice(), Slice(0, 3)}), {}, 0.5);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-10, 1e-12));
}

TEST(Attention, MultiHeadModuleSplitsHeadsAndHonoursItsScaling) {
  torch::manual_seed(5);
  for (bool scaled : {true, false}) {
    MultiHeadAttention mha(8, 2, /*bias=*/scaled, scaled);
    mha->to(torch::kFloat64);
    auto x = torch::randn({2, 5, 8}, torch::kFloat64);
    auto bias = torch::randn({1, 2, 5, 5}, torch::kFloat64);
    auto heads = [](const torch::Tensor& t) { return t.view({2, 5, 2, 4}).transpose(1, 2); };
    auto q = heads(mha->q->forward(x)), k = heads(mha->k->forward(x)), v = heads(mha->v->forward(x));
    auto mixed = manual_attention(q, k, v, bias, scaled ? 0.5 : 1.0).transpose(1, 2).reshape({2, 5, 8});
    EXPECT_TRUE(torch::allclose(mha->forward(x, bias), mha->o->forward(mixed), 1e-10, 1e-12)) << scaled;
  }
}

TEST(RelativePosition, BucketsMatchTheT5FormulaByHand) {
  // 32 buckets, bidirectional: 16 per direction; keys after the query (relative > 0) use buckets 16..31.
  // Within a half, n = |relative| < 8 is its own bucket; otherwise
  //   bucket = 8 + floor(ln(n / 8) / ln(64 / 8) * 8), capped at 15.
  //   n = 8:   ln(1) = 0                        -> 8
  //   n = 9:   ln(1.125) / ln(8) * 8 = 0.453    -> 8
  //   n = 20:  ln(2.5) / ln(8) * 8 = 3.525      -> 11
  //   n = 32:  ln(4) / ln(8) * 8 = 5.333        -> 13
  //   n = 63:  ln(7.875) / ln(8) * 8 = 7.939    -> 15
  //   n = 64:  ln(8) / ln(8) * 8 = 8 -> 16      -> capped 15
  //   n = 100: ln(12.5) / ln(8) * 8 = 9.717     -> capped 15
  // Keys before the query (relative < 0) use that value directly; keys after add 16.
  const std::vector<int64_t> rel = {-100, -64, -32, -20, -9, -8, -7, -1, 0, 1, 7, 8, 9, 20, 63, 64, 100};
  const std::vector<int64_t> want = {15, 15, 13, 11, 8, 8, 7, 1, 0, 17, 23, 24, 24, 27, 31, 31, 31};
  auto got = relative_position_bucket(torch::tensor(rel), 32, 64);
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(got[i].item<int64_t>(), want[i]) << "relative " << rel[i];
}

TEST(RelativePosition, SameBiasTableServesEveryPair) {
  torch::manual_seed(3);
  T5Encoder enc(BackboneConfig{2, 16, 32, 2}, 0.0, 1e-6, 32, 64);
  auto bias = enc->position_bias(20);
  ASSERT_EQ(bias.sizes(), (std::vector<int64_t>{1, 2, 20, 20}));
  auto w = enc->relative_bias->weight;
  for (int64_t i : {0, 5, 19})
    for (int64_t j : {0, 3, 19}) {
      const auto b = relative_position_bucket(torch::tensor({j - i}), 32, 64)[0].item<int64_t>();
      for (int64_t h = 0; h < 2; ++h) EXPECT_EQ(bias[0][h][i][j].item<float>(), w[b][h].item<float>());
    }
}

TEST(RmsNorm, ScalesByRootMeanSquareWithoutCentring) {
  RmsNorm norm(4, 1e-6);
  {
    torch::NoGradGuard g;
    norm->weight.copy_(torch::tensor({1.0f, 2.0f, 1.0f, 0.5f}));
  }
  auto x = torch::tensor({{1.0f, 2.0f, 3.0f, 4.0f}});
  const float rms = std::sqrt((1 + 4 + 9 + 16) / 4.0f + 1e-6f);
  auto want = torch::tensor({{1 / rms, 2 * 2 / rms, 3 / rms, 0.5f * 4 / rms}});
  EXPECT_TRUE(torch::allclose(norm->forward(x), want, 1e-5, 1e-6));
}

TEST(Encoders, OutputsIgnorePaddedTokens) {
  torch::manual_seed(4);
  const BackboneConfig size{2, 16, 32, 2};
  T5Encoder t5(size, 0.1, 1e-6, 32, 64);
  TransformerEncoder pre_ln(size, 0.1, 1e-6);
  t5->eval();
  pre_ln->eval();
  auto x = torch::randn({2, 6, 16});
  auto valid = torch::tensor({{1, 1, 1, 1, 0, 0}, {1, 1, 1, 1, 1, 1}});
  auto y = x.clone();
  y.index_put_({0, torch::indexing::Slice(4, 6)}, torch::randn({2, 16}) * 10);  // change padded tokens only
  using torch::indexing::Slice;
  auto real = [](const torch::Tensor& t) { return t.index({0, Slice(0, 4)}); };
  EXPECT_TRUE(torch::allclose(real(t5->forward(x, valid)), real(t5->forward(y, valid)), 1e-5, 1e-6));
  auto bias = padding_bias(valid, torch::kFloat);
  EXPECT_TRUE(torch::allclose(real(pre_ln->forward(x, bias)), real(pre_ln->forward(y, bias)), 1e-5, 1e-6));
  // Without the mask the padded tokens do matter, so the checks above can fail.
  EXPECT_FALSE(torch::allclose(real(pre_ln->forward(x)), real(pre_ln->forward(y)), 1e-5, 1e-6));
  EXPECT_EQ(t5->forward(x, valid).sizes(), x.sizes());
}

TEST(Encoders, T5HasNoBiasesAndPreLnHasThem) {
  T5Encoder t5(BackboneConfig{1, 16, 32, 2}, 0.0, 1e-6, 32, 64);
  for (const auto& p : t5->named_parameters()) {
    const auto& name = p.key();
    const bool is_linear_bias =
        name.find(".bias") != std::string::npos && name.find(".ln.") == std::string::npos;
    EXPECT_FALSE(is_linear_bias) << name;
  }
  TransformerEncoder enc(BackboneConfig{1, 16, 32, 2}, 0.0, 1e-6);
  auto params = enc->named_parameters();
  EXPECT_NE(params.find("layers.0.attn.q.bias"), nullptr);
  EXPECT_NE(params.find("layers.0.w1.bias"), nullptr);
}

// Fraction of exact zeros: what a dropout after a norm leaves (a norm's output is almost never exactly 0).
double zero_fraction(const torch::Tensor& t) {
  return (t == 0).to(torch::kDouble).mean().item<double>();
}

TEST(Dropout, AttentionProbabilitiesDropInTrainingOnly) {
  torch::manual_seed(6);
  const BackboneConfig size{1, 16, 32, 2};
  // Attention dropout alone (residual/MLP dropout 0, no output dropout).
  TransformerEncoder with(size, 0.0, 1e-6, /*attn_dropout=*/0.5, /*out_dropout=*/0.0);
  TransformerEncoder without(size, 0.0, 1e-6);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < with->parameters().size(); ++i)
    without->parameters()[i].copy_(with->parameters()[i]);
  auto x = torch::randn({2, 9, 16});
  with->train();
  without->train();
  const auto a = with->forward(x), b = with->forward(x);
  EXPECT_FALSE(torch::allclose(a, b)) << "train mode: a new draw each call";
  EXPECT_TRUE(torch::equal(without->forward(x), without->forward(x)));  // no dropout anywhere: deterministic
  EXPECT_LT(zero_fraction(a), 0.01) << "the drop acts inside attention, not on the stack's output";
  with->eval();
  without->eval();
  EXPECT_TRUE(torch::equal(with->forward(x), with->forward(x)));
  EXPECT_TRUE(torch::allclose(with->forward(x), without->forward(x), 1e-6, 1e-7)) << "eval = dropout 0";
}

TEST(Dropout, StackOutputsDropAfterTheFinalNorm) {
  torch::manual_seed(7);
  const BackboneConfig size{1, 32, 64, 2};
  TransformerEncoder enc(size, 0.0, 1e-6, 0.0, /*out_dropout=*/0.5);
  T5Encoder t5(size, 0.0, 1e-6, 32, 64, 0.0, /*out_dropout=*/0.5);
  auto x = torch::randn({4, 12, 32});
  torch::NoGradGuard no_grad;
  enc->train();
  t5->train();
  // Half the outputs are exact zeros and the rest are scaled by 1 / (1 - p).
  EXPECT_NEAR(zero_fraction(enc->forward(x)), 0.5, 0.05);
  EXPECT_NEAR(zero_fraction(t5->forward(x, {})), 0.5, 0.05);
  enc->eval();
  t5->eval();
  EXPECT_EQ(zero_fraction(enc->forward(x)), 0.0);
  EXPECT_EQ(zero_fraction(t5->forward(x, {})), 0.0);
  // T5 also drops its input: zeroing input features changes the output in training even with the output
  // drop switched off (compare the input-drop-only stack with and without training).
  T5Encoder t5_in(size, 0.0, 1e-6, 32, 64, 0.0, 0.9);
  t5_in->train();
  const auto y = t5_in->forward(x, {});
  t5_in->eval();
  EXPECT_FALSE(torch::allclose(y, t5_in->forward(x, {}) * (y != 0), 1e-3, 1e-3))
      << "train-mode outputs differ from eval beyond the output mask: the input was dropped too";
}

TEST(Dropout, CpuMasksKeepOneMinusPScaledAndDependOnlyOnSeedAndShape) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat);
  const int64_t n = 1 << 20;
  const int threads = at::get_num_threads();
  for (const double p : {0.1, 0.5}) {
    const auto m = dropout_keep_scale({n}, opts, p, 42);
    const auto kept = (m != 0);
    // 1M draws: the kept fraction is within 5 standard deviations of 1 - p.
    EXPECT_NEAR(kept.to(torch::kDouble).mean().item<double>(), 1 - p, 5 * std::sqrt(p * (1 - p) / n)) << p;
    EXPECT_TRUE(torch::all(m.masked_select(kept) == static_cast<float>(1 / (1 - p))).item<bool>());
    // Neighbours (the two halves of one hash) are independent: P(both kept) = (1 - p)^2.
    const auto even = kept.slice(0, 0, n, 2), odd = kept.slice(0, 1, n, 2);
    EXPECT_NEAR((even & odd).to(torch::kDouble).mean().item<double>(), (1 - p) * (1 - p), 0.005) << p;
    // The same mask on one thread as on all of them; another seed gives another mask.
    at::set_num_threads(1);
    EXPECT_TRUE(torch::equal(dropout_keep_scale({n}, opts, p, 42), m));
    at::set_num_threads(threads);
    EXPECT_FALSE(torch::equal(dropout_keep_scale({n}, opts, p, 43), m));
  }
  // bf16 masks carry the bf16 value of the scale (as LibTorch's dropout does); an odd size keeps its last one.
  const auto b = dropout_keep_scale({3, 5, 7}, opts.dtype(torch::kBFloat16), 0.5, 1);
  EXPECT_EQ(b.sizes(), torch::IntArrayRef({3, 5, 7}));
  EXPECT_EQ(b.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::all((b == 0) | (b == 2)).item<bool>());
  EXPECT_THROW(dropout_keep_scale({4}, opts, 1.0, 1), std::invalid_argument);
}

TEST(Dropout, SeededCallsRepeatAndTheGradientIsTheMask) {
  auto x = torch::randn({64, 33}).requires_grad_(true);
  torch::manual_seed(11);
  const auto a = apply_dropout(x, 0.3, /*training=*/true);
  torch::manual_seed(11);
  const auto b = apply_dropout(x, 0.3, /*training=*/true);
  EXPECT_TRUE(torch::equal(a, b)) << "the seed comes from the default CPU generator";
  EXPECT_FALSE(torch::equal(apply_dropout(x, 0.3, true), a)) << "each call draws a new seed";
  EXPECT_TRUE(torch::equal(apply_dropout(x, 0.3, /*training=*/false), x));
  a.sum().backward();
  // d(sum)/dx is the mask itself: 0 where dropped, 1 / 0.7 where kept, and the kept ones are where a != 0.
  const auto g = x.grad();
  EXPECT_TRUE(torch::equal(g != 0, a != 0));
  EXPECT_TRUE(
      torch::allclose(g.masked_select(g != 0), torch::full({(g != 0).sum().item<int64_t>()}, 1 / 0.7f)));
  // The attention's own dropout (the CPU composite path) equals softmax-then-mask with the same seed.
  auto q = torch::randn({2, 2, 5, 4}), k = torch::randn({2, 2, 5, 4}), v = torch::randn({2, 2, 5, 4});
  torch::manual_seed(12);
  const auto got = attention(q, k, v, {}, 0.0, 0.25);
  torch::manual_seed(12);
  const auto probs = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / 2.0, -1);
  const auto want =
      torch::matmul(probs * dropout_keep_scale(probs.sizes(), probs.options(), 0.25, draw_dropout_seed()), v);
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-6));
}

}  // namespace
}  // namespace vatt::model
