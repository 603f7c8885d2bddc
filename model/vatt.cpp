// Backbones, heads and the full VATT model, word-vector loading and parameter counting.
#include "model/vatt.h"

#include <cmath>
#include <stdexcept>

#include "model/distributed.h"
#include "model/word_vectors.h"

namespace vatt::model {
namespace {

// The reference draws AGG tokens from a Glorot normal over a [dim] vector: stddev dim^-1/2.
torch::Tensor agg_token(int64_t dim) {
  return torch::randn({dim}) / std::sqrt(static_cast<double>(dim));
}

torch::Tensor prepend(const torch::Tensor& token, const torch::Tensor& x) {
  return torch::cat({token.to(x.dtype()).view({1, 1, -1}).expand({x.size(0), 1, x.size(2)}), x}, 1);
}

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

double attention_rate(const ModelConfig& c) {
  return c.attention_dropout ? c.dropout : 0.0;
}
double output_rate(const ModelConfig& c) {
  return c.output_dropout ? c.dropout : 0.0;
}

TransformerEncoder stack(const ModelConfig& c, const BackboneConfig& size) {
  return TransformerEncoder(size, c.dropout, c.ln_eps, attention_rate(c), output_rate(c));
}

// Keras' glorot-uniform on every Linear and Conv kernel (fans include the receptive field, as Keras and
// torch::nn::init::xavier_uniform_ both count them) and zero biases: the released code's initialisers.
void official_init(torch::nn::Module& root) {
  torch::NoGradGuard no_grad;
  auto init = [](torch::Tensor& w, torch::Tensor& b) {
    torch::nn::init::xavier_uniform_(w);
    if (b.defined()) b.zero_();
  };
  for (const auto& m : root.modules(/*include_self=*/false)) {
    if (auto* l = m->as<torch::nn::LinearImpl>()) {
      init(l->weight, l->bias);
    } else if (auto* c3 = m->as<torch::nn::Conv3dImpl>()) {
      init(c3->weight, c3->bias);
    } else if (auto* c1 = m->as<torch::nn::Conv1dImpl>()) {
      init(c1->weight, c1->bias);
    }
  }
}

// BatchNorm1d unless a process group is set (model/distributed.h): then statistics of the global batch.
SyncBatchNorm batch_norm(const ModelConfig& c, int64_t dim) {
  return SyncBatchNorm(dim, c.bn_momentum, c.bn_eps);
}

}  // namespace

// ----------------------------------------------------------------------------------------------------------
void PatchBackboneImpl::add_pre_projection(bool ma, int64_t hidden) {
  if (ma) pre_proj_ = register_module("pre_proj", linear(hidden, hidden, true));
}

void PatchBackboneImpl::add_stack(const BackboneConfig& size, TransformerEncoder shared) {
  agg = register_parameter("agg", agg_token(size.hidden));
  if (shared) {
    encoder_ = shared;
    post_proj_ = register_module("post_proj", linear(size.hidden, config_.post_proj_dim, true));
    out_dim_ = config_.post_proj_dim;
  } else {
    encoder_ = register_module("encoder", stack(config_, size));
    out_dim_ = size.hidden;
  }
}

torch::Tensor PatchBackboneImpl::project_in(torch::Tensor x) {
  return pre_proj_ ? torch::gelu(pre_proj_->forward(x)) : x;
}

torch::Tensor PatchBackboneImpl::drop_and_prepend(torch::Tensor x, double rate) {
  if (is_training()) x = drop_tokens(x, rate, config_.droptoken_mode, table_rows_);
  return prepend(agg, x);
}

torch::Tensor PatchBackboneImpl::encode(const torch::Tensor& tokens) {
  auto y = encoder_->forward(tokens);
  return post_proj_ ? torch::gelu(post_proj_->forward(y)) : y;
}

// ----------------------------------------------------------------------------------------------------------
VideoBackboneImpl::VideoBackboneImpl(const ModelConfig& config, TransformerEncoder shared)
    : PatchBackboneImpl(config) {
  const auto& size = shared ? config.shared : config.video;
  patch = register_module("patch", VideoPatchEmbed(config, size.hidden));
  if (config.droptoken_count == DropTokenCount::kTable) table_rows_ = config.video_tokens();
  add_pre_projection(static_cast<bool>(shared), size.hidden);
  positions =
      register_module("positions", SpatioTemporalPositions(config.grid_t(), config.grid_h(), config.grid_w(),
                                                           size.hidden, config.dropout, config.ln_eps));
  add_stack(size, shared);
}

torch::Tensor VideoBackboneImpl::tokens(const torch::Tensor& video) {
  std::array<int64_t, 3> grid{};
  auto x = project_in(patch->forward(video, &grid));
  return drop_and_prepend(positions->forward(x, grid[0], grid[1], grid[2]), config_.droptoken_video);
}

// ----------------------------------------------------------------------------------------------------------
AudioBackboneImpl::AudioBackboneImpl(const ModelConfig& config, TransformerEncoder shared)
    : PatchBackboneImpl(config) {
  const auto& size = shared ? config.shared : config.audio;
  patch = register_module("patch", AudioPatchEmbed(config, size.hidden));
  if (config.droptoken_count == DropTokenCount::kTable) table_rows_ = config.audio_tokens();
  add_pre_projection(static_cast<bool>(shared), size.hidden);
  positions = register_module(
      "positions", TemporalPositions(config.audio_tokens(), size.hidden, config.dropout, config.ln_eps));
  add_stack(size, shared);
}

torch::Tensor AudioBackboneImpl::tokens(const torch::Tensor& audio) {
  auto x = project_in(patch->forward(audio));
  return drop_and_prepend(positions->forward(x), config_.droptoken_audio);
}

// ----------------------------------------------------------------------------------------------------------
TextBackboneImpl::TextBackboneImpl(const ModelConfig& config, TransformerEncoder shared) : config_(config) {
  const bool ma = static_cast<bool>(shared);
  const auto& size = ma ? config.shared : config.text;
  embedding = register_module("embedding", torch::nn::Embedding(config.vocab_size, config.word_dim));
  {
    // Keras' Embedding default, which the reference used: U(-0.05, 0.05), on the scale of word2vec values.
    torch::NoGradGuard no_grad;
    embedding->weight.uniform_(-0.05, 0.05);
  }
  if (ma) {
    pre_proj_ = register_module("pre_proj", linear(config.word_dim, size.hidden, true));
    positions_ = register_module(
        "positions", TemporalPositions(config.text_words, size.hidden, config.dropout, config.ln_eps));
    agg = register_parameter("agg", agg_token(size.hidden));
    shared_ = shared;
    post_proj_ = register_module("post_proj", linear(size.hidden, config.post_proj_dim, true));
    out_dim_ = config.post_proj_dim;
  } else {
    agg = register_parameter("agg", agg_token(config.word_dim));
    pre_proj_ = register_module("pre_proj", linear(config.word_dim, size.hidden, false));
    t5_ = register_module(
        "t5", T5Encoder(size, config.dropout, config.ln_eps, config.rel_buckets, config.rel_max_distance,
                        attention_rate(config), output_rate(config)));
    out_dim_ = size.hidden;
  }
}

torch::Tensor TextBackboneImpl::forward(const torch::Tensor& ids) {
  if (ids.dim() != 2) throw std::invalid_argument("text ids must be [B, W]");
  auto valid = ids != 0;
  valid = torch::cat({torch::ones({ids.size(0), 1}, valid.options()), valid}, 1);  // the AGG token is real
  auto x = embedding->forward(ids);
  if (t5_) {
    x = torch::gelu(pre_proj_->forward(prepend(agg, x)));
    return t5_->forward(x, valid);
  }
  x = positions_->forward(torch::gelu(pre_proj_->forward(x)));
  auto y = shared_->forward(prepend(agg, x), padding_bias(valid, x.scalar_type()));
  return torch::gelu(post_proj_->forward(y));
}

void TextBackboneImpl::set_word_vectors(const WordVectors& vectors, bool freeze) {
  auto& w = embedding->weight;
  if (vectors.table.sizes() != w.sizes())
    throw std::invalid_argument("word vectors are [" + std::to_string(vectors.table.size(0)) + ", " +
                                std::to_string(vectors.table.size(1)) + "] but the embedding is [" +
                                std::to_string(w.size(0)) + ", " + std::to_string(w.size(1)) + "]");
  {
    torch::NoGradGuard no_grad;
    auto found = vectors.found.to(w.device());
    w.index_put_({found}, vectors.table.to(w.options()).index({found}));
  }
  if (freeze) w.set_requires_grad(false);
}

WordVectors load_word_vectors(const std::string& path, const std::vector<std::string>& vocab, int64_t dim) {
  const WordVectorTable t = read_word_vectors(path, vocab, dim);
  WordVectors out;
  const auto v = static_cast<int64_t>(vocab.size());
  out.table = torch::from_blob(const_cast<float*>(t.values.data()), {v, t.dim}, torch::kFloat).clone();
  out.found =
      torch::from_blob(const_cast<uint8_t*>(t.found.data()), {v}, torch::kUInt8).to(torch::kBool).clone();
  out.found_count = t.found_count;
  out.lines = t.entries;
  return out;
}

// ----------------------------------------------------------------------------------------------------------
HeadsImpl::HeadsImpl(const ModelConfig& c, int64_t video_dim, int64_t audio_dim, int64_t text_dim) {
  const int64_t va = c.head_va_dim, vt = c.head_vt_dim;
  video_va_ = register_module(
      "video_va", torch::nn::Sequential(linear(video_dim, va, false), batch_norm(c, va), torch::nn::ReLU(),
                                        linear(va, va, false), batch_norm(c, va)));
  audio_va_ = register_module("audio_va", linear(audio_dim, va, true));
  video_vt_ = register_module(
      "video_vt", torch::nn::Sequential(torch::nn::ReLU(), linear(va, vt, false), batch_norm(c, vt)));
  text_vt_ = register_module("text_vt", linear(text_dim, vt, true));
}

torch::Tensor HeadsImpl::video_va(const torch::Tensor& x) {
  return video_va_->forward(x);
}
torch::Tensor HeadsImpl::audio_va(const torch::Tensor& x) {
  return audio_va_->forward(x);
}
torch::Tensor HeadsImpl::video_vt(const torch::Tensor& x) {
  return video_vt_->forward(x);
}
torch::Tensor HeadsImpl::text_vt(const torch::Tensor& x) {
  return text_vt_->forward(x);
}

// ----------------------------------------------------------------------------------------------------------
VattImpl::VattImpl(const ModelConfig& config) : config_(config) {
  config_.validate();
  if (config_.modality_agnostic) shared = register_module("shared", stack(config_, config_.shared));
  video = register_module("video", VideoBackbone(config_, shared));
  audio = register_module("audio", AudioBackbone(config_, shared));
  text = register_module("text", TextBackbone(config_, shared));
  heads = register_module("heads", Heads(config_, video->out_dim(), audio->out_dim(), text->out_dim()));
  if (config_.init == InitStyle::kOfficial) official_init(*this);
}

VattOutput VattImpl::forward(const torch::Tensor& video_in, const torch::Tensor& audio_in,
                             const torch::Tensor& text_ids, const torch::Tensor& text_mask) {
  if (text_ids.dim() != 3) throw std::invalid_argument("text ids must be [B, L, W]");
  VattOutput out;
  const auto b = text_ids.size(0), l = text_ids.size(1);
  out.video_agg = video->forward(video_in).select(1, 0);
  out.audio_agg = audio->forward(audio_in).select(1, 0);
  out.text_agg = text->forward(text_ids.reshape({b * l, text_ids.size(2)})).select(1, 0).view({b, l, -1});
  out.video_va = heads->video_va(out.video_agg);
  out.audio_va = heads->audio_va(out.audio_agg);
  out.video_vt = heads->video_vt(out.video_va);
  out.text_vt = heads->text_vt(out.text_agg);
  out.text_mask =
      text_mask.defined() ? text_mask.to(out.video_va.options()) : torch::ones({b}, out.video_va.options());
  return out;
}

torch::Tensor VattImpl::embed_video_text_space(const torch::Tensor& video_in) {
  return heads->video_vt(heads->video_va(video->forward(video_in).select(1, 0)));
}

torch::Tensor VattImpl::embed_text(const torch::Tensor& ids) {
  return heads->text_vt(text->forward(ids).select(1, 0));
}

// ----------------------------------------------------------------------------------------------------------
int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

ParameterCounts count_parameters(const VattImpl& model) {
  ParameterCounts c;
  c.video = count_parameters(*model.video);
  c.audio = count_parameters(*model.audio);
  c.text = count_parameters(*model.text);
  c.text_word_embedding = model.text->embedding->weight.numel();
  c.shared = model.shared ? count_parameters(*model.shared) : 0;
  c.heads = count_parameters(*model.heads);
  c.total = count_parameters(static_cast<const torch::nn::Module&>(model));
  return c;
}

}  // namespace vatt::model
