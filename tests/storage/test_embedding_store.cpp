// The embedding store: vectors keyed (model, space, source, clip) with dense per-space seqs, one atomic write
// per batch, re-adding the same content adds nothing, other content replaces (the old entry dies), model
// records count what they hold and survive a reopen.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "storage/embedding_store.h"
#include "storage/keys.h"

namespace vatt::storage {
namespace {

struct TempDir {
  explicit TempDir(const char* name)
      : path((std::filesystem::temp_directory_path() /
              ("vatt-embstore-" + std::to_string(getpid()) + "-" + name))
                 .string()) {
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

ModelRecord info(uint64_t id) {
  ModelRecord m;
  m.id = id;
  m.checkpoint = "/ckpt/ckpt-000000000100.pt";
  m.step = 100;
  m.config_name = "tiny";
  m.config = "name=tiny\n";
  return m;
}

Entry entry(uint64_t clip, const std::string& split = "train") {
  return Entry{0,     clip, static_cast<int64_t>(clip) * 3200000, static_cast<int64_t>(clip + 1) * 3200000,
               false, split};
}

TEST(EmbeddingStore, KeysAreBigEndianAndOrderedByModelSpaceSourceClip) {
  const auto a = EmbeddingStore::vector_key(1, Space::VideoVT, 2, 255);
  const auto b = EmbeddingStore::vector_key(1, Space::VideoVT, 2, 256);
  const auto c = EmbeddingStore::vector_key(1, Space::VideoVT, 3, 0);
  EXPECT_EQ(a.size(), 26u);
  EXPECT_EQ(a[0], 'e');
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(get_u64(a, 1), 1u);
  EXPECT_EQ(static_cast<uint8_t>(a[9]), static_cast<uint8_t>(Space::VideoVT));
  EXPECT_EQ(get_u64(a, 10), 2u);
  EXPECT_EQ(get_u64(a, 18), 255u);
  EXPECT_LT(EmbeddingStore::entry_key(1, Space::VideoVA, 9),
            EmbeddingStore::entry_key(1, Space::VideoVA, 10));
  for (Space s : all_spaces()) EXPECT_EQ(space_from_name(space_name(s)), s);
  EXPECT_FALSE(space_from_name("video"));
  EXPECT_EQ(parse_hex_id(hex_id(0xdaa219fc3ec288f0ULL)), 0xdaa219fc3ec288f0ULL);
  EXPECT_FALSE(parse_hex_id("xyz"));
}

TEST(EmbeddingStore, ABatchIsWrittenAtCommitWithDenseSeqsAndTheModelRecord) {
  TempDir dir("commit");
  Db db(dir.path);
  EmbeddingStore es(db);
  EmbeddingStore::Writer w(es, info(7));
  for (uint64_t c = 0; c < 3; ++c) {
    const float v[4] = {1.0f * c, 0, 0, 1};
    EXPECT_EQ(w.add(Space::VideoVT, 42, c, 99, entry(c), v, 4), EmbeddingStore::Writer::Result::Added);
  }
  // Nothing is visible before commit.
  EXPECT_FALSE(es.model(7));
  EXPECT_FALSE(es.get(7, Space::VideoVT, 42, 0));
  EXPECT_EQ(w.commit(), 3u);
  auto m = es.model(7);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->spaces.at(Space::VideoVT).count, 3u);
  EXPECT_EQ(m->spaces.at(Space::VideoVT).dim, 4);
  EXPECT_EQ(m->clips(), 3u);
  EXPECT_EQ(m->checkpoint, "/ckpt/ckpt-000000000100.pt");
  auto v = es.get(7, Space::VideoVT, 42, 2);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->seq, 2u);
  EXPECT_EQ(v->v, (std::vector<float>{2, 0, 0, 1}));
  std::vector<uint64_t> seqs;
  es.scan_entries(7, Space::VideoVT, 1, [&](uint64_t seq, const Entry& e) {
    seqs.push_back(seq);
    EXPECT_EQ(e.source, 42u);
    EXPECT_EQ(e.clip, seq);
    EXPECT_EQ(e.start_us, static_cast<int64_t>(seq) * 3200000);
    EXPECT_EQ(e.split, "train");
    return true;
  });
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2}));
  // A wrong dimension is refused, naming the space.
  const float bad[3] = {0, 0, 0};
  try {
    w.add(Space::VideoVT, 42, 9, 99, entry(9), bad, 3);
    FAIL() << "a 3-d vector went into a 4-d space";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("video_vt holds 4-d vectors"), std::string::npos) << e.what();
  }
}

TEST(EmbeddingStore, TheSameContentAddsNothingAndOtherContentReplacesWithANewSeq) {
  TempDir dir("replace");
  Db db(dir.path);
  EmbeddingStore es(db);
  const float a[2] = {1, 0}, b[2] = {0, 1};
  {
    EmbeddingStore::Writer w(es, info(7));
    w.add(Space::VideoVA, 1, 0, 10, entry(0), a, 2);
    w.add(Space::VideoVA, 1, 1, 10, entry(1), a, 2);
    w.commit();
  }
  EmbeddingStore::Writer w(es, info(7));  // a second run of the same model
  EXPECT_EQ(w.add(Space::VideoVA, 1, 0, 10, entry(0), a, 2), EmbeddingStore::Writer::Result::Skipped);
  EXPECT_EQ(w.add(Space::VideoVA, 1, 1, 11, entry(1), b, 2), EmbeddingStore::Writer::Result::Replaced);
  EXPECT_EQ(w.commit(), 1u);
  auto m = es.model(7);
  EXPECT_EQ(m->spaces.at(Space::VideoVA).count, 3u);
  EXPECT_EQ(m->spaces.at(Space::VideoVA).dead, 1u);
  EXPECT_EQ(m->clips(), 2u);
  auto v = es.get(7, Space::VideoVA, 1, 1);
  EXPECT_EQ(v->seq, 2u);
  EXPECT_EQ(v->v, (std::vector<float>{0, 1}));
  std::vector<bool> dead;
  es.scan_entries(7, Space::VideoVA, 0, [&](uint64_t, const Entry& e) {
    dead.push_back(e.dead);
    return true;
  });
  EXPECT_EQ(dead, (std::vector<bool>{false, true, false}));
  size_t live = 0;
  es.scan_vectors(7, Space::VideoVA, std::nullopt, [&](uint64_t, uint64_t, const StoredVector&) {
    ++live;
    return true;
  });
  EXPECT_EQ(live, 2u);
}

TEST(EmbeddingStore, ModelsAreListedInTheOrderTheyFirstCameAndSurviveAReopen) {
  TempDir dir("models");
  const float a[2] = {1, 0};
  {
    Db db(dir.path);
    EmbeddingStore es(db);
    for (uint64_t id : {30u, 10u, 20u}) {
      EmbeddingStore::Writer w(es, info(id));
      w.add(Space::VideoVT, 1, 0, 1, entry(0), a, 2);
      w.commit();
    }
  }
  Db db(dir.path);
  EmbeddingStore es(db);
  auto models = es.models();
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(models[0].id, 30u);
  EXPECT_EQ(models[1].id, 10u);
  EXPECT_EQ(models[2].id, 20u);
  EXPECT_EQ(es.latest_model()->id, 20u);
  EXPECT_EQ(models[1].step, 100);
  EXPECT_EQ(models[1].config_name, "tiny");
}

}  // namespace
}  // namespace vatt::storage
