#include "nodes/media/transcript.h"

#include "nodes/media/asr.h"
#include "nodes/media/decoder.h"
#include "nodes/media/subtitles.h"

namespace vatt::nodes {

std::vector<TextSegment> Transcript::clip_text(int64_t start_us, int64_t end_us, int candidates) const {
  if (!segments.empty()) return align_text(segments, start_us, end_us, candidates);
  std::vector<TextSegment> out;
  for (size_t i = 0; i < captions.size() && static_cast<int>(i) < candidates; ++i)
    out.push_back({start_us, end_us, captions[i]});
  return out;
}

Transcript choose_transcript(const MediaSource& s, const SourceAnnotations& ann, const TranscriptOptions& opt,
                             const std::atomic<bool>* stop) {
  Transcript t;
  t.captions = ann.captions;
  bool own = false;  // a subtitle file or timed captions exist (even a malformed file)
  if (opt.subtitles && s.is_file()) {
    const std::string subs = find_subtitles(s.path);
    if (!subs.empty()) {
      own = true;
      try {
        t.segments = load_subtitles(subs);
      } catch (const SubtitleError& e) {
        t.subtitle_error = SourceError{"bad_subtitles", e.what()};
      }
    }
  }
  if (t.segments.empty() && !ann.segments.empty()) {
    own = true;
    t.segments = ann.segments;
  }
  if (s.is_file() && (opt.asr == "force" || (opt.asr == "auto" && !own))) {
    try {
      AsrOptions ao;
      ao.timeout_seconds = opt.timeout_seconds;
      ao.require_video = opt.require_video;
      const AsrResult r = recognise_speech(s.open_uri(), ao, stop);
      t.asr_audio_seconds = r.audio_seconds;
      t.asr_wall_seconds = r.wall_seconds;
      if (!r.words.empty()) t.segments = words_to_segments(r.words, ao.pause_seconds, ao.max_segment_seconds);
    } catch (const DecodeError& e) {
      t.asr_error = SourceError{"asr_error", s.name() + ": " + e.what()};
    }
  }
  return t;
}

}  // namespace vatt::nodes
