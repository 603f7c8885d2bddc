// Data-parallel building blocks over LibTorch's c10d: a process group (TCPStore rendezvous, Gloo backend),
// bucketed gradient averaging, an all-gather with a backward for global-batch negatives, and synchronised
// BatchNorm for the heads. Model-internal header: includes LibTorch (c10d itself stays in distributed.cpp).
//
// Gradient convention. Every collective here that takes part in autograd (all_gather_with_grad,
// all_reduce_sum_with_grad, SyncBatchNorm) back-propagates the gradient of the SUM of every rank's loss:
// the backward all-reduces (sums) the incoming gradient across ranks and hands each rank the slice that its
// own input produced. `average_gradients` then divides by the world size, so the parameters see the gradient
// of the MEAN over ranks of the per-rank losses. Two cases that matter:
//   - each rank computes the contrastive loss of the global batch from all-gathered embeddings (every rank
//     gets the same value L): the averaged gradient is dL/dtheta, exactly what one process with the whole
//     batch computes;
//   - each rank's loss is a mean over its local clips (equal shards): the mean over ranks is the global mean.
// All ranks must call the collectives in the same order (forward and backward), as with any c10d program.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vatt::model {

/// Where and how to join a process group.
struct DistConfig {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";  ///< host of the TCPStore (rank 0 listens there)
  int master_port = 29500;
  std::string backend = "gloo";  ///< "gloo": CPU tensors (CUDA tensors work too, staged through the host)
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

/// One c10d process group (Gloo). Collectives are blocking (they return when the result is in place).
/// Not thread-safe: call from one thread per rank, in the same order on every rank.
class ProcessGroup {
 public:
  /// Rendezvous through a TCPStore at master_addr:master_port (rank 0 hosts it; the others retry until it is
  /// up or `timeout`), then connects the Gloo backend on the interface that reaches master_addr. Throws
  /// std::invalid_argument for a bad config (unknown backend, rank out of range) and std::runtime_error when
  /// the rendezvous fails.
  static std::shared_ptr<ProcessGroup> create(const DistConfig& config);
  ~ProcessGroup();

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const std::string& backend() const { return backend_; }

  /// Sums each tensor over all ranks, in place (same shapes and dtypes on every rank).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  /// Concatenates `x` of every rank along dim 0 in rank order: [B, ...] -> [world_size * B, ...]. Every rank
  /// must pass the same shape. Not differentiable (see all_gather_with_grad).
  torch::Tensor all_gather(const torch::Tensor& x);
  /// Copies `root`'s tensors into everybody's, in place (e.g. the initial weights).
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();

 private:
  ProcessGroup() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_size_ = 1;
  std::string backend_;
};

/// Averages the gradients of `params` over the ranks (sum, then divide by world size), in place. Gradients
/// are packed into flat buckets of up to `bucket_bytes` per dtype and device (one collective per bucket
/// instead of one per tensor); parameters that do not require grad are skipped and an undefined gradient
/// counts as zeros (it is then allocated), so every rank packs identical buckets. No-op when `group` is null
/// or has one rank.
void average_gradients(const std::vector<torch::Tensor>& params, ProcessGroup* group,
                       int64_t bucket_bytes = 25 << 20);

/// Makes every rank's parameters and buffers equal to rank 0's (call once after building the model).
void broadcast_parameters(torch::nn::Module& module, ProcessGroup* group);

/// All-gather for global-batch negatives: x [B, ...] -> [world_size * B, ...] (rank r's rows at r*B).
/// Backward: the gradient of the gathered tensor is summed over the ranks and each rank keeps its own slice
/// (rows r*B .. r*B+B), i.e. the gradient of the sum of all ranks' losses with respect to the local input.
/// Returns `x` itself when `group` is null or has one rank. The group must outlive the backward pass.
torch::Tensor all_gather_with_grad(const torch::Tensor& x, ProcessGroup* group);

/// Differentiable all-reduce: forward the sum over ranks of `x`; backward the sum over ranks of the incoming
/// gradient. Returns `x` when `group` is null or has one rank.
torch::Tensor all_reduce_sum_with_grad(const torch::Tensor& x, ProcessGroup* group);

/// BatchNorm over the global batch, for the heads' BatchNorm layers (synchronised across
/// data-parallel workers). Same parameters and buffers as torch::nn::BatchNorm1d (weight, bias, running_mean,
/// running_var, num_batches_tracked) and so the same checkpoint/safetensors names.
///   x: [B, C] (or [B, C, L]). Training with a group of more than one rank: mean and biased variance of the
///   global batch from an all-reduce of (sum, sum of squares, count) per channel (fp32 accumulation), the
///   running variance updated with the unbiased estimate of the global batch. Otherwise (no group, one rank,
///   or evaluation) exactly torch::nn::BatchNorm1d.
class SyncBatchNormImpl : public torch::nn::Module {
 public:
  SyncBatchNormImpl(int64_t features, double momentum, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  /// Joins `group` (null: local statistics again). The group must outlive every forward and backward.
  void set_process_group(ProcessGroup* group) { group_ = group; }

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  double momentum_, eps_;
  ProcessGroup* group_ = nullptr;
};
TORCH_MODULE(SyncBatchNorm);

/// Points every SyncBatchNorm inside `module` at `group` (null: local statistics). Returns how many it set.
int set_batch_norm_group(torch::nn::Module& module, ProcessGroup* group);

}  // namespace vatt::model
