// Seeded pretraining from a clip store is bit-reproducible on the CPU with the graph's default concurrency
// (two readers, two augment/pairs/tokenise workers, dropout, DropToken, audio noise), and a run killed with
// SIGKILL three times and restarted each time with the same command ends with the same weights, bit for bit,
// as the run that was never interrupted, reading no clip twice (the data continues at the checkpoint's read
// position).
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <regex>

#include "model/trainer.h"
#include "tests/graphs/run_vatt.h"

namespace vatt::test {
namespace {

namespace fs = std::filesystem;

constexpr int kSteps = 24;

std::string ckpt_name(int step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "ckpt-%012d.pt", step);
  return buf;
}

// The logged loss of every step, as printed.
std::vector<std::string> losses(const std::string& output) {
  std::vector<std::string> out;
  const std::regex re("step [0-9]+/" + std::to_string(kSteps) + " loss ([0-9.]+)");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

void expect_identical_weights(const std::string& a, const std::string& b) {
  const auto pa = model::read_checkpoint_parameters(a), pb = model::read_checkpoint_parameters(b);
  ASSERT_EQ(pa.size(), pb.size());
  size_t differing = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    ASSERT_EQ(pa[i].first, pb[i].first);
    if (pa[i].second != pb[i].second) {
      ++differing;
      ADD_FAILURE() << pa[i].first << " differs between " << a << " and " << b;
    }
  }
  EXPECT_EQ(differing, 0u);
}

TEST(Reproducible, SeededRunsRepeatBitForBitAndKillNineResumesExactly) {
  const std::string dir = temp_path("repro");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string corpus = dir + "/corpus", db = dir + "/clips.db";
  ASSERT_EQ(std::system((std::string(VATT_BINARY_DIR) + "/tools/vatt-gen-media --corpus " + corpus +
                         " --videos 8 --heldout 1 > " + dir + "/gen.log 2>&1")
                            .c_str()),
            0);
  const std::string graphs = std::string(VATT_SOURCE_DIR) + "/graphs/";
  auto ingest =
      run_vatt({"run", graphs + "ingest.yaml", "--progress", "0", "--set", "src.uri=" + corpus + "/train",
                "--set", "store.db=" + db, "--set", "store.store_media=true", "--set", "src.fps=2.5", "--set",
                "src.short_side=40", "--set", "src.sample_rate=8000", "--set", "src.asr=off"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;

  // The graph's defaults otherwise: src.parallel 2, aug/pairs/tok concurrency 2, dropout, DropToken 0.25,
  // audio noise; a checkpoint every 4 steps.
  auto args = [&](const std::string& ckpt) {
    return std::vector<std::string>{"run",        graphs + "pretrain.yaml",
                                    "--progress", "0",
                                    "--set",      "src.uri=" + db,
                                    "--set",      "batch.size=8",
                                    "--set",      "train.steps=" + std::to_string(kSteps),
                                    "--set",      "train.checkpoint_every=4",
                                    "--set",      "train.log_every=1",
                                    "--set",      "train.checkpoint_dir=" + ckpt,
                                    "--set",      "tok.vocab=" + dir + "/vocab.txt"};
  };
  auto a = run_vatt(args(dir + "/a"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto b = run_vatt(args(dir + "/b"));
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const auto la = losses(a.output), lb = losses(b.output);
  ASSERT_EQ(la.size(), static_cast<size_t>(kSteps)) << a.output;
  EXPECT_EQ(la, lb) << "two runs of the same command";
  expect_identical_weights(dir + "/a/" + ckpt_name(kSteps), dir + "/b/" + ckpt_name(kSteps));

  // Killed after the checkpoints of steps 4, 12 and 20 (wherever the run has got to by the time the signal
  // lands), restarted each time with the same command.
  const auto c_args = args(dir + "/c");
  for (int at : {4, 12, 20}) {
    auto child = spawn_vatt(c_args);
    ASSERT_TRUE(child.wait_for(ckpt_name(at), 120)) << child.output();
    kill(child.pid, SIGKILL);
    const int rc = child.wait();
    const std::string out = child.output();
    unlink(child.out_path.c_str());
    if (rc == 0) break;  // finished before the signal: nothing left to resume
    ASSERT_EQ(rc, 128 + SIGKILL) << out;
    if (at > 4) {
      EXPECT_NE(out.find("the data continues at read position"), std::string::npos) << out;
    }
  }
  auto c = run_vatt(c_args);
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const auto lc = losses(c.output);
  ASSERT_FALSE(lc.empty()) << c.output;
  EXPECT_EQ(lc.back(), la.back()) << "the last step's loss after three kills";
  // The steps this last run trained are the uninterrupted run's, loss for loss.
  EXPECT_TRUE(std::equal(lc.rbegin(), lc.rend(), la.rbegin())) << c.output;
  expect_identical_weights(dir + "/a/" + ckpt_name(kSteps), dir + "/c/" + ckpt_name(kSteps));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vatt::test
