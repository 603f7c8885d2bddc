// vatt: the command-line runner. `vatt COMMAND --help` documents each command.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "pipeline/console.h"
#include "tools/vatt/commands.h"

namespace {

const char* kUsage =
    "usage: vatt COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run GRAPH      run a graph file (--set node.option=value, --metrics FILE)\n"
    "  launch GRAPH   start N data-parallel workers of a graph on this machine (-n N; a failure stops all)\n"
    "  check GRAPH    validate a graph file; prints FILE:LINE:COL: message for each problem\n"
    "  nodes [TYPE]   list node types with their ports, options and concurrency\n"
    "  clips --db DB  list the clips an ingest stored (--source S, --json)\n"
    "  search --db DB nearest stored clips to --text, --video, --audio or --clip (-k, filters, --json)\n"
    "  models --db DB the models whose embeddings a store holds (--json)\n"
    "  export         a checkpoint as safetensors, or a store's embeddings as .npy (--embeddings --db)\n"
    "  serve --db DB  live sources in, search out: HTTP API and web page (--listen, --root, --sources)\n"
    "  report RUN_DIR a run and its evaluations as an HTML page of charts, with PNGs (--out FILE.html)\n"
    "  vocab build    the word vocabulary from a clip store or a folder's transcripts (--db | --uri, --out)\n"
    "  bench WHAT     benchmarks: matmul (this machine's fp32/bf16 matrix-multiply rate), model (training "
    "step)\n"
    "  model info     parameters and forward GFLOPs of a model configuration (--config mbs, --json)\n"
    "  version        versions of vatt and of the libraries it runs on\n"
    "\n"
    "`vatt COMMAND --help` for a command's options. Exit codes: 0 ok, 1 runtime failure, 2 invalid graph or\n"
    "usage, 130/143 stopped by SIGINT/SIGTERM.\n";

// Training frees and allocates the same multi-megabyte tensors every step. With glibc's defaults a freed
// buffer above the (dynamic) mmap threshold, and the free top of a heap, go back to the kernel, so the next
// step touches fresh pages again: ~40,000 page faults a step for the benchmark's tiny+ model, 5-12% of its
// rate on a virtual machine (docs/figures.md). Freed memory stays in the process instead: the largest mmap
// threshold glibc accepts (32 MiB) and no trimming. The resident size stays at its peak rather than shrinking
// between steps. A GLIBC_TUNABLES that sets malloc options is left to decide.
void keep_freed_memory() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.")) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) return vatt::cli::cmd_version({});
  keep_freed_memory();
  vatt::pipeline::install_console_logger();
  const std::map<std::string, int (*)(const vatt::cli::Args&)> commands = {
      {"run", vatt::cli::cmd_run},       {"check", vatt::cli::cmd_check},
      {"nodes", vatt::cli::cmd_nodes},   {"version", vatt::cli::cmd_version},
      {"bench", vatt::cli::cmd_bench},   {"model", vatt::cli::cmd_model},
      {"clips", vatt::cli::cmd_clips},   {"vocab", vatt::cli::cmd_vocab},
      {"launch", vatt::cli::cmd_launch}, {"search", vatt::cli::cmd_search},
      {"models", vatt::cli::cmd_models}, {"export", vatt::cli::cmd_export},
      {"serve", vatt::cli::cmd_serve},   {"report", vatt::cli::cmd_report},
  };
  auto it = commands.find(argv[1]);
  if (it == commands.end()) {
    std::fprintf(stderr, "vatt: unknown command '%s'\n\n%s", argv[1], kUsage);
    return 2;
  }
  vatt::cli::Args args(argv + 2, argv + argc);
  return it->second(args);
}
