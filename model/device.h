// Compute device selection for the model layer: CPU or CUDA, thread counts, bf16 support.
// No LibTorch types in this header, so any layer may include it cheaply.
#pragma once

#include <string>

namespace vatt::model {

/// What the process computes on, as chosen by `select_device`.
struct DeviceInfo {
  std::string device;           ///< "cpu" or "cuda:N"
  std::string name;             ///< CPU model name or GPU product name
  int intra_op_threads = 1;     ///< LibTorch intra-op threads (CPU)
  bool bf16_supported = false;  ///< fast bf16 matmul: CUDA, or a CPU with AVX512-BF16/AMX
  std::string torch_version;
};

/// Picks the device: `want` is "auto" (CUDA when present, else CPU), "cpu" or "cuda[:N]".
/// Sets LibTorch's intra-op threads to `threads` (0 = number of cores).
/// Throws std::invalid_argument for an unknown device name, std::runtime_error when CUDA is asked for and
/// absent.
DeviceInfo select_device(const std::string& want = "auto", int threads = 0);

/// Whether this CPU computes bf16 matmuls natively (AVX512-BF16 or AMX-BF16 in /proc/cpuinfo).
bool cpu_supports_bf16();

/// LibTorch version string, e.g. "2.11.0".
std::string torch_version();

}  // namespace vatt::model
