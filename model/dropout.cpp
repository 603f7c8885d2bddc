#include "model/dropout.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <mutex>
#include <stdexcept>

namespace vatt::model {
namespace {

uint64_t splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

torch::Tensor dropout_keep_scale(torch::IntArrayRef sizes, const torch::TensorOptions& options, double p,
                                 uint64_t seed) {
  if (!(p >= 0 && p < 1)) throw std::invalid_argument("dropout rate must be in [0, 1)");
  auto mask = torch::empty(sizes, options);
  if (!mask.is_cpu()) throw std::invalid_argument("dropout_keep_scale builds CPU masks only");
  const int64_t n = mask.numel();
  // An element is dropped when its 32 random bits fall below p * 2^32.
  const auto threshold = static_cast<uint32_t>(std::min(std::ldexp(p, 32), 4294967295.0));
  const double scale = 1.0 / (1.0 - p);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, mask.scalar_type(), "vatt_dropout", [&] {
    scalar_t* out = mask.data_ptr<scalar_t>();
    const auto keep = static_cast<scalar_t>(scale), drop = static_cast<scalar_t>(0);
    at::parallel_for(0, (n + 1) / 2, 8192, [&](int64_t begin, int64_t end) {
      for (int64_t pair = begin; pair < end; ++pair) {
        const uint64_t h = splitmix64(seed + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(pair + 1));
        const int64_t i = 2 * pair;
        out[i] = static_cast<uint32_t>(h) >= threshold ? keep : drop;
        if (i + 1 < n) out[i + 1] = static_cast<uint32_t>(h >> 32) >= threshold ? keep : drop;
      }
    });
  });
  return mask;
}

uint64_t draw_dropout_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

torch::Tensor apply_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0) return x;
  if (!x.is_cpu()) return torch::dropout(x, p, /*train=*/true);
  return x * dropout_keep_scale(x.sizes(), x.options().requires_grad(false), p, draw_dropout_seed());
}

DropoutImpl::DropoutImpl(double p) : p_(p) {
  if (!(p >= 0 && p < 1)) throw std::invalid_argument("dropout rate must be in [0, 1)");
}

torch::Tensor DropoutImpl::forward(const torch::Tensor& x) {
  return apply_dropout(x, p_, is_training());
}

}  // namespace vatt::model
