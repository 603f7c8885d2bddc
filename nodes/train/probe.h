// Linear evaluation of frozen features (the `linear_probe` node): train/test splits read from the dataset's
// split names, feature standardisation, a linear SVM (liblinear, C picked on a held-out part of the training
// rows) and the figures: top-1, top-5 and a confusion matrix per split. The low-rank classifier of the paper
// lives in model/linear_probe.h (LibTorch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vatt::nodes {

/// One evaluation split: the rows it trains on and the rows it tests.
struct ProbeSplit {
  std::string name;  ///< "test" for a single train/test pair, else the split's key ("1", "fold3")
  std::vector<size_t> train, test;
};

/// The splits that the rows' split strings describe. A row's string is a comma-separated list of names:
/// `train`/`training` and `test`/`testing` (optionally with a key: `train1`, `test1` for UCF101/HMDB51's three
/// splits), `val`/`validation`/`validate` (the test rows of a key that has no `test`), or `foldK` (ESC-50:
/// each fold is tested once, trained on the others). Rows without a name are in no split. Splits are ordered
/// by key. Throws std::invalid_argument when no split has both training and test rows, saying what names were
/// seen.
std::vector<ProbeSplit> probe_splits(const std::vector<std::string>& row_splits);

/// Standardises rows of `dim` floats in place with the mean and standard deviation of the `fit` rows
/// (a standard deviation below 1e-6 counts as 1).
void standardise(std::vector<float>& rows, int dim, const std::vector<size_t>& fit);

struct SvmOptions {
  std::vector<double> costs = {1e-3, 1e-2, 0.1, 1, 10, 100};  ///< the C values tried
  /// C is picked by cross-validation over the training rows: `folds` parts, stratified by class, each held
  /// out once while the others train, the correct predictions counted over all of them. 1: one held-out part
  /// of `holdout` of each class's rows instead (a class of 1 keeps its row).
  int folds = 5;
  double holdout = 0.2;
  uint64_t seed = 0;  ///< which rows fall in which part
};

/// Trains a one-vs-rest L2-regularised squared-hinge linear SVM (liblinear) on standardised rows and returns
/// the test rows' decision values, [test rows x classes]. `chosen_cost` receives the C that predicted the
/// most held-out rows correctly (ties: the smaller C); the final model is trained on all training rows.
std::vector<float> svm_probe(const std::vector<float>& train_x, const std::vector<int>& train_y,
                             const std::vector<float>& test_x, int dim, int classes,
                             const SvmOptions& options, double* chosen_cost = nullptr);

struct ProbeScores {
  double top1 = 0, top5 = 0;                ///< percent of test rows whose label is first / in the top 5
  std::vector<std::vector<int>> confusion;  ///< [true class][predicted class] counts
};

/// Scores `classes`-column score rows against labels (ties broken towards the lower class index).
ProbeScores score_predictions(const std::vector<float>& scores, const std::vector<int>& labels, int classes);

}  // namespace vatt::nodes
