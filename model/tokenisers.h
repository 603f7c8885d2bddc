// From raw signal to position-tagged tokens: voxel and waveform patch embeddings, the learnable position
// tables (factorised for video) with their cubic resizing, and DropToken. Model-internal header: includes
// LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "model/config.h"
#include "model/dropout.h"

namespace vatt::model {

/// Cubic interpolation weights that resize a table of `rows` rows to `new_rows` rows: [new_rows, rows]
/// float64. Keys cubic convolution (a = -0.5) with "align corners" sampling (first and last rows map onto the
/// first and last rows) and Keys' quadratic extrapolation past the ends (f(-1) = 3f(0) - 3f(1) + f(2)), so
/// constant, linear and quadratic columns are reproduced exactly; 2 rows fall back to linear, 1 row to a
/// copy.
torch::Tensor cubic_resize_matrix(int64_t rows, int64_t new_rows);

/// Resizes a position table along its rows: table [rows, dim] -> [new_rows, dim], differentiable, same dtype
/// and device. Returns `table` itself when new_rows == rows.
torch::Tensor cubic_resize_rows(const torch::Tensor& table, int64_t new_rows);

/// Tokens DropToken keeps out of n at `drop_rate`: floor((1 - drop_rate) * n), with a 1e-9 guard so that
/// (1 - 0.3) * 10 counts as 7, not 6.
int64_t kept_token_count(int64_t n, double drop_rate);

/// DropToken: x [B, N, d] -> [B, K, d], kept tokens in their original order, K = kept_token_count(N,
/// drop_rate); with `count_rows` > 0 (the released code's rule: DropTokenCount::kTable) K =
/// kept_token_count(count_rows, drop_rate) capped at N, so an input smaller than the position table may keep
/// every token. `kSharedPerBatch` draws one subset for the batch (reference), `kPerSample` one per sample.
/// Uses the global LibTorch generator. Callers apply it in training only and before the AGG token is
/// prepended.
torch::Tensor drop_tokens(const torch::Tensor& x, double drop_rate, DropTokenMode mode,
                          int64_t count_rows = 0);

/// Voxel patches to tokens: Conv3d with kernel = stride = (patch_t, patch_hw, patch_hw), with bias.
class VideoPatchEmbedImpl : public torch::nn::Module {
 public:
  VideoPatchEmbedImpl(const ModelConfig& config, int64_t dim);
  /// video: [B, T, H, W, 3] float in [-1, 1] (channels last, as decoded); T, H, W multiples of the patch.
  /// Returns [B, t*h*w, dim] in (t, h, w) order; `grid` receives {t, h, w}.
  torch::Tensor forward(const torch::Tensor& video, std::array<int64_t, 3>* grid = nullptr);

  torch::nn::Conv3d proj{nullptr};

 private:
  int64_t patch_t_, patch_hw_;
};
TORCH_MODULE(VideoPatchEmbed);

/// Waveform patches to tokens: Conv1d with kernel = stride = audio_patch, with bias.
class AudioPatchEmbedImpl : public torch::nn::Module {
 public:
  AudioPatchEmbedImpl(const ModelConfig& config, int64_t dim);
  /// audio: [B, S] float in [-1, 1], S a multiple of audio_patch. Returns [B, S / audio_patch, dim].
  torch::Tensor forward(const torch::Tensor& audio);

  torch::nn::Conv1d proj{nullptr};

 private:
  int64_t patch_;
};
TORCH_MODULE(AudioPatchEmbed);

/// Factorised video positions: e(t,h,w) = T[t] + V[h] + H[w]; tokens + Dropout(LN(e)).
/// An input grid other than the tables' is served by cubic-resizing each table on the fly (differentiable);
/// `resize` makes a new size permanent (fine-tuning at 320x320 needs 20 spatial rows).
class SpatioTemporalPositionsImpl : public torch::nn::Module {
 public:
  SpatioTemporalPositionsImpl(int64_t rows_t, int64_t rows_h, int64_t rows_w, int64_t dim, double dropout,
                              double ln_eps);
  /// tokens: [B, t*h*w, dim] in (t, h, w) order. Returns the same shape.
  torch::Tensor forward(const torch::Tensor& tokens, int64_t t, int64_t h, int64_t w);
  /// The summed, normalised embedding for a grid: [t*h*w, dim].
  torch::Tensor embedding(int64_t t, int64_t h, int64_t w);
  /// Replaces the tables by their cubic resize to (t, h, w) rows; build optimisers after calling this.
  void resize(int64_t t, int64_t h, int64_t w);

  torch::Tensor temporal, vertical, horizontal;  ///< [rows_t, dim], [rows_h, dim], [rows_w, dim]

 private:
  torch::nn::LayerNorm ln_{nullptr};
  Dropout drop_{nullptr};
};
TORCH_MODULE(SpatioTemporalPositions);

/// One learnable table of positions along a sequence (audio, VATT-MA text): tokens + Dropout(LN(P[n])).
class TemporalPositionsImpl : public torch::nn::Module {
 public:
  TemporalPositionsImpl(int64_t rows, int64_t dim, double dropout, double ln_eps);
  /// tokens: [B, n, dim]; a length other than `rows` is served by resizing the table on the fly.
  torch::Tensor forward(const torch::Tensor& tokens);
  void resize(int64_t rows);

  torch::Tensor table;  ///< [rows, dim]

 private:
  torch::nn::LayerNorm ln_{nullptr};
  Dropout drop_{nullptr};
};
TORCH_MODULE(TemporalPositions);

}  // namespace vatt::model
