// Building the vocabulary from what a corpus says: the texts of a clip store, or the .srt/.vtt
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

/// Counts the words of `uri` and builds the vocabulary. `uri` is a clip store (every distinct segment of a
/// source once), a folder (every .srt/.vtt below it), a .txt/.list file of media paths or one media file
/// (the transcripts beside them). A transcript that cannot be read is passed to `on_skip` and left out.
/// Throws std::invalid_argument when `uri` is none of these.
Vocabulary build_vocabulary(const std::string& uri, size_t max_size, uint64_t min_count,
                            VocabBuildStats* stats,
                            const std::function<void(const std::string&)>& on_skip = {});

}  // namespace vatt::nodes
