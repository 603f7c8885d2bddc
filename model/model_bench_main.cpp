// vatt-model-bench: device facts and the fp32/bf16 matmul rate of this machine, or the parameters and forward
// GFLOPs of a named model configuration, using model/ alone.
// Usage: vatt-model-bench [--device auto|cpu|cuda] [--threads N] [--n 2048]
//        vatt-model-bench --info mbs [--set video.layers=4 ...]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <vector>

#include "model/config.h"
#include "model/device.h"
#include "model/info.h"
#include "model/matmul_rate.h"

namespace {

int print_info(const std::string& name, const std::vector<std::string>& overrides) {
  const auto info = vatt::model::model_info(vatt::model::make_config(name, overrides));
  const auto& p = info.params;
  std::printf("config %s\n", info.name.c_str());
  std::printf(
      "parameters (M): video %.2f  audio %.2f  text %.2f (word embedding %.2f)  shared %.2f  heads %.2f  "
      "total %.2f\n",
      p.video / 1e6, p.audio / 1e6, p.text / 1e6, p.text_word_embedding / 1e6, p.shared / 1e6, p.heads / 1e6,
      p.total / 1e6);
  for (const auto& g : info.gflops)
    std::printf("GFLOPs at %2.0f%% DropToken: video %.1f  audio %.1f  text %.2f  heads %.4f  total %.1f\n",
                g.drop_rate * 100, g.video, g.audio, g.text, g.heads, g.total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string device = "auto";
  int threads = 0, n = 2048;
  std::string info_config;
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    auto next = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vatt-model-bench: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--device"))
      device = next("--device");
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(next("--threads"));
    else if (!std::strcmp(argv[i], "--n"))
      n = std::atoi(next("--n"));
    else if (!std::strcmp(argv[i], "--info"))
      info_config = next("--info");
    else if (!std::strcmp(argv[i], "--set"))
      overrides.emplace_back(next("--set"));
    else {
      std::fprintf(stderr,
                   "usage: vatt-model-bench [--device auto|cpu|cuda] [--threads N] [--n 2048]\n"
                   "       vatt-model-bench --info CONFIG [--set field=value ...]\n");
      return 2;
    }
  }
  if (!info_config.empty()) {
    try {
      return print_info(info_config, overrides);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "vatt-model-bench: %s\n", e.what());
      return 2;
    }
  }
  auto info = vatt::model::select_device(device, threads);
  std::printf("torch %s  device %s (%s)  threads %d  bf16 %s\n", info.torch_version.c_str(),
              info.device.c_str(), info.name.c_str(), info.intra_op_threads,
              info.bf16_supported ? "yes" : "no");
  for (const char* dt : {"fp32", "bf16"}) {
    auto r = vatt::model::measure_matmul(dt, n, 5, info.device);
    std::printf("matmul %s %dx%dx%d: %.2f ms  %.1f GFLOP/s\n", dt, n, n, n, r.ms, r.gflops);
  }
  return 0;
}
