#include "model/linear_probe.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "model/device.h"

namespace vatt::model {

std::vector<float> low_rank_probe(const std::vector<float>& train_x, const std::vector<int>& train_y,
                                  const std::vector<float>& test_x, int dim, int classes,
                                  const LowRankOptions& o) {
  if (dim <= 0 || classes < 2) throw std::invalid_argument("low_rank_probe: needs dim > 0 and 2+ classes");
  const auto n_train = static_cast<int64_t>(train_y.size());
  if (n_train == 0 || train_x.size() != static_cast<size_t>(n_train) * static_cast<size_t>(dim))
    throw std::invalid_argument("low_rank_probe: train_x holds " + std::to_string(train_x.size()) +
                                " floats for " + std::to_string(n_train) + " rows of " + std::to_string(dim));
  if (test_x.size() % static_cast<size_t>(dim) != 0)
    throw std::invalid_argument("low_rank_probe: test_x is not whole rows of " + std::to_string(dim));
  for (int y : train_y)
    if (y < 0 || y >= classes)
      throw std::invalid_argument("low_rank_probe: label " + std::to_string(y) + " outside [0, " +
                                  std::to_string(classes) + ")");
  if (o.components < 1 || o.keep <= 0 || o.keep > 1 || o.batch < 1 || o.epochs < 1)
    throw std::invalid_argument("low_rank_probe: components, batch and epochs must be >= 1, keep in (0, 1]");
  select_device("cpu", o.threads);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  const auto x = torch::from_blob(const_cast<float*>(train_x.data()), {n_train, dim}, f32).clone();
  const auto y = torch::tensor(std::vector<int64_t>(train_y.begin(), train_y.end()), torch::kInt64);
  const int64_t n = o.components;
  auto u = (torch::randn({dim, n}, gen, f32) / std::sqrt(static_cast<double>(dim))).requires_grad_();
  auto v = (torch::randn({n, classes}, gen, f32) / std::sqrt(static_cast<double>(n))).requires_grad_();
  auto b = torch::zeros({classes}, f32).requires_grad_();
  torch::optim::Adam adam({u, v, b}, torch::optim::AdamOptions(o.lr));
  const int64_t keep = std::max<int64_t>(1, std::llround(o.keep * static_cast<double>(n)));
  const double scale = static_cast<double>(n) / static_cast<double>(keep);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const auto order = torch::randperm(n_train, gen, torch::TensorOptions().dtype(torch::kInt64));
    for (int64_t at = 0; at < n_train; at += o.batch) {
      const auto idx = order.slice(0, at, std::min(n_train, at + o.batch));
      // `keep` of the n components, drawn without replacement.
      const auto chosen =
          torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64)).slice(0, 0, keep);
      auto mask = torch::zeros({n}, f32);
      mask.index_fill_(0, chosen, static_cast<float>(scale));
      const auto logits = (x.index_select(0, idx).mm(u) * mask).mm(v) + b;
      const auto loss = torch::nn::functional::cross_entropy(logits, y.index_select(0, idx));
      adam.zero_grad();
      loss.backward();
      adam.step();
    }
  }
  const int64_t n_test = static_cast<int64_t>(test_x.size()) / dim;
  std::vector<float> out(static_cast<size_t>(n_test) * static_cast<size_t>(classes));
  if (n_test == 0) return out;
  torch::NoGradGuard no_grad;
  const auto xt = torch::from_blob(const_cast<float*>(test_x.data()), {n_test, dim}, f32);
  const auto logits = (xt.mm(u).mm(v) + b).contiguous();
  std::copy(logits.data_ptr<float>(), logits.data_ptr<float>() + out.size(), out.begin());
  return out;
}

}  // namespace vatt::model
