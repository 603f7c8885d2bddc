// What `embed` emits and `retrieval_eval` reads: per clip its identity, its own text and its L2-normalised
// embeddings in the video-audio and video-text spaces of a trained model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/clip_store.h"

namespace vatt::nodes {

struct ClipEmbedding {
  uint64_t source_id = 0, clip_index = 0;
  std::string uri;
  int64_t start_us = 0, end_us = 0;
  std::string text;  ///< the clip's own words ("" when it has none)
  bool has_text = false, has_audio = false;
  /// false for a clip of an audio-only source: its video vectors (video_va, video_vt, video_feature) are
  /// empty and only the audio ones count.
  bool has_video = true;
  std::vector<std::string> labels;
  std::vector<float> video_va, audio_va;            ///< [dim_va]
  std::vector<float> video_vt, text_vt;             ///< [dim_vt]; text_vt empty without text
  std::vector<float> video_feature, audio_feature;  ///< backbone AGG features, not normalised
  /// embed's `captions` option: on a source's first clip (clip 0), its untimed captions (MSR-VTT style,
  /// Clip::captions) and each one's embedding in the video-text space; empty on other clips.
  std::vector<std::string> captions;
  std::vector<std::vector<float>> caption_vt;
  /// The clip as the clip store keeps it (metadata, every text candidate, labels, split), so that a store
  /// filled from video files can show a result's source, times and transcript.
  std::shared_ptr<const storage::ClipRecord> record;
};

/// The model that made a batch of embeddings.
struct EmbeddingModel {
  uint64_t id = 0;  ///< digest of the checkpoint's weights
  std::string checkpoint, config_name, config;
  int64_t step = 0;
};

/// One batch of embedded clips (payload type "embeddings").
struct EmbeddingBatch {
  std::vector<ClipEmbedding> items;
  std::shared_ptr<const EmbeddingModel> model;
};

}  // namespace vatt::nodes
