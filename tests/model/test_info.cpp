// Parameter counts against the paper (the paper's table, within 2%) and against the analytic counter, and the
// analytic forward GFLOPs against the paper's MBS figures at 0/25/50/75% DropToken.
#include <gtest/gtest.h>

#include <cmath>

#include "model/info.h"
#include "model/vatt.h"

namespace vatt::model {
namespace {

TEST(Info, VideoBackboneParametersWithinTwoPercentOfThePaper) {
  struct Row {
    char letter;
    double paper_millions;
  };
  for (const Row& row : {Row{'s', 20.9}, Row{'b', 87.9}, Row{'m', 155.0}, Row{'l', 306.1}}) {
    auto c = make_config(std::string(1, row.letter) + "bs");
    VideoBackbone video(c);
    const double measured = static_cast<double>(count_parameters(*video));
    EXPECT_NEAR(measured / 1e6, row.paper_millions, 0.02 * row.paper_millions) << row.letter;
    EXPECT_EQ(static_cast<int64_t>(measured), analytic_parameters(c).video) << row.letter;
  }
}

TEST(Info, AnalyticCountsEqualBuiltModels) {
  for (const auto& c :
       {make_config("tiny"), make_config("tiny", {"modality_agnostic=true", "post_proj_dim=48"}),
        make_config("sbs", {"video.layers=1", "audio.layers=2", "text.layers=1", "vocab_size=50", "frames=8",
                            "crop=64", "audio_samples=1280"})}) {
    Vatt model(c);
    const auto built = count_parameters(*model);
    const auto analytic = analytic_parameters(c);
    EXPECT_EQ(built.video, analytic.video) << c.name;
    EXPECT_EQ(built.audio, analytic.audio) << c.name;
    EXPECT_EQ(built.text, analytic.text) << c.name;
    EXPECT_EQ(built.text_word_embedding, analytic.text_word_embedding) << c.name;
    EXPECT_EQ(built.shared, analytic.shared) << c.name;
    EXPECT_EQ(built.heads, analytic.heads) << c.name;
    EXPECT_EQ(built.total, analytic.total) << c.name;
  }
}

TEST(Info, MbsGflopsFollowThePaperAcrossDropRates) {
  const auto info = model_info(make_config("mbs"));
  ASSERT_EQ(info.gflops.size(), 4u);
  const double paper[] = {784.8, 574.2, 375.4, 188.1};
  for (size_t i = 0; i < 4; ++i) {
    const auto& g = info.gflops[i];
    EXPECT_DOUBLE_EQ(g.drop_rate, 0.25 * i);
    EXPECT_NEAR(g.total, paper[i], 0.02 * paper[i]) << g.drop_rate;
    EXPECT_NEAR(g.total, g.video + g.audio + g.text + g.heads, 1e-9);
    // The ratio to 0% drop follows the paper's closely: the convention gets the quadratic term right.
    EXPECT_NEAR(g.total / info.gflops[0].total, paper[i] / paper[0], 0.005) << g.drop_rate;
  }
  // 50% DropToken roughly halves the forward cost.
  EXPECT_LT(info.gflops[2].total, 0.5 * info.gflops[0].total);
  EXPECT_FALSE(info.fields.empty());
}

TEST(Info, GflopsCountTheVideoStackByHand) {
  // tiny video at 0% drop: 8 tokens + AGG = 9; 2 layers of d = 64, mlp = 128.
  //   dense MACs = 2 * 9 * (4 * 64^2 + 2 * 64 * 128) = 589,824; attention MACs = 2 * 2 * 81 * 64 = 20,736
  //   tokeniser MACs = 8 * 3072 * 64 = 1,572,864
  //   GFLOPs = (2 * (589,824 + 1,572,864) + 20,736) / 1e9
  const auto g = forward_gflops(make_config("tiny"), 0.0);
  EXPECT_NEAR(g.video, (2.0 * (589824 + 1572864) + 20736) / 1e9, 1e-15);
}

}  // namespace
}  // namespace vatt::model
