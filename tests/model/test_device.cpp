// Device selection and the matmul yardstick through the real LibTorch build.
#include <gtest/gtest.h>

#include <stdexcept>

#include "model/device.h"
#include "model/matmul_rate.h"

namespace vatt::model {

TEST(Device, CpuIsAlwaysSelectable) {
  auto info = select_device("cpu", 2);
  EXPECT_EQ(info.device, "cpu");
  EXPECT_EQ(info.intra_op_threads, 2);
  EXPECT_EQ(info.torch_version.rfind("2.11", 0), 0u) << info.torch_version;
}

TEST(Device, UnknownNameIsRejected) {
  EXPECT_THROW(select_device("tpu"), std::invalid_argument);
}

TEST(MatmulRate, ReportsAPositiveRateForBothDtypes) {
  select_device("cpu", 1);
  for (const char* dt : {"fp32", "bf16"}) {
    auto r = measure_matmul(dt, 256, 2, "cpu");
    EXPECT_GT(r.gflops, 0.1) << dt;
    EXPECT_NEAR(r.gflops, 2.0 * 256 * 256 * 256 / (r.ms / 1e3) / 1e9, 1e-6 * r.gflops);
  }
  EXPECT_THROW(measure_matmul("fp8", 16), std::invalid_argument);
}

}  // namespace vatt::model
