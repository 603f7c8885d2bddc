// The Clip payload: one window of a source with its decoded frames and audio in exact sync, its aligned text
// and labels. What `video_source` emits and every clip-consuming node (store, augment, tokenise) reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vatt::nodes {

/// A timed piece of text (a subtitle cue, an ASR segment or a caption), times in microseconds from the start
/// of the source.
struct TextSegment {
  int64_t start_us = 0;
  int64_t end_us = 0;
  std::string text;
  bool operator==(const TextSegment& o) const {
    return start_us == o.start_us && end_us == o.end_us && text == o.text;
  }
};

/// One clip. Message key: (source_id, clip_index). Buffers are shared and immutable: nodes that derive a clip
/// share them instead of copying.
struct Clip {
  uint64_t source_id = 0;  ///< stable hash of the source URI (the same source gets the same id every run)
  uint64_t clip_index = 0;
  int64_t start_us = 0;  ///< window [start_us, end_us) on the source's time line
  int64_t end_us = 0;
  /// Live sources: wall-clock time (microseconds since the Unix epoch) at which the window began; 0 for files.
  int64_t wall_start_us = 0;
  std::string uri;             ///< the source, as a URI (file:///abs/path for files)
  std::string fingerprint;     ///< content fingerprint of the source (16 hex digits)
  std::string options_digest;  ///< digest of the decode options that cut this clip (16 hex digits)

  double fps = 0;                                      ///< frame rate of `frames`
  int frames_t = 0, height = 0, width = 0;             ///< shape of `frames`; all 0 for audio-only sources
  std::shared_ptr<const std::vector<uint8_t>> frames;  ///< [T, H, W, 3] uint8 RGB, rows packed (no padding)
  int sample_rate = 0;
  std::shared_ptr<const std::vector<float>> audio;  ///< [S] float mono in [-1, 1]; S = round(seconds * rate)
  bool has_video = false;
  bool has_audio = false;  ///< false: `audio` is silence (a video without an audio stream)

  /// MIL-NCE candidates: [0] the words overlapping the window, then the nearest other segments in
  /// time (at most 4), each with its times. Empty when no text overlaps the window.
  std::vector<TextSegment> text;
  bool has_text() const { return !text.empty(); }
  std::vector<std::string> labels;
  std::string split;  ///< "train", "test", ... when a dataset layout says so
  /// Untimed captions of the whole video (MSR-VTT style), on every clip of it. When the source has no timed
  /// text they are also the clip's `text` (each spanning the clip's window).
  std::vector<std::string> captions;
  /// The source's last clip (its decode finished): the store records that the source is complete, so a
  /// later ingest skips it without decoding.
  bool last = false;
  /// The pass over the data this clip was read in (sources with `epochs` != 1 repeat their data; the message
  /// key carries it so repeated clips stay distinct).
  uint32_t epoch = 0;
  /// Where the clip is in its reader's order over all epochs (epoch x clips + index), for readers that can
  /// start again at any clip (a clip store read back); kNoPosition for clips decoded from media. A training
  /// checkpoint keeps the position after its last clip, and the reader starts there on resume
  /// (kResumePositionService).
  uint64_t position = kNoPosition;
  static constexpr uint64_t kNoPosition = ~0ull;
};

/// The service (pipeline/services.h, a uint64_t) a resumed training run publishes from its open(): the read
/// position its next clip comes from. Readers of clip stores look for it before their first clip.
inline constexpr const char* kResumePositionService = "data/resume_position";

}  // namespace vatt::nodes
