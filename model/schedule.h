// Pretraining learning-rate schedule: linear warm-up to the peak, then a cosine down to the end rate at the
// last step, over half a period (the released code) or a quarter (the paper's text). No LibTorch types; the
// optimiser side is model/optimiser.h.
#pragma once

#include <cstdint>
#include <string>

#include "model/config.h"

namespace vatt::model {

/// Learning rate at `step` (0-based), with p = (step - warmup) / (total - warmup):
///   step <  warmup:        peak * step / warmup
///   step >= warmup, code:  end + (peak - end) * (1 + cos(pi * p)) / 2
///   step >= warmup, paper: end + (peak - end) * cos(pi/2 * p)
/// Steps past `total_steps` stay at the end rate; negative steps count as 0.
double lr_at(const OptimConfig& optim, int64_t step);

/// One line that says the curve's shape and its values at a few points, for the start of a run, e.g.
/// "code schedule: 0 -> 1e-4 linearly over 5000 steps, then a half-period cosine to 5e-5 at step 500000
/// (lr at 25/50/75% of the decay: 9.27e-05, 7.5e-05, 5.73e-05)".
std::string describe_schedule(const OptimConfig& optim);

}  // namespace vatt::model
