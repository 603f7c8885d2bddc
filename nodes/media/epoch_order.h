// Which unit (a source, a stored clip) a reader takes k-th in a pass over the data: this worker's shard of
// the list (data-parallel workers read units i with i % world == rank), in list order or in a new shuffled
// order per epoch drawn from a seed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <vector>

namespace vatt::nodes {

/// Keeps the units of worker `rank` of `world`: those at i % world == rank.
template <class T>
void keep_shard(std::vector<T>& units, int rank, int world) {
  if (world <= 1) return;
  std::vector<T> mine;
  for (size_t i = 0; i < units.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(world)) == rank) mine.push_back(std::move(units[i]));
  units.swap(mine);
}

/// The k-th unit of an epoch; thread-safe. Shuffled orders are drawn per epoch from the seed (the same seed
/// gives the same orders every run) and only the last few epochs' are kept.
class EpochOrder {
 public:
  EpochOrder(size_t units, bool shuffle, uint64_t seed) : n_(units), shuffle_(shuffle), seed_(seed) {}

  size_t at(uint64_t epoch, size_t k) {
    if (!shuffle_) return k;
    std::lock_guard<std::mutex> lk(mu_);
    auto& perm = orders_[epoch];
    if (perm.empty()) {
      perm.resize(n_);
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + epoch + 1);
      std::shuffle(perm.begin(), perm.end(), rng);
      orders_.erase(orders_.begin(), orders_.lower_bound(epoch > 2 ? epoch - 2 : 0));  // keep memory flat
    }
    return perm[k];
  }

 private:
  size_t n_;
  bool shuffle_;
  uint64_t seed_;
  std::mutex mu_;
  std::map<uint64_t, std::vector<size_t>> orders_;
};

}  // namespace vatt::nodes
