// vatt-model-bench: device facts and the fp32/bf16 matmul rate of this machine, the parameters and forward
// GFLOPs of a named model configuration, or timed training steps of a model, using model/ alone.
// Usage: vatt-model-bench [--device auto|cpu|cuda] [--threads N] [--n 2048]
//        vatt-model-bench --info mbs [--json] [--set video.layers=4 ...]
//        vatt-model-bench model --config bbs --batch 8 --frames 16 --res 160 [--precision fp32|bf16|auto]
//                               [--steps 3] [--warmup 1] [--threads N] [--device D] [--set field=value ...]
//                               [--profile]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "model/bench.h"
#include "model/config.h"
#include "model/device.h"
#include "model/info.h"
#include "model/matmul_rate.h"

namespace {

const char* kUsage =
    "usage: vatt-model-bench [--device auto|cpu|cuda] [--threads N] [--n 2048]\n"
    "       vatt-model-bench --info CONFIG [--json] [--set field=value ...]\n"
    "       vatt-model-bench model --config C --batch B --frames T --res R [--precision fp32|bf16|auto]\n"
    "                              [--steps N] [--warmup N] [--threads N] [--device D] [--set field=value "
    "...]\n"
    "                              [--profile]\n";

}  // namespace

int main(int argc, char** argv) {
  std::string device = "auto";
  int threads = 0, n = 2048;
  std::string info_config;
  bool json = false;
  std::vector<std::string> overrides;
  const bool model_bench = argc > 1 && !std::strcmp(argv[1], "model");
  vatt::model::ModelBenchOptions bench;
  for (int i = model_bench ? 2 : 1; i < argc; ++i) {
    auto next = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vatt-model-bench: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    const char* a = argv[i];
    if (!std::strcmp(a, "--device"))
      device = next(a);
    else if (!std::strcmp(a, "--threads"))
      threads = std::atoi(next(a));
    else if (!std::strcmp(a, "--n"))
      n = std::atoi(next(a));
    else if (!std::strcmp(a, "--info"))
      info_config = next(a);
    else if (!std::strcmp(a, "--json"))
      json = true;
    else if (!std::strcmp(a, "--set"))
      overrides.emplace_back(next(a));
    else if (model_bench && !std::strcmp(a, "--config"))
      bench.config = next(a);
    else if (model_bench && !std::strcmp(a, "--batch"))
      bench.batch = std::atoi(next(a));
    else if (model_bench && !std::strcmp(a, "--frames"))
      bench.frames = std::atoi(next(a));
    else if (model_bench && !std::strcmp(a, "--res"))
      bench.res = std::atoi(next(a));
    else if (model_bench && !std::strcmp(a, "--precision"))
      bench.precision = next(a);
    else if (model_bench && !std::strcmp(a, "--steps"))
      bench.steps = std::atoi(next(a));
    else if (model_bench && !std::strcmp(a, "--warmup"))
      bench.warmup = std::atoi(next(a));
    else if (model_bench && !std::strcmp(a, "--profile"))
      bench.profile = true;
    else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  try {
    if (model_bench) {
      bench.device = device;
      bench.threads = threads;
      bench.matmul_n = n;
      bench.overrides = overrides;
      std::fputs(vatt::model::format_model_bench(vatt::model::run_model_bench(bench)).c_str(), stdout);
      return 0;
    }
    if (!info_config.empty()) {
      const auto info = vatt::model::model_info(vatt::model::make_config(info_config, overrides));
      std::fputs((json ? vatt::model::model_info_json(info) : vatt::model::format_model_info(info)).c_str(),
                 stdout);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt-model-bench: %s\n", e.what());
    return 2;
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
