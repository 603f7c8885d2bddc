// Speech recognition of a source's audio with the `pocketsphinx` GStreamer element (CMU Sphinx, US English
// model), into timed words and then timed text segments that align_text() turns into per-clip text.
//
//   uridecodebin --audio--> audioconvert -> audioresample -> S16LE 16 kHz mono -> pocketsphinx -> fakesink
//                --video--> (not decoded: the demuxed stream goes to a fakesink)
//
// The element posts a final hypothesis per utterance without a timestamp; the word times come from its
// `decoder` property (ps_decoder_t*, segment iterator, 100 frames/s) read in a synchronous bus handler, on
// the streaming thread, before the next utterance starts. Fillers (<s>, </s>, <sil>, [NOISE], ++...++) are
// dropped and alternative-pronunciation suffixes ("word(2)") removed.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "nodes/media/clip.h"

namespace vatt::nodes {

struct AsrOptions {
  /// No audio reaching the recogniser for this long = hung: DecodeError "timeout".
  double timeout_seconds = 30;
  bool require_video = false;  ///< stop early (no words, no error) when the source has no video stream
  double pause_seconds = 0.3;  ///< a silence this long between words starts a new segment
  /// A segment longer than this is split (align_text spreads words evenly).
  double max_segment_seconds = 3.0;
};

/// One recognised word, times in microseconds on the source's time line.
struct AsrWord {
  int64_t start_us = 0, end_us = 0;
  std::string word;
};

struct AsrResult {
  std::vector<AsrWord> words;  ///< in time order
  bool has_audio = false;      ///< false: the source has no audio stream (no words, not an error)
  bool has_video = false;
  double audio_seconds = 0;  ///< audio fed to the recogniser
  double wall_seconds = 0;   ///< time the pass took (real-time factor = wall / audio)
};

/// Recognises the speech in `uri`'s first audio stream. Blocks until the audio ends; returns early (with what
/// was recognised so far) when `stop` becomes true. Throws DecodeError (decoder.h) when the source cannot be
/// read, the pocketsphinx element is missing ("asr_unavailable"), or nothing arrives for `timeout_seconds`
/// ("timeout"; the stuck pipeline is torn down on a detached thread).
AsrResult recognise_speech(const std::string& uri, const AsrOptions& opt,
                           const std::atomic<bool>* stop = nullptr);

/// Whether the `pocketsphinx` GStreamer element is installed.
bool asr_available();

/// A recogniser's word as text: "" for fillers and silence (<s>, </s>, <sil>, [NOISE], ++BREATH++), else the
/// word without an alternative-pronunciation suffix ("read(2)" -> "read").
std::string clean_asr_word(const std::string& w);

/// Groups words into segments: a new one starts after a pause of `pause_seconds` or when the current one
/// would exceed `max_segment_seconds`. Each segment spans its first word's start to its last word's end.
std::vector<TextSegment> words_to_segments(const std::vector<AsrWord>& words, double pause_seconds = 0.3,
                                           double max_segment_seconds = 3.0);

}  // namespace vatt::nodes
