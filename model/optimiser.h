// Pretraining optimiser: Adam(0.9, 0.999, eps 1e-7), no weight decay, learning rate driven by
// model/schedule.h each step. Model-internal header: includes LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "model/config.h"

namespace vatt::model {

/// Adam over the parameters that require grad (a frozen word embedding is left out), with betas, eps and
/// weight decay from `optim` and the learning rate of step 0.
std::unique_ptr<torch::optim::Adam> make_adam(const std::vector<torch::Tensor>& params,
                                              const OptimConfig& optim);

/// Sets the learning rate of every parameter group of an Adam optimiser.
void set_learning_rate(torch::optim::Adam& adam, double lr);

/// One Adam step of `adam` through LibTorch's fused multi-tensor kernel (aten::_fused_adam_, CPU and CUDA):
/// the same update as torch::optim::Adam::step (L2 weight decay, bias correction, no amsgrad) in one pass per
/// tensor, without the temporaries the unfused step allocates (VATT-BBS, 2-core CPU: about 0.29 s -> 0.12 s).
/// The moments and step counts live in `adam`'s own AdamParamState, so checkpoints (Adam::save/load) are
/// unchanged. Parameters whose gradient is undefined are skipped, as in Adam::step. Falls back to
/// adam.step() for amsgrad or non-fp32/non-contiguous/mixed-device parameters.
void fused_adam_step(torch::optim::Adam& adam);

/// Sets lr_at(optim, step) on `adam` and returns it: call once before each optimiser step.
double apply_schedule(torch::optim::Adam& adam, const OptimConfig& optim, int64_t step);

}  // namespace vatt::model
