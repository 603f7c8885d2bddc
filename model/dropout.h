// Inverted dropout whose CPU masks are drawn in parallel. LibTorch's CPU Bernoulli draw is serial unless it is
// built with Intel MKL's generators (the wheel uses them on Intel CPUs only), and at this model's sizes that
// serial draw was a third of a training step on the 2-core AMD machines. Model-internal header: includes
// LibTorch.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace vatt::model {

/// The keep mask of one dropout call: a tensor of `sizes` and `options` (a floating dtype on the CPU) whose
/// elements are 0 with probability `p` and 1 / (1 - p) otherwise. Element i is decided by a 32-bit half of a
/// splitmix64 hash of (`seed`, i / 2), so the mask depends only on the seed and the shape, never on the thread
/// count, and is computed with LibTorch's intra-op threads.
torch::Tensor dropout_keep_scale(torch::IntArrayRef sizes, const torch::TensorOptions& options, double p,
                                 uint64_t seed);

/// One seed from LibTorch's default CPU generator (under its lock): seeded runs draw the same seeds, and a
/// checkpoint's saved generator state restores them on resume.
uint64_t draw_dropout_seed();

/// x with dropout at rate `p` when `training` (x itself otherwise, or when p is 0). CPU tensors use
/// dropout_keep_scale with a seed from draw_dropout_seed; other devices use LibTorch's dropout, whose GPU
/// kernels are parallel already.
torch::Tensor apply_dropout(const torch::Tensor& x, double p, bool training);

/// torch::nn::Dropout's place in the encoders: no parameters, so checkpoints are unaffected.
class DropoutImpl : public torch::nn::Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  torch::Tensor forward(const torch::Tensor& x);
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(Dropout);

}  // namespace vatt::model
