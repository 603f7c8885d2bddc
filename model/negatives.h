// Hard negatives beyond the paper (off by default): a memory bank of recent text embeddings (the video-text
// space, detached, L2-normalised) with the video each came from. For each video of a batch, the K bank texts
// most similar to it that come from OTHER videos join its MIL-NCE denominator. Selection is an exact
// [B, M] similarity and top-k on the training device (one matmul; faster than a host index round trip for
// banks of this size). Model-internal header: includes LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace vatt::model {

class NegativeBank {
 public:
  /// `capacity` entries of dimension `dim` on `device`; `k` negatives per anchor. Throws
  /// std::invalid_argument for capacity < 1, k < 1 or k > capacity.
  NegativeBank(int64_t capacity, int64_t dim, int64_t k, const torch::Device& device);

  struct Hard {
    torch::Tensor negatives;  ///< [B, K, D]
    torch::Tensor valid;      ///< [B, K] bool: false where the bank had no entry of another video
  };
  /// The K hardest entries for each anchor [B, D] whose source differs from the anchor's `sources` [B]
  /// (int64). Empty bank: all invalid.
  Hard hardest(const torch::Tensor& anchors, const torch::Tensor& sources) const;
  /// Adds `entries` [N, D] with `sources` [N] (normalised and detached here), overwriting the oldest.
  void add(const torch::Tensor& entries, const torch::Tensor& sources);

  int64_t size() const { return filled_; }
  int64_t k() const { return k_; }

  /// The entries and the write cursor, for a checkpoint (model/checkpoint.h).
  void save(torch::serialize::OutputArchive& out) const;
  /// Restores what `save` wrote. Throws std::runtime_error naming `origin` when the saved bank has another
  /// capacity or dimension.
  void load(torch::serialize::InputArchive& in, const std::string& origin);

 private:
  int64_t capacity_, k_;
  torch::Tensor bank_, sources_;
  int64_t next_ = 0, filled_ = 0;
};

}  // namespace vatt::model
