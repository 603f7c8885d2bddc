// The faiss index over the embedding store: flat search equals brute force exactly, HNSW and IVF reach
// recall@10 >= 0.95; the index file is trusted only after its checks (a deleted, corrupted or stale file is
// rebuilt from RocksDB) and caught up with vectors added since; filters, per-video results and replaced
// vectors come from the store's entries and equal brute force on the matching vectors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "storage/embedding_store.h"
#include "storage/vector_index.h"

namespace vatt::storage {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  explicit TempDir(const char* name)
      : path((fs::temp_directory_path() / ("vatt-index-" + std::to_string(getpid()) + "-" + name)).string()) {
    fs::remove_all(path);
    fs::remove_all(path + ".index");
  }
  ~TempDir() {
    fs::remove_all(path);
    fs::remove_all(path + ".index");
  }
  std::string path;
};

constexpr uint64_t kModel = 0xabcdef;
constexpr int kClipsPerSource = 10;

/// Unit vectors around `centres` random centres (clustered, as real embeddings are).
std::vector<std::vector<float>> vectors(size_t n, int dim, uint64_t seed, int centres = 50) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::mt19937_64 crng(1234);  // the same centres for every call
  std::vector<std::vector<float>> cs(static_cast<size_t>(centres),
                                     std::vector<float>(static_cast<size_t>(dim)));
  for (auto& c : cs)
    for (auto& x : c) x = g(crng);
  std::vector<std::vector<float>> out(n, std::vector<float>(static_cast<size_t>(dim)));
  for (auto& v : out) {
    const auto& c = cs[rng() % cs.size()];
    double norm = 0;
    for (size_t d = 0; d < v.size(); ++d) {
      v[d] = c[d] + 0.7f * g(rng);
      norm += static_cast<double>(v[d]) * v[d];
    }
    for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
  }
  return out;
}

/// Writes vectors i = [from, from + n) as source i / 10, clip i % 10 (split "test" for every 5th source).
void fill(Db& db, const std::vector<std::vector<float>>& vs, size_t from = 0, uint64_t content = 1) {
  EmbeddingStore es(db);
  ModelRecord m;
  m.id = kModel;
  m.checkpoint = "ckpt";
  m.config_name = "tiny";
  EmbeddingStore::Writer w(es, m);
  for (size_t i = from; i < vs.size(); ++i) {
    const uint64_t source = i / kClipsPerSource, clip = i % kClipsPerSource;
    Entry e{source,
            clip,
            static_cast<int64_t>(clip) * 1000000,
            static_cast<int64_t>(clip + 1) * 1000000,
            false,
            source % 5 == 0 ? "test" : "train"};
    w.add(Space::VideoVT, source, clip, content, e, vs[i].data(), vs[i].size());
    if (i % 1000 == 999) w.commit();
  }
  w.commit();
}

/// Brute-force top-k ids (source * 10 + clip) over the vectors that pass `keep`.
std::vector<size_t> exact(
    const std::vector<std::vector<float>>& vs, const std::vector<float>& q, size_t k,
    const std::function<bool(size_t)>& keep = [](size_t) { return true; }) {
  std::vector<std::pair<float, size_t>> s;
  for (size_t i = 0; i < vs.size(); ++i) {
    if (!keep(i)) continue;
    float dot = 0;
    for (size_t d = 0; d < q.size(); ++d) dot += vs[i][d] * q[d];
    s.emplace_back(dot, i);
  }
  std::sort(s.begin(), s.end(),
            [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::vector<size_t> out;
  for (size_t i = 0; i < std::min(k, s.size()); ++i) out.push_back(s[i].second);
  return out;
}

size_t id_of(const SearchHit& h) {
  return static_cast<size_t>(h.source * kClipsPerSource + h.clip);
}

double recall_at_10(VectorIndex& index, const std::vector<std::vector<float>>& vs,
                    const std::vector<std::vector<float>>& queries) {
  double found = 0, total = 0;
  for (const auto& q : queries) {
    auto truth = exact(vs, q, 10);
    auto hits = index.search(q.data(), q.size(), 10);
    std::set<size_t> got;
    for (const auto& h : hits) got.insert(id_of(h));
    for (size_t t : truth) found += got.count(t);
    total += static_cast<double>(truth.size());
  }
  return found / total;
}

TEST(VectorIndex, FlatSearchEqualsBruteForceExactly) {
  TempDir dir("flat");
  Db db(dir.path);
  const auto vs = vectors(3000, 32, 1);
  fill(db, vs);
  IndexOptions o;
  o.kind = "flat";
  VectorIndex index(db, kModel, Space::VideoVT, o);
  EXPECT_EQ(index.size(), 3000u);
  EXPECT_EQ(index.status().kind, "flat");
  for (const auto& q : vectors(50, 32, 2)) {
    auto truth = exact(vs, q, 10);
    auto hits = index.search(q.data(), q.size(), 10);
    ASSERT_EQ(hits.size(), 10u);
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(id_of(hits[i]), truth[i]) << "rank " << i;
      float dot = 0;
      for (size_t d = 0; d < q.size(); ++d) dot += vs[truth[i]][d] * q[d];
      EXPECT_NEAR(hits[i].score, dot, 1e-5);
      EXPECT_EQ(hits[i].start_us, static_cast<int64_t>(hits[i].clip) * 1000000);
    }
  }
  // auto picks the exact index below its threshold.
  VectorIndex automatic(db, kModel, Space::VideoVT);
  EXPECT_EQ(automatic.status().kind, "flat");
}

TEST(VectorIndex, HnswAndIvfReachRecallAt10OfAtLeast95Percent) {
  TempDir dir("approx");
  Db db(dir.path);
  const auto vs = vectors(8000, 32, 3);
  fill(db, vs);
  const auto queries = vectors(100, 32, 4);
  for (const char* kind : {"hnsw", "ivf"}) {
    IndexOptions o;
    o.kind = kind;
    o.ef_search = 64;
    o.nprobe = 24;
    VectorIndex index(db, kModel, Space::VideoVT, o);
    EXPECT_EQ(index.status().kind, kind);
    const double r = recall_at_10(index, vs, queries);
    std::printf("%s recall@10 = %.3f\n", kind, r);
    EXPECT_GE(r, 0.95) << kind;
  }
}

TEST(VectorIndex, ASavedIndexIsLoadedAndCaughtUpWithVectorsAddedSince) {
  TempDir dir("catchup");
  Db db(dir.path);
  auto vs = vectors(2000, 16, 5);
  fill(db, vs);
  IndexOptions o;
  o.kind = "hnsw";
  {
    VectorIndex index(db, kModel, Space::VideoVT, o);
    EXPECT_TRUE(index.status().rebuilt);
    EXPECT_EQ(index.status().reason, "no index file yet");
    EXPECT_TRUE(fs::exists(index.status().file));
  }
  const auto more = vectors(500, 16, 6);
  vs.insert(vs.end(), more.begin(), more.end());
  fill(db, vs, 2000);
  {
    VectorIndex index(db, kModel, Space::VideoVT, o);
    EXPECT_TRUE(index.status().loaded) << index.status().reason;
    EXPECT_FALSE(index.status().rebuilt);
    EXPECT_EQ(index.status().caught_up, 500u);
    EXPECT_EQ(index.size(), 2500u);
    // In a running process: sync() adds what was stored since, searchable at once.
    const auto extra = vectors(100, 16, 7);
    vs.insert(vs.end(), extra.begin(), extra.end());
    fill(db, vs, 2500);
    EXPECT_EQ(index.sync(), 100u);
    for (size_t i : {2500u, 2550u, 2599u}) {
      auto hits = index.search(vs[i].data(), vs[i].size(), 1);
      ASSERT_EQ(hits.size(), 1u);
      EXPECT_EQ(id_of(hits[0]), i);
    }
  }
  {
    // sync() left the file behind the store (a service saves when it chooses): still trusted, caught up.
    VectorIndex lagging(db, kModel, Space::VideoVT, o);
    EXPECT_TRUE(lagging.status().loaded) << lagging.status().reason;
    EXPECT_EQ(lagging.status().caught_up, 100u);
  }
  VectorIndex again(db, kModel, Space::VideoVT, o);  // the open that caught up saved the file
  EXPECT_TRUE(again.status().loaded);
  EXPECT_EQ(again.status().caught_up, 0u);
  // Other build parameters: the file is not used.
  o.hnsw_m = 16;
  VectorIndex other(db, kModel, Space::VideoVT, o);
  EXPECT_TRUE(other.status().rebuilt);
  EXPECT_NE(other.status().reason.find("other parameters"), std::string::npos) << other.status().reason;
}

TEST(VectorIndex, ADeletedCorruptedOrStaleIndexFileIsRebuiltFromTheStore) {
  TempDir dir("corrupt");
  Db db(dir.path);
  const auto vs = vectors(1500, 16, 8);
  fill(db, vs);
  IndexOptions o;
  o.kind = "flat";
  std::string file;
  {
    VectorIndex index(db, kModel, Space::VideoVT, o);
    file = index.status().file;
  }
  auto expect_rebuilt = [&](const std::string& why) {
    VectorIndex index(db, kModel, Space::VideoVT, o);
    EXPECT_TRUE(index.status().rebuilt);
    EXPECT_NE(index.status().reason.find(why), std::string::npos) << index.status().reason;
    auto hits = index.search(vs[77].data(), vs[77].size(), 1);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(id_of(hits[0]), 77u);
    VectorIndex reopened(db, kModel, Space::VideoVT, o);  // the rebuilt file is trusted again
    EXPECT_TRUE(reopened.status().loaded) << reopened.status().reason;
  };
  fs::remove(file);
  expect_rebuilt("is missing");
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) / 2));
    f.put('\x5a');
  }
  expect_rebuilt("checksum");
  fs::resize_file(file, fs::file_size(file) / 3);
  expect_rebuilt("checksum");
  {
    std::ofstream h(file.substr(0, file.size() - 6) + ".json", std::ios::trunc);
    h << "{ not json";
  }
  expect_rebuilt("not valid JSON");
}

TEST(VectorIndex, AnIndexFileOfAnotherStoreIsRebuilt) {
  TempDir dir("stale");
  IndexOptions o;
  o.kind = "flat";
  {
    Db db(dir.path);
    fill(db, vectors(1500, 16, 8));
    VectorIndex index(db, kModel, Space::VideoVT, o);
  }
  fs::remove_all(dir.path);  // the database goes, its index folder stays
  Db db(dir.path);
  const auto vs = vectors(1000, 16, 9);
  fill(db, vs);
  VectorIndex index(db, kModel, Space::VideoVT, o);
  EXPECT_TRUE(index.status().rebuilt);
  EXPECT_NE(index.status().reason.find("covers 1500 vectors but the store has 1000"), std::string::npos)
      << index.status().reason;
  auto hits = index.search(vs[5].data(), 16, 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(id_of(hits[0]), 5u);
}

TEST(VectorIndex, ReplacedVectorsAreNeverReturnedAndTheirReplacementsAre) {
  TempDir dir("dead");
  Db db(dir.path);
  auto vs = vectors(500, 16, 10);
  fill(db, vs);
  IndexOptions o;
  o.kind = "hnsw";
  VectorIndex index(db, kModel, Space::VideoVT, o);
  const auto old = vs[123];
  vs[123] = vectors(1, 16, 11)[0];
  {
    EmbeddingStore es(db);
    ModelRecord m;
    m.id = kModel;
    EmbeddingStore::Writer w(es, m);
    Entry e{12, 3, 3000000, 4000000, false, "train"};
    EXPECT_EQ(w.add(Space::VideoVT, 12, 3, /*content=*/2, e, vs[123].data(), 16),
              EmbeddingStore::Writer::Result::Replaced);
    w.commit();
  }
  EXPECT_EQ(index.sync(), 1u);
  EXPECT_EQ(index.live(), 500u);
  auto hits = index.search(old.data(), old.size(), 5);
  for (const auto& h : hits) EXPECT_FALSE(h.seq == 123) << "the replaced vector came back";
  hits = index.search(vs[123].data(), 16, 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(id_of(hits[0]), 123u);
  EXPECT_EQ(hits[0].seq, 500u);
}

TEST(VectorIndex, FiltersAndPerVideoResultsEqualBruteForceOnTheMatchingVectors) {
  TempDir dir("filter");
  Db db(dir.path);
  const auto vs = vectors(30000, 16, 12);
  fill(db, vs);
  IndexOptions o;
  o.kind = "flat";
  VectorIndex index(db, kModel, Space::VideoVT, o);
  const auto queries = vectors(20, 16, 13);
  auto check = [&](const SearchFilter& f, const std::function<bool(size_t)>& keep, const char* what) {
    for (const auto& q : queries) {
      auto truth = exact(vs, q, 10, keep);
      auto hits = index.search(q.data(), q.size(), 10, f);
      ASSERT_EQ(hits.size(), truth.size()) << what;
      for (size_t i = 0; i < truth.size(); ++i) EXPECT_EQ(id_of(hits[i]), truth[i]) << what << " rank " << i;
    }
  };
  SearchFilter split;
  split.split = "test";  // 6,000 vectors: through the index with over-fetching
  check(
      split, [](size_t i) { return (i / kClipsPerSource) % 5 == 0; }, "split");
  SearchFilter sources;
  sources.sources = std::unordered_set<uint64_t>{3, 17, 2500};  // 30 vectors: an exact scan
  check(
      sources,
      [](size_t i) {
        const auto s = i / kClipsPerSource;
        return s == 3 || s == 17 || s == 2500;
      },
      "sources");
  SearchFilter times;
  times.after_us = 2000000;
  times.before_us = 5000000;  // clips 2, 3, 4
  check(
      times,
      [](size_t i) {
        const auto c = i % kClipsPerSource;
        return c >= 2 && c <= 4;
      },
      "time range");
  SearchFilter none;
  none.split = "validation";
  EXPECT_TRUE(index.search(queries[0].data(), 16, 10, none).empty());
  SearchFilter exclude;
  exclude.exclude = std::make_pair(uint64_t{7}, uint64_t{4});
  auto hits = index.search(vs[74].data(), 16, 3, exclude);
  for (const auto& h : hits) EXPECT_NE(id_of(h), 74u);
  // Per video: each source's best clip, best first.
  for (const auto& q : queries) {
    auto hits = index.search(q.data(), 16, 10, {}, /*per_video=*/true);
    ASSERT_EQ(hits.size(), 10u);
    std::set<uint64_t> seen;
    std::vector<std::pair<float, uint64_t>> best;  // brute force: the best score per source
    std::map<uint64_t, float> per_source;
    for (size_t i = 0; i < vs.size(); ++i) {
      float dot = 0;
      for (size_t d = 0; d < 16; ++d) dot += vs[i][d] * q[d];
      auto s = i / kClipsPerSource;
      if (!per_source.count(s) || dot > per_source[s]) per_source[s] = dot;
    }
    for (auto& [s, d] : per_source) best.emplace_back(d, s);
    std::sort(best.rbegin(), best.rend());
    for (size_t i = 0; i < hits.size(); ++i) {
      EXPECT_TRUE(seen.insert(hits[i].source).second);
      EXPECT_EQ(hits[i].source, best[i].second) << "rank " << i;
    }
  }
}

TEST(VectorIndex, ASpaceTheModelLacksOrABadOptionIsAClearError) {
  TempDir dir("errors");
  Db db(dir.path);
  fill(db, vectors(10, 8, 14));
  try {
    VectorIndex index(db, kModel, Space::AudioVA);
    FAIL();
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("has no audio_va vectors"), std::string::npos) << e.what();
  }
  try {
    VectorIndex index(db, 0x42, Space::VideoVT);
    FAIL();
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("holds no model 0000000000000042"), std::string::npos) << e.what();
  }
  IndexOptions o;
  o.kind = "annoy";
  EXPECT_THROW(VectorIndex(db, kModel, Space::VideoVT, o), std::invalid_argument);
}

}  // namespace
}  // namespace vatt::storage
