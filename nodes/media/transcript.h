// Which text a source's clips get, in order of trust: a subtitle file beside it (.srt/.vtt, same stem), else
// its dataset's timed captions, else speech recognised from its audio (local files; `asr`: auto = when
// neither exists, force = always, off = never); untimed captions (MSR-VTT style) stand for every clip when
// there is no timed text. Then each clip's MIL-NCE candidates from that text.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "nodes/media/clip.h"
#include "nodes/media/datasets.h"
#include "nodes/media/source_list.h"

namespace vatt::nodes {

struct TranscriptOptions {
  bool subtitles = true;     ///< look for a subtitle file beside each local file
  std::string asr = "auto";  ///< auto | force | off
  double timeout_seconds = 30;
  bool require_video = true;  ///< the recogniser stops early on a source without video
  int candidates = 5;         ///< texts per clip: its own words plus the nearest segments
};

struct Transcript {
  std::vector<TextSegment> segments;  ///< timed text of the whole source (may be empty)
  std::vector<std::string> captions;  ///< untimed captions of the whole source
  /// A subtitle file that exists but cannot be read ("bad_subtitles"): the source is still ingested.
  std::optional<SourceError> subtitle_error;
  /// Speech recognition failed ("asr_error"): reported only if the source itself decodes (otherwise its
  /// decode error says it all).
  std::optional<SourceError> asr_error;
  double asr_audio_seconds = 0, asr_wall_seconds = 0;  ///< when recognition ran

  /// The candidates of the clip [start_us, end_us): its own words first, then the nearest other segments
  /// (align_text); without timed text, the untimed captions, each spanning the clip.
  std::vector<TextSegment> clip_text(int64_t start_us, int64_t end_us, int candidates) const;
};

/// Chooses `s`'s transcript (annotations from its dataset, `ann`). Recognition stops early when `stop` is
/// raised.
Transcript choose_transcript(const MediaSource& s, const SourceAnnotations& ann, const TranscriptOptions& opt,
                             const std::atomic<bool>* stop);

}  // namespace vatt::nodes
