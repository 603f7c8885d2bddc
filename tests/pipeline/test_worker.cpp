// Data-parallel worker identity from the torchrun-style environment (pipeline/worker.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

#include "pipeline/worker.h"

namespace vatt::pipeline {
namespace {

TEST(Worker, EnvConfigAndBadArguments) {
  ::setenv("MASTER_ADDR", "10.1.2.3", 1);
  ::setenv("MASTER_PORT", "4567", 1);
  ::setenv("RANK", "1", 1);
  ::setenv("WORLD_SIZE", "3", 1);
  auto c = worker_info();
  EXPECT_EQ(c.master_addr, "10.1.2.3");
  EXPECT_EQ(c.master_port, 4567);
  EXPECT_EQ(c.rank, 1);
  EXPECT_EQ(c.world_size, 3);
  ::setenv("RANK", "3", 1);
  EXPECT_THROW(worker_info(), std::invalid_argument);
  ::setenv("RANK", "x", 1);
  EXPECT_THROW(worker_info(), std::invalid_argument);
  for (const char* v : {"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"}) ::unsetenv(v);
  EXPECT_EQ(worker_info().world_size, 1);
}

}  // namespace
}  // namespace vatt::pipeline
