// Linear evaluation pieces: split names into train/test splits, the liblinear SVM and the low-rank
// classifier on separable and on label-shuffled Gaussian clusters, and the top-1/top-5/confusion figures.
#include <gtest/gtest.h>

#include <map>

#include <cmath>

#include <random>

#include "model/classifier.h"
#include "model/linear_probe.h"
#include "nodes/train/probe.h"

namespace vatt::nodes {
namespace {

TEST(ProbeSplits, TrainTestFoldersUcfListsAndEsc50Folds) {
  const auto one = probe_splits({"train", "test", "train", "", "test"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].name, "test");
  EXPECT_EQ(one[0].train, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(one[0].test, (std::vector<size_t>{1, 4}));

  // UCF101-style: each file is in the training list of some splits and the test list of the others.
  const auto ucf = probe_splits({"train1,test2", "test1,train2", "train1,train2"});
  ASSERT_EQ(ucf.size(), 2u);
  EXPECT_EQ(ucf[0].name, "1");
  EXPECT_EQ(ucf[0].train, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(ucf[0].test, (std::vector<size_t>{1}));
  EXPECT_EQ(ucf[1].test, (std::vector<size_t>{0}));

  const auto esc = probe_splits({"fold1", "fold2", "fold3", "fold1"});
  ASSERT_EQ(esc.size(), 3u);
  EXPECT_EQ(esc[0].name, "fold1");
  EXPECT_EQ(esc[0].test, (std::vector<size_t>{0, 3}));
  EXPECT_EQ(esc[0].train, (std::vector<size_t>{1, 2}));

  // Validation rows test a key without test rows.
  const auto val = probe_splits({"training", "validation"});
  ASSERT_EQ(val.size(), 1u);
  EXPECT_EQ(val[0].test, (std::vector<size_t>{1}));

  try {
    probe_splits({"", "holdout"});
    FAIL() << "no split";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("found holdout"), std::string::npos) << e.what();
  }
}

struct Clusters {
  std::vector<float> train_x, test_x;
  std::vector<int> train_y, test_y;
};

// `classes` Gaussian clusters in `dim` dimensions; shuffled: training labels drawn at random.
Clusters clusters(int classes, int dim, int per_class, bool shuffled, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0, 1);
  std::vector<std::vector<float>> centre(static_cast<size_t>(classes));
  for (auto& c : centre)
    for (int k = 0; k < dim; ++k) c.push_back(3 * n(rng));
  Clusters out;
  std::uniform_int_distribution<int> any(0, classes - 1);
  for (int c = 0; c < classes; ++c)
    for (int i = 0; i < 2 * per_class; ++i) {
      const bool test = i >= per_class;
      auto& x = test ? out.test_x : out.train_x;
      for (int k = 0; k < dim; ++k)
        x.push_back(centre[static_cast<size_t>(c)][static_cast<size_t>(k)] + n(rng));
      (test ? out.test_y : out.train_y).push_back(!test && shuffled ? any(rng) : c);
    }
  return out;
}

TEST(LinearProbe, SvmAndLowRankSeparateClustersAndFallToChanceOnShuffledLabels) {
  const int classes = 8, dim = 16;
  const auto good = clusters(classes, dim, 20, false, 1);
  double cost = 0;
  const auto svm = svm_probe(good.train_x, good.train_y, good.test_x, dim, classes, {}, &cost);
  const auto s = score_predictions(svm, good.test_y, classes);
  EXPECT_GT(s.top1, 95.0);
  EXPECT_GE(s.top5, s.top1);
  EXPECT_GT(cost, 0);
  int diagonal = 0;
  for (int c = 0; c < classes; ++c) diagonal += s.confusion[static_cast<size_t>(c)][static_cast<size_t>(c)];
  EXPECT_EQ(diagonal, static_cast<int>(std::lround(s.top1 * static_cast<double>(good.test_y.size()) / 100)));

  model::LowRankOptions lo;
  lo.epochs = 100;
  const auto lrc = model::low_rank_probe(good.train_x, good.train_y, good.test_x, dim, classes, lo);
  EXPECT_GT(score_predictions(lrc, good.test_y, classes).top1, 95.0);
  // Reproducible for a seed.
  EXPECT_EQ(lrc, model::low_rank_probe(good.train_x, good.train_y, good.test_x, dim, classes, lo));

  const auto bad = clusters(classes, dim, 20, true, 2);
  const auto chance = score_predictions(svm_probe(bad.train_x, bad.train_y, bad.test_x, dim, classes, {}),
                                        bad.test_y, classes);
  EXPECT_LT(chance.top1, 40.0);  // chance is 12.5%
}

TEST(LinearProbe, CrossValidationPicksCOverEveryTrainingRow) {
  // Few noisy rows per class (10): one 20% hold-out decides C on 2 rows a class, five folds on all 10. Over
  // twelve hold-out seeds the two rules pick differently at times, and the refit model of the folds is at
  // least as good on the test rows.
  const int classes = 4, dim = 24;
  auto data = clusters(classes, dim, 10, false, 5);
  std::mt19937_64 noise(9);
  std::normal_distribution<float> n(0, 1);
  for (auto* x : {&data.train_x, &data.test_x})
    for (float& v : *x) v = 0.2f * v + n(noise);  // pull the clusters together, then add noise
  double accuracy[2] = {0, 0};
  int differ = 0;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    double cost[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      SvmOptions o;
      o.folds = k == 0 ? 1 : 5;
      o.seed = seed;
      const auto d = svm_probe(data.train_x, data.train_y, data.test_x, dim, classes, o, &cost[k]);
      EXPECT_NE(std::find(o.costs.begin(), o.costs.end(), cost[k]), o.costs.end());
      accuracy[k] += score_predictions(d, data.test_y, classes).top1 / 12;
    }
    differ += cost[0] != cost[1];
  }
  EXPECT_GT(differ, 0);
  EXPECT_GT(accuracy[1], 50.0);  // chance 25%
  EXPECT_GE(accuracy[1], accuracy[0] - 1.0);
  SvmOptions none;
  none.folds = 0;
  EXPECT_THROW(svm_probe(data.train_x, data.train_y, data.test_x, dim, classes, none), std::invalid_argument);
}

TEST(LinearProbe, StandardiseUsesTheFitRowsOnly) {
  std::vector<float> rows = {1, 10, 3, 10, 100, 7};  // 3 rows of 2
  standardise(rows, 2, {0, 1});
  EXPECT_FLOAT_EQ(rows[0], -1);
  EXPECT_FLOAT_EQ(rows[2], 1);
  EXPECT_FLOAT_EQ(rows[1], 0);  // constant column: sd counts as 1
  EXPECT_FLOAT_EQ(rows[4], 98);
  EXPECT_FLOAT_EQ(rows[5], -3);
}

TEST(LinearProbe, TopFiveCountsTiesAgainstTheTruth) {
  // Row 0: truth 2 ranks 1st; row 1: truth 0 ties class 1 (lower index wins), so ranks 1st; row 2: truth 3 last.
  const std::vector<float> scores = {0, 1, 5, 2, 3, 3, 0, 0, 9, 8, 7, -1};
  const auto s = score_predictions(scores, {2, 0, 3}, 4);
  EXPECT_NEAR(s.top1, 200.0 / 3, 1e-9);
  EXPECT_EQ(s.confusion[3][0], 1);
  EXPECT_DOUBLE_EQ(s.top5, 100.0);
}

TEST(MultiLabel, AveragePrecisionAucAndDPrimeOfKnownRankings) {
  // Class 0: positives ranked 1st and 3rd of 4 -> AP = (1/1 + 2/3) / 2; AUC: positive scores 0.9, 0.5 vs
  // negatives 0.7, 0.1 -> 3 of 4 pairs won = 0.75. Class 1: a perfect ranking -> AP 1, AUC 1.
  const std::vector<float> scores = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.1f, 0.1f, 0.0f};
  const std::vector<float> targets = {1, 1, 0, 1, 1, 0, 0, 0};
  const auto s = model::multi_label_scores(scores, targets, 2);
  EXPECT_EQ(s.classes_scored, 2);
  EXPECT_NEAR(s.map, 100.0 * ((1.0 + 2.0 / 3.0) / 2 + 1.0) / 2, 1e-9);
  EXPECT_NEAR(s.auc, 100.0 * (0.75 + 1.0) / 2, 1e-9);
  // d' = sqrt(2) * Phi^-1(0.875) = sqrt(2) * 1.150349...
  EXPECT_NEAR(s.d_prime, std::sqrt(2.0) * 1.1503493803760083, 1e-6);
  // Tied scores count half: one positive and one negative at the same score -> AUC 0.5, d' 0.
  const auto t = model::multi_label_scores({0.3f, 0.3f}, {1, 0}, 1);
  EXPECT_NEAR(t.auc, 50.0, 1e-9);
  EXPECT_NEAR(t.d_prime, 0.0, 1e-6);
  EXPECT_THROW(model::multi_label_scores({0.1f}, {1, 0}, 1), std::invalid_argument);
}

}  // namespace
}  // namespace vatt::nodes
