// Adam construction and per-step learning-rate updates.
#include "model/optimiser.h"

#include "model/schedule.h"

namespace vatt::model {

std::unique_ptr<torch::optim::Adam> make_adam(const std::vector<torch::Tensor>& params,
                                              const OptimConfig& o) {
  std::vector<torch::Tensor> trainable;
  for (const auto& p : params)
    if (p.requires_grad()) trainable.push_back(p);
  auto opts = torch::optim::AdamOptions(lr_at(o, 0))
                  .betas({o.beta1, o.beta2})
                  .eps(o.eps)
                  .weight_decay(o.weight_decay);
  return std::make_unique<torch::optim::Adam>(trainable, opts);
}

void set_learning_rate(torch::optim::Adam& adam, double lr) {
  for (auto& group : adam.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

double apply_schedule(torch::optim::Adam& adam, const OptimConfig& o, int64_t step) {
  const double lr = lr_at(o, step);
  set_learning_rate(adam, lr);
  return lr;
}

}  // namespace vatt::model
