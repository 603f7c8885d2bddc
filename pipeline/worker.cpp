// Data-parallel worker identity from the environment.
#include "pipeline/worker.h"

#include <cstdlib>
#include <stdexcept>

namespace vatt::pipeline {
namespace {

int env_int(const char* name, int fallback, int min, int max) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end || x < min || x > max)
    throw std::invalid_argument(std::string("environment variable ") + name + "='" + v +
                                "': expected an integer in [" + std::to_string(min) + ", " +
                                std::to_string(max) + "]");
  return static_cast<int>(x);
}

}  // namespace

WorkerInfo worker_info() {
  WorkerInfo w;
  w.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 16);
  w.rank = env_int("RANK", 0, 0, 1 << 16);
  if (w.rank >= w.world_size)
    throw std::invalid_argument("RANK=" + std::to_string(w.rank) +
                                " is not below WORLD_SIZE=" + std::to_string(w.world_size));
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) w.master_addr = a;
  w.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  return w;
}

}  // namespace vatt::pipeline
