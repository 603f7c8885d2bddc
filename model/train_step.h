// One pretraining step (forward, loss, backward, gradient averaging, scheduled Adam step) in fp32 or bf16
// mixed precision, timed per phase. Shared by the benchmark and the tests; the training graph node calls it
// too. Model-internal header: includes LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "model/distributed.h"
#include "model/vatt.h"

namespace vatt::model {

/// One batch as the model takes it (see VattImpl::forward): video [B,T,H,W,3] float in [-1,1], audio [B,S]
/// float in [-1,1], text [B,L,W] int64 (0 = pad), text_mask [B] float (0 = no text) or undefined.
class NegativeBank;

struct TrainBatch {
  torch::Tensor video, audio, text, text_mask;
  torch::Tensor sources;  ///< [B] int64: the video each clip comes from (hard negatives need it); optional
};

/// What a step did. Times are wall-clock milliseconds (CUDA synchronised at phase ends).
struct StepResult {
  double loss = 0, nce = 0, mil_nce = 0;
  double forward_ms = 0;    ///< model forward and loss
  double backward_ms = 0;   ///< backward and gradient averaging
  double optimiser_ms = 0;  ///< schedule, Adam step (fused_adam_step), zeroing gradients
  double lr = 0;
  double grad_norm = 0;  ///< L2 norm of all (averaged) gradients before the optimiser step
  bool skipped = false;  ///< the loss was NaN/Inf: no backward, no optimiser step (weights untouched)
};

/// Runs one training step of `model` (in train mode) on `batch` at schedule step `step`.
///  - bf16: the forward runs under AutocastGuard (bf16 matmuls, fp32 master weights); the loss is always
///  fp32.
///  - group (may be null): the four embeddings and the text mask are all-gathered so that the loss sees the
///    global batch's negatives (every rank computes the same global loss), heads' BatchNorm statistics are
///    global when the model's SyncBatchNorms were given the group, and gradients are averaged (bucketed)
///    before the Adam step. See model/distributed.h for why that equals one process with the whole batch.
/// Gradients are zeroed after the optimiser step (set to none).
///  - bank (may be null; needs batch.sources): each video's MIL-NCE denominator also gets the bank's K most
///    similar texts of other videos (model/negatives.h); the global batch's own texts then join the bank
///    (every rank adds the same all-gathered texts, so the banks stay identical).
StepResult train_step(VattImpl& model, torch::optim::Adam& adam, const TrainBatch& batch, int64_t step,
                      bool bf16, ProcessGroup* group = nullptr, NegativeBank* bank = nullptr);

/// A random batch of `config`'s input shapes on `device`: `batch` clips, every `text_free_every`-th clip (if
/// > 0) without text. Uses the global generator.
TrainBatch random_batch(const ModelConfig& config, int64_t batch, const torch::Device& device,
                        int64_t text_free_every = 0);

}  // namespace vatt::model
