// What `embed` emits and `retrieval_eval` reads: per clip its identity, its own text and its L2-normalised
// embeddings in the video-audio and video-text spaces of a trained model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vatt::nodes {

struct ClipEmbedding {
  uint64_t source_id = 0, clip_index = 0;
  std::string uri;
  int64_t start_us = 0, end_us = 0;
  std::string text;  ///< the clip's own words ("" when it has none)
  bool has_text = false, has_audio = false;
  std::vector<std::string> labels;
  std::vector<float> video_va, audio_va;  ///< [dim_va]
  std::vector<float> video_vt, text_vt;   ///< [dim_vt]; text_vt empty without text
};

/// One batch of embedded clips (payload type "embeddings").
struct EmbeddingBatch {
  std::vector<ClipEmbedding> items;
};

}  // namespace vatt::nodes
