// Pretrained word-vector files (the paper froze 300-d word2vec): word2vec text and binary, GloVe text. No
// LibTorch types, so the tokeniser can read a file's words for its vocabulary; the model copies the vectors
// into its word embedding (TextBackboneImpl::set_word_vectors).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vatt::model {

/// What a word-vector file is: format and vector width.
struct WordVectorFormat {
  bool binary = false;  ///< word2vec binary: "count dim\n" then per word "word " + dim little-endian float32
  bool header = false;  ///< a "count dim" first line (word2vec text and binary; GloVe has none)
  int64_t count = -1;   ///< the header's word count, -1 without a header
  int64_t dim = 0;      ///< values per word
};

/// Detects the format: binary when the file ends in ".bin" or the bytes after a "count dim" header are not
/// text; the width from the header or the first vector line. Throws std::runtime_error naming the file when
/// it cannot be opened or its first line is neither a header nor a word with numbers.
WordVectorFormat inspect_word_vectors(const std::string& path);

/// The file's words in file order (word2vec and GloVe files list the most frequent first), the first
/// occurrence of each, at most `max_words`; "<pad>" and "<unk>" are skipped (vatt's ids 0 and 1). Throws
/// std::runtime_error naming file:line (text) or file:word-number (binary) on a malformed entry.
std::vector<std::string> word_vector_words(const std::string& path, size_t max_words);

/// Vectors of the words of `vocab` (id -> word), `dim` values per row, rows in id order.
struct WordVectorTable {
  int64_t dim = 0;
  std::vector<float> values;   ///< [vocab.size(), dim]; zero where a word is not in the file
  std::vector<uint8_t> found;  ///< [vocab.size()] 1 = the file has the word
  int64_t found_count = 0;
  int64_t entries = 0;  ///< vectors read from the file
};

/// Reads the whole file and keeps the rows of `vocab`'s words (the first occurrence of a word wins; entries
/// named "<pad>" or "<unk>" are not vatt's reserved ids and are left out). Throws
/// std::runtime_error naming the file and the line or entry when a vector has the wrong width or a value is
/// not a number, and when `expected_dim` > 0 differs from the file's width.
WordVectorTable read_word_vectors(const std::string& path, const std::vector<std::string>& vocab,
                                  int64_t expected_dim = 0);

}  // namespace vatt::model
