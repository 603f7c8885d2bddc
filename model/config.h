// ModelConfig: every size, rate and constant of a VATT model, the named configurations (`mbs`, `ma-medium`,
// `tiny`, ...) and name=value overrides. No LibTorch types here, so the CLI and pipeline layers may include
// it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vatt::model {

/// One Transformer stack: depth and widths. `hidden` must be divisible by `heads`.
struct BackboneConfig {
  int64_t layers = 12;
  int64_t hidden = 1024;
  int64_t mlp = 4096;
  int64_t heads = 16;

  int64_t head_dim() const { return hidden / heads; }
};

/// The paper's four sizes: Small 6/512/2048/8, Base 12/768/3072/12, Medium 12/1024/4096/16,
/// Large 24/1024/4096/16. `letter` is one of s, b, m, l.
/// Throws std::invalid_argument for any other letter.
BackboneConfig backbone_size(char letter);

/// How DropToken chooses the kept tokens.
enum class DropTokenMode {
  kSharedPerBatch,  ///< one random subset for the whole batch (the reference code)
  kPerSample,       ///< an independent subset per sample
};

/// How many tokens DropToken keeps (docs/model.md, "DropToken").
enum class DropTokenCount {
  kTokens,  ///< floor(keep_rate x the clip's tokens): the rate the paper states, at any input size
  kTable,  ///< int(keep_rate x position-table rows), the released code's rule; keeps all off the default grid
};

/// Initialisation of the Linear and Conv kernels.
enum class InitStyle {
  kOfficial,  ///< Keras glorot-uniform kernels and zero biases (the released code)
  kTorch,     ///< LibTorch's defaults (kaiming-uniform with a = sqrt(5), fan-in uniform biases)
};

/// Shape of the learning-rate curve after the warm-up (model/schedule.h).
enum class LrSchedule {
  kCode,   ///< half-period cosine from the peak to the end rate (the released code; its warm-up is 5k)
  kPaper,  ///< quarter-period cosine (the paper's text; its warm-up is 10k)
};

/// Pretraining optimiser and learning-rate schedule. Used by model/schedule.h and
/// model/optimiser.h.
struct OptimConfig {
  LrSchedule schedule = LrSchedule::kCode;
  double peak_lr = 1e-4;
  double end_lr = 5e-5;
  int64_t warmup_steps = 5000;  ///< the released code; the paper says 10000
  int64_t total_steps = 500000;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-7;
  double weight_decay = 0.0;
};

/// Everything that shapes a VATT model. Defaults are VATT-MBS at the pretraining input (docs/model.md).
///
/// Derived token grid at the defaults: video 8x14x14 = 1568 tokens, audio 1200 tokens, text 16 words.
struct ModelConfig {
  std::string name = "mbs";

  // Backbones. With `modality_agnostic` the three modalities share `shared` and video/audio/text are unused.
  BackboneConfig video = backbone_size('m');
  BackboneConfig audio = backbone_size('b');
  BackboneConfig text = backbone_size('s');
  bool modality_agnostic = false;
  BackboneConfig shared = backbone_size('m');
  int64_t post_proj_dim = 1024;  ///< VATT-MA per-modality post-projection width (reference d_post_proj)

  // Input geometry.
  int64_t frames = 32;
  int64_t crop = 224;  ///< square frames: crop x crop pixels
  int64_t patch_t = 4;
  int64_t patch_hw = 16;
  int64_t audio_samples = 153600;
  int64_t audio_patch = 128;
  int64_t text_words = 16;
  int64_t text_candidates = 5;  ///< MIL-NCE candidate texts per clip
  int64_t vocab_size = 65536;   ///< id 0 = <pad>, id 1 = <unk>
  int64_t word_dim = 300;

  // Regularisation and normalisation. `dropout` is the rate of every dropout: after the position
  // embeddings, on each residual branch and inside the MLP, and (the released code's, each switchable) on the
  // attention probabilities and on every stack's output (video/audio/MA after the final LayerNorm, T5 on its
  // projected input and after its final RMS norm).
  double dropout = 0.1;
  bool attention_dropout = true;
  bool output_dropout = true;
  InitStyle init = InitStyle::kOfficial;
  double ln_eps = 1e-6;
  double droptoken_video = 0.5;  ///< drop rate, training only
  double droptoken_audio = 0.5;
  DropTokenMode droptoken_mode = DropTokenMode::kSharedPerBatch;
  DropTokenCount droptoken_count = DropTokenCount::kTokens;

  // T5 relative position bias (text, modality-specific only). Exact below num_buckets/4 = 8.
  int64_t rel_buckets = 32;
  int64_t rel_max_distance = 64;

  // Heads and objective.
  int64_t head_va_dim = 512;
  int64_t head_vt_dim = 256;
  double bn_momentum = 0.1;  ///< PyTorch convention: TF's 0.9
  double bn_eps = 1e-5;
  double temperature = 0.07;
  double mil_nce_lambda = 1.0;

  OptimConfig optim;

  /// Token grid that the default input produces, which is also the size of each position table.
  int64_t grid_t() const { return frames / patch_t; }
  int64_t grid_h() const { return crop / patch_hw; }
  int64_t grid_w() const { return crop / patch_hw; }
  int64_t video_tokens() const { return grid_t() * grid_h() * grid_w(); }
  int64_t audio_tokens() const { return audio_samples / audio_patch; }

  /// Checks divisibility and ranges. Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

/// Builds a named configuration, then applies `overrides` ("name=value", see `config_fields`), then
/// validates. Names: three letters from s/b/m/l for the video/audio/text backbones (`mbs` default, `bbs`,
/// `lbs`, `sss`,
/// ...); `ma-small|ma-base|ma-medium|ma-large` for VATT-MA; `tiny` for tests (2 layers, hidden 64, 2 heads,
/// 8 frames of 32x32, 4096 audio samples, vocab 100, word dim 16, heads 32/16).
/// Throws std::invalid_argument for an unknown name, field or value.
ModelConfig make_config(const std::string& name, const std::vector<std::string>& overrides = {});

/// Applies one "field=value" override in place. Known fields are those of `config_fields`.
/// Throws std::invalid_argument naming the field (and the known ones) when it is unknown or the value does
/// not parse. Does not validate: call `validate()` after the last override.
void apply_override(ModelConfig& config, const std::string& assignment);

/// Every overridable field as (name, value-as-text), in a stable order: what `vatt model info` prints.
std::vector<std::pair<std::string, std::string>> config_fields(const ModelConfig& config);

/// The accepted configuration names, for help texts.
std::vector<std::string> named_configs();

}  // namespace vatt::model
