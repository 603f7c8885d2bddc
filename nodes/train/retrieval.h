// Zero-shot retrieval figures: query i's true item is gallery item i; ranks by dot product (embeddings are
// L2-normalised, so cosine similarity). Used by `retrieval_eval`.
#pragma once

#include <cstddef>
#include <vector>

namespace vatt::nodes {

struct RetrievalScores {
  size_t queries = 0, gallery = 0;
  double r1 = 0, r5 = 0, r10 = 0;  ///< percent of queries whose true item ranks <= K
  double medr = 0, meanr = 0;      ///< median and mean rank (1 = first)
  double chance5 = 0;              ///< R@5 of a random ranking: 5 / gallery, in percent
};

/// rank(q) = 1 + #(gallery items scoring above the true one) + #(exact ties) / 2, so a repeated sentence
/// does not win by luck. `queries` and `gallery` have the same length; empty gives all zeros.
RetrievalScores rank_all(const std::vector<const std::vector<float>*>& queries,
                         const std::vector<const std::vector<float>*>& gallery);

}  // namespace vatt::nodes
