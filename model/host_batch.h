// HostBatch (model/trainer.h: plain host buffers from the graph) checked against a model's input shapes and
// copied to tensors on the model's device, for training and for embedding alike. Model-internal: LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/train_step.h"
#include "model/trainer.h"

namespace vatt::model {

/// Throws std::invalid_argument "<context>: <field> ..." naming the field that does not fit `config`: at
/// least `min_batch` clips, frames x crop x crop video, audio_samples audio, text [B, candidates, words]
/// (candidates 0: any L >= 1), and a text mask of B values when `need_mask`.
void check_host_batch(const HostBatch& b, const ModelConfig& config, int64_t min_batch, int64_t candidates,
                      bool need_mask, const std::string& context);

/// The batch as tensors on `device` (copies; nothing refers to the host buffers afterwards): video float
/// [B,T,H,W,3] mapped from 0..255 to [-1, 1], audio [B,S], text ids int64 [B,L,W] clamped to the vocabulary,
/// text mask [B] when the batch has one.
TrainBatch to_tensors(const HostBatch& b, const ModelConfig& config, const torch::Device& device);

}  // namespace vatt::model
