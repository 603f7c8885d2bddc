// Building the vocabulary from what a corpus says: the texts of a clip store, or the .srt/.vtt
// transcripts under a folder of videos. Used by `vatt vocab build` and by `tokenise` when its vocabulary file
// does not exist yet.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "nodes/train/vocab.h"

namespace vatt::nodes {

struct VocabBuildStats {
  size_t texts = 0;           ///< text segments counted
  size_t distinct_words = 0;  ///< before the size/count cut
  size_t skipped_files = 0;   ///< unreadable transcripts (reported through `on_skip`)
};

/// Counts the words of `uri` and builds the vocabulary. `uri` is a clip store (every distinct segment of a
/// source once), a folder (every .srt/.vtt below it), a .txt/.list file of media paths or one media file
/// (the transcripts beside them). A transcript that cannot be read is passed to `on_skip` and left out.
/// Throws std::invalid_argument when `uri` is none of these.
Vocabulary build_vocabulary(const std::string& uri, size_t max_size, uint64_t min_count,
                            VocabBuildStats* stats,
                            const std::function<void(const std::string&)>& on_skip = {});

/// The word counts `build_vocabulary` builds from (same sources, same rules).
std::map<std::string, uint64_t> count_corpus_words(
    const std::string& uri, VocabBuildStats* stats,
    const std::function<void(const std::string&)>& on_skip = {});

/// What `vocabulary_from_vectors` saw of the corpus.
struct VectorVocabStats {
  size_t words = 0;             ///< vocabulary entries, <pad> and <unk> included
  uint64_t corpus_words = 0;    ///< word occurrences in the corpus
  size_t corpus_distinct = 0;   ///< distinct corpus words
  uint64_t unknown_words = 0;   ///< occurrences of corpus words without a vector (they become <unk>)
  size_t unknown_distinct = 0;  ///< distinct such words
};

/// The vocabulary of a word-vector file (model/word_vectors.h), at most `max_size` entries with <pad> and
/// <unk>: the file's words in file order (word2vec and GloVe list the most frequent first), or with
/// `corpus_order` the words of `corpus` that have a vector, most frequent there first, then the file's
/// others. Counts are the corpus counts (0 for words it lacks). Throws std::runtime_error naming the file.
Vocabulary vocabulary_from_vectors(const std::string& vectors, const std::map<std::string, uint64_t>& corpus,
                                   bool corpus_order, size_t max_size, VectorVocabStats* stats = nullptr);

}  // namespace vatt::nodes
