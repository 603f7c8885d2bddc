// Text normalisation and the word vocabulary: lower-case, strip punctuation, split on spaces;
// at most 2^16 words with id 0 = <pad> and id 1 = <unk>; 16 words per text (clipped or padded).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vatt::nodes {

/// Lower-cases ASCII letters, removes ASCII punctuation (apostrophes too: "don't" -> "dont"), splits on
/// whitespace. Non-ASCII UTF-8 bytes are kept as they are (words in other scripts survive intact).
std::vector<std::string> normalise_words(std::string_view text);

class Vocabulary {
 public:
  static constexpr int32_t kPad = 0;
  static constexpr int32_t kUnk = 1;
  static constexpr size_t kMaxSize = 1u << 16;  ///< ids 0..65535, the two special ones included

  Vocabulary();

  /// Most frequent words first (ties in byte order), so a vocabulary is the same whatever the input order.
  /// `min_count` drops rarer words; `max_size` (<= 2^16) caps the total including <pad> and <unk>.
  static Vocabulary build(const std::map<std::string, uint64_t>& counts, size_t max_size = kMaxSize,
                          uint64_t min_count = 1);
  /// <pad>, <unk>, then `words` in the given order (ids from 2) with their `counts`. Throws
  /// std::invalid_argument for an empty, duplicate or reserved word, or more than 2^16 entries.
  static Vocabulary from_words(const std::vector<std::string>& words, const std::vector<uint64_t>& counts);
  /// One word per line after the header, in id order from 2; "word<TAB>count". Throws std::runtime_error
  /// naming the file and line for a malformed file, a duplicate word or more than 2^16 entries.
  static Vocabulary load(const std::string& path);
  void save(const std::string& path) const;
  /// The file format as a string (what `save` writes), and back; `origin` names it in errors.
  std::string to_text() const;
  static Vocabulary from_text(const std::string& text, const std::string& origin);

  size_t size() const { return words_.size(); }
  int32_t id(const std::string& word) const;  ///< kUnk when absent
  const std::string& word(int32_t id) const;
  /// Ids of the normalised words of `text`, clipped or padded with kPad to `max_words`.
  std::vector<int32_t> encode(std::string_view text, size_t max_words = 16) const;

 private:
  static Vocabulary parse(std::istream& in, const std::string& origin);
  std::vector<std::string> words_;  // by id
  std::vector<uint64_t> counts_;
  std::unordered_map<std::string, int32_t> ids_;
};

}  // namespace vatt::nodes
