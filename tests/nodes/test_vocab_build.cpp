// Building the vocabulary from a corpus (nodes/train/vocab_build.h): the transcripts under a folder (a bad
// one is reported and skipped), beside the media of a list file or of one media file, or the texts of a clip
// store (each segment of a source counted once).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "nodes/train/vocab_build.h"
#include "storage/clip_store.h"

namespace vatt::nodes {
namespace {

namespace fs = std::filesystem;

/// A fresh folder, removed again at the end of the test.
struct TempDir {
  explicit TempDir(const char* name)
      : path((fs::temp_directory_path() / ("vatt-vocabbuild-" + std::to_string(getpid()) + "-" + name))
                 .string()) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

TEST(VocabBuild, FromAFolderOfTranscriptsSkippingABadOne) {
  TempDir dir("folder");
  write(fs::path(dir.path) / "a.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nThe cat sat.\n\n"
        "2\n00:00:03,000 --> 00:00:04,500\nThe CAT,\nthe cat!\n");
  write(fs::path(dir.path) / "sub" / "b.srt", "1\r\n00:00:00,500 --> 00:00:01,500\r\ncat sat dog\r\n");
  write(fs::path(dir.path) / "sub" / "c.vtt", "WEBVTT\n\n00:00:05.000 --> 00:00:06.000\nsat <i>sat</i>\n");
  // A valid first cue, then a time line without its arrow: the whole file is left out.
  write(fs::path(dir.path) / "bad.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nzebra zebra zebra zebra zebra\n\n"
        "2\n00:00:03,000 -> 00:00:04,000\nzebra\n");
  write(fs::path(dir.path) / "notes.txt", "zebra zebra zebra zebra zebra zebra\n");  // not a transcript
  // Words: cat 1+2+1 = 4, sat 1+1+2 = 4, the 1+2 = 3, dog 1; cat and sat tie, broken by byte order.
  std::vector<std::string> skipped;
  VocabBuildStats st;
  const auto v = build_vocabulary(dir.path, Vocabulary::kMaxSize, 1, &st,
                                  [&](const std::string& why) { skipped.push_back(why); });
  EXPECT_EQ(v.to_text(), "# vatt vocabulary v1\ncat\t4\nsat\t4\nthe\t3\ndog\t1\n");
  EXPECT_EQ(v.id("zebra"), Vocabulary::kUnk);
  EXPECT_EQ(st.texts, 4u);  // cues of a.srt (2), b.srt (1), c.vtt (1)
  EXPECT_EQ(st.distinct_words, 4u);
  EXPECT_EQ(st.skipped_files, 1u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("bad.srt"), std::string::npos) << skipped[0];
  // The size cap and the count floor apply to what was counted.
  const auto small = build_vocabulary(dir.path, 4, 1, nullptr);
  EXPECT_EQ(small.to_text(), "# vatt vocabulary v1\ncat\t4\nsat\t4\n");
  const auto frequent = build_vocabulary(dir.path, Vocabulary::kMaxSize, 4, nullptr);
  EXPECT_EQ(frequent.to_text(), "# vatt vocabulary v1\ncat\t4\nsat\t4\n");
}

storage::ClipRecord record(uint64_t src, uint64_t idx, std::vector<storage::TextRecord> text) {
  storage::ClipRecord c;
  c.source_id = src;
  c.clip_index = idx;
  c.uri = "file:///v" + std::to_string(src) + ".webm";
  c.fingerprint = "fp" + std::to_string(src);
  c.options_digest = "opts";
  c.start_us = static_cast<int64_t>(idx) * 1000000;
  c.end_us = c.start_us + 1000000;
  c.has_video = true;
  c.text = std::move(text);
  return c;
}

TEST(VocabBuild, FromAClipStoreEachSegmentOfASourceCountsOnce) {
  TempDir dir("store");
  const std::string db = dir.path + "/db";
  const storage::TextRecord s1{0, 1000000, "Red fox"}, s2{1000000, 2000000, "blue fox"},
      s3{2000000, 3000000, "red sky"}, s4{5000000, 6000000, "blue"};
  {
    storage::ClipStore store(db);
    // Source 1: every clip carries its own segment and its neighbours'.
    store.put(record(1, 0, {s1, s2, s3}));
    store.put(record(1, 1, {s2, s1, s3}));
    store.put(record(1, 2, {s3, s2, s1}));
    // The same words at other times are another segment.
    store.put(record(1, 3, {s4, s3}));
    store.put(record(1, 4, {}));  // no text
    // Source 2 has a segment equal to one of source 1's: another source, so it counts again.
    store.put(record(2, 0, {{0, 1000000, "red fox"}}));
  }
  // Segments: s1, s2, s3, s4 of source 1 and one of source 2.
  // red: s1, s3, source 2 = 3; fox: s1, s2, source 2 = 3; blue: s2, s4 = 2; sky: 1.
  VocabBuildStats st;
  const auto v = build_vocabulary(db, Vocabulary::kMaxSize, 1, &st);
  EXPECT_EQ(v.to_text(), "# vatt vocabulary v1\nfox\t3\nred\t3\nblue\t2\nsky\t1\n");
  EXPECT_EQ(st.texts, 5u);
  EXPECT_EQ(st.distinct_words, 4u);
  EXPECT_EQ(st.skipped_files, 0u);
}

TEST(VocabBuild, FromAListFileOrOneMediaFileTheTranscriptsBesideThem) {
  TempDir dir("list");
  const fs::path media = fs::path(dir.path) / "media";
  write(media / "one.mp4", "");
  write(media / "one.srt", "1\n00:00:01,000 --> 00:00:02,000\nAlpha beta\n");
  write(media / "two.webm", "");
  write(media / "two.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nbeta gamma\n");
  write(media / "three.mp4", "");  // no transcript beside it
  // Paths relative to the list's folder or absolute; comments, blank lines and URLs are skipped; a media
  // file listed twice is read once.
  const std::string list =
      "# my videos\nmedia/one.mp4\nmedia/two.webm  \r\nhttps://example.com/x.mp4\n\n"
      "media/three.mp4\n" +
      (media / "one.mp4").string() + "\n";
  for (const char* name : {"videos.list", "videos.txt"}) {
    write(fs::path(dir.path) / name, list);
    VocabBuildStats st;
    const auto v = build_vocabulary((fs::path(dir.path) / name).string(), Vocabulary::kMaxSize, 1, &st);
    // beta 2 (one.srt, two.vtt), alpha 1, gamma 1.
    EXPECT_EQ(v.to_text(), "# vatt vocabulary v1\nbeta\t2\nalpha\t1\ngamma\t1\n") << name;
    EXPECT_EQ(st.texts, 2u) << name;
    EXPECT_EQ(st.skipped_files, 0u) << name;
  }
  // One media file, also as a file:// URI: its own transcript only.
  for (const std::string& uri :
       std::vector<std::string>{(media / "two.webm").string(), "file://" + (media / "two.webm").string()}) {
    VocabBuildStats st;
    const auto v = build_vocabulary(uri, Vocabulary::kMaxSize, 1, &st);
    EXPECT_EQ(v.to_text(), "# vatt vocabulary v1\nbeta\t1\ngamma\t1\n") << uri;
    EXPECT_EQ(st.texts, 1u) << uri;
  }
}

TEST(VocabBuild, APathThatIsNoneOfTheseThrows) {
  TempDir dir("neither");
  for (const std::string& uri : std::vector<std::string>{
           dir.path + "/missing", "file://" + dir.path + "/missing", std::string("/dev/null")}) {
    try {
      build_vocabulary(uri, Vocabulary::kMaxSize, 1, nullptr);
      ADD_FAILURE() << uri << " was taken as a corpus";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind(uri + ":", 0), 0u) << e.what();
    }
  }
  // An empty folder is a (word-less) corpus, not an error.
  fs::create_directories(dir.path + "/empty");
  VocabBuildStats st;
  st.texts = 99;
  EXPECT_EQ(build_vocabulary(dir.path + "/empty", Vocabulary::kMaxSize, 1, &st).size(), 2u);
  EXPECT_EQ(st.texts, 0u);
  EXPECT_EQ(st.skipped_files, 0u);
}

TEST(VocabBuild, FromWordVectorsInFileOrCorpusOrderCountingWhatTheCorpusLacks) {
  TempDir dir("vectors");
  // GloVe-style text vectors: the file's order is the frequency order of the corpus the vectors came from.
  write(fs::path(dir.path) / "vectors.txt",
        "the 0.1 0.2\nof 0.3 0.4\ndog 0.5 0.6\n<unk> 0 0\nbeach 0.7 0.8\ncat 0.9 1.0\n");
  write(fs::path(dir.path) / "a.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nThe cat, the cat and a zebra.\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\ncat dog\n");
  const auto corpus = count_corpus_words(dir.path, nullptr);
  VectorVocabStats st;
  const auto v = vocabulary_from_vectors(dir.path + "/vectors.txt", corpus, false, Vocabulary::kMaxSize, &st);
  ASSERT_EQ(v.size(), 7u);  // <pad>, <unk>, the 5 words (the file's own "<unk>" is not a word)
  EXPECT_EQ(v.word(2), "the");
  EXPECT_EQ(v.word(6), "cat");
  EXPECT_EQ(v.id("zebra"), Vocabulary::kUnk);
  // Corpus: the x2, cat x3, and, a, zebra, dog = 9 occurrences of 6 words; and, a, zebra lack a vector.
  EXPECT_EQ(st.corpus_words, 9u);
  EXPECT_EQ(st.corpus_distinct, 6u);
  EXPECT_EQ(st.unknown_words, 3u);
  EXPECT_EQ(st.unknown_distinct, 3u);
  // Capped in file order: the first three words.
  const auto small = vocabulary_from_vectors(dir.path + "/vectors.txt", corpus, false, 5);
  ASSERT_EQ(small.size(), 5u);
  EXPECT_EQ(small.word(4), "dog");
  // Corpus order: the corpus's most frequent words with vectors first (cat, the, dog), then the file's rest.
  const auto ranked = vocabulary_from_vectors(dir.path + "/vectors.txt", corpus, true, 5);
  ASSERT_EQ(ranked.size(), 5u);
  EXPECT_EQ(ranked.word(2), "cat");
  EXPECT_EQ(ranked.word(3), "the");
  EXPECT_EQ(ranked.word(4), "dog");
  // A vocabulary saved from vectors loads back the same (the file the checkpoint carries).
  EXPECT_EQ(Vocabulary::from_text(v.to_text(), "v").word(5), "beach");
  EXPECT_THROW(vocabulary_from_vectors(dir.path + "/missing.txt", corpus, false, 100), std::runtime_error);
}

}  // namespace
}  // namespace vatt::nodes
