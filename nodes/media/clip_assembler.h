// Frames and audio samples in, clips out: the part of decoding that holds the sync invariant, without
// GStreamer (the decoder's pull loop feeds it; the tests feed it directly).
//
// Invariant: clip k holds exactly the frames [n_k, n_k + T) and the samples [sample_of(n_k), ... + S) of its
// ClipPlan, whatever arrives. Frames are placed by index (a skipped index repeats the previous frame; frames
// before the next pending clip are dropped); audio is placed by position (a gap is filled with silence, an
// overlap is dropped, jitter of one sample is ignored), so a clip's sample count is exact whatever the source
// rate, encoder priming or timestamp gaps. Memory: only what a pending clip still needs is kept. With the
// plan's pad_short, a source that ends before its first clip is full still gives that clip: the last frame
// repeated to T frames, silence after the audio.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "nodes/media/clip.h"
#include "nodes/media/clip_plan.h"

namespace vatt::nodes {

class ClipAssembler {
 public:
  /// Clips before `first_clip` are not emitted (resume): what they alone cover is dropped as it arrives.
  ClipAssembler(const ClipPlan& plan, bool has_video, bool has_audio, uint64_t first_clip = 0);

  /// Every frame is packed RGB of this size (set before the first frame).
  void set_frame_size(int width, int height);
  /// A frame at output index `index` (its timestamp x fps); one below next_frame() is a duplicate, dropped.
  void add_frame(int64_t index, const uint8_t* rgb);
  /// `n` samples starting at sample `position` (-1: right after the previous ones).
  void add_audio(int64_t position, const float* samples, int64_t n);
  void end_video() { video_ended_ = true; }
  void end_audio() { audio_ended_ = true; }

  /// Hands every clip whose window is complete to `sink`, in order (clip_index, times, frames, audio, flags
  /// set). Returns false when no clip can come any more (the plan is done, a stream ended, or `sink` returned
  /// false).
  bool emit_ready(const std::function<bool(Clip&&)>& sink);

  /// Nothing more can come: the plan holds no clip from here (resume past the end), or both streams ended.
  bool plan_done() const { return plan_.start_of(next_) < 0; }
  int64_t next_frame() const { return fnext_; }
  int64_t next_sample() const { return anext_; }
  double video_seconds() const { return static_cast<double>(fnext_) / plan_.fps(); }
  double audio_seconds() const {
    return static_cast<double>(anext_) / static_cast<double>(plan_.sample_rate());
  }
  uint64_t clips() const { return emitted_; }
  bool has_video() const { return has_video_; }
  bool has_audio() const { return has_audio_; }

 private:
  int64_t frames_base() const { return fnext_ - static_cast<int64_t>(frames_.size()); }

  const ClipPlan& plan_;
  bool has_video_, has_audio_;
  bool video_ended_, audio_ended_;
  uint64_t next_;  // the next clip to emit
  uint64_t emitted_ = 0;
  int width_ = 0, height_ = 0;
  std::deque<std::vector<uint8_t>> frames_;  // the contiguous indices [fnext_ - size, fnext_)
  int64_t fnext_ = 0;
  std::vector<float> audio_;  // samples [abase_, anext_)
  int64_t abase_ = 0, anext_ = 0;
};

}  // namespace vatt::nodes
