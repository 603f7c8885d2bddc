// Measures this machine's dense matrix-multiply rate through LibTorch: the yardstick that model benchmarks
// report their achieved GFLOP/s against (a wrong BLAS or thread setting shows here as a 10x gap).
#pragma once

#include <string>

namespace vatt::model {

struct MatmulRate {
  std::string dtype;  ///< "fp32" or "bf16"
  int n = 0;          ///< square size: an [n,n] x [n,n] product
  double gflops = 0;  ///< 2*n^3 / seconds, best of the timed repeats
  double ms = 0;      ///< milliseconds per product, best repeat
};

/// Times `repeats` products of two [n,n] matrices of `dtype` ("fp32" or "bf16") on `device` ("cpu", "cuda:0")
/// after one warm-up. Throws std::invalid_argument for an unknown dtype.
MatmulRate measure_matmul(const std::string& dtype, int n = 2048, int repeats = 5,
                          const std::string& device = "cpu");

}  // namespace vatt::model
