// Inference with a trained checkpoint behind a LibTorch-free interface, for the `embed` graph node and the
// `vatt` command: loads the model in eval mode (BatchNorm running statistics, no DropToken, no noise) and
// turns host batches into L2-normalised embeddings in the video-audio and video-text spaces.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/trainer.h"

namespace vatt::model {

/// A checkpoint file as given, or the latest checkpoint (highest step) when `file_or_dir` is a directory.
/// Throws std::runtime_error naming the path when it does not exist or a directory holds no checkpoint.
std::string resolve_checkpoint(const std::string& file_or_dir);

struct EmbedderOptions {
  /// A checkpoint file or a directory (its latest checkpoint), or a `.safetensors` file written by
  /// export_safetensors / Embedder::save_weights (weights only: several times faster to load).
  std::string checkpoint;
  std::string device = "auto";     ///< auto, cpu, cuda[:N]
  int threads = 0;                 ///< intra-op threads (0 = all cores)
  std::string precision = "fp32";  ///< auto, fp32 or bf16
};

/// Embeddings of one batch, each row L2-normalised, row-major.
struct Embeddings {
  int64_t batch = 0;
  int64_t dim_va = 0, dim_vt = 0;
  std::vector<float> video_va, audio_va;  ///< [B, dim_va]: the video-audio space
  std::vector<float> video_vt, text_vt;   ///< [B, dim_vt]: the video-text space (text: candidate 0 of each)
  int64_t dim_video_feature = 0, dim_audio_feature = 0;
  std::vector<float> video_feature, audio_feature;  ///< backbone AGG features [B, d], not normalised
};

/// Writes the weights of `checkpoint` (a file or a directory: its latest) to `out` in the safetensors format
/// with the config, `vatt.step`, `vatt.blob` (the caller's blob) and `metadata` in `__metadata__`. Returns
/// the checkpoint file read. Throws std::runtime_error naming the file.
std::string export_safetensors(const std::string& checkpoint, const std::string& out,
                               const std::map<std::string, std::string>& metadata = {});

/// The caller's blob stored with a checkpoint (file or directory: its latest), without loading the weights.
std::string checkpoint_user_blob(const std::string& checkpoint);

class Embedder {
 public:
  /// Loads the checkpoint (weights only; optimiser state is not read). Throws std::runtime_error naming the
  /// file when it is missing or damaged.
  explicit Embedder(const EmbedderOptions& options);
  ~Embedder();
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  /// Embeds video, audio and text of `batch` (shapes as for training: frames x crop x crop, audio_samples;
  /// text [B, L, 16] of which the first candidate is used; L may be 1). Throws std::invalid_argument naming
  /// the field whose shape does not fit.
  Embeddings embed(const HostBatch& batch);
  /// Text only: ids [N, 16] -> [N, dim_vt].
  std::vector<float> embed_text(const std::vector<int32_t>& ids, int64_t n);
  /// Audio only: waveforms [N, audio_samples()] in [-1, 1] -> [N, dim_va] in the video-audio space.
  std::vector<float> embed_audio(const std::vector<float>& audio, int64_t n);

  /// Digest of the weights (every parameter and buffer: name, shape and bytes, in module order): the same
  /// weights give the same id whatever file or step they come from.
  uint64_t weights_digest() const;
  /// The model config as stored in the checkpoint ("name=..." then "field=value" lines).
  std::string config_text() const;
  /// Writes the weights (with the config, step and caller blob) as safetensors, atomically: a file this
  /// class loads back without the optimiser state a training checkpoint carries.
  void save_weights(const std::string& path) const;

  const std::string& path() const;       ///< the checkpoint file read
  const std::string& user_blob() const;  ///< what the trainer stored with it (vocabulary, input spec)
  int64_t step() const;                  ///< optimiser steps the checkpoint was trained for
  std::string config_name() const;
  int64_t frames() const;
  int64_t crop() const;
  int64_t audio_samples() const;
  int64_t text_words() const;
  int64_t vocab_size() const;
  int64_t dim_va() const;
  int64_t dim_vt() const;
  std::string device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vatt::model
