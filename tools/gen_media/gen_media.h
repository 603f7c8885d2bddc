// Helpers shared by vatt-gen-media's two modes: the test media (gen_media.cpp) and the demo corpus
// (corpus.cpp). Defined in gen_media.cpp.
#pragma once

#include <string>
#include <vector>

namespace vatt_gen_media {

/// Prints "vatt-gen-media: WHAT" to stderr and exits with status 1.
[[noreturn]] void fail(const std::string& what);

/// `s` single-quoted for /bin/sh.
std::string quote(const std::string& s);

/// Runs `cmd` with /bin/sh; fails (naming the command) when it exits non-zero.
void sh(const std::string& cmd);

/// Mono samples in [-1, 1] at `rate`.
struct Pcm {
  int rate = 0;
  std::vector<float> s;
};

/// Reads a 16-bit PCM WAV (what espeak-ng writes), mixing channels down to mono.
Pcm read_wav(const std::string& path);

/// Linear-interpolation resampling; good enough for speech mixed into test media.
std::vector<float> resample(const Pcm& in, int rate);

/// Writes `mono` (clipped to [-1, 1]) as 16-bit PCM, the same samples on each of `channels`.
void write_wav(const std::string& path, const std::vector<float>& mono, int rate, int channels);

/// "HH:MM:SS<frac_sep>mmm" (',' for SubRip, '.' for WebVTT).
std::string srt_time(double t, char frac_sep);

/// `vatt-gen-media --corpus OUTDIR ...` (corpus.cpp); argv[1] is "--corpus". Returns the exit status.
int corpus_main(int argc, char** argv);

}  // namespace vatt_gen_media
