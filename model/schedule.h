// Pretraining learning-rate schedule: linear warm-up to the peak, then a quarter-period cosine down
// to the end rate at the last step. No LibTorch types; the optimiser side is model/optimiser.h.
#pragma once

#include <cstdint>

#include "model/config.h"

namespace vatt::model {

/// Learning rate at `step` (0-based):
///   step <  warmup: peak * step / warmup
///   step >= warmup: end + (peak - end) * cos(pi/2 * (step - warmup) / (total - warmup))
/// Steps past `total_steps` stay at the end rate; negative steps count as 0.
double lr_at(const OptimConfig& optim, int64_t step);

}  // namespace vatt::model
