// The VATT model: video, audio and text backbones (modality-specific, or VATT-MA with one shared stack), the
// projection heads into the video-audio and video-text spaces, word-vector loading and parameter counting.
// Model-internal header: includes LibTorch.
//
//   video [B,T,H,W,3] -> VideoBackbone -> AGG [B,dv]   -> g_v->va -> z_v,va [B,512] -> g_v->vt -> z_v,vt [B,256]
//   audio [B,S]       -> AudioBackbone -> AGG [B,da]   -> g_a->va -> z_a,va [B,512]
//   text  [B,L,W] ids -> TextBackbone  -> AGG [B*L,dt] -> g_t->vt -> z_t,vt [B,L,256]
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/info.h"
#include "model/layers.h"
#include "model/tokenisers.h"

namespace vatt::model {

/// What the video and audio backbones share: patches -> [pre-projection] -> positions -> DropToken
/// (training) -> AGG -> stack -> [post-projection]. The bracketed steps exist in VATT-MA only, where `shared`
/// is the common stack (held, not registered: the Vatt module owns it, so its parameters are counted and
/// optimised once). A modality registers its patch embedding and positions between `add_pre_projection` and
/// `add_stack`, so parameter names and order stay patch, pre_proj, positions, agg, encoder/post_proj.
class PatchBackboneImpl : public torch::nn::Module {
 public:
  int64_t out_dim() const { return out_dim_; }
  torch::Tensor agg;  ///< [hidden]

 protected:
  explicit PatchBackboneImpl(const ModelConfig& config) : config_(config) {}
  void add_pre_projection(bool ma, int64_t hidden);
  void add_stack(const BackboneConfig& size, TransformerEncoder shared);
  /// Patch tokens [B, N, hidden] -> after the pre-projection (VATT-MA).
  torch::Tensor project_in(torch::Tensor x);
  /// Positioned tokens -> DropToken at `rate` in training -> AGG prepended: [B, 1 + K, hidden].
  torch::Tensor drop_and_prepend(torch::Tensor x, double rate);
  /// Encoder input -> all outputs after the final norm (VATT-MA: after the post-projection).
  torch::Tensor encode(const torch::Tensor& tokens);

  ModelConfig config_;
  int64_t out_dim_ = 0;
  int64_t table_rows_ = 0;  ///< DropToken counts from these rows (DropTokenCount::kTable), 0: from the tokens

 private:
  torch::nn::Linear pre_proj_{nullptr}, post_proj_{nullptr};
  TransformerEncoder encoder_{nullptr};
};

/// Video backbone: video [B, T, H, W, 3] float in [-1, 1].
class VideoBackboneImpl : public PatchBackboneImpl {
 public:
  explicit VideoBackboneImpl(const ModelConfig& config, TransformerEncoder shared = nullptr);
  /// The encoder input: [B, 1 + K, hidden], row 0 the AGG token, K = kept_token_count(t*h*w,
  /// droptoken.video) in training, t*h*w otherwise.
  torch::Tensor tokens(const torch::Tensor& video);
  /// [B, 1 + K, out_dim]; row 0 is the clip representation.
  torch::Tensor forward(const torch::Tensor& video) { return encode(tokens(video)); }

  VideoPatchEmbed patch{nullptr};
  SpatioTemporalPositions positions{nullptr};
};
TORCH_MODULE(VideoBackbone);

/// Audio backbone: audio [B, S] float in [-1, 1].
class AudioBackboneImpl : public PatchBackboneImpl {
 public:
  explicit AudioBackboneImpl(const ModelConfig& config, TransformerEncoder shared = nullptr);
  /// [B, S] -> [B, 1 + K, hidden], K = kept_token_count(S / audio_patch, droptoken.audio) in training.
  torch::Tensor tokens(const torch::Tensor& audio);
  /// [B, 1 + K, out_dim], row 0 the clip representation.
  torch::Tensor forward(const torch::Tensor& audio) { return encode(tokens(audio)); }

  AudioPatchEmbed patch{nullptr};
  TemporalPositions positions{nullptr};
};
TORCH_MODULE(AudioBackbone);

/// What `load_word_vectors` read.
struct WordVectors {
  torch::Tensor table;  ///< [vocab, dim] float32; rows of words not in the file are zero
  torch::Tensor found;  ///< [vocab] bool
  int64_t found_count = 0;
  int64_t lines = 0;  ///< vector lines read (a word2vec "count dim" header is not counted)
};

/// Reads a word-vector file (word2vec text or binary, GloVe text: model/word_vectors.h) and maps the words
/// of `vocab` (id -> word; ids 0 and 1 are <pad> and <unk>) that appear in it; the first occurrence of a word
/// wins. Throws std::runtime_error naming the file when it cannot be opened or its width is not `dim`, and
/// naming file:line (or the binary entry) when an entry has the wrong number of values or a value is not a
/// number.
WordVectors load_word_vectors(const std::string& path, const std::vector<std::string>& vocab, int64_t dim);

/// Text backbone. Modality-specific (T5): ids -> word embedding (word_dim) -> prepend AGG (word_dim) ->
/// Linear(word_dim -> hidden, no bias) + GELU -> T5 stack (relative bias, padding mask).
/// VATT-MA: ids -> word embedding -> Linear + GELU -> 16-row absolute positions -> prepend AGG (hidden) ->
/// shared stack (padding mask) -> post-projection.
class TextBackboneImpl : public torch::nn::Module {
 public:
  explicit TextBackboneImpl(const ModelConfig& config, TransformerEncoder shared = nullptr);
  /// ids: [B, W] int64, 0 = padding. Returns [B, 1 + W, out_dim]; row 0 is the text representation.
  torch::Tensor forward(const torch::Tensor& ids);
  /// Copies the found rows of `vectors` into the word embedding; `freeze` stops its gradient (the paper froze
  /// word2vec). Throws std::invalid_argument when the table shape differs from the embedding's.
  void set_word_vectors(const WordVectors& vectors, bool freeze = true);
  int64_t out_dim() const { return out_dim_; }

  torch::nn::Embedding embedding{nullptr};  ///< [vocab, word_dim]
  torch::Tensor agg;                        ///< [word_dim] (T5) or [hidden] (VATT-MA)

 private:
  ModelConfig config_;
  int64_t out_dim_;
  torch::nn::Linear pre_proj_{nullptr}, post_proj_{nullptr};
  T5Encoder t5_{nullptr};
  TemporalPositions positions_{nullptr};
  TransformerEncoder shared_{nullptr};
};
TORCH_MODULE(TextBackbone);

/// Projection heads, BatchNorm momentum/eps from the config:
///   g_v->va: Linear(dv,512, no bias) -> BN -> ReLU -> Linear(512,512, no bias) -> BN
///   g_a->va: Linear(da,512, bias)
///   g_v->vt: ReLU -> Linear(512,256, no bias) -> BN, applied to z_v,va
///   g_t->vt: Linear(dt,256, bias)
class HeadsImpl : public torch::nn::Module {
 public:
  HeadsImpl(const ModelConfig& config, int64_t video_dim, int64_t audio_dim, int64_t text_dim);
  torch::Tensor video_va(const torch::Tensor& video_agg);   ///< [B, dv] -> [B, 512]
  torch::Tensor audio_va(const torch::Tensor& audio_agg);   ///< [B, da] -> [B, 512]
  torch::Tensor video_vt(const torch::Tensor& z_video_va);  ///< [B, 512] -> [B, 256]
  torch::Tensor text_vt(const torch::Tensor& text_agg);     ///< [..., dt] -> [..., 256]

 private:
  torch::nn::Sequential video_va_{nullptr}, video_vt_{nullptr};
  torch::nn::Linear audio_va_{nullptr}, text_vt_{nullptr};
};
TORCH_MODULE(Heads);

/// The four embeddings of a batch (not normalised; the loss normalises).
struct VattOutput {
  torch::Tensor video_va;   ///< [B, 512]
  torch::Tensor audio_va;   ///< [B, 512]
  torch::Tensor video_vt;   ///< [B, 256]
  torch::Tensor text_vt;    ///< [B, L, 256], L = text candidates
  torch::Tensor text_mask;  ///< [B] float, 1 = clip has text (all ones when forward got none)
  torch::Tensor video_agg, audio_agg, text_agg;  ///< backbone representations [B, dv], [B, da], [B, L, dt]
};

/// VATT: three backbones (or VATT-MA with one shared stack) and the heads.
class VattImpl : public torch::nn::Module {
 public:
  explicit VattImpl(const ModelConfig& config);
  /// video [B,T,H,W,3] float in [-1,1]; audio [B,S] float in [-1,1]; text_ids [B,L,W] int64 (0 = pad);
  /// text_mask [B] (0 = clip has no text) or undefined. Text-less clips still run through the text backbone
  /// (static shapes); the loss masks them out.
  VattOutput forward(const torch::Tensor& video, const torch::Tensor& audio, const torch::Tensor& text_ids,
                     const torch::Tensor& text_mask = {});
  /// Video embedding in the video-text space for retrieval: [B,T,H,W,3] -> z_v,vt [B, 256].
  torch::Tensor embed_video_text_space(const torch::Tensor& video);
  /// Text embedding in the video-text space: ids [N, W] -> z_t,vt [N, 256].
  torch::Tensor embed_text(const torch::Tensor& ids);

  const ModelConfig& config() const { return config_; }

  VideoBackbone video{nullptr};
  AudioBackbone audio{nullptr};
  TextBackbone text{nullptr};
  TransformerEncoder shared{nullptr};  ///< VATT-MA only
  Heads heads{nullptr};

 private:
  ModelConfig config_;
};
TORCH_MODULE(Vatt);

/// Number of parameter elements of `module` and its children (trainable or not).
int64_t count_parameters(const torch::nn::Module& module);

/// Parameter counts of a built model, per module (same meaning as `analytic_parameters`).
ParameterCounts count_parameters(const VattImpl& model);

}  // namespace vatt::model
