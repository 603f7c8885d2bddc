// vatt-gen-media: writes small, deterministic narrated test media (and broken files) with gst-launch-1.0 and
// espeak-ng, so tests and demos generate their data at run time instead of downloading or committing it.
//
// Usage: vatt-gen-media OUTDIR [--bad]
//        vatt-gen-media --corpus OUTDIR [--videos N] [--heldout M] [--seed S] [--jobs J]
//
// The --corpus mode (corpus.cpp, where its top comment has the details) writes the pretraining demo's corpus:
// OUTDIR/train/vNNN.webm + .srt (N videos, default 72) and OUTDIR/heldout/hNNN.webm + .srt (M, default 20),
// each 9.6 s (three 3.2 s clips) of 96x72 @ 10 fps VP8 + 16 kHz mono Vorbis showing one of 12 videotestsrc
// concepts with that concept's own tone and one espeak-ng phrase naming it per clip; OUTDIR/README.txt lists
// the concepts. Deterministic for a seed (default 1); J videos at once (default 2); a rerun with the same
// parameters (OUTDIR/.complete) does nothing.
//
// Without --corpus (the test media):
// Files written (every time-line below is exact; the tests rely on it):
//   narrated.webm + .srt   10.0 s, 320x240 @ 25 fps smpte pattern, VP8 + Vorbis (44.1 kHz stereo source):
//                          440 Hz tone (amplitude 0.1) + three espeak-ng phrases starting at 0.5, 3.7, 6.9 s;
//                          each phrase ends before the next 3.2 s boundary, so with 3.2 s clips phrase i
//                          lands in clip i. The .srt gives each phrase's start and end (end = start + spoken
//                          length).
//   narrated.mp4 + .vtt     8.0 s, 240x320 (portrait) @ 25 fps ball pattern, H.264 (openh264) + AAC:
//                          the first two phrases at 0.5 and 3.7 s (WebVTT).
//   click.webm              8.0 s, black until 4.0 s then white, VP8 + Vorbis; the audio is a 0.05 tone with
//                          one full-scale 1 ms click at exactly 4.0 s. No subtitles.
//   silent.webm             7.0 s of VP8 video, no audio stream.
//   tone.wav                7.0 s, 22.05 kHz mono 16-bit, 440 Hz tone (audio-only source).
// With --bad, also (each must be rejected with one clear error):
//   empty.mp4 (0 bytes), garbage.webm (random bytes), truncated.webm (first 20% of narrated.webm),
//   short.webm (2.0 s, shorter than one 3.2 s clip), audio_only.mp4 (AAC in MP4: a video extension without
//   a video stream),
//   badsubs.webm + badsubs.srt (a valid video whose subtitles have a malformed time on line 6),
//   unsupported.webm (silent.webm with its codec id changed to an unknown one).
#include "gen_media.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace vatt_gen_media {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "vatt-gen-media: %s\n", what.c_str());
  std::exit(1);
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

void sh(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  if (rc != 0) fail("command failed (status " + std::to_string(rc) + "): " + cmd);
}

namespace {

uint32_t rd32(const std::vector<char>& b, size_t p) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[p])) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[p + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[p + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[p + 3])) << 24;
}
uint16_t rd16(const std::vector<char>& b, size_t p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[p]) | static_cast<uint8_t>(b[p + 1]) << 8);
}

}  // namespace

Pcm read_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) || std::memcmp(b.data() + 8, "WAVE", 4))
    fail(path + ": not a RIFF/WAVE file");
  int channels = 0, bits = 0;
  Pcm out;
  for (size_t p = 12; p + 8 <= b.size();) {
    const uint32_t len = rd32(b, p + 4);
    if (!std::memcmp(b.data() + p, "fmt ", 4)) {
      channels = rd16(b, p + 10);
      out.rate = static_cast<int>(rd32(b, p + 12));
      bits = rd16(b, p + 22);
    } else if (!std::memcmp(b.data() + p, "data", 4)) {
      if (bits != 16 || channels < 1) fail(path + ": expected 16-bit PCM");
      // espeak-ng streaming writes may leave a placeholder length: trust the file size then.
      const size_t n = std::min<size_t>(len, b.size() - p - 8) / 2 / static_cast<size_t>(channels);
      out.s.resize(n);
      for (size_t i = 0; i < n; ++i) {
        float acc = 0;
        for (int c = 0; c < channels; ++c)
          acc += static_cast<int16_t>(
              rd16(b, p + 8 + 2 * (i * static_cast<size_t>(channels) + static_cast<size_t>(c))));
        out.s[i] = acc / static_cast<float>(channels) / 32768.0f;
      }
      return out;
    }
    p += 8 + len + (len & 1);
  }
  fail(path + ": no data chunk");
}

std::vector<float> resample(const Pcm& in, int rate) {
  const double ratio = static_cast<double>(in.rate) / rate;
  const size_t n = static_cast<size_t>(std::floor(static_cast<double>(in.s.size()) / ratio));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i) * ratio;
    const size_t j = static_cast<size_t>(x);
    const double f = x - static_cast<double>(j);
    const float a = in.s[j], b = j + 1 < in.s.size() ? in.s[j + 1] : 0.0f;
    out[i] = static_cast<float>(a * (1 - f) + b * f);
  }
  return out;
}

void write_wav(const std::string& path, const std::vector<float>& mono, int rate, int channels) {
  std::ofstream o(path, std::ios::binary);
  auto w32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) o.put(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto w16 = [&](uint16_t v) {
    o.put(static_cast<char>(v & 0xff));
    o.put(static_cast<char>(v >> 8));
  };
  const uint32_t data = static_cast<uint32_t>(mono.size() * 2 * static_cast<size_t>(channels));
  o.write("RIFF", 4);
  w32(36 + data);
  o.write("WAVEfmt ", 8);
  w32(16);
  w16(1);
  w16(static_cast<uint16_t>(channels));
  w32(static_cast<uint32_t>(rate));
  w32(static_cast<uint32_t>(rate * 2 * channels));
  w16(static_cast<uint16_t>(2 * channels));
  w16(16);
  o.write("data", 4);
  w32(data);
  for (float v : mono) {
    const float c = std::max(-1.0f, std::min(1.0f, v));
    const auto s = static_cast<int16_t>(std::lround(c * 32767.0f));
    for (int ch = 0; ch < channels; ++ch) w16(static_cast<uint16_t>(s));
  }
  if (!o) fail(path + ": write failed");
}

std::string srt_time(double t, char frac_sep) {
  const long ms = std::lround(t * 1000);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld%c%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                frac_sep, ms % 1000);
  return buf;
}

}  // namespace vatt_gen_media

namespace {

using vatt_gen_media::fail;
using vatt_gen_media::quote;
using vatt_gen_media::read_wav;
using vatt_gen_media::resample;
using vatt_gen_media::sh;
using vatt_gen_media::srt_time;
using vatt_gen_media::write_wav;
namespace fs = std::filesystem;

struct Phrase {
  double start_s;
  const char* text;
};

const Phrase kPhrases[] = {
    {0.5, "the red ball rolls"},
    {3.7, "now we cut the onion"},
    {6.9, "finally serve the soup"},
};

std::vector<float> tone(double seconds, int rate, double amp) {
  std::vector<float> s(static_cast<size_t>(std::lround(seconds * rate)));
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<float>(amp * std::sin(2 * M_PI * 440.0 * static_cast<double>(i) / rate));
  return s;
}

/// Mixes `n` phrases onto a tone track at 44.1 kHz and writes the subtitles (srt or vtt) with their times.
std::vector<float> narrate(const fs::path& dir, double seconds, int n, const fs::path& subs, bool vtt) {
  const int rate = 44100;
  std::vector<float> track = tone(seconds, rate, 0.1);
  std::ofstream s(subs);
  if (vtt) s << "WEBVTT\n\n";
  for (int i = 0; i < n; ++i) {
    const fs::path w = dir / ("phrase" + std::to_string(i) + ".wav");
    sh("espeak-ng -v en -s 170 -w " + quote(w.string()) + " " + quote(kPhrases[i].text));
    std::vector<float> speech = resample(read_wav(w.string()), rate);
    fs::remove(w);
    const size_t at = static_cast<size_t>(std::lround(kPhrases[i].start_s * rate));
    for (size_t j = 0; j < speech.size() && at + j < track.size(); ++j) track[at + j] += 0.6f * speech[j];
    const double end = kPhrases[i].start_s + static_cast<double>(speech.size()) / rate;
    if (std::floor(end / 3.2) != std::floor(kPhrases[i].start_s / 3.2))
      fail(std::string("phrase '") + kPhrases[i].text +
           "' crosses a 3.2 s boundary; the tests rely on it not");
    if (!vtt) s << i + 1 << "\n";
    s << srt_time(kPhrases[i].start_s, vtt ? '.' : ',') << " --> " << srt_time(end, vtt ? '.' : ',') << "\n"
      << kPhrases[i].text << "\n\n";
  }
  return track;
}

std::string video_caps(int w, int h) {
  return "video/x-raw,width=" + std::to_string(w) + ",height=" + std::to_string(h) + ",framerate=25/1";
}

// A negative cpu-used fixes libvpx's realtime speed (a positive one adapts it to measured encode times, and
// the output to the machine's load).
void encode_webm(const fs::path& out, const std::string& video, const fs::path& wav) {
  std::string cmd = "gst-launch-1.0 -q -e webmmux name=mux ! filesink location=" + quote(out.string()) + " " +
                    video + " ! videoconvert ! vp8enc deadline=1 cpu-used=-8 threads=1 ! queue ! mux. ";
  if (!wav.empty())
    cmd +=
        "filesrc location=" + quote(wav.string()) + " ! wavparse ! audioconvert ! vorbisenc ! queue ! mux. ";
  sh(cmd + ">/dev/null");
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream o(p, std::ios::binary);
  o << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && !std::strcmp(argv[1], "--corpus")) return vatt_gen_media::corpus_main(argc, argv);
  if (argc < 2 || argc > 3 || (argc == 3 && std::strcmp(argv[2], "--bad"))) {
    std::fprintf(stderr, "usage: vatt-gen-media OUTDIR [--bad]\n");
    std::fprintf(stderr,
                 "       vatt-gen-media --corpus OUTDIR [--videos N] [--heldout M] [--seed S] [--jobs J]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  const bool bad = argc == 3;
  fs::create_directories(dir);
  const fs::path wav = dir / "track.tmp.wav";

  write_wav(wav.string(), narrate(dir, 10.0, 3, dir / "narrated.srt", false), 44100, 2);
  encode_webm(dir / "narrated.webm", "videotestsrc pattern=smpte num-buffers=250 ! " + video_caps(320, 240),
              wav);

  write_wav(wav.string(), narrate(dir, 8.0, 2, dir / "narrated.vtt", true), 44100, 2);
  sh("gst-launch-1.0 -q -e mp4mux name=mux ! filesink location=" + quote((dir / "narrated.mp4").string()) +
     " videotestsrc pattern=ball num-buffers=200 ! " + video_caps(240, 320) +
     " ! videoconvert ! openh264enc ! h264parse ! queue ! mux. filesrc location=" + quote(wav.string()) +
     " ! wavparse ! audioconvert ! avenc_aac ! aacparse ! queue ! mux. >/dev/null 2>&1");

  {
    std::vector<float> a = tone(8.0, 44100, 0.05);
    // A 1 ms full-scale pulse at 4.000 s (one-signed: lossy codecs keep it; a Nyquist-rate one they cut).
    for (size_t i = 0; i < 44; ++i) a[176400 + i] = 1.0f;
    write_wav(wav.string(), a, 44100, 2);
    encode_webm(dir / "click.webm",
                "concat name=c videotestsrc pattern=black num-buffers=100 ! " + video_caps(320, 240) +
                    " ! c. videotestsrc pattern=white num-buffers=100 ! " + video_caps(320, 240) + " ! c. c.",
                wav);
  }
  encode_webm(dir / "silent.webm", "videotestsrc pattern=ball num-buffers=175 ! " + video_caps(320, 240), {});
  write_wav((dir / "tone.wav").string(), tone(7.0, 22050, 0.3), 22050, 1);

  if (bad) {
    write_bytes(dir / "empty.mp4", "");
    std::string junk(50000, '\0');
    uint32_t x = 12345;
    for (char& c : junk) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    write_bytes(dir / "garbage.webm", junk);
    {
      std::ifstream in(dir / "narrated.webm", std::ios::binary);
      std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      write_bytes(dir / "truncated.webm", all.substr(0, all.size() / 5));
    }
    encode_webm(dir / "short.webm", "videotestsrc num-buffers=50 ! " + video_caps(320, 240), {});
    write_wav(wav.string(), tone(5.0, 44100, 0.2), 44100, 1);
    sh("gst-launch-1.0 -q -e mp4mux name=mux ! filesink location=" +
       quote((dir / "audio_only.mp4").string()) + " filesrc location=" + quote(wav.string()) +
       " ! wavparse ! audioconvert ! avenc_aac ! aacparse ! queue ! mux. >/dev/null 2>&1");
    {
      // An unknown codec id in an otherwise valid WebM: demuxes, but no decoder exists for it.
      std::ifstream in(dir / "silent.webm", std::ios::binary);
      std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t at = all.find("V_VP8");
      if (at == std::string::npos || all.find("V_VP8", at + 1) != std::string::npos)
        fail("silent.webm: expected exactly one V_VP8 codec id");
      all.replace(at, 5, "V_ZZ9");
      write_bytes(dir / "unsupported.webm", all);
    }
    encode_webm(dir / "badsubs.webm", "videotestsrc num-buffers=100 ! " + video_caps(320, 240), {});
    write_bytes(
        dir / "badsubs.srt",
        "1\n00:00:00,500 --> 00:00:01,500\nhello there\n\n2\n00:00:02,0x0 --> 00:00:03,000\nbroken\n");
  }
  fs::remove(wav);
  return 0;
}
