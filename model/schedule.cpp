// Warm-up + cosine schedule, kept free of LibTorch so that loggers and the CLI can print it.
#include "model/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vatt::model {

double lr_at(const OptimConfig& o, int64_t step) {
  step = std::max<int64_t>(step, 0);
  if (step < o.warmup_steps)
    return o.peak_lr * static_cast<double>(step) / static_cast<double>(o.warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(o.total_steps - o.warmup_steps, 1));
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / span);
  if (o.schedule == LrSchedule::kCode)
    return o.end_lr + (o.peak_lr - o.end_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
  return o.end_lr + (o.peak_lr - o.end_lr) * std::cos(M_PI / 2 * progress);
}

std::string describe_schedule(const OptimConfig& o) {
  auto at = [&](double fraction) {
    const auto step =
        o.warmup_steps +
        static_cast<int64_t>(std::llround(fraction * static_cast<double>(o.total_steps - o.warmup_steps)));
    return lr_at(o, step);
  };
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s schedule: 0 -> %.3g linearly over %lld steps, then a %s cosine to %.3g at step %lld "
                "(lr at 25/50/75%% of the decay: %.3g, %.3g, %.3g)",
                o.schedule == LrSchedule::kCode ? "code" : "paper", o.peak_lr,
                static_cast<long long>(o.warmup_steps),
                o.schedule == LrSchedule::kCode ? "half-period" : "quarter-period", o.end_lr,
                static_cast<long long>(o.total_steps), at(0.25), at(0.5), at(0.75));
  return buf;
}

}  // namespace vatt::model
