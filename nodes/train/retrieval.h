// Zero-shot retrieval figures: query i's true item is gallery item i; ranks by dot product (embeddings are
// L2-normalised, so cosine similarity). Used by `retrieval_eval`.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vatt::nodes {

struct RetrievalScores {
  size_t queries = 0, gallery = 0;
  double r1 = 0, r5 = 0, r10 = 0;  ///< percent of queries whose true item ranks <= K
  double medr = 0, meanr = 0;      ///< median and mean rank (1 = first)
  double chance5 = 0;              ///< R@5 of a random ranking: 5 / gallery, in percent
};

/// The general case: query q's relevant gallery items are `relevant[q]` (a video's several captions, or
/// the one video of a caption). Its rank is that of its best-scoring relevant item among the items that are
/// not relevant: 1 + #(scoring above it) + #(exact ties) / 2. Similarity is the dot product (the vectors are
/// normalised). Throws std::invalid_argument for a query without relevant items, an index outside the
/// gallery or vectors of different sizes.
RetrievalScores rank_relevant(const std::vector<const std::vector<float>*>& queries,
                              const std::vector<const std::vector<float>*>& gallery,
                              const std::vector<std::vector<size_t>>& relevant);

/// rank(q) = 1 + #(gallery items scoring above the true one) + #(exact ties) / 2, so a repeated sentence
/// does not win by luck. `queries` and `gallery` have the same length; empty gives all zeros.
RetrievalScores rank_all(const std::vector<const std::vector<float>*>& queries,
                         const std::vector<const std::vector<float>*>& gallery);

/// Scales `v` to unit L2 norm (left as it is when its norm is 0).
void normalise(std::vector<float>& v);

/// The figures as gauges "<direction>.R@1", ".R@5", ".R@10", ".MedR", ".MeanR", ".chance_R@5", ".queries",
/// ".gallery" (the metrics JSON nests them under the direction).
void add_gauges(std::map<std::string, double>& gauges, const std::string& direction,
                const RetrievalScores& s);

/// The paper's Fig. 4: densities of the cosine similarity of positive pairs (a[i], b[i]) and of negative
/// pairs (a[i], b[j], i != j; at most `max_negatives`, evenly spread over all of them) over [-1, 1] in `bins`
/// equal bins; each density integrates to 1 (empty when there are no pairs).
struct SimilarityDensity {
  std::vector<double> positive, negative;
  size_t positives = 0, negatives = 0;
};
SimilarityDensity similarity_density(const std::vector<const std::vector<float>*>& a,
                                     const std::vector<const std::vector<float>*>& b, int bins = 40,
                                     size_t max_negatives = 200000);

/// The paper's Fig. 3 as a linear map: each vector's coordinates on the two leading principal components
/// (power iteration from a fixed start: the same input gives the same map). Fewer than 2 vectors: zeros.
std::vector<std::pair<double, double>> pca_2d(const std::vector<const std::vector<float>*>& v);

}  // namespace vatt::nodes
