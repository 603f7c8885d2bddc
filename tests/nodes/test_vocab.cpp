// Text normalisation and the vocabulary: ids 0/1 reserved, deterministic order, OOV -> <unk>,
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

TEST(Vocab, TextRoundTripKeepsIdsAndCounts) {
  const auto v = Vocabulary::build({{"alpha", 4}, {"beta", 2}, {"gamma", 7}, {"café", 3}, {"delta", 2}});
  const std::string text = v.to_text();
  // The header, then one WORD<TAB>COUNT line per word from id 2, in id order.
  EXPECT_EQ(text, "# vatt vocabulary v1\ngamma\t7\nalpha\t4\ncafé\t3\nbeta\t2\ndelta\t2\n");
  const auto w = Vocabulary::from_text(text, "blob");
  ASSERT_EQ(w.size(), v.size());
  for (int32_t i = 0; i < static_cast<int32_t>(v.size()); ++i) {
    EXPECT_EQ(w.word(i), v.word(i)) << i;
    EXPECT_EQ(w.id(v.word(i)), i) << v.word(i);
  }
  EXPECT_EQ(w.id("zeta"), Vocabulary::kUnk);
  EXPECT_EQ(w.to_text(), text);  // counts survive too
  EXPECT_EQ(w.encode("Gamma, café beta!"), v.encode("Gamma, café beta!"));
  // The empty vocabulary (only <pad> and <unk>) round-trips as the bare header.
  const auto e = Vocabulary::from_text(Vocabulary().to_text(), "empty");
  EXPECT_EQ(e.size(), 2u);
}

std::string from_text_error(const std::string& text, const std::string& origin) {
  try {
    Vocabulary::from_text(text, origin);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Vocab, FromTextErrorsNameTheOriginAndLine) {
  const std::string o = "ckpt/step-9.pt (vocabulary)";
  EXPECT_EQ(from_text_error("# vatt vocabulary v1\nalpha\t4\nbeta\tx\n", o),
            o + ":3: count of 'beta' is not a non-negative integer");
  EXPECT_EQ(from_text_error("# vatt vocabulary v1\nalpha\t4\nbeta\t2x\n", o),
            o + ":3: count of 'beta' is not a non-negative integer");
  EXPECT_EQ(from_text_error("# vatt vocabulary v1\nalpha 4\n", o), o + ":2: expected WORD<TAB>COUNT");
  EXPECT_EQ(from_text_error("# vatt vocabulary v1\nalpha\t4\n\t4\n", o), o + ":3: expected WORD<TAB>COUNT");
  EXPECT_EQ(from_text_error("# vatt vocabulary v1\na\t1\nb\t1\na\t1\n", o), o + ":4: duplicate word 'a'");
  EXPECT_EQ(from_text_error("# vatt vocabulary v2\na\t1\n", o),
            o + ":1: expected the header '# vatt vocabulary v1'");
  EXPECT_EQ(from_text_error("", o).rfind(o + ":", 0), 0u);
}

// std::stoull would read '-2' as 2^64 - 2: a negative count is an error like any other non-number.
TEST(Vocab, FromTextRejectsANegativeCount) {
  const std::string o = "ckpt/step-9.pt (vocabulary)";
  EXPECT_EQ(from_text_error("# vatt vocabulary v1\nalpha\t4\nbeta\t-2\n", o),
            o + ":3: count of 'beta' is not a non-negative integer");
}

}  // namespace
}  // namespace vatt::nodes
