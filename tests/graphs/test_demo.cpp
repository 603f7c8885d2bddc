// The demo's chain on a smaller generated corpus: narrated videos -> ingest (clip store with media) ->
// pretrain from the store -> zero-shot retrieval on held-out videos with other narrations, scored with
// nothing but the checkpoint. The loss must go down and retrieval must beat chance.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/graphs/json_file.h"
#include "tests/graphs/run_vatt.h"

namespace vatt::test {
namespace {

namespace fs = std::filesystem;

int run_tool(const std::string& cmd) {
  return std::system(cmd.c_str());
}

TEST(DemoChain, PretrainingOnNarratedVideosLowersTheLossAndRetrievesAboveChance) {
  const std::string dir = temp_path("demo");
  fs::remove_all(dir);
  const std::string corpus = dir + "/corpus", db = dir + "/clips.db", ckpt = dir + "/ckpt";
  ASSERT_EQ(run_tool(std::string(VATT_BINARY_DIR) + "/tools/vatt-gen-media --corpus " + corpus +
                     " --videos 24 --heldout 12 > " + dir + ".gen.log 2>&1"),
            0);
  fs::remove(dir + ".gen.log");
  const std::string graphs = std::string(VATT_SOURCE_DIR) + "/graphs/";
  auto ingest = run_vatt({"run",        graphs + "ingest.yaml",
                          "--progress", "0",
                          "--set",      "src.uri=" + corpus + "/train",
                          "--set",      "store.db=" + db,
                          "--set",      "store.store_media=true",
                          "--set",      "src.fps=2.5",
                          "--set",      "src.short_side=40",
                          "--set",      "src.sample_rate=8000",
                          "--set",      "src.asr=off",
                          "--metrics",  dir + "/ingest.json"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;
  EXPECT_EQ(read_json(dir + "/ingest.json")["nodes"]["store"]["added"].get<int>(), 72);

  auto train =
      run_vatt({"run", graphs + "pretrain.yaml", "--progress", "0", "--set", "src.uri=" + db, "--set",
                "train.checkpoint_dir=" + ckpt, "--set", "train.steps=360", "--set", "batch.size=24", "--set",
                "train.log_every=1", "--set", "train.checkpoint_every=0", "--metrics", dir + "/train.json"});
  ASSERT_EQ(train.exit_code, 0) << train.output;
  // The vocabulary was built from the store's transcripts before the first step.
  EXPECT_NE(train.output.find("built vocabulary " + ckpt + "/vocab.txt from " + db), std::string::npos)
      << train.output;
  std::vector<double> losses;
  const std::regex re("step [0-9]+/360 loss ([0-9.]+)");
  for (auto it = std::sregex_iterator(train.output.begin(), train.output.end(), re);
       it != std::sregex_iterator(); ++it)
    losses.push_back(std::stod((*it)[1]));
  ASSERT_EQ(losses.size(), 360u) << train.output;
  double first = 0, last = 0;
  for (int i = 0; i < 20; ++i) {
    first += losses[static_cast<size_t>(i)] / 20;
    last += losses[losses.size() - 20 + static_cast<size_t>(i)] / 20;
  }
  EXPECT_LT(last, 0.8 * first) << "mean loss of the first 20 steps " << first << ", of the last 20 " << last;
  const auto t = read_json(dir + "/train.json")["nodes"]["train"];
  EXPECT_GT(t["clips_per_s"].get<double>(), 0);
  EXPECT_GE(t["data_wait_fraction"].get<double>(), 0);

  // Held-out videos, scored from the checkpoint directory alone (its latest checkpoint): the vocabulary and
  // the input description come from the checkpoint.
  auto eval = run_vatt({"run", graphs + "eval-retrieval.yaml", "--progress", "0", "--set",
                        "src.uri=" + corpus + "/heldout", "--set", "model.checkpoint=" + ckpt, "--metrics",
                        dir + "/eval.json"});
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const auto score = read_json(dir + "/eval.json")["nodes"]["score"];
  EXPECT_EQ(score["clips"].get<int>(), 36);
  for (const char* k : {"t2v", "v2t", "v2a", "a2v"}) {
    ASSERT_TRUE(score.contains(k)) << score.dump();
    for (const char* f : {"R@1", "R@5", "R@10", "MedR", "chance_R@5"})
      EXPECT_TRUE(score[k].contains(f)) << k << f;
    EXPECT_NEAR(score[k]["chance_R@5"].get<double>(), 100.0 * 5 / 36, 1e-9);
    EXPECT_LE(score[k]["R@1"].get<double>(), score[k]["R@5"].get<double>());
    EXPECT_LE(score[k]["R@5"].get<double>(), score[k]["R@10"].get<double>());
  }
  std::printf("loss %.3f -> %.3f; R@5 t2v %.1f%% v2t %.1f%% v2a %.1f%% a2v %.1f%% (chance %.1f%%)\n", first,
              last, score["t2v"]["R@5"].get<double>(), score["v2t"]["R@5"].get<double>(),
              score["v2a"]["R@5"].get<double>(), score["a2v"]["R@5"].get<double>(),
              score["t2v"]["chance_R@5"].get<double>());
  // 360 steps are a quarter of the demo's training (which, with the released code's dropout, pairs audio
  // and video more slowly than text and video); well above chance is still expected.
  EXPECT_GT(score["t2v"]["R@5"].get<double>(), 2 * score["t2v"]["chance_R@5"].get<double>()) << eval.output;
  EXPECT_GT(score["v2a"]["R@5"].get<double>(), 2 * score["v2a"]["chance_R@5"].get<double>()) << eval.output;
  fs::remove_all(dir);
}

TEST(DemoChain, EvaluationWithoutACheckpointSaysWhatIsMissing) {
  const std::string dir = temp_path("demo-nockpt");
  fs::remove_all(dir);
  fs::create_directories(dir + "/empty");
  auto eval = run_vatt({"run", std::string(VATT_SOURCE_DIR) + "/graphs/eval-retrieval.yaml", "--progress",
                        "0", "--set", "src.uri=" + dir, "--set", "model.checkpoint=" + dir + "/empty"});
  EXPECT_EQ(eval.exit_code, 1) << eval.output;
  EXPECT_NE(eval.output.find("checkpoint directory " + dir + "/empty holds no checkpoint"), std::string::npos)
      << eval.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vatt::test
