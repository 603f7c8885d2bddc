// Fine-tuning a pretrained VATT backbone for classification, behind a LibTorch-free interface: the video or
// audio backbone's AGG feature -> a linear head, trained end to end as the paper fine-tunes. Video: softmax
// cross-entropy with label smoothing; audio (AudioSet style): sigmoid binary cross-entropy, mixup with
// lambda ~ Beta(alpha, alpha), each sample's loss weighted by the inverse in-batch count of its labels. SGD with
// momentum, linear warm-up then a half-period cosine, no DropToken. The position tables are resized when the
// fine-tuning input differs from the pretraining one. Checkpoints hold the whole VATT (so `embed` and
// search keep working on the backbone) plus the head and its description, and resume exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/trainer.h"

namespace vatt::model {

struct ClassifierOptions {
  /// Where the weights come from: a pretraining checkpoint (file, or directory = its latest) to fine-tune,
  /// or a fine-tuned one (its head too).
  std::string checkpoint;
  std::string modality = "video";     ///< video or audio
  std::vector<std::string> classes;   ///< the label of each output (fine-tuning from pretraining)
  bool multi_label = false;           ///< sigmoid BCE (audio) instead of softmax CE
  int64_t frames = 0, crop = 0;       ///< fine-tuning input; 0 = the pretraining checkpoint's
  int64_t audio_samples = 0;          ///< likewise for audio
  int64_t steps = 1000, warmup = -1;  ///< warmup -1: a tenth of the steps, at most 2500
  double lr = 0.005, lr_end = 0, momentum = 0.9, weight_decay = 0;
  double label_smoothing = 0.1;  ///< single-label only
  double mixup_alpha = 0;        ///< > 0: mixup (the paper: 5 for audio)
  bool inverse_label_weight = false;
  std::string checkpoint_dir;  ///< where fine-tuned checkpoints go; resume() reads the latest from here
  uint64_t seed = 0;
  int threads = 0;
  std::string device = "auto";
  bool require_head = false;  ///< testing: a checkpoint without a fine-tuned head is an error
};

struct ClassifierStep {
  int64_t step = 0;
  double loss = 0, lr = 0, ms = 0;
};

class Classifier {
 public:
  /// Builds the model: from the latest checkpoint of checkpoint_dir when there is one (resume), else from
  /// `checkpoint` (a pretraining checkpoint gets a new head for `classes`; a fine-tuned one keeps its own).
  /// Throws std::runtime_error naming the file when it cannot be read, std::invalid_argument for options
  /// that do not fit.
  explicit Classifier(const ClassifierOptions& options);
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  /// The caller's blob of the checkpoint the model was built from when it resumed a fine-tuning run, else
  /// nullopt.
  std::optional<std::string> resumed_blob() const;
  /// One optimiser step on `batch` (video [B, frames, crop, crop, 3] or audio [B, samples]) with targets
  /// [B x classes] (one-hot or multi-hot, 0/1). Throws std::invalid_argument when shapes do not fit.
  ClassifierStep step(const HostBatch& batch, const std::vector<float>& targets);
  /// Eval-mode logits [B x classes] of `batch`.
  std::vector<float> logits(const HostBatch& batch);
  /// Writes CHECKPOINT_DIR/ckpt-<step>.pt (model, head, optimiser, RNG, `blob`); returns its path, "" when
  /// there is no checkpoint_dir.
  std::string checkpoint(const std::string& blob);

  const std::vector<std::string>& classes() const;
  const std::string& modality() const;
  bool multi_label() const;
  int64_t steps_done() const;
  int64_t total_steps() const;
  int64_t frames() const;
  int64_t crop() const;
  int64_t audio_samples() const;
  /// The pretraining checkpoint's caller blob (input description, vocabulary), carried into every fine-tuned
  /// checkpoint so that `embed` reads them as from the pretraining one.
  const std::string& input_blob() const;
  std::string source() const;  ///< the checkpoint file the weights came from
  std::string device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Multi-label figures over [N x classes] scores and 0/1 targets: mean average precision over classes with
/// at least one positive, mean ROC AUC over classes with positives and negatives (ties count half), and
/// d-prime = sqrt(2) * Phi^-1(AUC). In percent for mAP and AUC.
struct MultiLabelScores {
  double map = 0, auc = 0, d_prime = 0;
  int classes_scored = 0;
};
MultiLabelScores multi_label_scores(const std::vector<float>& scores, const std::vector<float>& targets,
                                    int classes);

}  // namespace vatt::model
