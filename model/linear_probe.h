// The low-rank linear classifier of VATT's linear evaluation, behind a LibTorch-free interface: on frozen
// features, logits = x U V + b with U [dim x components] and V [components x classes]; each step trains on a
// random `keep` fraction of the components (the others masked, the kept ones scaled by 1 / keep, so that at
// test time, with every component, the logits keep their scale). Adam, softmax cross-entropy, mini-batches.
#pragma once

#include <cstdint>
#include <vector>

namespace vatt::model {

struct LowRankOptions {
  int components = 128;  ///< n, the rank of C = U V
  double keep = 0.1;     ///< fraction of the components used per step (at least one)
  double lr = 5e-4;      ///< Adam's learning rate
  int batch = 64;
  int epochs = 200;  ///< passes over the training rows
  uint64_t seed = 0;
  int threads = 1;  ///< LibTorch intra-op threads (0 = all cores), set through select_device
};

/// Trains on `train_x` (rows of `dim` floats, already standardised by the caller) with labels in
/// [0, classes) and returns the test rows' logits, [test rows x classes] row-major. Reproducible for a
/// seed. Throws std::invalid_argument on inconsistent sizes or a label out of range.
std::vector<float> low_rank_probe(const std::vector<float>& train_x, const std::vector<int>& train_y,
                                  const std::vector<float>& test_x, int dim, int classes,
                                  const LowRankOptions& options);

}  // namespace vatt::model
