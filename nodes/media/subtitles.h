// Subtitle files (.srt, .vtt) beside a source, parsed into timed text segments; and the alignment of segments
// to clip windows (the 5 MIL-NCE text candidates).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/media/clip.h"

namespace vatt::nodes {

/// A subtitle file that cannot be used: the message is "FILE:LINE: what was expected".
class SubtitleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses SubRip or WebVTT `content` (`name` stands for the file in messages). Tags (<i>, {\an8}) are
/// removed, the lines of a cue are joined with spaces, empty cues are skipped. Throws SubtitleError on
/// non-UTF-8 bytes, a malformed time line, an end before its start, or a .vtt without its WEBVTT header.
std::vector<TextSegment> parse_subtitles(std::string_view content, const std::string& name);

/// Reads and parses the file at `path` (format from its extension). Throws SubtitleError.
std::vector<TextSegment> load_subtitles(const std::string& path);

/// The subtitle file beside `media_path` with the same stem (.srt first, then .vtt); "" if none.
std::string find_subtitles(const std::string& media_path);

/// Distance in time between a segment and the window [start_us, end_us): 0 when they overlap.
int64_t gap_us(const TextSegment& s, int64_t start_us, int64_t end_us);

/// Indices of `segments` ordered nearest to the window first (gap_us, ties by start), leaving out those for
/// which `skip(i)` is true.
std::vector<size_t> nearest_first(const std::vector<TextSegment>& segments, int64_t start_us, int64_t end_us,
                                  const std::function<bool(size_t)>& skip = {});

/// Text candidates of the window [start_us, end_us): element 0 holds the words that overlap the window (each
/// segment's words are spread evenly over its time span, so a long cue contributes only its overlapping
/// part), with the times of those words; then up to `candidates - 1` other segments, nearest in time first
/// (gap to the window, ties by start). Empty when no word overlaps the window.
std::vector<TextSegment> align_text(const std::vector<TextSegment>& segments, int64_t start_us,
                                    int64_t end_us, int candidates = 5);

}  // namespace vatt::nodes
