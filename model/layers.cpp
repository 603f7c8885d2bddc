// Attention, pre-LN encoder and T5 encoder. Every attention goes through `attention` so that the fused
// scaled_dot_product_attention kernels (flash / memory-efficient on CUDA, flash on CPU) serve every encoder.
#include "model/layers.h"

#include "model/precision.h"

#include <cmath>

namespace vatt::model {

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& bias, double scale, double dropout_p) {
  const std::optional<double> s = scale > 0 ? std::optional<double>(scale) : std::nullopt;
  if (dropout_p > 0 && q.is_cpu()) {
    // The composite form with this library's parallel dropout masks (scaled_dot_product_attention's CPU
    // dropout draws them serially; with dropout on, the CPU takes its composite path anyway). Scores, softmax
    // and mask in fp32 as that path keeps them; the probabilities meet V in V's dtype (bf16 under autocast).
    const double sc = s.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
    torch::Tensor probs;
    {
      AutocastGuard fp32(q.device().str(), false);
      auto scores = torch::matmul(q.to(torch::kFloat), k.to(torch::kFloat).transpose(-2, -1)) * sc;
      if (bias.defined()) scores = scores + bias.to(torch::kFloat);
      probs = apply_dropout(torch::softmax(scores, -1), dropout_p, /*training=*/true);
    }
    return torch::matmul(probs.to(v.scalar_type()), v);
  }
  std::optional<torch::Tensor> mask;
  if (bias.defined()) mask = bias;
  return torch::scaled_dot_product_attention(q, k, v, mask, dropout_p, /*is_causal=*/false, s);
}

torch::Tensor padding_bias(const torch::Tensor& valid, torch::Dtype dtype) {
  auto keep = valid.to(torch::kBool);
  auto bias = torch::zeros(keep.sizes(), torch::TensorOptions().dtype(dtype).device(valid.device()));
  bias.masked_fill_(keep.logical_not(), kMaskedScore);
  return bias.unsqueeze(1).unsqueeze(1);
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t dim, int64_t heads, bool bias, bool scaled,
                                               double dropout)
    : heads_(heads), scaled_(scaled), dropout_(dropout) {
  auto opts = torch::nn::LinearOptions(dim, dim).bias(bias);
  q = register_module("q", torch::nn::Linear(opts));
  k = register_module("k", torch::nn::Linear(opts));
  v = register_module("v", torch::nn::Linear(opts));
  o = register_module("o", torch::nn::Linear(opts));
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& score_bias) {
  const auto b = x.size(0), n = x.size(1), d = x.size(2);
  auto split = [&](const torch::Tensor& t) { return t.view({b, n, heads_, d / heads_}).transpose(1, 2); };
  auto out = attention(split(q->forward(x)), split(k->forward(x)), split(v->forward(x)), score_bias,
                       scaled_ ? 0.0 : 1.0, is_training() ? dropout_ : 0.0);
  return o->forward(out.transpose(1, 2).reshape({b, n, d}));
}

EncoderLayerImpl::EncoderLayerImpl(const BackboneConfig& size, double dropout, double ln_eps,
                                   double attn_dropout) {
  auto ln = torch::nn::LayerNormOptions({size.hidden}).eps(ln_eps);
  ln1_ = register_module("ln1", torch::nn::LayerNorm(ln));
  attn_ = register_module(
      "attn", MultiHeadAttention(size.hidden, size.heads, /*bias=*/true, /*scaled=*/true, attn_dropout));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(ln));
  w1_ = register_module("w1", torch::nn::Linear(size.hidden, size.mlp));
  w2_ = register_module("w2", torch::nn::Linear(size.mlp, size.hidden));
  drop_ = register_module("drop", Dropout(dropout));
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& score_bias) {
  auto h = x + drop_->forward(attn_->forward(ln1_->forward(x), score_bias));
  auto m = w2_->forward(drop_->forward(torch::gelu(w1_->forward(ln2_->forward(h)))));
  return h + drop_->forward(m);
}

TransformerEncoderImpl::TransformerEncoderImpl(const BackboneConfig& size, double dropout, double ln_eps,
                                               double attn_dropout, double out_dropout) {
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < size.layers; ++i)
    layers_->push_back(EncoderLayer(size, dropout, ln_eps, attn_dropout));
  final_ln_ = register_module("final_ln",
                              torch::nn::LayerNorm(torch::nn::LayerNormOptions({size.hidden}).eps(ln_eps)));
  out_drop_ = register_module("out_drop", Dropout(out_dropout));
}

torch::Tensor TransformerEncoderImpl::forward(torch::Tensor x, const torch::Tensor& score_bias) {
  for (const auto& layer : *layers_) x = layer->as<EncoderLayer>()->forward(x, score_bias);
  return out_drop_->forward(final_ln_->forward(x));
}

RmsNormImpl::RmsNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps_) * weight;
}

torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, int64_t num_buckets,
                                       int64_t max_distance) {
  // Follows T5's _relative_position_bucket (bidirectional) literally, including its float32 log, so that
  // bucket boundaries match the reference to the last distance.
  const int64_t half = num_buckets / 2;
  const int64_t max_exact = half / 2;
  auto n = -relative_position.to(torch::kLong);
  auto ret = (n < 0).to(torch::kLong) * half;
  n = n.abs();
  auto is_small = n < max_exact;
  auto nf = n.to(torch::kFloat).clamp_min(1.0f);  // log(0) is masked by is_small; clamp keeps it finite
  auto large = max_exact + (torch::log(nf / static_cast<float>(max_exact)) /
                            static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact)) *
                            static_cast<float>(half - max_exact))
                               .to(torch::kLong);
  large = large.clamp_max(half - 1);
  return ret + torch::where(is_small, n, large);
}

T5LayerImpl::T5LayerImpl(const BackboneConfig& size, double dropout, double ln_eps, double attn_dropout) {
  rms_ = register_module("rms", RmsNorm(size.hidden, ln_eps));
  attn_ = register_module(
      "attn", MultiHeadAttention(size.hidden, size.heads, /*bias=*/false, /*scaled=*/false, attn_dropout));
  ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({size.hidden}).eps(ln_eps)));
  w1_ = register_module("w1", torch::nn::Linear(torch::nn::LinearOptions(size.hidden, size.mlp).bias(false)));
  w2_ = register_module("w2", torch::nn::Linear(torch::nn::LinearOptions(size.mlp, size.hidden).bias(false)));
  drop_ = register_module("drop", Dropout(dropout));
}

torch::Tensor T5LayerImpl::forward(const torch::Tensor& x, const torch::Tensor& score_bias) {
  auto h = x + drop_->forward(attn_->forward(rms_->forward(x), score_bias));
  auto m = w2_->forward(drop_->forward(torch::gelu(w1_->forward(ln_->forward(h)))));
  return h + drop_->forward(m);
}

T5EncoderImpl::T5EncoderImpl(const BackboneConfig& size, double dropout, double ln_eps, int64_t rel_buckets,
                             int64_t rel_max_distance, double attn_dropout, double out_dropout)
    : rel_buckets_(rel_buckets), rel_max_distance_(rel_max_distance) {
  relative_bias = register_module("relative_bias", torch::nn::Embedding(rel_buckets, size.heads));
  // N(0, 1) (the Embedding default) would swamp unscaled scores at start; T5 initialises near d^-1/2.
  torch::NoGradGuard no_grad;
  relative_bias->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(size.hidden)));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < size.layers; ++i) layers_->push_back(T5Layer(size, dropout, ln_eps, attn_dropout));
  final_norm_ = register_module("final_norm", RmsNorm(size.hidden, ln_eps));
  out_drop_ = register_module("out_drop", Dropout(out_dropout));
}

torch::Tensor T5EncoderImpl::position_bias(int64_t n) const {
  auto pos =
      torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(relative_bias->weight.device()));
  auto rel = pos.unsqueeze(0) - pos.unsqueeze(1);  // [query, key] = key - query
  auto buckets = relative_position_bucket(rel, rel_buckets_, rel_max_distance_);
  return torch::embedding(relative_bias->weight, buckets)
      .permute({2, 0, 1})
      .unsqueeze(0);  // [1, heads, n, n]
}

torch::Tensor T5EncoderImpl::forward(torch::Tensor x, const torch::Tensor& valid) {
  auto bias = position_bias(x.size(1)).to(x.dtype());
  if (valid.defined()) bias = bias + padding_bias(valid, x.scalar_type());
  x = out_drop_->forward(x);
  for (const auto& layer : *layers_) x = layer->as<T5Layer>()->forward(x, bias);
  return out_drop_->forward(final_norm_->forward(x));
}

}  // namespace vatt::model
