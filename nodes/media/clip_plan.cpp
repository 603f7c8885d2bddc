#include "nodes/media/clip_plan.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "nodes/media/decoder.h"
#include "nodes/media/ids.h"

namespace vatt::nodes {

ClipPlan::ClipPlan(const DecodeOptions& opt, const std::string& uri)
    : fps_(opt.fps),
      rate_(opt.sample_rate),
      frames_(std::lround(opt.clip_seconds * opt.fps)),
      samples_(std::lround(opt.clip_seconds * static_cast<double>(opt.sample_rate))),
      stride_(opt.stride_seconds > 0 ? std::lround(opt.stride_seconds * opt.fps) : frames_),
      max_clips_(opt.max_clips),
      clips_per_source_(opt.clips_per_source),
      planned_(opt.sampling != "all"),
      random_(opt.sampling == "random"),
      pad_short_(opt.pad_short),
      seed_(opt.seed ^ fnv1a64(uri)) {
  if (opt.range_start_us > 0) range_a_ = std::llround(static_cast<double>(opt.range_start_us) * fps_ / 1e6);
  if (opt.range_end_us > 0)
    range_b_ =
        std::max(range_a_,
                 static_cast<int64_t>(std::floor(static_cast<double>(opt.range_end_us) * fps_ / 1e6 + 1e-6)));
}

void ClipPlan::set_duration_ns(int64_t duration_ns) {
  starts_.clear();
  int64_t F = static_cast<int64_t>(std::floor(static_cast<double>(duration_ns) * fps_ / 1e9 + 1e-6));
  if (range_b_ >= 0) F = std::min(F, range_b_);
  const int64_t A = range_a_, T = frames_, K = clips_per_source_;
  if (F - A < T) {  // shorter than one clip: no clip, or one to pad (a range's clip may run past its end)
    if (pad_short_ || (range_b_ >= 0 && A < F)) starts_.push_back(A);
    return;
  }
  if (!random_) {
    for (int64_t j = 0; j < K; ++j)
      starts_.push_back(A + (K == 1 ? (F - A - T) / 2 : (F - A - T) * j / (K - 1)));
  } else {
    std::mt19937_64 rng(seed_);
    std::uniform_int_distribution<int64_t> d(A, F - T);
    for (int64_t j = 0; j < K; ++j) starts_.push_back(d(rng));
  }
  std::sort(starts_.begin(), starts_.end());
  if (max_clips_ && static_cast<int64_t>(starts_.size()) > max_clips_)
    starts_.resize(static_cast<size_t>(max_clips_));
}

int64_t ClipPlan::start_of(uint64_t k) const {
  if (planned_) return k < starts_.size() ? starts_[k] : -1;
  if (max_clips_ && k >= static_cast<uint64_t>(max_clips_)) return -1;
  const int64_t n = range_a_ + static_cast<int64_t>(k) * stride_;
  // A range: clips that end by its end (its first clip in any case: a segment shorter than a clip).
  if (range_b_ >= 0 && k > 0 && n + frames_ > range_b_) return -1;
  return n;
}

int64_t ClipPlan::sample_of(int64_t frame) const {
  return static_cast<int64_t>(std::llround(static_cast<double>(frame) * static_cast<double>(rate_) / fps_));
}

}  // namespace vatt::nodes
