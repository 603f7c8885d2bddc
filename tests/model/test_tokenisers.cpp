// Tokenisers (docs/model.md): voxel-patch token order, factorised positions and their cubic resizing, DropToken counts
// and subsets.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "model/tokenisers.h"

namespace vatt::model {
namespace {

using torch::indexing::Slice;

// x[b, i, :] = i for every feature, so a kept row tells which token it was.
torch::Tensor numbered_tokens(int64_t b, int64_t n, int64_t d) {
  return torch::arange(n, torch::kFloat).view({1, n, 1}).expand({b, n, d}).contiguous();
}

std::vector<int64_t> kept_ids(const torch::Tensor& kept, int64_t sample) {
  auto ids = kept[sample].select(1, 0).to(torch::kLong).contiguous();
  return std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
}

TEST(DropToken, KeepsFloorOfKeepRateTimesN) {
  EXPECT_EQ(kept_token_count(1568, 0.5), 784);
  EXPECT_EQ(kept_token_count(1200, 0.5), 600);
  EXPECT_EQ(kept_token_count(1568, 0.25), 1176);
  EXPECT_EQ(kept_token_count(1568, 0.75), 392);
  EXPECT_EQ(kept_token_count(10, 0.3), 7);  // (1 - 0.3) * 10 is 6.9999999 in binary
  EXPECT_EQ(kept_token_count(9, 0.5), 4);   // floor(4.5)
  EXPECT_EQ(kept_token_count(1568, 0.0), 1568);
}

TEST(DropToken, SharedSubsetIsTheSameForEverySample) {
  torch::manual_seed(0);
  auto x = numbered_tokens(3, 20, 4);
  auto kept = drop_tokens(x, 0.5, DropTokenMode::kSharedPerBatch);
  ASSERT_EQ(kept.sizes(), (std::vector<int64_t>{3, 10, 4}));
  const auto first = kept_ids(kept, 0);
  EXPECT_EQ(std::set<int64_t>(first.begin(), first.end()).size(), 10u);  // distinct tokens
  EXPECT_TRUE(std::is_sorted(first.begin(), first.end()));               // original order kept
  for (int64_t b = 1; b < 3; ++b) EXPECT_EQ(kept_ids(kept, b), first);
  // Rows are whole tokens: every feature of a kept row carries the same token number.
  EXPECT_TRUE(torch::equal(kept, kept.select(2, 0).unsqueeze(2).expand_as(kept)));
}

TEST(DropToken, PerSampleSubsetsDiffer) {
  torch::manual_seed(1);
  auto x = numbered_tokens(4, 64, 2);
  auto kept = drop_tokens(x, 0.75, DropTokenMode::kPerSample);
  ASSERT_EQ(kept.sizes(), (std::vector<int64_t>{4, 16, 2}));
  std::set<std::vector<int64_t>> subsets;
  for (int64_t b = 0; b < 4; ++b) {
    auto ids = kept_ids(kept, b);
    EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), 16u);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    subsets.insert(ids);
  }
  EXPECT_EQ(subsets.size(), 4u);  // C(64,16) subsets: a repeat would mean a shared draw
}

TEST(DropToken, TableRuleCountsFromThePositionTableRows) {
  // The released code keeps int(keep_rate x table rows): 16 frames at 224 px have 4 x 14 x 14 = 784 tokens,
  // the default table 8 x 14 x 14 = 1568 rows, so 50% keeps 784, i.e. every token.
  auto x = torch::randn({2, 784, 4});
  EXPECT_TRUE(drop_tokens(x, 0.5, DropTokenMode::kSharedPerBatch, 1568).is_same(x));
  EXPECT_EQ(drop_tokens(x, 0.5, DropTokenMode::kSharedPerBatch).size(1), 392);  // vatt's rule: half of 784
  EXPECT_EQ(drop_tokens(x, 0.75, DropTokenMode::kPerSample, 1568).size(1), 392);
}

TEST(DropToken, ZeroRateReturnsTheInput) {
  auto x = numbered_tokens(2, 8, 3);
  EXPECT_TRUE(drop_tokens(x, 0.0, DropTokenMode::kPerSample).is_same(x));
}

TEST(CubicResize, FourteenToTwentyKeepsEndpointsAndLinearAndQuadraticData) {
  // Columns: constant, linear and quadratic in the row index, one random column.
  auto i = torch::arange(14, torch::kFloat64);
  auto table = torch::stack({torch::full({14}, 3.0, torch::kFloat64), 2 * i - 5, 0.25 * i * i - i,
                             torch::randn({14}, torch::kFloat64)},
                            1);
  auto out = cubic_resize_rows(table, 20);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{20, 4}));
  EXPECT_TRUE(torch::allclose(out[0], table[0], 0, 1e-12));
  EXPECT_TRUE(torch::allclose(out[19], table[13], 0, 1e-12));
  auto p = torch::arange(20, torch::kFloat64) * 13.0 / 19.0;  // align-corners source position of each new row
  EXPECT_TRUE(torch::allclose(out.select(1, 0), torch::full({20}, 3.0, torch::kFloat64), 0, 1e-12));
  EXPECT_TRUE(torch::allclose(out.select(1, 1), 2 * p - 5, 0, 1e-12));
  EXPECT_TRUE(torch::allclose(out.select(1, 2), 0.25 * p * p - p, 0, 1e-12));
  // Every row of weights sums to 1 (constants survive) and the float path agrees with float64.
  EXPECT_TRUE(
      torch::allclose(cubic_resize_matrix(14, 20).sum(1), torch::ones({20}, torch::kFloat64), 0, 1e-12));
  EXPECT_TRUE(
      torch::allclose(cubic_resize_rows(table.to(torch::kFloat), 20), out.to(torch::kFloat), 1e-5, 1e-5));
}

TEST(CubicResize, SameSizeIsUnchangedAndShrinkingWorks) {
  auto table = torch::randn({14, 8});
  EXPECT_TRUE(cubic_resize_rows(table, 14).is_same(table));
  EXPECT_TRUE(torch::allclose(cubic_resize_matrix(14, 14), torch::eye(14, torch::kFloat64), 0, 1e-15));
  auto down = cubic_resize_rows(table, 7);
  EXPECT_EQ(down.sizes(), (std::vector<int64_t>{7, 8}));
  EXPECT_TRUE(torch::allclose(down[0], table[0]));
  EXPECT_TRUE(torch::allclose(down[6], table[13]));
}

TEST(Positions, FactorisedSumThroughLayerNormInTHWOrder) {
  torch::manual_seed(2);
  SpatioTemporalPositions pos(2, 3, 4, 8, 0.0, 1e-6);
  pos->eval();
  auto e = pos->embedding(2, 3, 4);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{24, 8}));
  namespace F = torch::nn::functional;
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t w = 0; w < 4; ++w) {
        auto sum = pos->temporal[t] + pos->vertical[h] + pos->horizontal[w];
        auto want = F::layer_norm(sum.unsqueeze(0), F::LayerNormFuncOptions({8}).eps(1e-6)).squeeze(0);
        EXPECT_TRUE(torch::allclose(e[t * 12 + h * 4 + w], want, 1e-5, 1e-6)) << t << h << w;
      }
  auto tokens = torch::randn({2, 24, 8});
  EXPECT_TRUE(torch::allclose(pos->forward(tokens, 2, 3, 4), tokens + e));
}

TEST(Positions, ResizeToTwentyRowsMatchesOnTheFlyInterpolation) {
  torch::manual_seed(3);
  SpatioTemporalPositions pos(8, 14, 14, 16, 0.0, 1e-6);
  pos->eval();
  auto before_v = pos->vertical.detach().clone();
  auto on_the_fly = pos->embedding(8, 20, 20).detach();
  pos->resize(8, 20, 20);
  EXPECT_EQ(pos->temporal.sizes(), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(pos->vertical.sizes(), (std::vector<int64_t>{20, 16}));
  EXPECT_EQ(pos->horizontal.sizes(), (std::vector<int64_t>{20, 16}));
  EXPECT_TRUE(torch::allclose(pos->vertical[0], before_v[0]));
  EXPECT_TRUE(torch::allclose(pos->vertical[19], before_v[13]));
  EXPECT_TRUE(pos->vertical.requires_grad());
  // The module's registered parameter is the resized one.
  EXPECT_EQ(pos->named_parameters()["vertical"].size(0), 20);
  EXPECT_TRUE(torch::allclose(pos->embedding(8, 20, 20), on_the_fly, 1e-5, 1e-6));
}

TEST(Tokenisers, VoxelPatchesComeOutInTHWOrder) {
  ModelConfig c = make_config("tiny");  // 8 x 32 x 32 frames, 4x16x16 patches: a 2x2x2 grid
  VideoPatchEmbed embed(c, 8);
  auto video = torch::zeros({1, 8, 32, 32, 3});
  // Light one pixel inside the patch at (t=1, h=0, w=1) in the green channel.
  video.index_put_({0, 5, 3, 20, 1}, 1.0);
  std::array<int64_t, 3> grid{};
  auto tokens = embed->forward(video, &grid);
  EXPECT_EQ(grid, (std::array<int64_t, 3>{2, 2, 2}));
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{1, 8, 8}));
  auto bias = embed->proj->bias.view({1, 8});
  const int64_t lit = 1 * 4 + 0 * 2 + 1;
  for (int64_t k = 0; k < 8; ++k) EXPECT_EQ(!torch::allclose(tokens[0][k], bias[0]), k == lit) << k;
  // The lit token is the bias plus the kernel weight at that voxel: channel 1, offset (1, 3, 4).
  auto w = embed->proj->weight.index({Slice(), 1, 1, 3, 4});
  EXPECT_TRUE(torch::allclose(tokens[0][lit], bias[0] + w, 1e-5, 1e-6));
  EXPECT_THROW(embed->forward(torch::zeros({1, 6, 32, 32, 3})), std::invalid_argument);
}

TEST(Tokenisers, AudioPatchesAre128Samples) {
  ModelConfig c = make_config("tiny");
  AudioPatchEmbed embed(c, 4);
  auto audio = torch::zeros({2, 4096});
  audio.index_put_({1, 128 * 3 + 7}, 1.0);
  auto tokens = embed->forward(audio);
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{2, 32, 4}));
  auto w = embed->proj->weight.index({Slice(), 0, 7});
  EXPECT_TRUE(torch::allclose(tokens[1][3], embed->proj->bias + w, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(tokens[1][2], embed->proj->bias));
  EXPECT_THROW(embed->forward(torch::zeros({2, 4000})), std::invalid_argument);
}

}  // namespace
}  // namespace vatt::model
