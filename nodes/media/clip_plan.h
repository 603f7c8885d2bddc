// Which windows of a source become clips: the start frame of clip k at the output frame rate, and the sample
// range that goes with it. Pure arithmetic (no GStreamer), shared by the decoder and its tests.
//
// Clip k covers frames [n_k, n_k + T) at `fps` and samples [round(n_k * rate / fps), ... + S) with
// T = round(clip_seconds * fps) and S = round(clip_seconds * rate).
//   sampling all:     n_k = k * stride (open-ended: a live or unknown-length source works too)
//   sampling uniform: K starts evenly spaced over [0, F - T] (F = frames in the source; K = 1: the middle)
//   sampling random:  K starts drawn from [0, F - T], seeded by seed ^ hash(uri), sorted
// max_clips caps all three. A time range (DecodeOptions::range_*) moves [0, F) to the frames [A, B) of the
// range: every stride from A while a clip ends by B, uniform/random starts in [A, B - T]. With pad_short a
// source shorter than one clip (F < T) has the one clip n_0 = 0, which the assembler pads when the streams
// end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vatt::nodes {

struct DecodeOptions;

class ClipPlan {
 public:
  /// Validated options; `uri` seeds sampling random.
  ClipPlan(const DecodeOptions& opt, const std::string& uri);

  /// Sampling uniform/random need the source's length before the first clip: give it here (nanoseconds).
  bool needs_duration() const { return planned_; }
  void set_duration_ns(int64_t duration_ns);

  /// Start frame of clip k, or -1 when there is no clip k.
  int64_t start_of(uint64_t k) const;
  /// First audio sample of a window that starts at `frame`.
  int64_t sample_of(int64_t frame) const;
  int64_t frames_per_clip() const { return frames_; }
  int64_t samples_per_clip() const { return samples_; }
  double fps() const { return fps_; }
  int64_t sample_rate() const { return rate_; }
  bool pad_short() const { return pad_short_; }

 private:
  double fps_;
  int64_t rate_, frames_, samples_, stride_;
  int64_t max_clips_, clips_per_source_;
  bool planned_, random_, pad_short_;
  int64_t range_a_ = 0, range_b_ = -1;  // frames of the time range; range_b_ -1 = to the end
  uint64_t seed_;
  std::vector<int64_t> starts_;  // sampling uniform/random, after set_duration_ns
};

}  // namespace vatt::nodes
