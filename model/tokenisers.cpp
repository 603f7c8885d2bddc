// Patch embeddings, position tables and DropToken. The cubic resize is a weight matrix applied to the table,
// which keeps it differentiable and lets tests check its weights directly.
#include "model/tokenisers.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vatt::model {
namespace {

// Keys cubic convolution kernel, a = -0.5 (the choice that reproduces quadratics).
double keys_kernel(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

torch::Tensor position_table(int64_t rows, int64_t dim) {
  // Reference initialiser: normal with stddev dim^-1/2 truncated at 2 stddev, drawn by inverting the CDF.
  const double std = 1.0 / std::sqrt(static_cast<double>(dim));
  const double cdf_low = 0.5 * std::erfc(2.0 / std::sqrt(2.0));  // Phi(-2)
  auto t = torch::empty({rows, dim});
  t.uniform_(2 * cdf_low - 1, 1 - 2 * cdf_low).erfinv_().mul_(std * std::sqrt(2.0));
  return t;
}

void check_rows(int64_t rows, const char* what) {
  if (rows < 1) throw std::invalid_argument(std::string(what) + ": position table needs at least 1 row");
}

}  // namespace

torch::Tensor cubic_resize_matrix(int64_t rows, int64_t new_rows) {
  check_rows(rows, "cubic_resize_matrix");
  check_rows(new_rows, "cubic_resize_matrix");
  auto w = torch::zeros({new_rows, rows}, torch::kFloat64);
  auto acc = w.accessor<double, 2>();
  // Tap index -1 or `rows` lies past an end: spread its weight over real rows by extrapolation.
  auto add = [&](int64_t i, int64_t j, double weight) {
    if (j >= 0 && j < rows) {
      acc[i][j] += weight;
      return;
    }
    const bool low = j < 0;
    auto at = [&](int64_t k) { return low ? k : rows - 1 - k; };  // k-th row counted from that end
    if (rows >= 3) {
      acc[i][at(0)] += 3 * weight;
      acc[i][at(1)] += -3 * weight;
      acc[i][at(2)] += weight;
    } else if (rows == 2) {
      acc[i][at(0)] += 2 * weight;
      acc[i][at(1)] += -weight;
    } else {
      acc[i][0] += weight;
    }
  };
  for (int64_t i = 0; i < new_rows; ++i) {
    const double p = new_rows == 1 ? 0.0 : static_cast<double>(i) * (rows - 1) / (new_rows - 1);
    int64_t j = static_cast<int64_t>(std::floor(p));
    if (j > rows - 2) j = std::max<int64_t>(rows - 2, 0);
    const double f = p - j;
    for (int64_t tap = -1; tap <= 2; ++tap) {
      const double weight = keys_kernel(f - tap);
      if (weight != 0) add(i, j + tap, weight);
    }
  }
  return w;
}

torch::Tensor cubic_resize_rows(const torch::Tensor& table, int64_t new_rows) {
  const int64_t rows = table.size(0);
  if (rows == new_rows) return table;
  auto w = cubic_resize_matrix(rows, new_rows).to(table.options());
  return torch::matmul(w, table);
}

int64_t kept_token_count(int64_t n, double drop_rate) {
  return static_cast<int64_t>(std::floor((1.0 - drop_rate) * static_cast<double>(n) + 1e-9));
}

torch::Tensor drop_tokens(const torch::Tensor& x, double drop_rate, DropTokenMode mode, int64_t count_rows) {
  const int64_t b = x.size(0), n = x.size(1), d = x.size(2);
  const int64_t keep = kept_token_count(count_rows > 0 ? count_rows : n, drop_rate);
  if (keep >= n) return x;
  auto index_opts = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  if (mode == DropTokenMode::kSharedPerBatch) {
    // Sorting the kept indices keeps (t,h,w) order; attention is order-free, so it only helps debugging.
    auto idx = std::get<0>(torch::randperm(n, index_opts).slice(0, 0, keep).sort());
    return x.index_select(1, idx);
  }
  auto order = std::get<1>(torch::rand({b, n}, x.options().dtype(torch::kFloat)).sort(1));
  auto idx = std::get<0>(order.slice(1, 0, keep).sort(1));
  return x.gather(1, idx.unsqueeze(-1).expand({b, keep, d}));
}

VideoPatchEmbedImpl::VideoPatchEmbedImpl(const ModelConfig& config, int64_t dim)
    : patch_t_(config.patch_t), patch_hw_(config.patch_hw) {
  proj = register_module("proj",
                         torch::nn::Conv3d(torch::nn::Conv3dOptions(3, dim, {patch_t_, patch_hw_, patch_hw_})
                                               .stride({patch_t_, patch_hw_, patch_hw_})
                                               .bias(true)));
}

torch::Tensor VideoPatchEmbedImpl::forward(const torch::Tensor& video, std::array<int64_t, 3>* grid) {
  if (video.dim() != 5 || video.size(4) != 3)
    throw std::invalid_argument("video must be [B, T, H, W, 3], got " + std::to_string(video.dim()) +
                                " dims");
  if (video.size(1) % patch_t_ || video.size(2) % patch_hw_ || video.size(3) % patch_hw_)
    throw std::invalid_argument("video T, H, W (" + std::to_string(video.size(1)) + ", " +
                                std::to_string(video.size(2)) + ", " + std::to_string(video.size(3)) +
                                ") must be multiples of the patch (" + std::to_string(patch_t_) + ", " +
                                std::to_string(patch_hw_) + ", " + std::to_string(patch_hw_) + ")");
  auto y = proj->forward(video.permute({0, 4, 1, 2, 3}));  // [B, dim, t, h, w]
  if (grid) *grid = {y.size(2), y.size(3), y.size(4)};
  return y.flatten(2).transpose(1, 2);
}

AudioPatchEmbedImpl::AudioPatchEmbedImpl(const ModelConfig& config, int64_t dim)
    : patch_(config.audio_patch) {
  proj = register_module(
      "proj", torch::nn::Conv1d(torch::nn::Conv1dOptions(1, dim, patch_).stride(patch_).bias(true)));
}

torch::Tensor AudioPatchEmbedImpl::forward(const torch::Tensor& audio) {
  if (audio.dim() != 2 || audio.size(1) % patch_)
    throw std::invalid_argument("audio must be [B, S] with S a multiple of " + std::to_string(patch_));
  return proj->forward(audio.unsqueeze(1)).transpose(1, 2);
}

SpatioTemporalPositionsImpl::SpatioTemporalPositionsImpl(int64_t rows_t, int64_t rows_h, int64_t rows_w,
                                                         int64_t dim, double dropout, double ln_eps) {
  temporal = register_parameter("temporal", position_table(rows_t, dim));
  vertical = register_parameter("vertical", position_table(rows_h, dim));
  horizontal = register_parameter("horizontal", position_table(rows_w, dim));
  ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(ln_eps)));
  drop_ = register_module("drop", Dropout(dropout));
}

torch::Tensor SpatioTemporalPositionsImpl::embedding(int64_t t, int64_t h, int64_t w) {
  auto pt = cubic_resize_rows(temporal, t).view({t, 1, 1, -1});
  auto ph = cubic_resize_rows(vertical, h).view({1, h, 1, -1});
  auto pw = cubic_resize_rows(horizontal, w).view({1, 1, w, -1});
  return ln_->forward((pt + ph + pw).reshape({t * h * w, -1}));
}

torch::Tensor SpatioTemporalPositionsImpl::forward(const torch::Tensor& tokens, int64_t t, int64_t h,
                                                   int64_t w) {
  return drop_->forward(tokens + embedding(t, h, w).to(tokens.dtype()));
}

void SpatioTemporalPositionsImpl::resize(int64_t t, int64_t h, int64_t w) {
  torch::NoGradGuard no_grad;
  temporal.set_data(cubic_resize_rows(temporal, t).clone());
  vertical.set_data(cubic_resize_rows(vertical, h).clone());
  horizontal.set_data(cubic_resize_rows(horizontal, w).clone());
}

TemporalPositionsImpl::TemporalPositionsImpl(int64_t rows, int64_t dim, double dropout, double ln_eps) {
  table = register_parameter("table", position_table(rows, dim));
  ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(ln_eps)));
  drop_ = register_module("drop", Dropout(dropout));
}

torch::Tensor TemporalPositionsImpl::forward(const torch::Tensor& tokens) {
  auto e = ln_->forward(cubic_resize_rows(table, tokens.size(1)));
  return drop_->forward(tokens + e.to(tokens.dtype()));
}

void TemporalPositionsImpl::resize(int64_t rows) {
  torch::NoGradGuard no_grad;
  table.set_data(cubic_resize_rows(table, rows).clone());
}

}  // namespace vatt::model
