// The pretraining loop's state behind a LibTorch-free interface, for the `train_vatt` graph node: model,
// optimiser, schedule, precision, checkpoints with resume, NaN/Inf step skipping. Batches come in as plain
// host buffers (uint8 frames as decoded and augmented), so nodes/ never includes LibTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vatt::model {

struct TrainerOptions {
  std::string config = "tiny";         ///< named configuration (model/config.h)
  std::vector<std::string> overrides;  ///< "field=value" (e.g. "video.layers=4", "droptoken.video=0.25")
  int64_t steps = 1000;                ///< total optimiser steps (the schedule ends there)
  int64_t warmup = -1;                 ///< warm-up steps; -1: min(5000 (code) or 10000 (paper), steps / 10)
  double lr = 1e-4, lr_end = 5e-5;     ///< peak and final learning rate (the schedule's cosine between)
  std::string precision = "auto";      ///< auto, fp32 or bf16
  std::string device = "auto";         ///< auto, cpu, cuda[:N]
  int threads = 0;                     ///< intra-op threads (0 = all cores)
  std::string checkpoint_dir;          ///< where checkpoints go (empty: none)
  int64_t checkpoint_every = 0;        ///< steps between checkpoints (0: only at the end)
  int max_bad_steps = 5;               ///< NaN/Inf losses in a row before the run is aborted
  uint64_t seed = 0;                   ///< initialisation and DropToken/noise draws
  double audio_noise = 0.01;           ///< Gaussian noise std = audio_noise * max|x| per clip
  // Data parallel (world_size > 1): one process per worker, each with its own shard of the data; embeddings
  // are all-gathered (negatives from the global batch), BatchNorm is synchronised and gradients averaged, so
  // a step equals one process on the combined batch. Only rank 0 writes checkpoints; all resume from them.
  int rank = 0, world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string dist_backend = "auto";  ///< auto (NCCL on CUDA, Gloo on CPU), gloo or nccl
  /// Beyond the paper, off by default: K hard negative texts per video from a memory bank of the last
  /// `negatives_memory` texts of other videos (model/negatives.h). Needs HostBatch::sources.
  int64_t hard_negatives = 0;
  int64_t negatives_memory = 4096;
  /// Pretrained word vectors (model/word_vectors.h) copied into the word embedding of a fresh model for the
  /// words of `vocab_words` (id -> word); `freeze_words` keeps them fixed (the paper froze word2vec). A
  /// resumed run takes the embedding from its checkpoint and only re-applies the freeze.
  std::string word_vectors;
  bool freeze_words = true;
  std::vector<std::string> vocab_words;
};

/// One batch in host memory, row-major. Every clip has the same shapes.
struct HostBatch {
  int64_t batch = 0, frames = 0, height = 0, width = 0, samples = 0;
  std::vector<uint8_t> video;     ///< [B, T, H, W, 3], 0..255 (mapped to [-1, 1] inside)
  std::vector<float> audio;       ///< [B, S] in [-1, 1]
  std::vector<int32_t> text;      ///< [B, 5, 16] vocabulary ids, 0 = <pad>
  std::vector<float> text_mask;   ///< [B]: 1 = the clip has text
  std::vector<uint64_t> sources;  ///< [B] the video of each clip (optional; hard negatives need it)
};

struct TrainerStep {
  int64_t step = 0;  ///< schedule step this batch was trained at
  double loss = 0, nce = 0, mil_nce = 0, lr = 0, grad_norm = 0;
  double ms = 0;         ///< forward + backward + optimiser
  bool skipped = false;  ///< non-finite loss: weights untouched
};

/// The parameters stored in a checkpoint file, by name in the model's named_parameters() order, as float32.
/// Throws std::runtime_error naming the path.
std::vector<std::pair<std::string, std::vector<float>>> read_checkpoint_parameters(const std::string& path);

class Trainer {
 public:
  /// Builds the model and optimiser on the chosen device. Throws std::invalid_argument for a bad option.
  explicit Trainer(const TrainerOptions& options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Restores the latest checkpoint of checkpoint_dir, if any: weights, Adam moments, step and RNG. Returns
  /// the blob saved with it (the caller's data cursor), or nullopt when starting fresh.
  std::optional<std::string> resume();
  /// Trains on one batch. Throws std::runtime_error after max_bad_steps non-finite losses in a row, and
  /// std::invalid_argument when the batch does not match the model's input shapes (naming the field).
  TrainerStep step(const HostBatch& batch);
  /// Writes checkpoint_dir/ckpt-<step>.pt atomically with `blob`; returns its path ("" without a dir, and on
  /// ranks other than 0).
  std::string checkpoint(const std::string& blob);

  int64_t steps_done() const;  ///< optimiser steps taken (the next schedule step)
  int64_t total_steps() const;
  /// The learning-rate curve in one line (model/schedule.h describe_schedule).
  std::string schedule() const;
  int64_t skipped_steps() const;
  std::string device() const;
  bool bf16() const;
  int64_t parameter_count() const;
  /// The input shapes the model was built for: frames, crop, audio samples.
  int64_t frames() const;
  int64_t crop() const;
  int64_t audio_samples() const;
  int64_t vocab_size() const;
  /// Vocabulary words that got a vector from `word_vectors` (0 without a file, -1 when resuming: the
  /// checkpoint's embedding is used and the file is not read).
  int64_t word_vectors_found() const;
  int rank() const;
  int world_size() const;
  /// A copy of every parameter, flattened and concatenated in named_parameters() order (for tests that
  /// compare runs).
  std::vector<float> flat_parameters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vatt::model
