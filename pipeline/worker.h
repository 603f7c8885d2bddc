// Which data-parallel worker this process is: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT from the
// environment (set by `vatt launch` or any launcher using the same variables as torchrun), read once by the
// runner (`vatt run`, whose --rank/--world-size/--master-* flags override them) and handed to every node in
// its NodeConfig: sources read their shard from it, the trainer joins the process group of that size.
#pragma once

#include <string>

namespace vatt::pipeline {

struct WorkerInfo {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

/// Reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT. Throws std::invalid_argument naming the variable when
/// one is malformed or RANK is outside [0, WORLD_SIZE).
WorkerInfo worker_info();

}  // namespace vatt::pipeline
