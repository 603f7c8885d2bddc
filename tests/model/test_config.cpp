// ModelConfig: the named configurations (the paper's sizes), name=value overrides and their error messages.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "model/config.h"

namespace vatt::model {
namespace {

void expect_size(const BackboneConfig& b, int64_t layers, int64_t hidden, int64_t mlp, int64_t heads) {
  EXPECT_EQ(b.layers, layers);
  EXPECT_EQ(b.hidden, hidden);
  EXPECT_EQ(b.mlp, mlp);
  EXPECT_EQ(b.heads, heads);
}

std::string error_of(const std::string& name, const std::vector<std::string>& overrides) {
  try {
    make_config(name, overrides);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultIsMbsAtThePretrainingInput) {
  auto c = make_config("mbs");
  expect_size(c.video, 12, 1024, 4096, 16);
  expect_size(c.audio, 12, 768, 3072, 12);
  expect_size(c.text, 6, 512, 2048, 8);
  EXPECT_FALSE(c.modality_agnostic);
  EXPECT_EQ(c.video_tokens(), 1568);  // 8 x 14 x 14
  EXPECT_EQ(c.grid_t(), 8);
  EXPECT_EQ(c.grid_h(), 14);
  EXPECT_EQ(c.audio_tokens(), 1200);
  EXPECT_EQ(c.text_words, 16);
  EXPECT_EQ(c.word_dim, 300);
  EXPECT_DOUBLE_EQ(c.droptoken_video, 0.5);
  EXPECT_DOUBLE_EQ(c.temperature, 0.07);
  EXPECT_EQ(c.head_va_dim, 512);
  EXPECT_EQ(c.head_vt_dim, 256);
  EXPECT_EQ(ModelConfig().name, "mbs");
}

TEST(Config, TrainingDetailsDefaultToTheReleasedCode) {
  auto c = make_config("mbs");
  EXPECT_EQ(c.optim.schedule, LrSchedule::kCode);
  EXPECT_EQ(c.optim.warmup_steps, 5000);
  EXPECT_DOUBLE_EQ(c.dropout, 0.1);
  EXPECT_TRUE(c.attention_dropout);
  EXPECT_TRUE(c.output_dropout);
  EXPECT_EQ(c.init, InitStyle::kOfficial);
  EXPECT_EQ(c.droptoken_count, DropTokenCount::kTokens);  // vatt's rule (docs/model.md says why)
  EXPECT_EQ(make_config("ma-base").post_proj_dim, 1024);  // the released code's post-projection
  EXPECT_EQ(make_config("ma-medium").post_proj_dim, 1024);
  EXPECT_EQ(make_config("ma-small").post_proj_dim, 512);
  auto p = make_config("mbs", {"lr.schedule=paper", "init=torch", "dropout.attention=false",
                               "dropout.output=0", "droptoken.count=table"});
  EXPECT_EQ(p.optim.schedule, LrSchedule::kPaper);
  EXPECT_EQ(p.init, InitStyle::kTorch);
  EXPECT_FALSE(p.attention_dropout);
  EXPECT_FALSE(p.output_dropout);
  EXPECT_EQ(p.droptoken_count, DropTokenCount::kTable);
  const auto msg = error_of("mbs", {"lr.schedule=linear"});
  EXPECT_NE(msg.find("'linear' as code or paper"), std::string::npos) << msg;
  EXPECT_NE(error_of("mbs", {"init=xavier"}).find("official or torch"), std::string::npos);
}

TEST(Config, EveryLetterMapsToThePaperSize) {
  expect_size(backbone_size('s'), 6, 512, 2048, 8);
  expect_size(backbone_size('b'), 12, 768, 3072, 12);
  expect_size(backbone_size('m'), 12, 1024, 4096, 16);
  expect_size(backbone_size('l'), 24, 1024, 4096, 16);
  auto c = make_config("lsb");
  expect_size(c.video, 24, 1024, 4096, 16);
  expect_size(c.audio, 6, 512, 2048, 8);
  expect_size(c.text, 12, 768, 3072, 12);
  EXPECT_THROW(backbone_size('x'), std::invalid_argument);
}

TEST(Config, EveryNamedConfigIsValid) {
  const auto names = named_configs();
  EXPECT_EQ(names.size(), 64u + 4u + 1u);
  for (const auto& n : names) {
    ModelConfig c;
    ASSERT_NO_THROW(c = make_config(n)) << n;
    EXPECT_EQ(c.name, n);
  }
}

TEST(Config, ModalityAgnosticSharesOneStack) {
  auto c = make_config("ma-medium");
  EXPECT_TRUE(c.modality_agnostic);
  expect_size(c.shared, 12, 1024, 4096, 16);
  expect_size(make_config("ma-large").shared, 24, 1024, 4096, 16);
  expect_size(make_config("ma-small").shared, 6, 512, 2048, 8);
  expect_size(make_config("ma-base").shared, 12, 768, 3072, 12);
  EXPECT_THROW(make_config("ma-huge"), std::invalid_argument);
}

TEST(Config, TinyIsSmall) {
  auto c = make_config("tiny");
  EXPECT_EQ(c.video.layers, 2);
  EXPECT_EQ(c.video.hidden, 64);
  EXPECT_EQ(c.video_tokens(), 8);  // 2 x 2 x 2
  EXPECT_EQ(c.audio_tokens(), 32);
  EXPECT_EQ(c.vocab_size, 100);
}

TEST(Config, OverridesSetFieldsByName) {
  auto c =
      make_config("mbs", {"video.layers=4", "droptoken.video=0.25", "frames=16", "crop=160",
                          "droptoken.mode=per_sample", "modality_agnostic=false", "lr.warmup_steps=5000"});
  EXPECT_EQ(c.video.layers, 4);
  EXPECT_DOUBLE_EQ(c.droptoken_video, 0.25);
  EXPECT_DOUBLE_EQ(c.droptoken_audio, 0.5);
  EXPECT_EQ(c.frames, 16);
  EXPECT_EQ(c.crop, 160);
  EXPECT_EQ(c.video_tokens(), 4 * 10 * 10);
  EXPECT_EQ(c.droptoken_mode, DropTokenMode::kPerSample);
  EXPECT_EQ(c.optim.warmup_steps, 5000);
}

TEST(Config, UnknownFieldIsNamedWithTheKnownOnes) {
  const auto msg = error_of("mbs", {"video.layer=4"});
  EXPECT_NE(msg.find("'video.layer'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("video.layers"), std::string::npos) << msg;
  EXPECT_NE(msg.find("droptoken.audio"), std::string::npos) << msg;
}

TEST(Config, BadValuesAndBadGeometryAreRejected) {
  EXPECT_NE(error_of("mbs", {"frames=abc"}).find("frames"), std::string::npos);
  EXPECT_NE(error_of("mbs", {"frames=16x"}).find("frames"), std::string::npos);
  EXPECT_NE(error_of("mbs", {"droptoken.mode=sometimes"}).find("droptoken.mode"), std::string::npos);
  EXPECT_NE(error_of("mbs", {"crop=100"}).find("crop"), std::string::npos);  // not a multiple of 16
  EXPECT_NE(error_of("mbs", {"video.heads=5"}).find("video.heads"), std::string::npos);
  EXPECT_NE(error_of("mbs", {"droptoken.video=1"}).find("droptoken.video"), std::string::npos);
  EXPECT_NE(error_of("mbs", {"novalue"}).find("name=value"), std::string::npos);
  EXPECT_NE(error_of("xyz", {}).find("xyz"), std::string::npos);
}

TEST(Config, FieldsRoundTripThroughOverrides) {
  auto changed = make_config("tiny", {"audio.mlp=96", "temperature=0.05", "droptoken.mode=per_sample",
                                      "bn_momentum=0.2", "adam.eps=1e-8", "lr.schedule=paper", "init=torch",
                                      "dropout.attention=false", "droptoken.count=table"});
  ModelConfig rebuilt;
  for (const auto& [name, value] : config_fields(changed)) apply_override(rebuilt, name + "=" + value);
  EXPECT_EQ(config_fields(rebuilt), config_fields(changed));
  EXPECT_EQ(rebuilt.audio.mlp, 96);
  EXPECT_DOUBLE_EQ(rebuilt.optim.eps, 1e-8);
  EXPECT_EQ(rebuilt.optim.schedule, LrSchedule::kPaper);
  EXPECT_EQ(rebuilt.droptoken_count, DropTokenCount::kTable);
}

}  // namespace
}  // namespace vatt::model
