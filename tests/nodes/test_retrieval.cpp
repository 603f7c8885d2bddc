// Zero-shot retrieval figures (nodes/train/retrieval.h): rank = 1 + #higher + #ties / 2, recall at 1/5/10,
// median and mean rank, and the chance level of R@5, on embeddings whose ranks are known by construction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
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

TEST(Retrieval, SeveralRelevantItemsRankTheBestOneAsAFullSortDoes) {
  // Random normalised vectors; each query has 1 to 3 relevant gallery items. Brute force: sort the whole
  // gallery by score and take the first position of a relevant item among the non-relevant ones.
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  auto vec = [&] {
    std::vector<float> v(8);
    float n = 0;
    for (auto& x : v) {
      x = nd(rng);
      n += x * x;
    }
    for (auto& x : v) x /= std::sqrt(n);
    return v;
  };
  Embeddings q(40), g(25);
  for (auto& v : q) v = vec();
  for (auto& v : g) v = vec();
  std::vector<std::vector<size_t>> rel(q.size());
  for (size_t i = 0; i < q.size(); ++i)
    for (size_t k = 0; k <= i % 3; ++k) rel[i].push_back((i * 7 + k * 11) % g.size());
  const auto s = rank_relevant(ptrs(q), ptrs(g), rel);
  std::vector<double> ranks;
  for (size_t i = 0; i < q.size(); ++i) {
    std::vector<std::pair<float, size_t>> scored;
    for (size_t j = 0; j < g.size(); ++j) {
      float dot = 0;
      for (size_t k = 0; k < 8; ++k) dot += q[i][k] * g[j][k];
      scored.emplace_back(-dot, j);
    }
    std::sort(scored.begin(), scored.end());
    double rank = 1;
    for (const auto& [neg, j] : scored) {
      if (std::find(rel[i].begin(), rel[i].end(), j) != rel[i].end()) break;
      rank += 1;
    }
    ranks.push_back(rank);
  }
  auto pct = [&](double k) {
    return 100.0 *
           static_cast<double>(std::count_if(ranks.begin(), ranks.end(), [&](double r) { return r <= k; })) /
           static_cast<double>(ranks.size());
  };
  EXPECT_DOUBLE_EQ(s.r1, pct(1));
  EXPECT_DOUBLE_EQ(s.r5, pct(5));
  EXPECT_DOUBLE_EQ(s.r10, pct(10));
  std::sort(ranks.begin(), ranks.end());
  EXPECT_DOUBLE_EQ(s.medr, (ranks[19] + ranks[20]) / 2);
  EXPECT_EQ(s.queries, 40u);
  EXPECT_EQ(s.gallery, 25u);
  EXPECT_THROW(rank_relevant(ptrs(q), ptrs(g), std::vector<std::vector<size_t>>(q.size())),
               std::invalid_argument);
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
