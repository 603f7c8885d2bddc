#include "nodes/train/probe.h"

#include <linear.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <regex>
#include <set>
#include <stdexcept>

namespace vatt::nodes {

std::vector<ProbeSplit> probe_splits(const std::vector<std::string>& row_splits) {
  enum Role { kTrain, kTest, kVal, kFold };
  static const std::regex name_re("(training|train|testing|test|validation|validate|val|fold)(.*)");
  // key -> role -> rows
  std::map<std::string, std::map<Role, std::vector<size_t>>> by_key;
  std::set<std::string> seen;
  bool folds = false;
  for (size_t i = 0; i < row_splits.size(); ++i) {
    size_t at = 0;
    const std::string& s = row_splits[i];
    while (at <= s.size()) {
      size_t end = s.find(',', at);
      if (end == std::string::npos) end = s.size();
      const std::string name = s.substr(at, end - at);
      at = end + 1;
      if (name.empty()) continue;
      seen.insert(name);
      std::smatch m;
      if (!std::regex_match(name, m, name_re)) continue;
      const std::string kind = m[1], key = m[2];
      Role role = kind.rfind("train", 0) == 0  ? kTrain
                  : kind.rfind("test", 0) == 0 ? kTest
                  : kind == "fold"             ? kFold
                                               : kVal;
      if (role == kFold) {
        if (key.empty()) continue;
        folds = true;
      }
      by_key[key][role].push_back(i);
    }
  }
  std::vector<ProbeSplit> out;
  if (folds) {
    std::vector<std::pair<std::string, std::vector<size_t>>> fold_rows;
    for (const auto& [key, roles] : by_key)
      if (auto it = roles.find(kFold); it != roles.end()) fold_rows.emplace_back(key, it->second);
    for (size_t f = 0; f < fold_rows.size(); ++f) {
      ProbeSplit sp;
      sp.name = "fold" + fold_rows[f].first;
      sp.test = fold_rows[f].second;
      for (size_t g = 0; g < fold_rows.size(); ++g)
        if (g != f) sp.train.insert(sp.train.end(), fold_rows[g].second.begin(), fold_rows[g].second.end());
      std::sort(sp.train.begin(), sp.train.end());
      if (!sp.train.empty() && !sp.test.empty()) out.push_back(std::move(sp));
    }
  } else {
    for (auto& [key, roles] : by_key) {
      ProbeSplit sp;
      sp.name = key.empty() ? "test" : key;
      sp.train = roles[kTrain];
      sp.test = !roles[kTest].empty() ? roles[kTest] : roles[kVal];
      if (!sp.train.empty() && !sp.test.empty()) out.push_back(std::move(sp));
    }
  }
  if (out.empty()) {
    std::string names;
    for (const auto& n : seen) names += (names.empty() ? "" : ", ") + n;
    throw std::invalid_argument(
        "no split with both training and test files: expected split names train/test (or trainK/testK, "
        "val) or foldK, found " +
        (names.empty()
             ? std::string("none (give split_lists, a labels CSV with folds, or class folders under "
                           "train/ and test/)")
             : names));
  }
  return out;
}

void standardise(std::vector<float>& rows, int dim, const std::vector<size_t>& fit) {
  const auto d = static_cast<size_t>(dim);
  std::vector<double> mean(d, 0), var(d, 0);
  for (size_t r : fit)
    for (size_t k = 0; k < d; ++k) mean[k] += rows[r * d + k];
  for (auto& m : mean) m /= std::max<size_t>(1, fit.size());
  for (size_t r : fit)
    for (size_t k = 0; k < d; ++k) {
      const double x = rows[r * d + k] - mean[k];
      var[k] += x * x;
    }
  std::vector<double> inv(d);
  for (size_t k = 0; k < d; ++k) {
    const double sd = std::sqrt(var[k] / std::max<size_t>(1, fit.size()));
    inv[k] = sd < 1e-6 ? 1.0 : 1.0 / sd;
  }
  const size_t n = rows.size() / d;
  for (size_t r = 0; r < n; ++r)
    for (size_t k = 0; k < d; ++k) rows[r * d + k] = static_cast<float>((rows[r * d + k] - mean[k]) * inv[k]);
}

namespace {

void quiet(const char*) {}

/// Rows as liblinear wants them: 1-based sparse nodes, a bias feature, -1 terminated.
struct SparseRows {
  std::vector<feature_node> nodes;
  std::vector<feature_node*> rows;
  SparseRows(const std::vector<float>& x, int dim, const std::vector<size_t>& pick) {
    const auto d = static_cast<size_t>(dim);
    nodes.resize(pick.size() * (d + 2));
    for (size_t i = 0; i < pick.size(); ++i) {
      feature_node* n = &nodes[i * (d + 2)];
      for (size_t k = 0; k < d; ++k) n[k] = {static_cast<int>(k) + 1, x[pick[i] * d + k]};
      n[d] = {dim + 1, 1.0};  // the bias feature (problem.bias = 1)
      n[d + 1] = {-1, 0};
    }
    for (size_t i = 0; i < pick.size(); ++i) rows.push_back(&nodes[i * (d + 2)]);
  }
};

struct ModelFree {
  void operator()(model* m) const { free_and_destroy_model(&m); }
};
using ModelPtr = std::unique_ptr<model, ModelFree>;

ModelPtr fit(const std::vector<float>& x, const std::vector<int>& y, int dim, const std::vector<size_t>& rows,
             double cost) {
  SparseRows sparse(x, dim, rows);
  std::vector<double> labels;
  for (size_t r : rows) labels.push_back(y[r]);
  problem prob{};
  prob.l = static_cast<int>(rows.size());
  prob.n = dim + 1;
  prob.y = labels.data();
  prob.x = sparse.rows.data();
  prob.bias = 1;
  parameter param{};
  param.solver_type = L2R_L2LOSS_SVC_DUAL;
  param.eps = 0.1;
  param.C = cost;
  if (const char* err = check_parameter(&prob, &param))
    throw std::invalid_argument(std::string("liblinear: ") + err);
  set_print_string_function(&quiet);
  return ModelPtr(train(&prob, &param));
}

/// [rows x classes] decision values; classes the model never saw score -inf.
std::vector<float> decide(const model& m, const std::vector<float>& x, int dim,
                          const std::vector<size_t>& rows, int classes) {
  SparseRows sparse(x, dim, rows);
  const int nr = get_nr_class(&m);
  std::vector<int> label(static_cast<size_t>(nr));
  get_labels(&m, label.data());
  std::vector<double> dec(static_cast<size_t>(std::max(nr, 2)));
  std::vector<float> out(rows.size() * static_cast<size_t>(classes), -std::numeric_limits<float>::infinity());
  for (size_t i = 0; i < rows.size(); ++i) {
    predict_values(&m, sparse.rows[i], dec.data());
    float* o = &out[i * static_cast<size_t>(classes)];
    if (nr == 1) {
      o[label[0]] = 0;
    } else if (nr == 2) {  // one decision value, positive for label[0]
      o[label[0]] = static_cast<float>(dec[0]);
      o[label[1]] = static_cast<float>(-dec[0]);
    } else {
      for (int c = 0; c < nr; ++c)
        o[label[static_cast<size_t>(c)]] = static_cast<float>(dec[static_cast<size_t>(c)]);
    }
  }
  return out;
}

}  // namespace

std::vector<float> svm_probe(const std::vector<float>& train_x, const std::vector<int>& train_y,
                             const std::vector<float>& test_x, int dim, int classes, const SvmOptions& o,
                             double* chosen_cost) {
  if (dim <= 0 || classes < 2) throw std::invalid_argument("svm_probe: needs dim > 0 and 2+ classes");
  const size_t d = static_cast<size_t>(dim), n = train_y.size();
  if (n == 0 || train_x.size() != n * d) throw std::invalid_argument("svm_probe: train_x is not rows x dim");
  if (test_x.size() % d) throw std::invalid_argument("svm_probe: test_x is not whole rows of dim");
  if (o.costs.empty()) throw std::invalid_argument("svm_probe: no C values to try");
  for (int y : train_y)
    if (y < 0 || y >= classes) throw std::invalid_argument("svm_probe: label out of range");
  if (o.folds < 1) throw std::invalid_argument("svm_probe: folds must be at least 1");
  // The part of the training rows each row is held out in (-1: never held out), per class from the seed.
  std::vector<std::vector<size_t>> by_class(static_cast<size_t>(classes));
  for (size_t i = 0; i < n; ++i) by_class[static_cast<size_t>(train_y[i])].push_back(i);
  std::mt19937_64 rng(o.seed);
  std::vector<int> part(n, -1);
  size_t dealt = 0;  // dealt round-robin across classes, so the parts stay balanced in size
  for (auto& rows : by_class) {
    std::shuffle(rows.begin(), rows.end(), rng);
    if (o.folds == 1) {
      size_t held = rows.size() < 2
                        ? 0
                        : static_cast<size_t>(std::lround(o.holdout * static_cast<double>(rows.size())));
      held = std::min(held, rows.size() - 1);
      for (size_t j = 0; j < held; ++j) part[rows[j]] = 0;
    } else {
      for (size_t r : rows) part[r] = static_cast<int>(dealt++ % static_cast<size_t>(o.folds));
    }
  }
  double best = o.costs.front();
  if (o.costs.size() > 1) {
    std::vector<double> costs = o.costs;
    std::sort(costs.begin(), costs.end());
    // The rows each part trains on and is scored on, built once for every C.
    std::vector<std::vector<size_t>> fit_rows(static_cast<size_t>(o.folds)), held_rows(fit_rows.size());
    std::vector<std::vector<int>> held_y(fit_rows.size());
    for (size_t i = 0; i < n; ++i)
      for (int f = 0; f < o.folds; ++f) {
        if (part[i] == f) {
          held_rows[static_cast<size_t>(f)].push_back(i);
          held_y[static_cast<size_t>(f)].push_back(train_y[i]);
        } else {
          fit_rows[static_cast<size_t>(f)].push_back(i);
        }
      }
    double best_correct = -1;
    for (double c : costs) {
      double correct = 0;
      for (size_t f = 0; f < fit_rows.size(); ++f) {
        if (held_rows[f].empty() || fit_rows[f].empty()) continue;
        const auto m = fit(train_x, train_y, dim, fit_rows[f], c);
        correct +=
            score_predictions(decide(*m, train_x, dim, held_rows[f], classes), held_y[f], classes).top1 *
            static_cast<double>(held_rows[f].size());
      }
      if (correct > best_correct + 1e-9) {
        best_correct = correct;
        best = c;
      }
    }
  }
  if (chosen_cost) *chosen_cost = best;
  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), size_t{0});
  const auto m = fit(train_x, train_y, dim, all, best);
  std::vector<size_t> test_rows(test_x.size() / d);
  std::iota(test_rows.begin(), test_rows.end(), size_t{0});
  return decide(*m, test_x, dim, test_rows, classes);
}

ProbeScores score_predictions(const std::vector<float>& scores, const std::vector<int>& labels, int classes) {
  ProbeScores s;
  const auto k = static_cast<size_t>(classes);
  s.confusion.assign(k, std::vector<int>(k, 0));
  if (labels.empty()) return s;
  size_t top1 = 0, top5 = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const float* row = &scores[i * k];
    const auto truth = static_cast<size_t>(labels[i]);
    size_t above = 0, best = 0;
    for (size_t c = 0; c < k; ++c) {
      if (row[c] > row[truth] || (row[c] == row[truth] && c < truth)) ++above;
      if (row[c] > row[best]) best = c;
    }
    top1 += above == 0;
    top5 += above < 5;
    ++s.confusion[truth][best];
  }
  s.top1 = 100.0 * static_cast<double>(top1) / static_cast<double>(labels.size());
  s.top5 = 100.0 * static_cast<double>(top5) / static_cast<double>(labels.size());
  return s;
}

}  // namespace vatt::nodes
