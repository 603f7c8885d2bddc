// Model facts computed from a configuration alone: parameters per module and analytic forward GFLOPs per
// DropToken rate. What `vatt model info` prints; no LibTorch types, so any layer may include it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"

namespace vatt::model {

/// Parameter counts (every parameter, trainable or frozen). A backbone counts its tokeniser, position tables,
/// AGG token and its stack (VATT-MA: its pre/post-projections; the shared stack is counted once in `shared`).
/// `text` includes the word-embedding table, which is also reported alone in `text_word_embedding`.
struct ParameterCounts {
  int64_t video = 0;
  int64_t audio = 0;
  int64_t text = 0;
  int64_t text_word_embedding = 0;
  int64_t shared = 0;  ///< VATT-MA shared stack; 0 otherwise
  int64_t heads = 0;
  int64_t total = 0;
};

/// Forward cost of one clip (batch 1) at the config's own input size, in GFLOPs (1e9).
///
/// Counting convention (the one that reproduces the paper's MBS figures 784.8/574.2/375.4/188.1):
/// dense projections, MLPs, heads and the tokeniser convolutions count 2 FLOPs per multiply-add; the two
/// attention products (QK^T and AV) count 1 FLOP per multiply-add, i.e. they are counted as multiply-adds;
/// element-wise work (norms, GELU, softmax, residuals) is not counted. A least-squares fit of the paper's
/// four numbers on (dense MACs, attention MACs, 1) gives coefficients 2.005, 1.072 and 12.05 GFLOPs with
/// residuals under 0.05, which is where this convention comes from; our figures land about 1.2% under the
/// paper's, the share of the element-wise work it leaves out. Text counts one 16-word sequence (not the 5
/// MIL-NCE candidates); DropToken applies `drop_rate` to video and audio alike, AGG token included in the
/// length.
struct GflopsBreakdown {
  double drop_rate = 0;
  double video = 0;
  double audio = 0;
  double text = 0;
  double heads = 0;
  double total = 0;
};

/// All that `vatt model info` shows for one configuration.
struct ModelInfo {
  std::string name;
  ParameterCounts params;
  std::vector<GflopsBreakdown> gflops;                      ///< drop rates 0, 0.25, 0.5, 0.75
  std::vector<std::pair<std::string, std::string>> fields;  ///< config_fields(config)
};

/// Parameter counts from the configuration alone (no allocation); tests check them against built models.
ParameterCounts analytic_parameters(const ModelConfig& config);

/// Forward GFLOPs for one clip at `drop_rate` (see GflopsBreakdown for the convention).
GflopsBreakdown forward_gflops(const ModelConfig& config, double drop_rate);

/// Everything above for `config`, with GFLOPs at drop rates 0, 25, 50 and 75%.
ModelInfo model_info(const ModelConfig& config);

}  // namespace vatt::model
