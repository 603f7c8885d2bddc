// The clip store: one atomic write per clip with its text, media and source cursor; re-putting the
// same clip adds nothing; a changed source (content or options) replaces its old clips.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "storage/clip_store.h"

namespace vatt::storage {
namespace {

/// A fresh database folder, removed again at the end of the test.
struct TempDir {
  explicit TempDir(const char* name)
      : path((std::filesystem::temp_directory_path() /
              ("vatt-clipstore-" + std::to_string(getpid()) + "-" + name))
                 .string()) {
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

ClipRecord clip(uint64_t src, uint64_t idx, const std::string& fp = "fp1", const std::string& text = "") {
  ClipRecord c;
  c.source_id = src;
  c.clip_index = idx;
  c.uri = "file:///v" + std::to_string(src) + ".webm";
  c.fingerprint = fp;
  c.options_digest = "opts";
  c.start_us = static_cast<int64_t>(idx) * 3200000;
  c.end_us = c.start_us + 3200000;
  c.has_video = true;
  c.has_audio = idx % 2 == 0;
  c.labels = {"cooking"};
  c.split = "train";
  if (!text.empty()) c.text = {{c.start_us, c.start_us + 1000, text}, {0, 10, "near"}};
  return c;
}

size_t count(const ClipStore& s, std::optional<uint64_t> src = std::nullopt) {
  size_t n = 0;
  s.scan(src, [&](const ClipRecord&) { return ++n, true; });
  return n;
}

TEST(ClipStore, ClipsRoundTripInKeyOrderWithTextAndCursor) {
  const TempDir dir("roundtrip");
  {
    ClipStore s(dir.path);
    EXPECT_EQ(s.put(clip(2, 1, "fp1", "now we cut")), ClipStore::PutResult::Added);
    EXPECT_EQ(s.put(clip(2, 0)), ClipStore::PutResult::Added);
    EXPECT_EQ(s.put(clip(1, 0)), ClipStore::PutResult::Added);
  }
  ClipStore s(dir.path);  // reopened: everything durable
  std::vector<std::pair<uint64_t, uint64_t>> keys;
  s.scan(std::nullopt, [&](const ClipRecord& c) {
    keys.emplace_back(c.source_id, c.clip_index);
    return true;
  });
  EXPECT_EQ(keys, (std::vector<std::pair<uint64_t, uint64_t>>{{1, 0}, {2, 0}, {2, 1}}));
  auto c = s.get(2, 1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->uri, "file:///v2.webm");
  EXPECT_EQ(c->start_us, 3200000);
  EXPECT_FALSE(c->has_audio);
  EXPECT_EQ(c->labels, std::vector<std::string>{"cooking"});
  EXPECT_EQ(c->split, "train");
  ASSERT_EQ(c->text.size(), 2u);
  EXPECT_EQ(c->text[0].text, "now we cut");
  EXPECT_EQ(c->text[1].text, "near");
  EXPECT_FALSE(s.get(2, 0)->has_text());
  auto src = s.source(2);
  ASSERT_TRUE(src);
  EXPECT_EQ(src->cursor, 2u);
  EXPECT_EQ(src->clips, 2u);
  EXPECT_EQ(s.sources().size(), 2u);
  EXPECT_EQ(count(s, 2), 2u);
}

TEST(ClipStore, ReputtingTheSameClipAddsNothing) {
  const TempDir dir("idempotent");
  ClipStore s(dir.path);
  ASSERT_EQ(s.put(clip(5, 0, "fp1", "a")), ClipStore::PutResult::Added);
  EXPECT_EQ(s.put(clip(5, 0, "fp1", "a")), ClipStore::PutResult::Skipped);
  EXPECT_EQ(count(s), 1u);
  EXPECT_EQ(s.source(5)->clips, 1u);
}

TEST(ClipStore, AChangedSourceReplacesItsOldClipsAndTexts) {
  const TempDir dir("replace");
  ClipStore s(dir.path);
  for (uint64_t i = 0; i < 3; ++i) s.put(clip(7, i, "old", "t"));
  s.put(clip(8, 0, "other"));
  EXPECT_EQ(s.put(clip(7, 0, "new")), ClipStore::PutResult::Replaced);
  EXPECT_EQ(count(s, 7), 1u);
  EXPECT_FALSE(s.get(7, 0)->has_text());
  EXPECT_FALSE(s.get(7, 2));
  EXPECT_EQ(s.source(7)->fingerprint, "new");
  EXPECT_EQ(s.source(7)->cursor, 1u);
  EXPECT_EQ(count(s, 8), 1u);  // other sources untouched
}

TEST(ClipStore, MediaRoundTripsBitExact) {
  const TempDir dir("media");
  ClipStore s(dir.path);
  ClipMedia m;
  m.frames_t = 2;
  m.height = 3;
  m.width = 5;
  m.fps = 10;
  m.sample_rate = 48000;
  for (int i = 0; i < 2 * 3 * 5 * 3; ++i) m.frames.push_back(static_cast<uint8_t>(i * 7));
  for (int i = 0; i < 100; ++i) m.audio.push_back(static_cast<float>(i) / 100.0f - 0.5f);
  s.put(clip(3, 4), &m);
  auto back = s.media(3, 4);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->frames, m.frames);
  EXPECT_EQ(back->audio, m.audio);
  EXPECT_EQ(back->width, 5);
  EXPECT_EQ(back->fps, 10);
  EXPECT_FALSE(s.media(3, 5));
  EXPECT_EQ(count(s), 1u);  // media records are not clips
}

// Resume: the source record says how far an interrupted ingest got (resume_from) and when it is complete.
TEST(ClipStore, TheLastClipMakesItsSourceCompleteAndResumeStartsAfterTheStoredPrefix) {
  const TempDir dir("resume");
  ClipStore s(dir.path);
  s.put(clip(4, 0));
  s.put(clip(4, 1));
  auto r = s.source(4);
  EXPECT_FALSE(r->complete());
  EXPECT_EQ(r->resume_from(), 2u);
  auto last = clip(4, 2);
  last.last = true;
  s.put(last);
  r = s.source(4);
  EXPECT_EQ(r->total, 3u);
  EXPECT_TRUE(r->complete());
  // Clips 0 and 2 of another source: clip 1 is missing, so resume starts over (the store skips what it has).
  s.put(clip(6, 0));
  s.put(clip(6, 2));
  EXPECT_EQ(s.source(6)->resume_from(), 0u);
  auto last6 = clip(6, 2);
  last6.last = true;
  EXPECT_EQ(s.put(last6), ClipStore::PutResult::Skipped);  // already there: only the total is recorded
  EXPECT_EQ(s.source(6)->total, 3u);
  EXPECT_FALSE(s.source(6)->complete());
  s.put(clip(6, 1));
  EXPECT_TRUE(s.source(6)->complete());
}

TEST(ClipStore, CaptionsRoundTrip) {
  const TempDir dir("captions");
  ClipStore s(dir.path);
  auto c = clip(2, 0);
  c.captions = {"a man drives", "a car"};
  s.put(c);
  EXPECT_EQ(s.get(2, 0)->captions, c.captions);
}

TEST(ClipStore, OpenSharedGivesOneStorePerPathInAProcess) {
  const TempDir dir("shared");
  auto a = ClipStore::open_shared(dir.path);
  auto b = ClipStore::open_shared(dir.path + "/.");
  EXPECT_EQ(a.get(), b.get());
  a->put(clip(1, 0));
  EXPECT_EQ(b->source(1)->clips, 1u);
  a.reset();
  b.reset();
  auto c = ClipStore::open_shared(dir.path);  // reopened once nobody holds it
  EXPECT_EQ(c->source(1)->clips, 1u);
}

TEST(ClipStore, ReadersOpenWithoutTheWritersLockAndFollowItsWrites) {
  const TempDir dir("readers");
  ClipStore writer(dir.path);
  writer.put(clip(1, 0, "fp1", "first words"));
  // Two read-only opens beside the writer (RocksDB's LOCK would refuse a second writer).
  ClipStore reader(dir.path, Access::ReadOnly), other(dir.path, Access::ReadOnly);
  EXPECT_THROW(ClipStore(dir.path), StorageError);
  EXPECT_EQ(reader.get(1, 0)->text[0].text, "first words");
  EXPECT_EQ(count(other), 1u);
  writer.put(clip(1, 1));
  EXPECT_EQ(count(reader), 1u) << "a reader sees the database as it was when opened";
  reader.db().catch_up();
  EXPECT_EQ(count(reader), 2u) << "until it catches up";
  try {
    reader.put(clip(2, 0));
    FAIL() << "a read-only store took a write";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("opened read-only"), std::string::npos) << e.what();
  }
}

TEST(ClipStore, InOneProcessAReadOnlyRequestGetsTheWriterWhenThereIsOne) {
  const TempDir dir("shared-readers");
  auto w = ClipStore::open_shared(dir.path);
  EXPECT_EQ(ClipStore::open_shared(dir.path, Access::ReadOnly).get(), w.get());
  w.reset();
  auto r = ClipStore::open_shared(dir.path, Access::ReadOnly);
  EXPECT_TRUE(r->db().read_only());
  EXPECT_NO_THROW(ClipStore writer(dir.path)) << "a reader does not hold the lock";
}

}  // namespace
}  // namespace vatt::storage
