// Clip planning and assembly without GStreamer: which windows a source gives (every stride, uniform K,
// random K, max_clips, resume), and that the frames and samples fed in come out as clips in exact sync
// whatever the audio does (gaps filled with silence, overlaps dropped, one-sample jitter ignored, buffers of
// any size), with skipped frame indices repeating the previous frame; with pad_short a source shorter than one
// clip still gives one, padded.
#include <gtest/gtest.h>

#include <numeric>

#include "nodes/media/clip_assembler.h"
#include "nodes/media/clip_plan.h"
#include "nodes/media/decoder.h"

namespace vatt::nodes {
namespace {

DecodeOptions options(double fps = 10, int rate = 1000, double seconds = 1.0) {
  DecodeOptions o;
  o.fps = fps;
  o.sample_rate = rate;
  o.clip_seconds = seconds;
  return o;
}

/// A 2x2 frame whose every byte is `v`.
std::vector<uint8_t> frame(uint8_t v) {
  return std::vector<uint8_t>(12, v);
}

/// Audio sample i of the test signal: its own index, so a clip's samples say where they came from.
std::vector<float> ramp(int64_t from, int64_t n) {
  std::vector<float> s(static_cast<size_t>(n));
  std::iota(s.begin(), s.end(), static_cast<float>(from));
  return s;
}

struct Fed {
  std::vector<Clip> clips;
  bool more = true;
};

/// Feeds `frames` frames (index i has value i) and samples [0, samples) in chunks of `chunk`, interleaved
/// by time as the decoder's pull loop does, then ends both streams.
Fed feed(const ClipPlan& plan, int64_t frames, int64_t samples, int64_t chunk, uint64_t first_clip = 0) {
  ClipAssembler a(plan, true, true, first_clip);
  a.set_frame_size(2, 2);
  Fed f;
  auto sink = [&](Clip&& c) { return f.clips.push_back(std::move(c)), true; };
  int64_t fi = 0, si = 0;
  while (fi < frames || si < samples) {
    if (fi < frames && (si >= samples || a.video_seconds() <= a.audio_seconds())) {
      const auto px = frame(static_cast<uint8_t>(fi));
      a.add_frame(fi++, px.data());
    } else {
      const int64_t n = std::min(chunk, samples - si);
      const auto s = ramp(si, n);
      a.add_audio(si, s.data(), n);
      si += n;
    }
    f.more = a.emit_ready(sink);
  }
  a.end_video();
  a.end_audio();
  f.more = a.emit_ready(sink);
  return f;
}

TEST(ClipPlan, EveryStrideUntilMaxClips) {
  DecodeOptions o = options();
  o.stride_seconds = 0.5;
  o.max_clips = 3;
  ClipPlan p(o, "file:///a.webm");
  EXPECT_FALSE(p.needs_duration());
  EXPECT_EQ(p.frames_per_clip(), 10);
  EXPECT_EQ(p.samples_per_clip(), 1000);
  EXPECT_EQ(p.start_of(0), 0);
  EXPECT_EQ(p.start_of(2), 10);
  EXPECT_EQ(p.start_of(3), -1);
}

TEST(ClipPlan, UniformSpansTheSourceAndOneClipSitsInTheMiddle) {
  DecodeOptions o = options();
  o.sampling = "uniform";
  o.clips_per_source = 3;
  ClipPlan p(o, "file:///a.webm");
  ASSERT_TRUE(p.needs_duration());
  p.set_duration_ns(5'000'000'000);  // 50 frames: starts 0, 20, 40
  EXPECT_EQ(p.start_of(0), 0);
  EXPECT_EQ(p.start_of(1), 20);
  EXPECT_EQ(p.start_of(2), 40);
  EXPECT_EQ(p.start_of(3), -1);
  o.clips_per_source = 1;
  ClipPlan one(o, "file:///a.webm");
  one.set_duration_ns(5'000'000'000);
  EXPECT_EQ(one.start_of(0), 20);
  one.set_duration_ns(900'000'000);  // shorter than one clip: none
  EXPECT_EQ(one.start_of(0), -1);
}

TEST(ClipPlan, RandomIsSortedInRangeAndDependsOnSeedAndSource) {
  DecodeOptions o = options();
  o.sampling = "random";
  o.clips_per_source = 8;
  auto starts = [&](uint64_t seed, const std::string& uri) {
    o.seed = seed;
    ClipPlan p(o, uri);
    p.set_duration_ns(60'000'000'000);
    std::vector<int64_t> v;
    for (uint64_t k = 0; p.start_of(k) >= 0; ++k) v.push_back(p.start_of(k));
    return v;
  };
  const auto a = starts(1, "file:///a.webm");
  ASSERT_EQ(a.size(), 8u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  for (int64_t s : a) EXPECT_TRUE(s >= 0 && s <= 600 - 10) << s;
  EXPECT_EQ(a, starts(1, "file:///a.webm"));
  EXPECT_NE(a, starts(2, "file:///a.webm"));
  EXPECT_NE(a, starts(1, "file:///b.webm"));
}

TEST(ClipAssembler, ClipsHoldExactlyTheirFramesAndSamples) {
  // 10 fps, 1000 Hz, 1 s clips: clip k is frames [10k, 10k + 10) and samples [1000k, 1000k + 1000).
  ClipPlan plan(options(), "x");
  for (int64_t chunk : {1, 7, 333, 2048}) {
    const Fed f = feed(plan, 35, 3500, chunk);
    ASSERT_EQ(f.clips.size(), 3u) << "chunk " << chunk;
    for (size_t k = 0; k < 3; ++k) {
      const Clip& c = f.clips[k];
      EXPECT_EQ(c.clip_index, k);
      EXPECT_EQ(c.start_us, static_cast<int64_t>(k) * 1'000'000);
      EXPECT_EQ(c.end_us, static_cast<int64_t>(k + 1) * 1'000'000);
      ASSERT_EQ(c.frames_t, 10);
      ASSERT_EQ(c.frames->size(), 10u * 12);
      EXPECT_EQ((*c.frames)[0], 10 * k);
      EXPECT_EQ((*c.frames)[9 * 12], 10 * k + 9);
      ASSERT_EQ(c.audio->size(), 1000u);
      EXPECT_EQ((*c.audio)[0], 1000.0f * k);
      EXPECT_EQ((*c.audio)[999], 1000.0f * k + 999);
      EXPECT_TRUE(c.has_video && c.has_audio);
    }
    EXPECT_FALSE(f.more);
  }
}

TEST(ClipAssembler, AudioIsPlacedByPositionNotByArrival) {
  ClipPlan plan(options(), "x");
  ClipAssembler a(plan, false, true);
  std::vector<Clip> got;
  auto sink = [&](Clip&& c) { return got.push_back(std::move(c)), true; };
  const auto s1 = ramp(0, 300);
  a.add_audio(0, s1.data(), 300);
  const auto s2 = ramp(500, 200);  // a gap of 200 samples: silence
  a.add_audio(500, s2.data(), 200);
  const auto s3 = ramp(600, 300);  // overlaps the last 100: those are dropped
  a.add_audio(600, s3.data(), 300);
  const auto s4 = ramp(901, 200);  // one sample of jitter: taken as contiguous
  a.add_audio(901, s4.data(), 200);
  a.end_audio();
  a.emit_ready(sink);
  ASSERT_EQ(got.size(), 1u);
  const auto& au = *got[0].audio;
  ASSERT_EQ(au.size(), 1000u);
  EXPECT_EQ(au[299], 299.0f);
  EXPECT_EQ(au[300], 0.0f);
  EXPECT_EQ(au[499], 0.0f);
  EXPECT_EQ(au[500], 500.0f);
  EXPECT_EQ(au[699], 699.0f);
  EXPECT_EQ(au[700], 700.0f);  // from s3, whose first 100 samples repeated s2's positions
  EXPECT_EQ(au[899], 899.0f);
  EXPECT_EQ(au[900], 901.0f);  // jitter: s4 follows on without a gap
  EXPECT_FALSE(got[0].has_video);
  EXPECT_EQ(got[0].frames_t, 0);
}

TEST(ClipAssembler, ASkippedFrameIndexRepeatsThePreviousFrame) {
  ClipPlan plan(options(), "x");
  ClipAssembler a(plan, true, false);
  a.set_frame_size(2, 2);
  for (int64_t i : {0, 1, 2, 5, 6, 7, 8, 9, 9, 10}) {  // 3 and 4 missing, 9 twice
    const auto px = frame(static_cast<uint8_t>(i));
    a.add_frame(i, px.data());
  }
  std::vector<Clip> got;
  a.emit_ready([&](Clip&& c) { return got.push_back(std::move(c)), true; });
  ASSERT_EQ(got.size(), 1u);
  const auto& f = *got[0].frames;
  std::vector<int> firsts;
  for (int t = 0; t < 10; ++t) firsts.push_back(f[static_cast<size_t>(t) * 12]);
  EXPECT_EQ(firsts, (std::vector<int>{0, 1, 2, 2, 2, 5, 6, 7, 8, 9}));
  // A source without audio still gives clips of silence of the exact length.
  ASSERT_EQ(got[0].audio->size(), 1000u);
  EXPECT_EQ((*got[0].audio)[0], 0.0f);
}

TEST(ClipAssembler, ResumeDropsWhatEarlierClipsCoverAndStartsAtTheirIndex) {
  DecodeOptions o = options();
  o.stride_seconds = 0.5;  // overlapping clips: clip 2 starts at frame 10
  ClipPlan plan(o, "x");
  const Fed f = feed(plan, 30, 3000, 100, /*first_clip=*/2);
  ASSERT_GE(f.clips.size(), 1u);
  EXPECT_EQ(f.clips[0].clip_index, 2u);
  EXPECT_EQ((*f.clips[0].frames)[0], 10);
  EXPECT_EQ((*f.clips[0].audio)[0], 1000.0f);
  EXPECT_EQ(f.clips.back().clip_index, 4u);  // frames [20, 30)
}

TEST(ClipAssembler, ASinkThatSaysStopStopsTheAssembly) {
  ClipPlan plan(options(), "x");
  ClipAssembler a(plan, false, true);
  const auto s = ramp(0, 5000);
  a.add_audio(0, s.data(), 5000);
  int n = 0;
  EXPECT_FALSE(a.emit_ready([&](Clip&&) { return ++n < 2; }));
  EXPECT_EQ(n, 2);
  EXPECT_EQ(a.clips(), 2u);
}

TEST(ClipAssembler, AStreamThatEndsShortGivesNoPartialClip) {
  ClipPlan plan(options(), "x");
  const Fed f = feed(plan, 25, 2500, 100);
  EXPECT_EQ(f.clips.size(), 2u);  // frames [20, 25) are half a clip
  EXPECT_FALSE(f.more);
}

TEST(ClipPlan, ATimeRangeKeepsEveryWindowInsideIt) {
  DecodeOptions o = options();  // 10 fps, clips of 10 frames
  o.range_start_us = 1'000'000;
  o.range_end_us = 3'500'000;
  ClipPlan all(o, "file:///a.webm");
  EXPECT_EQ(all.start_of(0), 10);
  EXPECT_EQ(all.start_of(1), 20);
  EXPECT_EQ(all.start_of(2), -1);  // 30 + 10 frames would end past 3.5 s
  o.sampling = "uniform";
  o.clips_per_source = 2;
  o.range_start_us = 2'000'000;
  o.range_end_us = 6'000'000;
  ClipPlan u(o, "file:///a.webm");
  u.set_duration_ns(10'000'000'000);
  EXPECT_EQ(u.start_of(0), 20);
  EXPECT_EQ(u.start_of(1), 50);
  EXPECT_EQ(u.start_of(2), -1);
  // A segment shorter than a clip gives the clip that starts with it.
  o.range_end_us = 2'500'000;
  ClipPlan s(o, "file:///a.webm");
  s.set_duration_ns(10'000'000'000);
  EXPECT_EQ(s.start_of(0), 20);
  EXPECT_EQ(s.start_of(1), -1);
  // The assembler cuts clips from the source's frames: the range's first clip holds frames 20..29.
  const Fed f = feed(u, 100, 10000, 250);
  ASSERT_EQ(f.clips.size(), 2u);
  EXPECT_EQ(f.clips[0].start_us, 2'000'000);
  EXPECT_EQ((*f.clips[0].frames)[0], 20);
  EXPECT_EQ((*f.clips[0].audio)[0], 2000.0f);
  EXPECT_EQ((*f.clips[1].frames)[0], 50);
  // Part of the options' digest: a store keeps a segment's clips apart from the whole file's.
  DecodeOptions whole = options(10, 8000);
  DecodeOptions seg = options(10, 8000);
  seg.range_start_us = 1;
  seg.range_end_us = 2;
  EXPECT_NE(whole.digest(), seg.digest());
  seg.range_end_us = 0;
  seg.range_start_us = 5;
  EXPECT_NO_THROW(seg.validate());
  seg.range_end_us = 3;
  EXPECT_THROW(seg.validate(), std::invalid_argument);
}

TEST(ClipAssembler, PadShortGivesAShortSourceOnePaddedClip) {
  DecodeOptions o = options();  // 10 frames, 1000 samples per clip
  ClipPlan off(o, "file:///short.webm");
  EXPECT_TRUE(feed(off, 6, 600, 100).clips.empty());  // without the option: no clip
  o.pad_short = true;
  ClipPlan p(o, "file:///short.webm");
  const Fed f = feed(p, 6, 600, 100);
  ASSERT_EQ(f.clips.size(), 1u);
  const Clip& c = f.clips[0];
  ASSERT_EQ(c.frames_t, 10);
  for (int i = 0; i < 10; ++i) EXPECT_EQ((*c.frames)[static_cast<size_t>(i) * 12], i < 6 ? i : 5) << i;
  ASSERT_EQ(c.audio->size(), 1000u);
  EXPECT_EQ((*c.audio)[599], 599.0f);
  EXPECT_EQ((*c.audio)[600], 0.0f);
  EXPECT_EQ((*c.audio)[999], 0.0f);
  EXPECT_FALSE(f.more);
  // A source long enough is not touched: its second, partial window is no clip.
  EXPECT_EQ(feed(p, 15, 1500, 100).clips.size(), 1u);
  // Uniform sampling plans the one clip at 0 for a source shorter than a clip.
  o.sampling = "uniform";
  ClipPlan u(o, "file:///short.webm");
  u.set_duration_ns(600'000'000);
  EXPECT_EQ(u.start_of(0), 0);
  EXPECT_EQ(u.start_of(1), -1);
  EXPECT_EQ(feed(u, 6, 600, 100).clips.size(), 1u);
  // Audio only: the samples that came, then silence.
  ClipAssembler a(p, false, true);
  const auto s = ramp(0, 300);
  a.add_audio(0, s.data(), 300);
  a.end_audio();
  std::vector<Clip> out;
  a.emit_ready([&](Clip&& x) { return out.push_back(std::move(x)), true; });
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ((*out[0].audio)[299], 299.0f);
  EXPECT_EQ((*out[0].audio)[300], 0.0f);
}

}  // namespace
}  // namespace vatt::nodes
