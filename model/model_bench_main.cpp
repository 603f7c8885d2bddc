// vatt-model-bench: device facts and the fp32/bf16 matmul rate of this machine, using model/ alone.
// Usage: vatt-model-bench [--device auto|cpu|cuda] [--threads N] [--n 2048]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "model/device.h"
#include "model/matmul_rate.h"

int main(int argc, char** argv) {
  std::string device = "auto";
  int threads = 0, n = 2048;
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
    else {
      std::fprintf(stderr, "usage: vatt-model-bench [--device auto|cpu|cuda] [--threads N] [--n 2048]\n");
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
