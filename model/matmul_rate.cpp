// Matmul yardstick: best-of-N timing of one square product, synchronised on CUDA.
#include "model/matmul_rate.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace vatt::model {

MatmulRate measure_matmul(const std::string& dtype, int n, int repeats, const std::string& device) {
  torch::Dtype dt;
  if (dtype == "fp32") {
    dt = torch::kFloat32;
  } else if (dtype == "bf16") {
    dt = torch::kBFloat16;
  } else {
    throw std::invalid_argument("unknown dtype '" + dtype + "': expected fp32 or bf16");
  }
  torch::NoGradGuard no_grad;
  auto opts = torch::TensorOptions().dtype(dt).device(torch::Device(device));
  auto a = torch::randn({n, n}, opts);
  auto b = torch::randn({n, n}, opts);
  auto sync = [&] {
    if (a.is_cuda()) torch::cuda::synchronize();
  };
  auto c = torch::mm(a, b);  // warm-up: first call selects kernels and allocates
  sync();
  double best = 1e30;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    c = torch::mm(a, b);
    sync();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  MatmulRate r;
  r.dtype = dtype;
  r.n = n;
  r.ms = best * 1e3;
  r.gflops = 2.0 * n * static_cast<double>(n) * n / best / 1e9;
  return r;
}

}  // namespace vatt::model
