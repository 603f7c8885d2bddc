// graphs/pretrain.yaml end to end on generated media: vocabulary, decode, augment, tokenise, batch, training
// steps with checkpoints; then the same command resumes from the last checkpoint (the step counter continues,
// no finished step is repeated).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/graphs/run_vatt.h"
#include "tests/nodes/media_fixture.h"

namespace vatt::test {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(PretrainGraph, TrainsCheckpointsAndResumesWithoutRepeatingASteps) {
  const std::string dir = temp_path("pretrain");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string vocab = dir + "/vocab.txt", ckpt = dir + "/ckpt", metrics = dir + "/m.json";
  auto v = run_vatt({"vocab", "build", "--uri", media_dir(), "--out", vocab});
  ASSERT_EQ(v.exit_code, 0) << v.output;

  auto run = [&](int steps) {
    return run_vatt({"run",        std::string(VATT_SOURCE_DIR) + "/graphs/pretrain.yaml",
                     "--progress", "0",
                     "--metrics",  metrics,
                     "--set",      "src.uri=" + media_dir(),

                     "--set",      "tok.vocab=" + vocab,
                     "--set",      "train.checkpoint_dir=" + ckpt,
                     "--set",      "train.steps=" + std::to_string(steps),
                     "--set",      "batch.size=2",
                     "--set",      "train.log_every=1",
                     "--set",      "train.threads=1"});
  };
  auto first = run(3);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto m = read_json(metrics);
  EXPECT_EQ(m["status"], "completed (stopped by node 'train': reached 3 steps)");
  const auto& train = m["nodes"]["train"];
  EXPECT_EQ(train["step"], 3);
  EXPECT_TRUE(std::isfinite(train["loss"].get<double>()));
  EXPECT_GT(train["clips_per_s"].get<double>(), 0);
  EXPECT_TRUE(fs::exists(ckpt + "/ckpt-000000000003.pt"));
  for (int s = 1; s <= 3; ++s)
    EXPECT_NE(first.output.find("step " + std::to_string(s) + "/3 "), std::string::npos);

  auto second = run(5);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("resumed at step 3 of 5"), std::string::npos) << second.output;
  // The first step of the resumed run is step 4: steps 1-3 are never trained again.
  for (int s = 1; s <= 3; ++s)
    EXPECT_EQ(second.output.find("step " + std::to_string(s) + "/5 "), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("step 4/5 "), std::string::npos) << second.output;
  EXPECT_GE(read_json(metrics)["nodes"]["train"]["step"].get<int>(), 4);
  fs::remove_all(dir);
}

TEST(PretrainGraph, ABatchThatDoesNotFitTheModelIsAnErrorNamingTheShapes) {
  const std::string dir = temp_path("pretrain-bad");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string vocab = dir + "/vocab.txt", metrics = dir + "/m.json";
  ASSERT_EQ(run_vatt({"vocab", "build", "--uri", media_dir(), "--out", vocab}).exit_code, 0);
  auto r = run_vatt({"run",        std::string(VATT_SOURCE_DIR) + "/graphs/pretrain.yaml",
                     "--progress", "0",
                     "--metrics",  metrics,
                     "--set",      "src.uri=" + media_dir(),
                     "--set",      "src.asr=off",
                     "--set",      "tok.vocab=" + vocab,
                     "--set",      "train.checkpoint_dir=",
                     "--set",      "batch.size=2",
                     "--set",      "aug.crop=48",
                     "--set",      "src.epochs=1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;  // bad batches are data errors, the run goes on
  auto m = read_json(metrics);
  EXPECT_GT(m["nodes"]["train"]["errors_by_kind"]["bad_batch"].get<int>(), 0);
  EXPECT_NE(r.output.find("video 8x48x48, model expects 8x32x32 (frames, crop)"), std::string::npos)
      << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vatt::test
