// vatt-gen-media --corpus: the pretraining demo's corpus of narrated synthetic videos.
//
// Usage: vatt-gen-media --corpus OUTDIR [--videos N] [--heldout M] [--seed S] [--jobs J]
//
// Writes OUTDIR/train/vNNN.webm + vNNN.srt (N videos, default 72), OUTDIR/heldout/hNNN.webm + hNNN.srt (M
// videos, default 20), OUTDIR/README.txt (the concept table) and two evaluation layouts over the same files:
// OUTDIR/classes/{train,test}/CONCEPT/ (symlinks; held-out = test) and OUTDIR/captions.json (MSR-VTT style). Every video is exactly 9.6 s, three 3.2 s
// clips: 96x72 @ 10 fps videotestsrc frames (VP8, a key frame at each clip start) and 16 kHz mono audio
// (Vorbis). A video shows one of 12 visual concepts for its whole length; its audio is the concept's own
// tone (band-limited sine, square or sawtooth at a frequency of its own, 200 to 3000 Hz) plus three espeak-ng
// phrases naming the concept, one per clip, each starting 0.3 s into its clip and ending before the clip
// ends; the .srt gives each phrase's real start and end (espeak-ng's leading and trailing silence trimmed).
// Train and held-out videos use different sentence templates around the same concept nouns.
//
// Deterministic for a seed (default 1): concepts cycle (each block of 12 videos holds every concept once,
// in an order shuffled by the seed) and each video draws its variation (tone frequency +-3%, tone
// amplitude 0.15-0.35, espeak-ng voice and speed, templates, pattern colours, speeds and motion) from
// (seed, split, index) alone, so a video does not depend on how many others are asked for. Up to J videos
// (default 2) are made at once, one child process each. OUTDIR/.complete, written last, holds the
// parameters; a run whose parameters match it does nothing.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gen_media.h"

namespace vatt_gen_media {
namespace {

namespace fs = std::filesystem;

constexpr int kRate = 16000;    // audio sample rate (mono)
constexpr int kWidth = 96;      // frame size
constexpr int kHeight = 72;     //
constexpr int kFps = 10;        //
constexpr double kClipS = 3.2;  // one clip; a video is kClips of them
constexpr int kClips = 3;
constexpr double kVideoS = kClipS * kClips;
constexpr int kFrames = 96;            // kVideoS * kFps
constexpr double kPhraseDelayS = 0.3;  // a phrase starts this long after its clip starts
constexpr float kSpeechGain = 0.6f;    // as in the test media
constexpr double kToneMaxHz = 3500.0;  // harmonics stay below this (the audio tower resamples to 8 kHz)
constexpr int kFastSpeed = 200;        // espeak-ng words per minute for a phrase too long at its speed
constexpr const char* kFormat = "vatt-gen-media corpus format 4";  // bump when the output changes

enum class Wave { kSine, kSquare, kSaw };
const char* wave_name(Wave w) {
  return w == Wave::kSine ? "sine" : w == Wave::kSquare ? "square" : "sawtooth";
}

/// How a concept's picture varies between videos.
enum class Vary {
  kBall,     // motion (wavy, sweep, hsweep) and a near-white ball on a near-black background
  kScroll,   // horizontal-speed -2..2 pixels per frame
  kSnow,     // horizontal-speed -3..3 (videotestsrc's noise sequence is the same in every process)
  kGrey,     // near-white foreground and near-black background colours
  kShade,    // the concept's colour, each channel moved by up to 0x30
  kRipple,   // zone-plate ring density (kx2 = ky2 in 14..24) and ripple speed (kt, either sign)
  kBar,      // horizontal-speed +-2..5 and a near-white bar
  kStripes,  // zone-plate stripe density (kx 14..26) and scroll speed (kt, either sign)
};

struct Concept {
  const char* phrase;   // English noun phrase: narrated, and written to the subtitles
  const char* pattern;  // videotestsrc properties before the variation
  const char* look;     // what it looks like (README)
  Wave wave;
  Vary vary;
  uint32_t colour;  // ARGB for kShade
};

// Tones: concept i gets 200 * 15^(i/11) Hz (geometric from 200 to 3000 Hz, a ratio of 1.28 between
// neighbours, far more than the +-3% jitter). Above ~1.2 kHz a square or sawtooth would keep no harmonic
// below kToneMaxHz, so those concepts use sines.
const Concept kConcepts[] = {
    {"white ball", "pattern=ball", "white ball moving over black", Wave::kSquare, Vary::kBall, 0},
    {"checkerboard", "pattern=checkers-8", "red and green 8 px checkerboard", Wave::kSaw, Vary::kScroll, 0},
    {"snowstorm", "pattern=snow", "grey television static, new every frame", Wave::kSine, Vary::kSnow, 0},
    {"test card", "pattern=smpte", "SMPTE colour bars", Wave::kSquare, Vary::kScroll, 0},
    {"pinwheel", "pattern=pinwheel", "black and white pinwheel", Wave::kSaw, Vary::kScroll, 0},
    {"gradient", "pattern=gradient", "vertical ramp, dark at the top, light at the bottom", Wave::kSine,
     Vary::kGrey, 0},
    {"red screen", "pattern=solid-color", "solid red", Wave::kSquare, Vary::kShade, 0xffff0000u},
    {"green screen", "pattern=solid-color", "solid green", Wave::kSaw, Vary::kShade, 0xff00ff00u},
    {"blue screen", "pattern=solid-color", "solid blue", Wave::kSine, Vary::kShade, 0xff0000ffu},
    {"ripple", "pattern=zone-plate", "grey concentric rings moving in or out", Wave::kSine, Vary::kRipple, 0},
    {"moving bar", "pattern=bar", "one light vertical bar sliding over black", Wave::kSine, Vary::kBar, 0},
    {"barcode", "pattern=zone-plate", "grey vertical stripes sliding sideways", Wave::kSine, Vary::kStripes,
     0},
};
constexpr int kConceptCount = static_cast<int>(sizeof kConcepts / sizeof kConcepts[0]);

double concept_hz(int c) {
  return 200.0 * std::pow(15.0, c / static_cast<double>(kConceptCount - 1));
}

// {x} is the concept; "a {x}" becomes "an {x}" before a vowel.
const std::vector<std::string> kTrainTemplates = {"here is a {x}", "we can see the {x}", "look at this {x}",
                                                  "the {x} is on screen", "a {x} again"};
const std::vector<std::string> kHeldoutTemplates = {"this video shows a {x}", "now watch the {x}",
                                                    "there is a {x} here", "you are looking at a {x}"};

const char* const kVoices[] = {"en",     "en-us",    "en-gb-scotland", "en-gb-x-rp",
                               "en-029", "en-us+f2", "en+f3",          "en-gb-x-gbclan"};

/// splitmix64: a small generator whose output is the same everywhere (unlike std:: distributions).
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) / 9007199254740992.0;
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
  int range(int lo, int hi) { return lo + below(hi - lo + 1); }  // inclusive
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i)
      std::swap(v[i - 1], v[static_cast<size_t>(below(static_cast<int>(i)))]);
  }
};

Rng rng_for(uint64_t seed, uint64_t split, uint64_t index) {
  Rng r{seed};
  r.s ^= r.next() + split * 0x632be59bd9b4e019ull;
  r.s ^= r.next() + index * 0x85ebca77c2b2ae63ull;
  r.next();
  return r;
}

struct Video {
  std::string split;  // "train" or "heldout"
  std::string name;   // "v007" / "h007"
  int concept = 0;
  std::string voice;
  int speed = 170;
  double hz = 0, amp = 0;
  std::string pattern;  // videotestsrc properties
  std::array<std::string, kClips> texts;
  uint64_t uid_seed = 0;  // for the WebM's track UIDs

  std::string id() const { return split + "/" + name; }
};

std::string hex_colour(uint32_t argb) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", argb);
  return buf;
}

uint32_t grey(int v) {
  const auto c = static_cast<uint32_t>(v);
  return 0xff000000u | c << 16 | c << 8 | c;
}

std::string fill(const std::string& templ, const std::string& x) {
  std::string out = templ;
  const size_t at = out.find("{x}");
  const bool vowel = !x.empty() && std::strchr("aeiou", x[0]) != nullptr;
  out.replace(at, 3, x);
  if (vowel && at >= 2 && out.compare(at - 2, 2, "a ") == 0 && (at == 2 || out[at - 3] == ' '))
    out.insert(at - 1, "n");
  return out;
}

std::string variation(const Concept& c, Rng& r) {
  std::string p = c.pattern;
  const auto sign = [&r] { return r.below(2) ? 1 : -1; };
  switch (c.vary) {
    case Vary::kBall: {
      static const char* const motions[] = {"wavy", "sweep", "hsweep"};
      p += std::string(" motion=") + motions[r.below(3)];
      const uint32_t fg = 0xff000000u | static_cast<uint32_t>(r.range(0xd8, 0xff)) << 16 |
                          static_cast<uint32_t>(r.range(0xd8, 0xff)) << 8 |
                          static_cast<uint32_t>(r.range(0xd8, 0xff));
      p += " foreground-color=" + hex_colour(fg) + " background-color=" + hex_colour(grey(r.range(0, 0x20)));
      break;
    }
    case Vary::kScroll:
      p += " horizontal-speed=" + std::to_string(r.range(-2, 2));
      break;
    case Vary::kSnow:
      p += " horizontal-speed=" + std::to_string(r.range(-3, 3));
      break;
    case Vary::kGrey:
      p += " foreground-color=" + hex_colour(grey(r.range(0xd0, 0xff))) +
           " background-color=" + hex_colour(grey(r.range(0, 0x30)));
      break;
    case Vary::kShade: {
      uint32_t argb = 0xff000000u;
      for (int shift = 0; shift <= 16; shift += 8) {
        const int base = static_cast<int>((c.colour >> shift) & 0xff);
        const int v = base ? base - r.range(0, 0x30) : r.range(0, 0x30);
        argb |= static_cast<uint32_t>(v) << shift;
      }
      p += " foreground-color=" + hex_colour(argb);
      break;
    }
    case Vary::kRipple: {
      const int k2 = r.range(14, 24);
      p += " kx2=" + std::to_string(k2) + " ky2=" + std::to_string(k2) +
           " kt=" + std::to_string(sign() * r.range(10, 40));
      break;
    }
    case Vary::kBar:
      p += " horizontal-speed=" + std::to_string(sign() * r.range(2, 5)) +
           " foreground-color=" + hex_colour(grey(r.range(0xd0, 0xff)));
      break;
    case Vary::kStripes:
      p += " kx=" + std::to_string(r.range(14, 26)) + " kt=" + std::to_string(sign() * r.range(10, 40));
      break;
  }
  return p;
}

/// The videos of one split: each block of kConceptCount videos holds every concept once.
std::vector<Video> plan(const std::string& split, int count, uint64_t seed) {
  const uint64_t tag = split == "train" ? 1 : 2;
  const std::vector<std::string>& templates = split == "train" ? kTrainTemplates : kHeldoutTemplates;
  std::vector<Video> out;
  std::vector<int> order;
  for (int i = 0; i < count; ++i) {
    if (i % kConceptCount == 0) {
      order.clear();
      for (int c = 0; c < kConceptCount; ++c) order.push_back(c);
      Rng block = rng_for(seed, tag, static_cast<uint64_t>(i / kConceptCount));
      block.shuffle(order);
    }
    Rng r = rng_for(seed, tag, 1000000 + static_cast<uint64_t>(i));
    Video v;
    v.split = split;
    char name[32];
    std::snprintf(name, sizeof name, "%c%03d", split == "train" ? 'v' : 'h', i);
    v.name = name;
    v.concept = order[static_cast<size_t>(i % kConceptCount)];
    const Concept& c = kConcepts[v.concept];
    v.voice = kVoices[r.below(static_cast<int>(sizeof kVoices / sizeof kVoices[0]))];
    v.speed = r.range(150, 190);
    v.hz = concept_hz(v.concept) * r.uniform(0.97, 1.03);
    v.amp = r.uniform(0.15, 0.35);
    v.pattern = variation(c, r);
    v.uid_seed = r.next();
    std::vector<std::string> t = templates;
    r.shuffle(t);
    for (int k = 0; k < kClips; ++k)
      v.texts[static_cast<size_t>(k)] = fill(t[static_cast<size_t>(k)], c.phrase);
    out.push_back(std::move(v));
  }
  return out;
}

/// The concept's tone: band-limited (harmonics below kToneMaxHz), peak `amp`, 20 ms fades at both ends.
std::vector<float> concept_tone(double hz, double amp, Wave wave) {
  std::vector<double> s(static_cast<size_t>(std::lround(kVideoS * kRate)), 0.0);
  for (int k = 1; k * hz < kToneMaxHz; ++k) {
    if (wave == Wave::kSine && k > 1) break;
    if (wave == Wave::kSquare && k % 2 == 0) continue;
    const double a = 1.0 / k, w = 2 * M_PI * k * hz / kRate;
    for (size_t i = 0; i < s.size(); ++i) s[i] += a * std::sin(w * static_cast<double>(i));
  }
  double peak = 0;
  for (double v : s) peak = std::max(peak, std::fabs(v));
  const size_t fade = kRate / 50;
  std::vector<float> out(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t edge = std::min(i, s.size() - 1 - i);
    const double g = edge < fade ? static_cast<double>(edge) / fade : 1.0;
    out[i] = static_cast<float>(amp * g * s[i] / peak);
  }
  return out;
}

/// `speech` without its leading and trailing silence.
std::vector<float> trim(const std::vector<float>& speech) {
  const float threshold = 0.01f;
  size_t a = 0, b = speech.size();
  while (a < b && std::fabs(speech[a]) < threshold) ++a;
  while (b > a && std::fabs(speech[b - 1]) < threshold) --b;
  return std::vector<float>(speech.begin() + static_cast<std::ptrdiff_t>(a),
                            speech.begin() + static_cast<std::ptrdiff_t>(b));
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Runs `cmd` for video `v` with its output in `log`; fails naming both (and showing the log) on error.
void run(const Video& v, const std::string& cmd, const fs::path& log) {
  const int rc = std::system((cmd + " >" + quote(log.string()) + " 2>&1").c_str());
  if (rc == 0) return;
  const int status = rc > 0 && WIFEXITED(rc) ? WEXITSTATUS(rc) : rc;
  std::string out = slurp(log);
  if (out.size() > 2000) out = "..." + out.substr(out.size() - 2000);
  fail(v.id() + ": command failed (status " + std::to_string(status) + "): " + cmd +
       (out.empty() ? "" : "\n" + out));
}

/// An EBML variable-length integer at b[p]: sets its length in bytes and its value (without the length
/// marker when `strip`, as for sizes; with it, as for element IDs). False past the end or on a bad first
/// byte.
bool ebml_vint(const std::string& b, size_t p, bool strip, size_t& len, uint64_t& val) {
  if (p >= b.size()) return false;
  const auto first = static_cast<uint8_t>(b[p]);
  len = 1;
  while (len <= 8 && !(first & (0x80u >> (len - 1)))) ++len;
  if (len > 8 || p + len > b.size()) return false;
  val = strip ? first & (0xffu >> len) : first;
  for (size_t i = 1; i < len; ++i) val = val << 8 | static_cast<uint8_t>(b[p + i]);
  return true;
}

/// webmmux draws each track's UID at random: this walks Tracks > TrackEntry > TrackUID and replaces each
/// UID, in place, by one drawn from the video's seed (and any TagTrackUID pointing at it), so that a seed
/// gives the same bytes. (creation-time on webmmux fixes DateUTC, the one other varying field.) webmmux
/// writes a UID in as few bytes as it takes, so about one UID in 256 has fewer than 8, which would shift
/// everything after it: then this changes nothing and returns false, and the caller muxes again.
bool fix_track_uids(const fs::path& webm, const Video& v) {
  std::string b = slurp(webm);
  const auto bad = [&](const char* why) { fail(v.id() + ": " + webm.string() + ": " + why); };
  // EBML header, then the Segment's children up to Tracks (a SeekHead before it holds Tracks' ID as data, so
  // searching the bytes for the ID would not do).
  size_t p = 0, id_len = 0, size_len = 0;
  uint64_t id = 0, size = 0;
  const auto element = [&](size_t at) {
    if (!ebml_vint(b, at, false, id_len, id) || !ebml_vint(b, at + id_len, true, size_len, size))
      bad("bad EBML element");
    return at + id_len + size_len;  // where its body starts
  };
  p = element(0);
  if (id != 0x1a45dfa3) bad("no EBML header");
  p = element(p + size);
  if (id != 0x18538067) bad("no Segment");
  for (p = element(p); id != 0x1654ae6b; p = element(p + size))  // to Tracks
    if (id == 0x1f43b675 || p + size >= b.size()) bad("no Tracks before the first Cluster");
  const size_t tracks_end = p + size;
  if (tracks_end > b.size()) bad("Tracks runs past the end");
  std::vector<size_t> uids;  // where each TrackUID's 8 bytes start
  while (p < tracks_end) {   // the TrackEntry elements
    const size_t body = element(p), end = body + size;
    if (end > tracks_end) bad("a TrackEntry runs past Tracks");
    for (size_t q = body; id == 0xae && q < end;) {  // the TrackEntry's children
      size_t cid_len = 0, csize_len = 0;
      uint64_t cid = 0, csize = 0;
      if (!ebml_vint(b, q, false, cid_len, cid) || !ebml_vint(b, q + cid_len, true, csize_len, csize))
        bad("bad TrackEntry");
      const size_t value = q + cid_len + csize_len;
      if (value + csize > end) bad("a TrackEntry child runs past its TrackEntry");
      if (cid == 0x73c5) {  // TrackUID
        if (csize != 8 || csize_len != 1) return false;
        uids.push_back(value);
      }
      q = value + csize;
    }
    p = end;
  }
  if (uids.size() != 2) bad(("expected 2 TrackUIDs, found " + std::to_string(uids.size())).c_str());
  Rng r{v.uid_seed};
  for (size_t at : uids) {
    const std::string old = b.substr(at, 8);
    std::string uid(8, '\0');
    const uint64_t x = r.next() | 1ull << 63;  // 8 significant bytes, like the one it replaces
    for (size_t i = 0; i < 8; ++i) uid[i] = static_cast<char>(x >> (56 - 8 * i));
    b.replace(at, 8, uid);
    // A tag's TagTrackUID (0x63c5) naming this track: rename it too.
    const std::string old_ref = "\x63\xc5\x88" + old, ref = "\x63\xc5\x88" + uid;
    for (size_t t = b.find(old_ref, tracks_end); t != std::string::npos; t = b.find(old_ref, t + ref.size()))
      b.replace(t, ref.size(), ref);
  }
  std::ofstream f(webm, std::ios::binary | std::ios::trunc);
  f << b;
  if (!f) fail(v.id() + ": cannot rewrite " + webm.string());
  return true;
}

/// Makes one video (in a child process): its audio, its subtitles, then the WebM.
void make_video(const fs::path& out, const fs::path& tmp, const Video& v) {
  const Concept& c = kConcepts[v.concept];
  const std::string stem = (tmp / (v.split + "_" + v.name)).string();
  const fs::path log = stem + ".log", wav = stem + ".wav", phrase_wav = stem + ".phrase.wav";
  std::vector<float> track = concept_tone(v.hz, v.amp, c.wave);
  std::ostringstream srt;
  for (int k = 0; k < kClips; ++k) {
    const std::string& text = v.texts[static_cast<size_t>(k)];
    const double start = k * kClipS + kPhraseDelayS, limit = (k + 1) * kClipS;
    std::vector<float> speech;
    for (int speed : {v.speed, kFastSpeed}) {
      run(v,
          "espeak-ng -v " + quote(v.voice) + " -s " + std::to_string(speed) + " -w " +
              quote(phrase_wav.string()) + " " + quote(text),
          log);
      speech = trim(resample(read_wav(phrase_wav.string()), kRate));
      if (start + static_cast<double>(speech.size()) / kRate < limit) break;
    }
    if (speech.empty()) fail(v.id() + ": espeak-ng produced no speech for '" + text + "'");
    const double end = start + static_cast<double>(speech.size()) / kRate;
    if (end >= limit) {
      char msg[160];
      std::snprintf(msg, sizeof msg,
                    "lasts %.3f s even at -s %d, so it would cross the clip boundary at %.1f s", end - start,
                    kFastSpeed, limit);
      fail(v.id() + ": phrase '" + text + "' (voice " + v.voice + ") " + msg);
    }
    const size_t at = static_cast<size_t>(std::lround(start * kRate));
    for (size_t j = 0; j < speech.size() && at + j < track.size(); ++j)
      track[at + j] += kSpeechGain * speech[j];
    srt << k + 1 << "\n" << srt_time(start, ',') << " --> " << srt_time(end, ',') << "\n" << text << "\n\n";
  }
  {
    std::ofstream o(out / v.split / (v.name + ".srt"));
    o << srt.str();
    if (!o) fail(v.id() + ": cannot write its .srt");
  }
  write_wav(wav.string(), track, kRate, 1);
  const std::string caps = "video/x-raw,width=" + std::to_string(kWidth) +
                           ",height=" + std::to_string(kHeight) + ",framerate=" + std::to_string(kFps) + "/1";
  const fs::path webm = out / v.split / (v.name + ".webm");
  // libvpx's realtime mode with cpu-used >= 0 re-picks its speed from measured encode times, so the bytes
  // (and every model trained on them) would depend on how loaded the machine was; a negative cpu-used fixes
  // the speed, and the same parameters give the same files.
  const std::string mux =
      "gst-launch-1.0 -q -e webmmux name=mux creation-time=2020-01-01T00:00:00Z ! filesink location=" +
      quote(webm.string()) + " videotestsrc " + v.pattern + " num-buffers=" + std::to_string(kFrames) +
      " ! " + caps + " ! videoconvert ! vp8enc deadline=1 cpu-used=-16 threads=1 keyframe-max-dist=" +
      std::to_string(kFrames / kClips) + " ! queue ! mux. filesrc location=" + quote(wav.string()) +
      " ! wavparse ! audioconvert ! vorbisenc ! queue ! mux.";
  for (int attempt = 0;; ++attempt) {
    run(v, mux, log);
    if (fix_track_uids(webm, v)) break;
    if (attempt == 20) fail(v.id() + ": webmmux wrote a short track UID 21 times in a row");
  }
  fs::remove(wav);
  fs::remove(phrase_wav);
  fs::remove(log);
}

std::string readme(const std::string& params) {
  std::ostringstream o;
  o << "Demo corpus for VATT pretraining, written by vatt-gen-media --corpus (tools/gen_media/corpus.cpp).\n"
    << params << "\n\n"
    << "train/vNNN.webm + .srt    training videos\n"
    << "heldout/hNNN.webm + .srt  held-out videos: the same concepts, other sentence templates\n"
    << "classes/{train,test}/CONCEPT/NAME.webm  links to the same videos by concept (linear evaluation)\n"
    << "captions.json             MSR-VTT-style splits and captions (zero-shot retrieval)\n\n"
    << "Each video: 9.6 s = three 3.2 s clips, " << kWidth << "x" << kHeight << " @ " << kFps << " fps VP8 + "
    << kRate << " Hz mono Vorbis, showing one concept throughout.\n"
    << "Its audio is the concept's tone (frequency +-3% and peak amplitude 0.15-0.35 vary by video)\n"
    << "plus one espeak-ng phrase per clip naming the concept, from 0.3 s into the clip to before the\n"
    << "clip ends; the .srt holds each phrase's start and end.\n\n"
    << "Concepts (phrase | videotestsrc pattern | look | tone):\n";
  for (int i = 0; i < kConceptCount; ++i) {
    const Concept& c = kConcepts[i];
    char hz[32];
    std::snprintf(hz, sizeof hz, "%.0f Hz", concept_hz(i));
    o << "  " << c.phrase << " | " << c.pattern << " | " << c.look << " | " << hz << " " << wave_name(c.wave)
      << "\n";
  }
  o << "\nTrain templates:";
  for (const auto& t : kTrainTemplates) o << " \"" << t << "\"";
  o << "\nHeld-out templates:";
  for (const auto& t : kHeldoutTemplates) o << " \"" << t << "\"";
  o << "\nVoices (espeak-ng -v, speed 150-190 words per minute, 200 when a phrase would not fit):";
  for (const char* v : kVoices) o << " " << v;
  o << "\n";
  return o.str();
}

long parse_int(const char* flag, const char* text, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno || end == text || *end || v < lo || v > hi)
    fail(std::string(flag) + " expects an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
         "], not '" + text + "'");
  return v;
}

/// Removes what an earlier run may have left: our own file names only, nothing else in OUTDIR.
void clear_previous(const fs::path& out) {
  for (const char* split : {"train", "heldout"}) {
    const fs::path d = out / split;
    if (!fs::is_directory(d)) continue;
    const char prefix = split[0] == 't' ? 'v' : 'h';
    std::vector<fs::path> old;
    for (const auto& e : fs::directory_iterator(d)) {
      const std::string n = e.path().filename().string(), ext = e.path().extension().string();
      if (n.size() > 4 && n[0] == prefix && (ext == ".webm" || ext == ".srt") &&
          std::all_of(n.begin() + 1, n.end() - static_cast<std::ptrdiff_t>(ext.size()),
                      [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; }))
        old.push_back(e.path());
    }
    for (const auto& p : old) fs::remove(p);
  }
  fs::remove_all(out / ".tmp");
  fs::remove_all(out / "classes");
}

/// The concept's name as a folder: "red screen" -> "red_screen".
std::string class_folder(const Concept& c) {
  std::string n = c.phrase;
  std::replace(n.begin(), n.end(), ' ', '_');
  return n;
}

/// The evaluation layouts over the same videos: OUTDIR/classes/{train,test}/CONCEPT/NAME.webm (relative
/// symlinks; a class-folder tree for linear evaluation, the held-out videos as its test split) and
/// OUTDIR/captions.json (MSR-VTT style: every video with split "train" or "test" and its three phrases as
/// untimed captions, for zero-shot retrieval).
void write_eval_layouts(const fs::path& out, const std::vector<Video>& all) {
  nlohmann::json videos = nlohmann::json::array(), sentences = nlohmann::json::array();
  for (const Video& v : all) {
    const std::string split = v.split == "train" ? "train" : "test";
    const fs::path dir = out / "classes" / split / class_folder(kConcepts[v.concept]);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail(dir.string() + ": " + ec.message());
    fs::create_symlink(fs::path("../../..") / v.split / (v.name + ".webm"), dir / (v.name + ".webm"), ec);
    if (ec) fail((dir / (v.name + ".webm")).string() + ": " + ec.message());
    videos.push_back({{"video_id", v.name}, {"split", split}});
    for (const auto& t : v.texts) sentences.push_back({{"video_id", v.name}, {"caption", t}});
  }
  std::ofstream j(out / "captions.json");
  j << nlohmann::json{{"videos", videos}, {"sentences", sentences}}.dump(1) << "\n";
  if (!j) fail((out / "captions.json").string() + ": write failed");
}

}  // namespace

int corpus_main(int argc, char** argv) {
  const char* usage =
      "usage: vatt-gen-media --corpus OUTDIR [--videos N] [--heldout M] [--seed S] [--jobs J]\n";
  if (argc < 3 || argc % 2 == 0) {
    std::fputs(usage, stderr);
    return 2;
  }
  const fs::path out = argv[2];
  long videos = 72, heldout = 20, seed = 1, jobs = 2;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--videos")
      videos = parse_int("--videos", argv[i + 1], 1, 9999);
    else if (flag == "--heldout")
      heldout = parse_int("--heldout", argv[i + 1], 0, 9999);
    else if (flag == "--seed")
      seed = parse_int("--seed", argv[i + 1], 0, 2147483647);
    else if (flag == "--jobs")
      jobs = parse_int("--jobs", argv[i + 1], 1, 64);
    else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  const std::string params = std::string(kFormat) + ": videos=" + std::to_string(videos) +
                             " heldout=" + std::to_string(heldout) + " seed=" + std::to_string(seed);
  const fs::path marker = out / ".complete";
  if (fs::exists(marker)) {
    std::ifstream in(marker);
    std::string line;
    std::getline(in, line);
    if (line == params) {
      std::fprintf(stderr, "vatt-gen-media: corpus %s is complete (%s)\n", out.string().c_str(),
                   params.c_str());
      return 0;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::remove(marker, ec);
  clear_previous(out);
  const fs::path tmp = out / ".tmp";
  for (const fs::path& d : {out / "train", out / "heldout", tmp}) {
    fs::create_directories(d, ec);
    if (ec) fail(d.string() + ": " + ec.message());
  }

  std::vector<Video> all = plan("train", static_cast<int>(videos), static_cast<uint64_t>(seed));
  for (Video& v : plan("heldout", static_cast<int>(heldout), static_cast<uint64_t>(seed))) all.push_back(v);

  std::fflush(stdout);
  std::fflush(stderr);
  std::map<pid_t, size_t> running;
  size_t next = 0, done = 0;
  std::string failed;
  while ((failed.empty() && next < all.size()) || !running.empty()) {
    while (failed.empty() && next < all.size() && running.size() < static_cast<size_t>(jobs)) {
      const pid_t pid = fork();
      if (pid < 0) fail(std::string("fork: ") + std::strerror(errno));
      if (pid == 0) {
        make_video(out, tmp, all[next]);
        std::fflush(nullptr);
        _exit(0);
      }
      running[pid] = next++;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      fail(std::string("waitpid: ") + std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (failed.empty()) failed = all[it->second].id();
    } else if (++done % 10 == 0 || done == all.size()) {
      std::fprintf(stderr, "vatt-gen-media: corpus %zu/%zu videos\n", done, all.size());
    }
    running.erase(it);
  }
  if (!failed.empty()) {
    fs::remove_all(tmp, ec);
    fail("corpus " + out.string() + ": video " + failed + " failed (see above); the corpus is incomplete");
  }
  fs::remove_all(tmp, ec);
  write_eval_layouts(out, all);

  {
    std::ofstream o(out / "README.txt");
    o << readme(params);
    if (!o) fail((out / "README.txt").string() + ": write failed");
  }
  {
    std::ofstream o(marker);
    o << params << "\n";
    if (!o) fail(marker.string() + ": write failed");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr,
               "vatt-gen-media: corpus %s: %zu videos (%ld train, %ld heldout), %zu clips, %.1f s of media, "
               "made in %.1f s with %ld jobs\n",
               out.string().c_str(), all.size(), videos, heldout, all.size() * kClips,
               static_cast<double>(all.size()) * kVideoS, secs, jobs);
  return 0;
}

}  // namespace vatt_gen_media
