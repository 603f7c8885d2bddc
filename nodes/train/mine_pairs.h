// MIL-NCE positives: for each clip, its own words plus the segments of the SAME video nearest to it
// in time. The miner remembers, per video, every distinct text segment its clips have carried (own words and
// candidates), so a clip's candidates come from all of its video's text seen so far, never from another
// video. Negatives need no mining: the loss takes them from the whole (global) batch.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "nodes/media/clip.h"

namespace vatt::nodes {

struct PairMinerOptions {
  int candidates = 5;           ///< texts per clip: own + (candidates - 1) neighbours
  int64_t max_gap_us = 0;       ///< neighbours at most this far from the clip's window; 0 = any distance
  size_t videos_cached = 4096;  ///< videos whose segments are remembered (least recently seen dropped)
};

class PairMiner {
 public:
  explicit PairMiner(const PairMinerOptions& options);
  /// The candidates of `clip`: [0] its own words (clip.text[0], when the clip has text), then the nearest
  /// other segments of its video (by gap to the window, ties by start). Empty when the clip has no own text.
  /// Thread-safe.
  std::vector<TextSegment> mine(const Clip& clip);
  size_t videos() const;

 private:
  struct Video {
    std::vector<TextSegment> segments;
    std::list<uint64_t>::iterator lru;
  };
  PairMinerOptions o_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Video> videos_;
  std::list<uint64_t> lru_;  // most recent first
};

}  // namespace vatt::nodes
