// Search queries as vectors of a stored model: a typed text through the checkpoint's own vocabulary and
// tokenisation, a video or audio file through the same decoding and preparation as the `embed` node (frames
// at the trained rate, centre crop, audio at the trained rate and length), averaged over up to 4 uniformly
// spaced clips and re-normalised. For `vatt search` and the live service.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/embedding_store.h"

namespace vatt::nodes {

/// A query that cannot be encoded (no known word, a file that does not decode); what() says why.
class QueryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class QueryEncoder {
 public:
  /// Loads the checkpoint (file or directory, or weights saved by save_weights) on the CPU with `threads`
  /// intra-op threads (0 = all cores).
  explicit QueryEncoder(const std::string& checkpoint, int threads = 0);
  ~QueryEncoder();

  uint64_t model_id() const;  ///< digest of the weights (the store's model id)
  const std::string& checkpoint() const;
  /// The weights alone as safetensors (what a later QueryEncoder loads several times faster).
  void save_weights(const std::string& path) const;

  struct Text {
    std::vector<float> vector;         ///< in the video-text space
    std::vector<std::string> unknown;  ///< words the vocabulary lacks (they become <unk>)
    std::vector<std::string> used;     ///< the normalised words the model saw (at most its word count)
  };
  /// Throws QueryError when no word of `text` is in the vocabulary, or the checkpoint has none.
  Text text(const std::string& text) const;
  /// A video file's clips in `space` (VideoVA or VideoVT); audio files: AudioVA. Throws QueryError.
  std::vector<float> file(const std::string& path, storage::Space space) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vatt::nodes
