// Device selection: the one place that decides CPU vs CUDA and the thread count for LibTorch.
#include "model/device.h"

#include <torch/torch.h>

#include <fstream>
#include <stdexcept>
#include <thread>

namespace vatt::model {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) return line.substr(pos + 2);
    }
  }
  return "unknown CPU";
}

bool cpu_has_flag(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) return line.find(" " + flag) != std::string::npos;
  }
  return false;
}

}  // namespace

bool cpu_supports_bf16() {
  return cpu_has_flag("avx512_bf16") || cpu_has_flag("amx_bf16");
}

std::string torch_version() {
  return TORCH_VERSION;
}

DeviceInfo select_device(const std::string& want, int threads) {
  DeviceInfo info;
  info.torch_version = torch_version();
  const bool cuda = torch::cuda::is_available();
  std::string choice = want;
  if (choice == "auto") choice = cuda ? "cuda:0" : "cpu";
  if (choice == "cuda") choice = "cuda:0";
  if (choice.rfind("cuda", 0) == 0) {
    if (!cuda) throw std::runtime_error("device '" + want + "' requested but no CUDA device is available");
    info.device = choice;
    info.bf16_supported = true;
    info.name = "CUDA device";
  } else if (choice == "cpu") {
    info.device = "cpu";
    info.name = cpu_model_name();
    info.bf16_supported = cpu_supports_bf16();
  } else {
    throw std::invalid_argument("unknown device '" + want + "': expected auto, cpu, cuda or cuda:N");
  }
  int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  torch::set_num_threads(n);
  info.intra_op_threads = torch::get_num_threads();
  return info;
}

}  // namespace vatt::model
