// Weights in the safetensors format (https://github.com/huggingface/safetensors), written and read here
// without a library, so that PyTorch users load VATT weights with `safetensors.torch.load_file`.
// Model-internal header: includes LibTorch.
//
// File layout (all integers little-endian):
//   u64 N | N bytes of JSON header (space-padded so that the data starts 8-byte aligned) | data
//   header = { "<tensor name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//              "__metadata__": {"format": "pt", "vatt.config": "<config_to_text>", "vatt.format": "1"} }
// Offsets are relative to the data start. Tensors are stored widest dtype first (I64, then F32, ...), so each
// begins at a multiple of its element size, and back to back: the format forbids holes.
//
// Tensor names are the PyTorch-style dotted module paths of VattImpl::named_parameters() and named_buffers(),
// e.g.
//   video.patch.proj.weight            [hidden, 3, 4, 16, 16]   Conv3d (PyTorch layout: out, in, t, h, w)
//   video.positions.temporal           [8, hidden]              factorised position tables (also .vertical,
//                                                               .horizontal); audio.positions.table
//   video.agg, audio.agg, text.agg     [hidden] / [word_dim]    AGG tokens
//   video.encoder.layers.<i>.attn.{q,k,v,o}.{weight,bias}, .ln1/.ln2.{weight,bias}, .w1/.w2.{weight,bias}
//   text.embedding.weight              [vocab, word_dim]
//   text.t5.relative_bias.weight       [rel_buckets, heads]
//   heads.video_va.{0,1,3,4}.*         Linear/BatchNorm of g_v->va (BatchNorm: weight, bias, running_mean,
//                                      running_var, num_batches_tracked I64)
// Linear weights are [out, in] as in PyTorch. `vatt model info --config C --json` does not list them; the
// README's Model section shows how to print every name with Python.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "model/vatt.h"

namespace vatt::model {

/// Writes every named parameter and buffer of `model` (copied to the CPU, dtype kept) and the config
/// (config_to_text, key "vatt.config") to `path`. Written to a temporary file in the same directory and
/// renamed into place. Throws std::runtime_error naming the path on I/O failure.
/// `metadata` adds string entries to `__metadata__` (e.g. "vatt.vocab", "vatt.input").
void save_safetensors(const std::string& path, const VattImpl& model,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads every tensor of a safetensors file (onto the CPU) and its metadata. Supported dtypes: F64, F32,
/// F16, BF16, I64, I32, I16, I8, U8, BOOL. Throws std::runtime_error naming the path on a malformed file.
std::map<std::string, torch::Tensor> read_safetensors(const std::string& path,
                                                      std::map<std::string, std::string>* metadata = nullptr);

/// The model config stored in a file written by save_safetensors. Throws std::runtime_error when absent.
ModelConfig read_safetensors_config(const std::string& path);

/// Loads weights by name into `model` (copied in place onto the model's device and dtype). Every parameter
/// and buffer must be present with its exact shape and no other tensor may be in the file; otherwise throws
/// std::runtime_error naming the path and every missing, unexpected or mis-shaped tensor, and leaves the
/// model unchanged.
void load_safetensors(const std::string& path, VattImpl& model);
/// The same from tensors already read (`origin` names them in errors).
void load_safetensors(const std::map<std::string, torch::Tensor>& file, VattImpl& model,
                      const std::string& origin);

}  // namespace vatt::model
