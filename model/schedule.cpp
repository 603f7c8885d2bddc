// Warm-up + quarter-cosine schedule, kept free of LibTorch so that loggers and the CLI can print it.
#include "model/schedule.h"

#include <algorithm>
#include <cmath>

namespace vatt::model {

double lr_at(const OptimConfig& o, int64_t step) {
  step = std::max<int64_t>(step, 0);
  if (step < o.warmup_steps)
    return o.peak_lr * static_cast<double>(step) / static_cast<double>(o.warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(o.total_steps - o.warmup_steps, 1));
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / span);
  return o.end_lr + (o.peak_lr - o.end_lr) * std::cos(M_PI / 2 * progress);
}

}  // namespace vatt::model
