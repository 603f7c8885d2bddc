// Zero-shot retrieval figures (nodes/train/retrieval.h): rank = 1 + #higher + #ties / 2, recall at 1/5/10,
// median and mean rank, and the chance level of R@5, on embeddings whose ranks are known by construction.
#include <gtest/gtest.h>

#include <vector>

#include "nodes/train/retrieval.h"

namespace vatt::nodes {
namespace {

using Embeddings = std::vector<std::vector<float>>;

std::vector<const std::vector<float>*> ptrs(const Embeddings& e) {
  std::vector<const std::vector<float>*> out;
  for (const auto& v : e) out.push_back(&v);
  return out;
}

Embeddings one_hot(size_t n) {
  Embeddings e(n, std::vector<float>(n, 0.0f));
  for (size_t i = 0; i < n; ++i) e[i][i] = 1.0f;
  return e;
}

// Gallery item j is the one-hot e_j, so query i scores q_i[j] against item j. Query i gets 0.5 for its own
// item and 1.0 for `rank[i] - 1` other items: exactly that many items score above the true one, and none
// ties.
Embeddings queries_with_ranks(const std::vector<int>& rank) {
  const size_t n = rank.size();
  Embeddings q(n, std::vector<float>(n, 0.0f));
  for (size_t i = 0; i < n; ++i) {
    q[i][i] = 0.5f;
    for (int k = 1; k < rank[i]; ++k) q[i][(i + static_cast<size_t>(k)) % n] = 1.0f;
  }
  return q;
}

TEST(Retrieval, IdentityEmbeddingsRankEveryTrueItemFirst) {
  const auto e = one_hot(12);
  const auto s = rank_all(ptrs(e), ptrs(e));
  EXPECT_EQ(s.queries, 12u);
  EXPECT_EQ(s.gallery, 12u);
  EXPECT_DOUBLE_EQ(s.r1, 100.0);
  EXPECT_DOUBLE_EQ(s.r5, 100.0);
  EXPECT_DOUBLE_EQ(s.r10, 100.0);
  EXPECT_DOUBLE_EQ(s.medr, 1.0);
  EXPECT_DOUBLE_EQ(s.meanr, 1.0);
  EXPECT_DOUBLE_EQ(s.chance5, 100.0 * 5.0 / 12.0);
}

TEST(Retrieval, EveryQueryAtTheSameKnownRank) {
  for (int k : {1, 3, 5, 6, 10, 11}) {
    const auto g = one_hot(16);
    const auto q = queries_with_ranks(std::vector<int>(16, k));
    const auto s = rank_all(ptrs(q), ptrs(g));
    EXPECT_DOUBLE_EQ(s.r1, k <= 1 ? 100.0 : 0.0) << k;
    EXPECT_DOUBLE_EQ(s.r5, k <= 5 ? 100.0 : 0.0) << k;
    EXPECT_DOUBLE_EQ(s.r10, k <= 10 ? 100.0 : 0.0) << k;
    EXPECT_DOUBLE_EQ(s.medr, k) << k;
    EXPECT_DOUBLE_EQ(s.meanr, k) << k;
  }
}

TEST(Retrieval, RanksOneToNGiveTheRecallsAndMedianOfThatDistribution) {
  // Query i ranks i + 1: ranks 1..20.
  std::vector<int> rank(20);
  for (int i = 0; i < 20; ++i) rank[static_cast<size_t>(i)] = i + 1;
  const auto g = one_hot(20);
  const auto q = queries_with_ranks(rank);
  const auto s = rank_all(ptrs(q), ptrs(g));
  EXPECT_DOUBLE_EQ(s.r1, 100.0 * 1 / 20);
  EXPECT_DOUBLE_EQ(s.r5, 100.0 * 5 / 20);
  EXPECT_DOUBLE_EQ(s.r10, 100.0 * 10 / 20);
  EXPECT_DOUBLE_EQ(s.medr, (10 + 11) / 2.0);  // even count: mean of the two middle ranks
  EXPECT_DOUBLE_EQ(s.meanr, 21.0 / 2.0);      // (1 + 20) / 2
  EXPECT_DOUBLE_EQ(s.chance5, 25.0);

  // Odd count, unsorted ranks 5, 1, 4, 2, 5 -> sorted 1 2 4 5 5: median 4, mean 17 / 5.
  const auto g5 = one_hot(5);
  const auto q5 = queries_with_ranks({5, 1, 4, 2, 5});
  const auto u = rank_all(ptrs(q5), ptrs(g5));
  EXPECT_DOUBLE_EQ(u.medr, 4.0);
  EXPECT_DOUBLE_EQ(u.meanr, 17.0 / 5.0);
  EXPECT_DOUBLE_EQ(u.r1, 20.0);
  EXPECT_DOUBLE_EQ(u.r5, 100.0);
  EXPECT_DOUBLE_EQ(u.r10, 100.0);
  EXPECT_DOUBLE_EQ(u.chance5, 100.0);
}

TEST(Retrieval, ExactTiesCountHalf) {
  // Items 0 and 1 are identical; queries 0 and 1 both point at them: each has one tie, none above -> 1.5.
  Embeddings g = one_hot(4);
  g[1] = g[0];
  Embeddings q = one_hot(4);
  q[1] = q[0];
  auto s = rank_all(ptrs(q), ptrs(g));
  // Ranks 1.5, 1.5, 1, 1.
  EXPECT_DOUBLE_EQ(s.r1, 50.0);
  EXPECT_DOUBLE_EQ(s.r5, 100.0);
  EXPECT_DOUBLE_EQ(s.medr, (1.0 + 1.5) / 2);
  EXPECT_DOUBLE_EQ(s.meanr, 5.0 / 4);

  // Three identical items: two ties -> 1 + 2 / 2 = 2 for each of their queries.
  g = one_hot(3);
  g[1] = g[0];
  g[2] = g[0];
  q = g;
  s = rank_all(ptrs(q), ptrs(g));
  EXPECT_DOUBLE_EQ(s.medr, 2.0);
  EXPECT_DOUBLE_EQ(s.meanr, 2.0);
  EXPECT_DOUBLE_EQ(s.r1, 0.0);

  // A tie and one item above: 1 + 1 + 1 / 2 = 2.5.
  g = one_hot(3);
  g[1] = g[0];
  q = {{0.5f, 0.0f, 1.0f}, {0.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 1.0f}};
  // Query 0: item 0 scores 0.5, item 1 (= item 0) ties, item 2 scores 1.0 -> 2.5.
  // Query 1: item 1 scores 0 (it is e_0), item 0 ties at 0, item 2 scores 0 too -> 1 + 2 / 2 = 2.
  // Query 2: item 2 scores 1, the others 0 -> 1.
  s = rank_all(ptrs(q), ptrs(g));
  EXPECT_DOUBLE_EQ(s.meanr, (2.5 + 2.0 + 1.0) / 3);
  EXPECT_DOUBLE_EQ(s.medr, 2.0);
  EXPECT_DOUBLE_EQ(s.r1, 100.0 / 3);
}

TEST(Retrieval, ChanceIsFiveOverTheGalleryCappedAtAHundred) {
  for (size_t n : {1u, 3u, 5u, 6u, 10u, 40u}) {
    const auto e = one_hot(n);
    const auto s = rank_all(ptrs(e), ptrs(e));
    const double expected = n <= 5 ? 100.0 : 500.0 / static_cast<double>(n);
    EXPECT_DOUBLE_EQ(s.chance5, expected) << n;
  }
}

TEST(Retrieval, EmptyInputGivesZeros) {
  const auto s = rank_all({}, {});
  EXPECT_EQ(s.queries, 0u);
  EXPECT_EQ(s.gallery, 0u);
  EXPECT_EQ(s.r1, 0.0);
  EXPECT_EQ(s.r5, 0.0);
  EXPECT_EQ(s.r10, 0.0);
  EXPECT_EQ(s.medr, 0.0);
  EXPECT_EQ(s.meanr, 0.0);
  EXPECT_EQ(s.chance5, 0.0);
}

}  // namespace
}  // namespace vatt::nodes
