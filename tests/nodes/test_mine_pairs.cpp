// Pair mining: each clip's positives are its own words and the nearest segments in time of its own video.
#include <gtest/gtest.h>

#include "nodes/train/mine_pairs.h"

namespace vatt::nodes {
namespace {

constexpr int64_t kS = 1000000;

TextSegment seg(double start_s, double end_s, const std::string& text) {
  return {static_cast<int64_t>(start_s * kS), static_cast<int64_t>(end_s * kS), text};
}

// A clip of video `source` covering [start, start + 3.2 s) whose own text is `own` and which carries `more`.
Clip clip(uint64_t source, int index, const TextSegment& own, std::vector<TextSegment> more = {}) {
  Clip c;
  c.source_id = source;
  c.clip_index = static_cast<uint64_t>(index);
  c.start_us = static_cast<int64_t>(index * 3.2 * kS);
  c.end_us = static_cast<int64_t>((index + 1) * 3.2 * kS);
  c.text.push_back(own);
  for (auto& m : more) c.text.push_back(m);
  return c;
}

std::vector<std::string> texts(const std::vector<TextSegment>& s) {
  std::vector<std::string> t;
  for (const auto& x : s) t.push_back(x.text);
  return t;
}

TEST(MinePairs, NeighboursAreTheNearestSegmentsOfTheSameVideo) {
  PairMiner m({3, 0, 16});
  // Video 1: one segment per clip, clips 0..5. Video 2 interleaved, with text that must never appear in 1.
  for (int i = 0; i < 6; ++i) {
    m.mine(clip(1, i, seg(i * 3.2 + 0.5, i * 3.2 + 1.5, "one " + std::to_string(i))));
    m.mine(clip(2, i, seg(i * 3.2 + 0.5, i * 3.2 + 1.5, "two " + std::to_string(i))));
  }
  // Clip 3 of video 1: own words, then the segments of clips 2 and 4 (gaps 2.2 s and 1.7 s: 4 first).
  auto c = m.mine(clip(1, 3, seg(3 * 3.2 + 0.5, 3 * 3.2 + 1.5, "one 3")));
  EXPECT_EQ(texts(c), (std::vector<std::string>{"one 3", "one 4", "one 2"}));
  for (int i = 0; i < 6; ++i) {
    auto mined = m.mine(clip(2, i, seg(i * 3.2 + 0.5, i * 3.2 + 1.5, "two " + std::to_string(i))));
    for (const auto& s : mined) EXPECT_EQ(s.text.rfind("two ", 0), 0u) << s.text;  // never from video 1
    EXPECT_EQ(mined[0].text, "two " + std::to_string(i));
  }
  EXPECT_EQ(m.videos(), 2u);
}

TEST(MinePairs, SegmentsCarriedAsCandidatesCountToo) {
  PairMiner m({5, 0, 16});
  // The first clip seen already carries its source's neighbours (as the decoder aligns them).
  auto c = m.mine(clip(7, 0, seg(0.5, 1.0, "own"), {seg(9.0, 9.5, "far"), seg(3.5, 4.0, "near")}));
  EXPECT_EQ(texts(c), (std::vector<std::string>{"own", "near", "far"}));
}

TEST(MinePairs, MaxGapLeavesFarSegmentsOut) {
  PairMiner m({5, static_cast<int64_t>(2.0 * kS), 16});
  auto c = m.mine(clip(7, 0, seg(0.5, 1.0, "own"), {seg(9.0, 9.5, "far"), seg(3.5, 4.0, "near")}));
  EXPECT_EQ(texts(c), (std::vector<std::string>{"own", "near"}));  // "far" starts 5.8 s after the window
}

TEST(MinePairs, AClipWithoutTextGetsNone) {
  PairMiner m({5, 0, 16});
  Clip c;
  c.source_id = 3;
  c.start_us = 0;
  c.end_us = 3200000;
  EXPECT_TRUE(m.mine(c).empty());
}

TEST(MinePairs, TheLeastRecentlySeenVideoIsForgotten) {
  PairMiner m({3, 0, 2});
  m.mine(clip(1, 0, seg(0.5, 1.0, "a0")));
  m.mine(clip(2, 0, seg(0.5, 1.0, "b0")));
  m.mine(clip(1, 1, seg(3.7, 4.0, "a1")));  // 1 is recent again
  m.mine(clip(3, 0, seg(0.5, 1.0, "c0")));  // evicts 2
  EXPECT_EQ(m.videos(), 2u);
  auto b = m.mine(clip(2, 1, seg(3.7, 4.0, "b1")));
  EXPECT_EQ(texts(b), (std::vector<std::string>{"b1"}));  // b0 was forgotten with video 2
  auto a = m.mine(clip(1, 2, seg(6.9, 7.2, "a2")));
  // 2's return evicted the least recent, 1 (order was 3, 1): a1 is forgotten too.
  EXPECT_EQ(texts(a), (std::vector<std::string>{"a2"}));
}

TEST(MinePairs, BadOptionsAreRefused) {
  EXPECT_THROW(PairMiner({0, 0, 16}), std::invalid_argument);
  EXPECT_THROW(PairMiner({5, -1, 16}), std::invalid_argument);
  EXPECT_THROW(PairMiner({5, 0, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace vatt::nodes
