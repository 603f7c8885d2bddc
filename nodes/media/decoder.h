// Decoding one source with GStreamer into clips whose video and audio are in exact sync (the work behind the
// `video_source` node, usable on its own in tests and tools).
//
//   uridecodebin --video--> videorate -> videoscale -> videoconvert -> RGB @ fps, short side S -> appsink
//                --audio--> audioconvert -> audioresample -> F32 mono @ rate                  -> appsink
//                --other--> fakesink
//
// Branches are linked in `pad-added`, so a source without audio has no audio sink (a sink that never gets
// data would never preroll). Which windows become clips is a ClipPlan (clip_plan.h); the frames and samples
// are cut into clips in exact sync by a ClipAssembler (clip_assembler.h), audio placed by its timestamps.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "nodes/media/clip.h"

namespace vatt::nodes {

struct DecodeOptions {
  double fps = 10;               ///< output frame rate (videorate)
  int short_side = 256;          ///< output short side in pixels, aspect kept, even sizes; 0 = source size
  int sample_rate = 48000;       ///< output audio rate, mono float
  double clip_seconds = 3.2;     ///< clip length
  double stride_seconds = 0;     ///< distance between clip starts in mode "all"; 0 = clip_seconds
  int max_clips = 0;             ///< most clips per source; 0 = all
  std::string sampling = "all";  ///< "all" (every stride), "uniform" (K evenly spaced), "random" (K random)
  int clips_per_source = 4;      ///< K for "uniform" and "random"
  uint64_t seed = 0;             ///< for "random" (mixed with the source URI, so each source differs)
  double timeout_seconds = 30;   ///< no decoded data for this long = a hung decoder: the source fails
  int64_t max_pixels = 7680LL * 4320;  ///< larger source frames are rejected (memory)
  bool require_video = true;           ///< false: audio-only sources give audio-only clips
  int video_buffers = 4;               ///< appsink bound on decoded frames waiting (memory)
  /// A source shorter than one clip gives one clip, padded (its last frame repeated, silence after its
  /// audio), instead of a too_short error: evaluations count every labelled file (a 0.6 s sound effect, a
  /// 5 s ESC-50 file against a 6.4 s input).
  bool pad_short = false;
  /// Only the window [range_start_us, range_end_us) of the source gives clips (an annotated segment of a
  /// YouCook2 video); range_end_us 0 = to the end. Clip starts keep the source's time line.
  int64_t range_start_us = 0, range_end_us = 0;
  /// Resume: clips before this index are not emitted; the source is decoded from its start and what comes
  /// before is dropped (seeking there was tried and removed: a flushing accurate seek right after preroll
  /// stalled intermittently). Not part of digest(): it changes what is emitted, not which clips a source has.
  uint64_t first_clip = 0;
  /// A live source (a camera, a stream): appsinks drop their oldest buffers instead of holding the source
  /// back, rtspsrc drops late packets, timestamps count from the first buffer, and the pipeline is always
  /// torn down off the caller's thread (setting it to NULL can block on the TEARDOWN of a server that is
  /// gone). Not part of digest(): it changes how a source is read, not its clips.
  bool live = false;

  /// Checks ranges; throws std::invalid_argument naming the option.
  void validate() const;
  /// 16 hex digits identifying every option that changes which clips come out, or their content.
  std::string digest() const;
};

/// A source that cannot be decoded. `kind` is short and counted ("decode_error", "timeout", "too_short",
/// "no_video", "no_stream", "unsupported_codec", "huge_resolution", "not_found"); what() names the reason.
class DecodeError : public std::runtime_error {
 public:
  DecodeError(std::string kind, const std::string& reason)
      : std::runtime_error(reason), kind_(std::move(kind)) {}
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
};

struct DecodeStats {
  uint64_t clips = 0;
  uint64_t frames = 0;   ///< frames received from the video appsink
  uint64_t samples = 0;  ///< audio samples received
};

/// What a decode has received so far, readable from other threads while it runs (a live source's status).
struct DecodeProgress {
  std::atomic<uint64_t> frames{0};   ///< video frames received
  std::atomic<uint64_t> samples{0};  ///< audio samples received
};

/// Initialises GStreamer once per process (thread-safe). Throws std::runtime_error if it cannot.
void ensure_gstreamer();

/// Decodes `uri` and calls `sink` with each clip in order (clip_index, times, frames, audio, flags set; the
/// caller fills source_id, uri, text and labels). `sink` may block (back-pressure); it returns false to stop.
/// Stops early, without error, when `stop` becomes true. Throws DecodeError for a source that cannot give
/// clips; an error after some clips were delivered is thrown too (those clips stay delivered).
DecodeStats decode_clips(const std::string& uri, const DecodeOptions& opt,
                         const std::function<bool(Clip&&)>& sink, const std::atomic<bool>* stop = nullptr,
                         DecodeProgress* progress = nullptr);

}  // namespace vatt::nodes
