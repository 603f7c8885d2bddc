// Building the SPEC §1 vocabulary from what a corpus says: the texts of a clip store, or the .srt/.vtt
// transcripts under a folder of videos. Used by `vatt vocab build` and by `tokenise` when its vocabulary file
// does not exist yet.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "nodes/train/vocab.h"

namespace vatt::nodes {

struct VocabBuildStats {
  size_t texts = 0;           ///< text segments counted
  size_t distinct_words = 0;  ///< before the size/count cut
  size_t skipped_files = 0;   ///< unreadable transcripts (reported through `on_skip`)
};

/// Counts the words of `uri` (a clip store: every distinct segment of a source once; or a folder: every
/// .srt/.vtt below it) and builds the vocabulary. A transcript that cannot be read is passed to `on_skip`
/// and left out. Throws std::invalid_argument when `uri` is neither.
Vocabulary build_vocabulary(const std::string& uri, size_t max_size, uint64_t min_count,
                            VocabBuildStats* stats,
                            const std::function<void(const std::string&)>& on_skip = {});

}  // namespace vatt::nodes
