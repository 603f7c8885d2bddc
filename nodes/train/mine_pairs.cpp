// Temporal-neighbour positives per video.
#include "nodes/train/mine_pairs.h"

#include <algorithm>
#include <stdexcept>

#include "nodes/media/subtitles.h"

namespace vatt::nodes {

PairMiner::PairMiner(const PairMinerOptions& o) : o_(o) {
  if (o_.candidates < 1) throw std::invalid_argument("candidates must be >= 1");
  if (o_.max_gap_us < 0) throw std::invalid_argument("max gap must be >= 0");
  if (o_.videos_cached < 1) throw std::invalid_argument("videos cached must be >= 1");
}

std::vector<TextSegment> PairMiner::mine(const Clip& clip) {
  std::lock_guard<std::mutex> lk(mu_);
  auto [it, fresh] = videos_.try_emplace(clip.source_id);
  Video& v = it->second;
  if (!fresh) lru_.erase(v.lru);
  lru_.push_front(clip.source_id);
  v.lru = lru_.begin();
  // Everything this clip says about its video joins the video's pool (own words too: they are a neighbour
  // of the video's other clips).
  for (const auto& s : clip.text)
    if (std::find(v.segments.begin(), v.segments.end(), s) == v.segments.end()) v.segments.push_back(s);
  while (videos_.size() > o_.videos_cached) {
    videos_.erase(lru_.back());
    lru_.pop_back();
  }
  if (clip.text.empty()) return {};
  const TextSegment& own = clip.text[0];
  std::vector<TextSegment> out{own};
  // Neighbours: other segments of the video that do not overlap the clip's own words' span or its window.
  const auto order = nearest_first(v.segments, clip.start_us, clip.end_us, [&](size_t k) {
    const auto& s = v.segments[k];
    if (s == own) return true;
    if (s.end_us > clip.start_us && s.start_us < clip.end_us) return true;  // inside the window: own words
    return o_.max_gap_us > 0 && gap_us(s, clip.start_us, clip.end_us) > o_.max_gap_us;
  });
  for (size_t k : order) {
    if (static_cast<int>(out.size()) >= o_.candidates) break;
    out.push_back(v.segments[k]);
  }
  return out;
}

size_t PairMiner::videos() const {
  std::lock_guard<std::mutex> lk(mu_);
  return videos_.size();
}

}  // namespace vatt::nodes
