// Text normalisation and the vocabulary (SPEC §1): ids 0/1 reserved, deterministic order, OOV -> <unk>,
// 16-word clip/pad, strict file format.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "nodes/train/vocab.h"

namespace vatt::nodes {
namespace {

TEST(Vocab, NormalisationLowercasesStripsPunctuationAndSplits) {
  EXPECT_EQ(normalise_words("  Hello, World!  It's   a TEST-case.\tOK\n"),
            (std::vector<std::string>{"hello", "world", "its", "a", "testcase", "ok"}));
  EXPECT_EQ(normalise_words("Café crème"), (std::vector<std::string>{"café", "crème"}));  // UTF-8 kept
  EXPECT_TRUE(normalise_words(" ... !!! ").empty());
}

TEST(Vocab, BuildOrdersByCountThenBytesAndReservesPadAndUnk) {
  auto v = Vocabulary::build({{"b", 5}, {"a", 5}, {"c", 9}, {"rare", 1}}, 4);
  ASSERT_EQ(v.size(), 4u);  // <pad>, <unk>, and the two most frequent that fit
  EXPECT_EQ(v.word(0), "<pad>");
  EXPECT_EQ(v.word(1), "<unk>");
  EXPECT_EQ(v.id("c"), 2);
  EXPECT_EQ(v.id("a"), 3);  // tie with b broken by byte order
  EXPECT_EQ(v.id("b"), Vocabulary::kUnk);
  EXPECT_EQ(v.id("rare"), Vocabulary::kUnk);
  auto min2 = Vocabulary::build({{"x", 1}, {"y", 2}}, Vocabulary::kMaxSize, 2);
  EXPECT_EQ(min2.size(), 3u);
  EXPECT_THROW(Vocabulary::build({}, Vocabulary::kMaxSize + 1), std::invalid_argument);
}

TEST(Vocab, AtMostTwoToTheSixteenWords) {
  std::map<std::string, uint64_t> counts;
  for (int i = 0; i < 70000; ++i) counts["w" + std::to_string(i)] = 1 + i % 7;
  auto v = Vocabulary::build(counts);
  EXPECT_EQ(v.size(), 65536u);
}

TEST(Vocab, EncodeClipsAndPadsToSixteenAndMapsOov) {
  auto v = Vocabulary::build({{"the", 10}, {"cat", 3}});
  auto ids = v.encode("The cat, the DOG.");
  ASSERT_EQ(ids.size(), 16u);
  EXPECT_EQ(ids[0], v.id("the"));
  EXPECT_EQ(ids[1], v.id("cat"));
  EXPECT_EQ(ids[2], v.id("the"));
  EXPECT_EQ(ids[3], Vocabulary::kUnk);
  for (size_t i = 4; i < 16; ++i) EXPECT_EQ(ids[i], Vocabulary::kPad);
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "cat ";
  auto clipped = v.encode(long_text);
  EXPECT_EQ(clipped.size(), 16u);
  EXPECT_EQ(clipped[15], v.id("cat"));
}

TEST(Vocab, SaveLoadRoundTripAndStrictErrors) {
  const std::string path = "/tmp/vatt-vocab-" + std::to_string(getpid()) + ".txt";
  auto v = Vocabulary::build({{"alpha", 4}, {"beta", 2}, {"gamma", 7}});
  v.save(path);
  auto w = Vocabulary::load(path);
  ASSERT_EQ(w.size(), v.size());
  for (int32_t i = 0; i < static_cast<int32_t>(v.size()); ++i) EXPECT_EQ(w.word(i), v.word(i));
  std::ofstream(path) << "# vatt vocabulary v1\nalpha\t4\nbeta\tx\n";
  try {
    Vocabulary::load(path);
    FAIL() << "loaded a malformed file";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), path + ":3: count of 'beta' is not a non-negative integer");
  }
  std::ofstream(path) << "# vatt vocabulary v1\nalpha\t4\nalpha\t2\n";
  EXPECT_THROW(Vocabulary::load(path), std::runtime_error);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vatt::nodes
