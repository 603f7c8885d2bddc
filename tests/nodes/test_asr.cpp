// Speech recognition with the real pocketsphinx element on real recordings from Debian's
// pocketsphinx-testdata (LibriVox, read English): most words of the known transcripts come back, at the times
// they were spoken, and through `video_source` (asr: auto) they land in the clips whose windows hold them.
//
//   speech.wav = 2.0 s silence, utterance A (7.10 s), 1.5 s silence, utterance B (5.30 s), 1.0 s silence,
//                utterance C (6.05 s), 1.0 s silence
//   video_source(speech.wav, asr auto) --clips--> capture
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "nodes/media/asr.h"
#include "nodes/media/decoder.h"
#include "nodes/media/ids.h"
#include "nodes/register_all.h"
#include "pipeline/runtime.h"
#include "tests/nodes/media_fixture.h"

namespace vatt::nodes {
namespace {

namespace fs = std::filesystem;

const std::string kLibrivox = "/usr/share/pocketsphinx/test/data/librivox/";

struct Utterance {
  const char* file;
  const char* transcript;  // from the package's `transcription` file
  double gap_before_s;
  double start_s = 0, end_s = 0;  // in speech.wav, filled by make_speech()
};

std::vector<Utterance> g_utts = {
    {"sense_and_sensibility_01_austen_64kb-0870.wav",
     "and mister john dashwood had then leisure to consider how much there might be prudently in his power "
     "to "
     "do for them",
     2.0},
    {"sense_and_sensibility_01_austen_64kb-0890.wav",
     "unless to be rather cold hearted and rather selfish is to be ill disposed", 1.5},
    {"sense_and_sensibility_01_austen_64kb-0920.wav",
     "had he married a more a amiable woman he might have been made still more respectable than he was", 1.0},
};

std::vector<std::string> words_of(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// Reads the 16-bit PCM samples of a canonical 44-byte-header WAV (what pocketsphinx-testdata ships).
std::string pcm_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + " is missing: install pocketsphinx-testdata (tools/setup.sh)");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.substr(44);
}

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

/// Writes speech.wav (16 kHz mono 16-bit) into a per-process folder (removed at exit) and fills the
/// utterances' times.
const std::string& make_speech() {
  struct Dir {
    fs::path p = fs::temp_directory_path() / ("vatt-asr-" + std::to_string(getpid()));
    Dir() { fs::create_directories(p); }
    ~Dir() { fs::remove_all(p); }
  };
  static Dir dir_holder;
  static const std::string path = [] {
    const fs::path& dir = dir_holder.p;
    std::string pcm;
    for (auto& u : g_utts) {
      pcm.append(static_cast<size_t>(u.gap_before_s * 16000) * 2, '\0');
      u.start_s = static_cast<double>(pcm.size()) / 32000;
      pcm += pcm_of(kLibrivox + u.file);
      u.end_s = static_cast<double>(pcm.size()) / 32000;
    }
    pcm.append(16000 * 2, '\0');
    std::string wav = "RIFF";
    put_u32(wav, static_cast<uint32_t>(36 + pcm.size()));
    wav += "WAVEfmt ";
    put_u32(wav, 16);
    wav += std::string("\x01\x00\x01\x00", 4);  // PCM, mono
    put_u32(wav, 16000);
    put_u32(wav, 32000);
    wav += std::string("\x02\x00\x10\x00", 4);  // block align 2, 16 bits
    wav += "data";
    put_u32(wav, static_cast<uint32_t>(pcm.size()));
    const std::string p = (dir / "speech.wav").string();
    std::ofstream(p, std::ios::binary) << wav << pcm;
    return p;
  }();
  return path;
}

/// Words of `ref` found in `hyp` (each hypothesis word matches at most once).
size_t matched(const std::vector<std::string>& ref, std::vector<std::string> hyp) {
  size_t n = 0;
  for (const auto& w : ref) {
    auto it = std::find(hyp.begin(), hyp.end(), w);
    if (it != hyp.end()) {
      ++n;
      hyp.erase(it);
    }
  }
  return n;
}

TEST(Asr, FillersAndPronunciationSuffixesAreRemoved) {
  EXPECT_EQ(clean_asr_word("read(2)"), "read");
  EXPECT_EQ(clean_asr_word("hello"), "hello");
  for (const char* f : {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "++BREATH++", ""})
    EXPECT_EQ(clean_asr_word(f), "") << f;
}

TEST(Asr, WordsGroupIntoSegmentsAtPausesAndMaximumLength) {
  const std::vector<AsrWord> w = {{0, 200000, "a"},
                                  {250000, 500000, "b"},
                                  {1000000, 1200000, "c"},
                                  {1200000, 2500000, "d"},
                                  {2500000, 4100000, "e"}};
  const auto s = words_to_segments(w, 0.3, 3.0);
  ASSERT_EQ(s.size(), 3u);  // "a b" | pause 0.5 s | "c d" | 3.1 s would be too long | "e"
  EXPECT_EQ(s[0], (TextSegment{0, 500000, "a b"}));
  EXPECT_EQ(s[1], (TextSegment{1000000, 2500000, "c d"}));
  EXPECT_EQ(s[2], (TextSegment{2500000, 4100000, "e"}));
}

// We measured ~37% WER on this data: at least 50% of the reference words must come back, and every
// recognised word must lie inside (within 0.3 s of) the utterance it was spoken in.
TEST(Asr, RealRecordingsGiveMostWordsAtTheTimesTheyWereSpoken) {
  const AsrResult r = recognise_speech(to_uri(make_speech()), AsrOptions{});
  EXPECT_TRUE(r.has_audio);
  EXPECT_FALSE(r.has_video);
  EXPECT_NEAR(r.audio_seconds, g_utts.back().end_s + 1.0, 0.05);
  std::printf("ASR: %.1f s of audio in %.2f s (real-time factor %.2f), %zu words\n", r.audio_seconds,
              r.wall_seconds, r.wall_seconds / r.audio_seconds, r.words.size());
  size_t ref_words = 0, found = 0, outside = 0;
  for (const auto& u : g_utts) {
    std::vector<std::string> hyp;
    for (const auto& w : r.words) {
      const double mid = static_cast<double>(w.start_us + w.end_us) / 2e6;
      if (mid >= u.start_s - 0.3 && mid <= u.end_s + 0.3) hyp.push_back(w.word);
    }
    const auto ref = words_of(u.transcript);
    ref_words += ref.size();
    found += matched(ref, hyp);
    std::string h;
    for (const auto& w : hyp) h += w + " ";
    std::printf("  %5.2f-%5.2f s: %s\n", u.start_s, u.end_s, h.c_str());
  }
  for (const auto& w : r.words) {
    EXPECT_LT(w.start_us, w.end_us) << w.word;
    const double mid = static_cast<double>(w.start_us + w.end_us) / 2e6;
    const bool in_some = std::any_of(g_utts.begin(), g_utts.end(), [&](const Utterance& u) {
      return mid >= u.start_s - 0.3 && mid <= u.end_s + 0.3;
    });
    if (!in_some) ++outside;
    EXPECT_EQ(clean_asr_word(w.word), w.word);
  }
  EXPECT_EQ(outside, 0u) << "words recognised in the silence between utterances";
  EXPECT_GE(static_cast<double>(found) / static_cast<double>(ref_words), 0.5)
      << found << " of " << ref_words << " reference words recognised";
  std::printf("  %zu of %zu reference words recognised\n", found, ref_words);
}

TEST(Asr, ASourceWithoutAudioHasNoWordsAndNoError) {
  const AsrResult r = recognise_speech(to_uri(test::media("silent.webm")), AsrOptions{});
  EXPECT_FALSE(r.has_audio);
  EXPECT_TRUE(r.has_video);
  EXPECT_TRUE(r.words.empty());
}

// ---- through the node: asr auto, the words land in the clips that hold them ----

std::mutex g_mu;
std::vector<Clip> g_clips;

struct Capture final : pipeline::Node {
  void process(int, const pipeline::Message& in, pipeline::Emitter&) override {
    std::lock_guard<std::mutex> lk(g_mu);
    g_clips.push_back(in.as<Clip>());
  }
};

TEST(Asr, VideoSourceAlignsRecognisedWordsToTheClipsTheyWereSpokenIn) {
  pipeline::Registry reg;
  register_all_nodes(reg);
  pipeline::NodeContract c;
  c.type = "capture";
  c.doc = "test";
  c.inputs = {{"in", "clip", ""}};
  c.errors_port = false;
  c.create = [](const pipeline::NodeConfig&) { return std::make_unique<Capture>(); };
  reg.add(c);
  const std::string g = R"(graph: asr_test
nodes:
  - { id: src, type: video_source, options: { uri: ".", asr: auto } }
  - { id: cap, type: capture }
  - { id: log, type: log }
edges:
  - src.clips -> cap.in
  - src.errors -> log.in
)";
  g_clips.clear();
  auto spec = pipeline::load_graph_text(g, "g.yaml", reg, {"src.uri=" + make_speech()});
  pipeline::RunOptions ro;
  ro.progress_interval = 0;
  const auto m = pipeline::Runtime(spec, ro).run();
  ASSERT_EQ(m.exit_code, 0) << m.failure;
  std::sort(g_clips.begin(), g_clips.end(),
            [](const Clip& a, const Clip& b) { return a.clip_index < b.clip_index; });
  ASSERT_EQ(g_clips.size(), 7u);  // 23.95 s of audio: 7 whole 3.2 s clips
  size_t with_text = 0, own_words = 0, own_matched = 0, misplaced = 0;
  for (const Clip& clip : g_clips) {
    EXPECT_FALSE(clip.has_video);
    EXPECT_EQ(clip.audio->size(), 153600u);
    const double s = static_cast<double>(clip.start_us) / 1e6, e = static_cast<double>(clip.end_us) / 1e6;
    std::vector<std::string> here, elsewhere;  // words of the utterances overlapping the window, and the rest
    for (const auto& u : g_utts)
      for (const auto& w : words_of(u.transcript))
        (u.end_s > s && u.start_s < e ? here : elsewhere).push_back(w);
    if (!clip.has_text()) {
      EXPECT_TRUE(here.empty()) << "clip " << clip.clip_index << " lost its words";
      continue;
    }
    ++with_text;
    ASSERT_LE(clip.text.size(), 5u);
    const auto own = words_of(clip.text[0].text);
    own_words += own.size();
    own_matched += matched(here, own);
    // A word that only another utterance has was put in the wrong clip.
    for (const auto& w : own)
      if (std::find(here.begin(), here.end(), w) == here.end() &&
          std::find(elsewhere.begin(), elsewhere.end(), w) != elsewhere.end()) {
        ++misplaced;
        ADD_FAILURE() << "'" << w << "' in clip " << clip.clip_index << " was spoken in another one";
      }
    std::printf("  clip %llu [%.1f, %.1f): %s\n", static_cast<unsigned long long>(clip.clip_index), s, e,
                clip.text[0].text.c_str());
    EXPECT_GE(clip.text[0].end_us, clip.start_us);
    EXPECT_LE(clip.text[0].start_us, clip.end_us);
  }
  // Most of the clips' own words are words of the utterances under their windows (ASR substitutes some).
  EXPECT_GE(static_cast<double>(own_matched), 0.6 * static_cast<double>(own_words))
      << own_matched << " of " << own_words;
  EXPECT_GE(with_text, 6u);
  EXPECT_GT(own_words, 30u);
  EXPECT_EQ(misplaced, 0u);
}

}  // namespace
}  // namespace vatt::nodes
