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

void fused_adam_step(torch::optim::Adam& adam) {
  torch::NoGradGuard no_grad;
  for (auto& group : adam.param_groups()) {
    auto& o = static_cast<torch::optim::AdamOptions&>(group.options());
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    std::vector<torch::optim::AdamParamState*> states;
    bool fusable = !o.amsgrad();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = adam.state()[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto st = std::make_unique<torch::optim::AdamParamState>();
        st->step(0);
        st->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        st->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(st);
      }
      auto* st = static_cast<torch::optim::AdamParamState*>(slot.get());
      fusable = fusable && p.device() == group.params()[0].device() && p.scalar_type() == torch::kFloat &&
                p.grad().scalar_type() == torch::kFloat && p.is_contiguous() && p.grad().is_contiguous();
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(st->exp_avg());
      exp_avg_sqs.push_back(st->exp_avg_sq());
      // The kernel reads the step count after the caller's increment, as torch.optim's fused path does.
      steps.push_back(torch::full({}, static_cast<double>(st->step() + 1),
                                  torch::TensorOptions().dtype(torch::kFloat).device(p.device())));
      states.push_back(st);
    }
    if (params.empty()) continue;
    if (!fusable) {
      adam.step();  // rare configurations: the reference implementation (all groups; steps counted there)
      return;
    }
    at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, o.lr(),
                     std::get<0>(o.betas()), std::get<1>(o.betas()), o.weight_decay(), o.eps(),
                     /*amsgrad=*/false, /*maximize=*/false);
    for (auto* st : states) st->step(st->step() + 1);
  }
}

double apply_schedule(torch::optim::Adam& adam, const OptimConfig& o, int64_t step) {
  const double lr = lr_at(o, step);
  set_learning_rate(adam, lr);
  return lr;
}

}  // namespace vatt::model
