#include "nodes/media/clip_assembler.h"

#include <algorithm>
#include <cmath>

namespace vatt::nodes {

ClipAssembler::ClipAssembler(const ClipPlan& plan, bool has_video, bool has_audio, uint64_t first_clip)
    : plan_(plan),
      has_video_(has_video),
      has_audio_(has_audio),
      video_ended_(!has_video),
      audio_ended_(!has_audio),
      next_(first_clip) {
  const int64_t from = std::max<int64_t>(plan.start_of(first_clip), 0);
  fnext_ = from;
  abase_ = anext_ = plan.sample_of(from);
}

void ClipAssembler::set_frame_size(int width, int height) {
  width_ = width;
  height_ = height;
}

void ClipAssembler::add_frame(int64_t index, const uint8_t* rgb) {
  if (index < fnext_) return;
  const int64_t need = plan_.start_of(next_);
  const size_t bytes = static_cast<size_t>(width_) * height_ * 3;
  for (; fnext_ <= index; ++fnext_) {
    if (need < 0 || fnext_ < need) continue;
    // A missing index repeats the latest frame (videorate leaves none; odd timestamps could).
    if (fnext_ == index || frames_.empty())
      frames_.emplace_back(rgb, rgb + bytes);
    else
      frames_.push_back(frames_.back());
  }
}

void ClipAssembler::add_audio(int64_t position, const float* s, int64_t n) {
  if (position >= 0) {
    if (position > anext_ + 1) {
      audio_.insert(audio_.end(), static_cast<size_t>(position - anext_), 0.0f);
      anext_ = position;
    } else if (position < anext_ - 1) {
      const int64_t skip = std::min(n, anext_ - position);
      s += skip;
      n -= skip;
    }
  }
  audio_.insert(audio_.end(), s, s + n);
  anext_ += n;
  // Drop what no pending clip needs, in large steps (the erase moves the rest).
  const int64_t need = plan_.start_of(next_);
  const int64_t keep_from = need < 0 ? anext_ : plan_.sample_of(need);
  if (keep_from - abase_ > plan_.sample_rate() / 2) {
    const int64_t drop = std::min<int64_t>(keep_from - abase_, static_cast<int64_t>(audio_.size()));
    audio_.erase(audio_.begin(), audio_.begin() + drop);
    abase_ += drop;
  }
}

bool ClipAssembler::emit_ready(const std::function<bool(Clip&&)>& sink) {
  const int64_t T = plan_.frames_per_clip(), S = plan_.samples_per_clip();
  const double fps = plan_.fps();
  for (;;) {
    const int64_t n0 = plan_.start_of(next_);
    if (n0 < 0) return false;
    const int64_t s0 = plan_.sample_of(n0);
    // pad_short: the first clip of a source that ended before it filled is padded (last frame repeated,
    // silence after the audio); at least one frame (with video) or one sample must have come.
    const bool pad = plan_.pad_short() && next_ == 0 && emitted_ == 0;
    if (has_video_) {
      if (fnext_ < n0 + T) {
        if (!video_ended_) return true;
        if (!pad || frames_.empty()) return false;
        if (has_audio_ && !audio_ended_ && anext_ < s0 + S) return true;  // the audio may still come
        while (fnext_ < n0 + T) {
          frames_.push_back(frames_.back());
          ++fnext_;
        }
      }
      if (has_audio_ && anext_ < s0 + S && !audio_ended_) return true;
    } else if (anext_ < s0 + S) {
      if (!audio_ended_) return true;
      if (!pad || anext_ <= s0) return false;
    }
    Clip c;
    c.clip_index = next_;
    c.start_us = std::llround(static_cast<double>(n0) * 1e6 / fps);
    c.end_us = std::llround(static_cast<double>(n0 + T) * 1e6 / fps);
    c.fps = fps;
    c.sample_rate = static_cast<int>(plan_.sample_rate());
    c.has_video = has_video_;
    c.has_audio = has_audio_;
    if (has_video_) {
      auto buf = std::make_shared<std::vector<uint8_t>>();
      buf->reserve(static_cast<size_t>(T) * width_ * height_ * 3);
      for (int64_t i = n0; i < n0 + T; ++i) {
        const auto& f = frames_.at(static_cast<size_t>(i - frames_base()));
        buf->insert(buf->end(), f.begin(), f.end());
      }
      c.frames = std::move(buf);
      c.frames_t = static_cast<int>(T);
      c.height = height_;
      c.width = width_;
    }
    auto au = std::make_shared<std::vector<float>>(static_cast<size_t>(S), 0.0f);
    for (int64_t i = std::max(s0, abase_); i < std::min(s0 + S, anext_); ++i)
      (*au)[static_cast<size_t>(i - s0)] = audio_[static_cast<size_t>(i - abase_)];
    c.audio = std::move(au);
    ++next_;
    ++emitted_;
    if (!sink(std::move(c))) return false;
    const int64_t need = plan_.start_of(next_);
    while (!frames_.empty() && (need < 0 || frames_base() < need)) frames_.pop_front();
  }
}

}  // namespace vatt::nodes
