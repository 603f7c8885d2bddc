// Subtitle parsing (SRT, WebVTT; errors name the file and line) and clip-window text alignment (the
// clip's own words plus the 4 nearest segments).
#include <gtest/gtest.h>

#include "nodes/media/subtitles.h"

namespace vatt::nodes {
namespace {

std::string parse_error(const std::string& text, const std::string& name) {
  try {
    parse_subtitles(text, name);
  } catch (const SubtitleError& e) {
    return e.what();
  }
  return "";
}

TEST(Subtitles, SrtAndVttGiveTheSameSegments) {
  const auto srt = parse_subtitles(
      "\xEF\xBB\xBF"
      "1\r\n00:00:01,500 --> 00:00:02,250\r\n<i>Hello</i>   there\r\nfriend\r\n\r\n2\r\n01:02:03,004 --> "
      "01:02:04,000\r\n{\\an8}bye\r\n",
      "a.srt");
  const auto vtt = parse_subtitles(
      "WEBVTT\n\nNOTE a comment\nspanning lines\n\ncue-1\n00:01.500 --> 00:02.250 align:start\nHello there\n"
      "friend\n\n01:02:03.004 --> 01:02:04.000\nbye\n",
      "a.vtt");
  ASSERT_EQ(srt.size(), 2u);
  EXPECT_EQ(srt, vtt);
  EXPECT_EQ(srt[0].start_us, 1500000);
  EXPECT_EQ(srt[0].end_us, 2250000);
  EXPECT_EQ(srt[0].text, "Hello there friend");
  EXPECT_EQ(srt[1].start_us, ((1 * 60 + 2) * 60 + 3) * 1000000LL + 4000);
  EXPECT_EQ(srt[1].text, "bye");
}

TEST(Subtitles, ErrorsNameTheFileAndLine) {
  EXPECT_EQ(
      parse_error("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:0x,000 --> 00:00:03,000\nbad\n", "b.srt"),
      "b.srt:6: malformed time '00:00:0x,000', expected HH:MM:SS,mmm");
  EXPECT_EQ(parse_error("1\nno time here\n", "c.srt"),
            "c.srt:2: expected a time line 'HH:MM:SS,mmm --> HH:MM:SS,mmm'");
  EXPECT_EQ(parse_error("1\n00:00:01,000 --> 00:00:02,000\ncaf\xE9\n", "d.srt"),
            "d.srt:3: not valid UTF-8 (byte offset 35); subtitles must be UTF-8");
  EXPECT_EQ(parse_error("00:01.000 --> 00:02.000\nx\n", "e.vtt"),
            "e.vtt:1: expected the 'WEBVTT' header of a WebVTT file");
  EXPECT_EQ(parse_error("1\n00:00:03,000 --> 00:00:02,000\nx\n", "f.srt"),
            "f.srt:2: cue ends (00:00:02,000) before it starts (00:00:03,000)");
}

TEST(Align, OwnWordsOverlapTheWindowAndNeighboursAreNearestFirst) {
  const std::vector<TextSegment> segs = {
      {0, 1000000, "a b"},            // far before
      {2000000, 4000000, "c d e f"},  // half inside [3 s, 6 s): words e f (3.0-4.0 s)
      {4500000, 5000000, "g"},        // inside
      {6500000, 7000000, "h"},        // 0.5 s after
      {9000000, 9500000, "i"},        // 3 s after
      {20000000, 21000000, "j"},      // far after
  };
  const auto t = align_text(segs, 3000000, 6000000, 5);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].text, "e f g");
  EXPECT_EQ(t[0].start_us, 3000000);
  EXPECT_EQ(t[0].end_us, 5000000);
  EXPECT_EQ(t[1].text, "h");    // gap 0.5 s
  EXPECT_EQ(t[2].text, "a b");  // gap 2 s
  EXPECT_EQ(t[3].text, "i");    // gap 3 s
  EXPECT_EQ(t[4].text, "j");
  EXPECT_TRUE(align_text(segs, 11000000, 12000000, 5).empty());  // no words in the window: no text
  EXPECT_EQ(align_text(segs, 3000000, 6000000, 1).size(), 1u);
}

}  // namespace
}  // namespace vatt::nodes
