// Training checkpoints: one file holding everything a run needs to continue bit-exactly (weights, buffers,
// Adam moments, schedule step, RNG state, model config, a caller's blob), written atomically.
// Model-internal header: includes LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/negatives.h"
#include "model/vatt.h"

namespace vatt::model {

/// What a checkpoint carries besides the model and the optimiser.
struct CheckpointMeta {
  ModelConfig config;     ///< rebuilt from the stored config_fields() text
  int64_t step = 0;       ///< schedule step of the next optimiser step
  std::string user_blob;  ///< opaque bytes of the caller (training loop: data cursor, vocabulary)
};

/// Writes a checkpoint of `model` (every named parameter and buffer), `adam` (may be null: no optimiser
/// state), `step`, the RNG state (CPU generator, and every CUDA device's generator when CUDA is present) and
/// `user_blob` to `path`.
///
/// Format: a LibTorch archive (torch::serialize::OutputArchive, a zip container) with the keys
///   format            int64 [1] = 1
///   config            uint8 [n]: "name=<config name>\n" then one "field=value\n" per config_fields()
///   step              int64 [1]
///   user_blob         uint8 [n]
///   rng.cpu           uint8 [n]: CPU generator state; rng.cuda.<i> likewise per CUDA device
///   model.<name>      every named_parameters()/named_buffers() entry, dotted module path
///   optimizer         sub-archive written by torch::optim::Adam::save
///
/// Durability: the archive goes to "<path>.tmp.<pid>" in the same directory, is fsync'ed, renamed over `path`
/// and the directory is fsync'ed, so a crash at any point leaves either the previous file or the new one,
/// never a torn one. Throws std::runtime_error naming the path on any I/O failure.
/// `negatives` (may be null): the hard-negative memory bank, saved with the rest.
/// `optimizer` may be any LibTorch optimiser (Adam for pretraining, SGD for fine-tuning); `extra` tensors are
/// written as "extra.<name>" (a fine-tuned model's classification head and its description): readers that
/// do not know them load the backbone as from any checkpoint.
void save_checkpoint(const std::string& path, const VattImpl& model, const torch::optim::Optimizer* optimizer,
                     int64_t step, const std::string& user_blob = {}, const NegativeBank* negatives = nullptr,
                     const std::map<std::string, torch::Tensor>& extra = {});

/// The "extra.<name>" tensors of a checkpoint (on the CPU), by name without the prefix; a name not stored is
/// absent from the result. Throws std::runtime_error naming the path when it cannot be read.
std::map<std::string, torch::Tensor> load_checkpoint_extra(const std::string& path,
                                                           const std::vector<std::string>& names);

/// Restores an optimiser saved with save_checkpoint (built over the same parameters in the same order) and
/// moves its state to the parameters' devices. Throws std::runtime_error naming the path when it is missing.
void load_checkpoint_optimizer(const std::string& path, torch::optim::Optimizer& optimizer);

/// Reads only the metadata (config, step, blob) of a checkpoint: enough to build the model (`Vatt(config)`)
/// and the optimiser before `load_checkpoint`. Throws std::runtime_error naming the path.
CheckpointMeta read_checkpoint_meta(const std::string& path);

/// Restores `model` (tensors copied in place, on whatever device the model lives; shapes must match),
/// `adam` (may be null: its state is then left alone; otherwise it must have been built over the same
/// parameters in the same order) and, when `restore_rng`, the RNG state. After a load the next random draw
/// equals the draw that followed the save. Returns the metadata. Throws std::runtime_error naming the path
/// and the tensor when one is missing or mis-shaped.
/// `negatives` (may be null) gets the saved memory bank; a checkpoint without one leaves it as it is.
CheckpointMeta load_checkpoint(const std::string& path, VattImpl& model, torch::optim::Adam* adam,
                               bool restore_rng = true, NegativeBank* negatives = nullptr);

/// Bytes as a uint8 tensor [n] and back: how checkpoints keep text (config, blobs, descriptions).
torch::Tensor bytes_tensor(const std::string& bytes);
std::string tensor_bytes(const torch::Tensor& t);

/// The canonical name of the checkpoint of `step` in `dir`: "<dir>/ckpt-<step, 12 digits>.pt".
std::string checkpoint_path(const std::string& dir, int64_t step);

/// The checkpoint of the highest step in `dir` (files named as `checkpoint_path`; temporary files of an
/// interrupted write are ignored), or nullopt when there is none or `dir` does not exist.
std::optional<std::string> latest_checkpoint(const std::string& dir);

/// The config as stored in a checkpoint and in safetensors metadata: "name=..." then "field=value" lines.
std::string config_to_text(const ModelConfig& config);
/// Inverse of config_to_text. Throws std::invalid_argument for an unknown field or value.
ModelConfig config_from_text(const std::string& text);

}  // namespace vatt::model
