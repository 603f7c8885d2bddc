// Attention and Transformer stacks of every VATT encoder: one attention function over
// torch::scaled_dot_product_attention, the pre-LN encoder (video, audio, VATT-MA) and the T5 text encoder.
// Model-internal header: includes LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "model/config.h"
#include "model/dropout.h"

namespace vatt::model {

/// Score added to masked-out keys. Finite so that a fully masked row gives a uniform softmax rather than NaN;
/// exp(-1e9) underflows to exactly 0 in every float type.
constexpr double kMaskedScore = -1e9;

/// The one attention used by every encoder, so the fused kernels serve them all.
///   q, k, v: [B, heads, N, d_head]
///   bias:    undefined, or additive float scores broadcastable to [B, heads, N, N] (padding masks and the T5
///            relative bias, already summed); same dtype as q
///   scale:   multiplies QK^T; a value <= 0 means the usual 1/sqrt(d_head). T5 passes 1.0 (unscaled).
///   dropout_p: dropout on the attention probabilities (pass 0 outside training)
/// Returns Drop(softmax(scale * QK^T + bias)) V: [B, heads, N, d_head].
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& bias = {}, double scale = 0.0, double dropout_p = 0.0);

/// Additive key-padding bias from validity `valid` [B, N] (nonzero = real token): [B, 1, 1, N] of `dtype`, 0
/// for real tokens and kMaskedScore for padding.
torch::Tensor padding_bias(const torch::Tensor& valid, torch::Dtype dtype);

/// Multi-head self-attention with separate q/k/v/o projections (the reference checkpoint layout).
/// `bias`: projections with bias (pre-LN encoder) or without (T5). `scaled`: 1/sqrt(d_head) or unscaled (T5).
/// `dropout`: on the attention probabilities, in training mode only.
class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadAttentionImpl(int64_t dim, int64_t heads, bool bias, bool scaled, double dropout = 0.0);
  /// x: [B, N, dim]; score_bias: as `attention`'s bias. Returns [B, N, dim].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& score_bias = {});

  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};

 private:
  int64_t heads_;
  bool scaled_;
  double dropout_;
};
TORCH_MODULE(MultiHeadAttention);

/// Pre-LN layer: x += Drop(MHA(LN(x))); x += Drop(W2(Drop(GELU(W1(LN(x)))))). Exact (erf) GELU, biases on.
/// `attn_dropout`: the attention's own dropout on its probabilities.
class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(const BackboneConfig& size, double dropout, double ln_eps, double attn_dropout = 0.0);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& score_bias = {});

 private:
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  MultiHeadAttention attn_{nullptr};
  torch::nn::Linear w1_{nullptr}, w2_{nullptr};
  Dropout drop_{nullptr};
};
TORCH_MODULE(EncoderLayer);

/// The video/audio (and VATT-MA shared) stack: `size.layers` pre-LN layers, a final LayerNorm, then
/// `out_dropout` (training mode) on what leaves the stack.
class TransformerEncoderImpl : public torch::nn::Module {
 public:
  TransformerEncoderImpl(const BackboneConfig& size, double dropout, double ln_eps, double attn_dropout = 0.0,
                         double out_dropout = 0.0);
  /// x: [B, N, hidden]; score_bias: additive, broadcastable to [B, heads, N, N] (e.g. `padding_bias`).
  /// Returns [B, N, hidden] after the final norm.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& score_bias = {});

 private:
  torch::nn::ModuleList layers_;
  torch::nn::LayerNorm final_ln_{nullptr};
  Dropout out_drop_{nullptr};
};
TORCH_MODULE(TransformerEncoder);

/// T5 RMS norm: x / sqrt(mean(x^2) + eps) * weight; scale only, no centring, no bias.
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

/// T5 bidirectional relative-position bucket of `relative_position` = key position - query position (int64,
/// any shape). Half the buckets per direction (keys after the query get the upper half); within a half,
/// distances below num_buckets/4 have their own bucket and larger ones share log-spaced buckets up to
/// `max_distance`, beyond which they all fall in the last bucket of the half. Returns int64, same shape.
torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, int64_t num_buckets,
                                       int64_t max_distance);

/// One T5 encoder layer: x += Drop(MHA_unscaled(RMS(x)) + bias); x += Drop(W2(Drop(GELU(W1(LN(x)))))).
/// No biases in any projection; the MLP norm is a standard LayerNorm (the reference code's choice).
class T5LayerImpl : public torch::nn::Module {
 public:
  T5LayerImpl(const BackboneConfig& size, double dropout, double ln_eps, double attn_dropout = 0.0);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& score_bias);

 private:
  RmsNorm rms_{nullptr};
  MultiHeadAttention attn_{nullptr};
  torch::nn::LayerNorm ln_{nullptr};
  torch::nn::Linear w1_{nullptr}, w2_{nullptr};
  Dropout drop_{nullptr};
};
TORCH_MODULE(T5Layer);

/// T5-style text stack. The relative-position bias table (buckets x heads) belongs to the first layer in T5
/// and the same bias is added in every layer, so it is computed once per forward here. No absolute positions.
/// `out_dropout` (training mode) acts on the stack's input and on what leaves its final RMS norm, as in T5.
class T5EncoderImpl : public torch::nn::Module {
 public:
  T5EncoderImpl(const BackboneConfig& size, double dropout, double ln_eps, int64_t rel_buckets,
                int64_t rel_max_distance, double attn_dropout = 0.0, double out_dropout = 0.0);
  /// x: [B, N, hidden]; valid: [B, N] (nonzero = real token) or undefined. Returns [B, N, hidden] after the
  /// final RMS norm.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& valid = {});
  /// The relative bias for a length-n sequence: [1, heads, n, n].
  torch::Tensor position_bias(int64_t n) const;

  torch::nn::Embedding relative_bias{nullptr};  ///< [rel_buckets, heads]

 private:
  int64_t rel_buckets_, rel_max_distance_;
  torch::nn::ModuleList layers_;
  RmsNorm final_norm_{nullptr};
  Dropout out_drop_{nullptr};
};
TORCH_MODULE(T5Encoder);

}  // namespace vatt::model
