// vatt version / bench: what this build runs on and how fast this machine multiplies matrices.
#include <rocksdb/version.h>
#include <tbb/version.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "model/device.h"
#include "model/matmul_rate.h"
#include "tools/vatt/cli_common.h"

namespace vatt::cli {

int cmd_version(const Args& args) {
  po::options_description opts("vatt version options");
  po::positional_options_description pos;
  po::variables_map vm;
  if (auto rc = parse_args(args, "usage: vatt version", opts, pos, vm)) return *rc;
  std::printf("vatt %s\n", VATT_VERSION);
  std::printf("oneTBB %s\n", TBB_VERSION_STRING);
  std::printf("RocksDB %d.%d.%d\n", ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH);
  std::printf("LibTorch %s\n", model::torch_version().c_str());
  return 0;
}

int cmd_bench(const Args& args) {
  if (!args.empty() && args[0] == "model") return cmd_bench_model(Args(args.begin() + 1, args.end()));
  po::options_description opts("vatt bench options");
  std::string what, device = "auto";
  int threads = 0, n = 2048, repeats = 5;
  opts.add_options()                                                             //
      ("device", po::value(&device), "auto, cpu or cuda[:N]")                    //
      ("threads", po::value(&threads), "intra-op threads (default: all cores)")  //
      ("n", po::value(&n), "matrix size for matmul")                             //
      ("repeats", po::value(&repeats), "timed repeats (best is reported)");
  po::options_description hidden;
  hidden.add_options()("what", po::value(&what)->required(), "benchmark");
  po::positional_options_description pos;
  pos.add("what", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args,
                           "usage: vatt bench matmul [--device D] [--threads N] [--n 2048]\n"
                           "       vatt bench model --help\n"
                           "Prints this machine's fp32 and bf16 matrix-multiply rate through LibTorch.",
                           opts, pos, vm, hidden))
    return *rc;
  if (what != "matmul") {
    std::fprintf(stderr, "vatt bench: unknown benchmark '%s'; expected matmul or model\n", what.c_str());
    return 2;
  }
  try {
    auto info = model::select_device(device, threads);
    std::printf("device %s (%s), %d threads, bf16 %s, LibTorch %s\n", info.device.c_str(), info.name.c_str(),
                info.intra_op_threads, info.bf16_supported ? "supported" : "not supported",
                info.torch_version.c_str());
    double fp32 = 0;
    for (const char* dt : {"fp32", "bf16"}) {
      auto r = model::measure_matmul(dt, n, repeats, info.device);
      if (!fp32) fp32 = r.gflops;
      std::printf("matmul %s %dx%dx%d: %8.2f ms  %8.1f GFLOP/s  (%.2fx fp32)\n", dt, n, n, n, r.ms, r.gflops,
                  r.gflops / fp32);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace vatt::cli
