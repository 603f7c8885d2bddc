// Retrieval ranks and recall figures.
#include "nodes/train/retrieval.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace vatt::nodes {

RetrievalScores rank_relevant(const std::vector<const std::vector<float>*>& queries,
                              const std::vector<const std::vector<float>*>& gallery,
                              const std::vector<std::vector<size_t>>& relevant) {
  if (relevant.size() != queries.size())
    throw std::invalid_argument("rank_relevant: " + std::to_string(relevant.size()) +
                                " relevance lists for " + std::to_string(queries.size()) + " queries");
  RetrievalScores s;
  s.queries = queries.size();
  s.gallery = gallery.size();
  if (queries.empty() || gallery.empty()) return s;
  std::vector<double> ranks;
  ranks.reserve(queries.size());
  std::vector<float> sims(gallery.size());
  std::vector<char> is_relevant(gallery.size(), 0);
  for (size_t q = 0; q < queries.size(); ++q) {
    const auto& a = *queries[q];
    for (size_t g = 0; g < gallery.size(); ++g) {
      const auto& b = *gallery[g];
      if (b.size() != a.size())
        throw std::invalid_argument("rank_relevant: a query of " + std::to_string(a.size()) +
                                    " values against a gallery item of " + std::to_string(b.size()));
      float dot = 0;
      for (size_t k = 0; k < a.size(); ++k) dot += a[k] * b[k];
      sims[g] = dot;
    }
    if (relevant[q].empty())
      throw std::invalid_argument("rank_relevant: query " + std::to_string(q) + " has no relevant item");
    // The best-scoring relevant item is the one ranked.
    size_t best = relevant[q].front();
    for (size_t g : relevant[q]) {
      if (g >= gallery.size()) throw std::invalid_argument("rank_relevant: relevant item out of the gallery");
      is_relevant[g] = 1;
      if (sims[g] > sims[best]) best = g;
    }
    double above = 0, ties = 0;
    for (size_t g = 0; g < gallery.size(); ++g) {
      if (is_relevant[g]) continue;
      if (sims[g] > sims[best]) above += 1;
      if (sims[g] == sims[best]) ties += 1;
    }
    for (size_t g : relevant[q]) is_relevant[g] = 0;
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

RetrievalScores rank_all(const std::vector<const std::vector<float>*>& queries,
                         const std::vector<const std::vector<float>*>& gallery) {
  std::vector<std::vector<size_t>> relevant(queries.size());
  for (size_t q = 0; q < queries.size(); ++q) relevant[q] = {q};
  if (gallery.size() < queries.size()) {
    RetrievalScores s;
    s.queries = queries.size();
    s.gallery = gallery.size();
    return s;
  }
  return rank_relevant(queries, gallery, relevant);
}

void normalise(std::vector<float>& v) {
  double n = 0;
  for (float x : v) n += static_cast<double>(x) * x;
  n = std::sqrt(n);
  if (n > 0)
    for (float& x : v) x = static_cast<float>(x / n);
}

void add_gauges(std::map<std::string, double>& g, const std::string& d, const RetrievalScores& s) {
  g[d + ".R@1"] = s.r1;
  g[d + ".R@5"] = s.r5;
  g[d + ".R@10"] = s.r10;
  g[d + ".MedR"] = s.medr;
  g[d + ".MeanR"] = s.meanr;
  g[d + ".chance_R@5"] = s.chance5;
  g[d + ".queries"] = static_cast<double>(s.queries);
  g[d + ".gallery"] = static_cast<double>(s.gallery);
}

SimilarityDensity similarity_density(const std::vector<const std::vector<float>*>& a,
                                     const std::vector<const std::vector<float>*>& b, int bins,
                                     size_t max_negatives) {
  SimilarityDensity d;
  d.positive.assign(static_cast<size_t>(bins), 0.0);
  d.negative.assign(static_cast<size_t>(bins), 0.0);
  const size_t n = std::min(a.size(), b.size());
  auto dot = [&](size_t i, size_t j) {
    double s = 0;
    for (size_t k = 0; k < a[i]->size() && k < b[j]->size(); ++k)
      s += static_cast<double>((*a[i])[k]) * (*b[j])[k];
    return s;
  };
  auto bin = [&](double s) {
    const auto k = static_cast<long>(std::floor((s + 1) / 2 * bins));
    return static_cast<size_t>(std::clamp<long>(k, 0, bins - 1));
  };
  for (size_t i = 0; i < n; ++i) d.positive[bin(dot(i, i))] += 1;
  d.positives = n;
  const size_t all = n > 1 ? n * (n - 1) : 0;
  const size_t step = all > max_negatives ? (all + max_negatives - 1) / max_negatives : 1;
  for (size_t p = 0; p < all; p += step) {
    const size_t i = p / (n - 1), r = p % (n - 1), j = r < i ? r : r + 1;
    d.negative[bin(dot(i, j))] += 1;
    ++d.negatives;
  }
  const double width = 2.0 / bins;
  for (auto& x : d.positive) x = d.positives ? x / (static_cast<double>(d.positives) * width) : 0;
  for (auto& x : d.negative) x = d.negatives ? x / (static_cast<double>(d.negatives) * width) : 0;
  return d;
}

std::vector<std::pair<double, double>> pca_2d(const std::vector<const std::vector<float>*>& v) {
  std::vector<std::pair<double, double>> out(v.size(), {0.0, 0.0});
  if (v.size() < 2) return out;
  const size_t dim = v[0]->size();
  std::vector<double> mean(dim, 0.0);
  for (const auto* x : v)
    for (size_t k = 0; k < dim; ++k) mean[k] += (*x)[k] / static_cast<double>(v.size());
  std::vector<std::vector<double>> c(v.size(), std::vector<double>(dim));
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t k = 0; k < dim; ++k) c[i][k] = (*v[i])[k] - mean[k];
  // Power iteration on X^T X through X (never forming the dim x dim matrix), the second component deflated.
  std::vector<std::vector<double>> comps;
  for (int pc = 0; pc < 2; ++pc) {
    std::vector<double> w(dim);
    for (size_t k = 0; k < dim; ++k) w[k] = 1.0 + 0.01 * static_cast<double>((k * 7919 + pc * 104729) % 101);
    for (int it = 0; it < 200; ++it) {
      for (const auto& u : comps) {  // stay orthogonal to the components found
        double p = 0;
        for (size_t k = 0; k < dim; ++k) p += w[k] * u[k];
        for (size_t k = 0; k < dim; ++k) w[k] -= p * u[k];
      }
      std::vector<double> next(dim, 0.0);
      for (const auto& row : c) {
        double p = 0;
        for (size_t k = 0; k < dim; ++k) p += row[k] * w[k];
        for (size_t k = 0; k < dim; ++k) next[k] += p * row[k];
      }
      double norm = 0;
      for (double x : next) norm += x * x;
      norm = std::sqrt(norm);
      if (norm == 0) break;
      for (size_t k = 0; k < dim; ++k) w[k] = next[k] / norm;
    }
    for (const auto& u : comps) {
      double p = 0;
      for (size_t k = 0; k < dim; ++k) p += w[k] * u[k];
      for (size_t k = 0; k < dim; ++k) w[k] -= p * u[k];
    }
    comps.push_back(w);
  }
  for (size_t i = 0; i < v.size(); ++i) {
    double x = 0, y = 0;
    for (size_t k = 0; k < dim; ++k) {
      x += c[i][k] * comps[0][k];
      y += c[i][k] * comps[1][k];
    }
    out[i] = {x, y};
  }
  return out;
}

}  // namespace vatt::nodes
