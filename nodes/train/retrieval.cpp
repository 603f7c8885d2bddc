// Retrieval ranks and recall figures.
#include "nodes/train/retrieval.h"

#include <algorithm>

namespace vatt::nodes {

RetrievalScores rank_all(const std::vector<const std::vector<float>*>& queries,
                         const std::vector<const std::vector<float>*>& gallery) {
  RetrievalScores s;
  s.queries = queries.size();
  s.gallery = gallery.size();
  if (queries.empty() || gallery.empty()) return s;
  std::vector<double> ranks;
  ranks.reserve(queries.size());
  std::vector<float> sims(gallery.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    const auto& a = *queries[q];
    for (size_t g = 0; g < gallery.size(); ++g) {
      const auto& b = *gallery[g];
      float dot = 0;
      for (size_t k = 0; k < a.size(); ++k) dot += a[k] * b[k];
      sims[g] = dot;
    }
    double above = 0, ties = 0;
    for (size_t g = 0; g < gallery.size(); ++g) {
      if (g == q) continue;
      if (sims[g] > sims[q]) above += 1;
      if (sims[g] == sims[q]) ties += 1;
    }
    ranks.push_back(1 + above + ties / 2);
  }
  auto pct = [&](double k) {
    return 100.0 *
           static_cast<double>(std::count_if(ranks.begin(), ranks.end(), [&](double r) { return r <= k; })) /
           static_cast<double>(ranks.size());
  };
  s.r1 = pct(1);
  s.r5 = pct(5);
  s.r10 = pct(10);
  std::vector<double> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  s.medr = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  double sum = 0;
  for (double r : ranks) sum += r;
  s.meanr = sum / static_cast<double>(n);
  s.chance5 = 100.0 * std::min(1.0, 5.0 / static_cast<double>(gallery.size()));
  return s;
}

}  // namespace vatt::nodes
