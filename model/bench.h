// `vatt bench model`: timed training steps of a named configuration next to this machine's matmul rate, and
// the text/JSON of `vatt model info`. No LibTorch types here, so the CLI (which must not include LibTorch)
// and vatt-model-bench share one implementation.
#pragma once

#include <string>
#include <vector>

#include "model/info.h"

namespace vatt::model {

struct ModelBenchOptions {
  std::string config = "bbs";
  std::vector<std::string> overrides;  ///< "field=value", applied after frames/res
  int batch = 8;
  int frames = 16;
  int res = 160;                   ///< square crop
  std::string precision = "fp32";  ///< fp32, bf16 or auto
  int steps = 3;                   ///< timed steps (after `warmup` untimed ones); the median is reported
  int warmup = 1;
  int threads = 0;  ///< intra-op threads, 0 = all cores
  std::string device = "auto";
  int matmul_n = 2048;   ///< size of the yardstick matmul
  bool profile = false;  ///< run one more step under LibTorch's profiler and report the top operators
  /// Inference instead of training: eval mode, no gradients, no DropToken, each clip's own text (what the
  /// `embed` node runs); forward_ms is then the embedding time of one batch.
  bool forward_only = false;
};

struct ModelBenchResult {
  std::string config, device, device_name, precision;  ///< precision as resolved: fp32 or bf16
  bool forward_only = false;
  int threads = 0, batch = 0, frames = 0, res = 0;
  double drop_video = 0, drop_audio = 0;
  double forward_ms = 0, backward_ms = 0, optimiser_ms = 0, step_ms = 0;  ///< medians over the timed steps
  double clips_per_s = 0;
  double train_gflop_per_step = 0;  ///< 3 x analytic forward GFLOPs x batch
  double achieved_gflops = 0;       ///< train_gflop_per_step / step time
  double matmul_fp32_gflops = 0, matmul_bf16_gflops = 0;
  double ratio_to_matmul = 0;  ///< achieved / matmul rate of the same precision
  double loss_first = 0, loss_last = 0;
  std::string profile;  ///< with options.profile: operators by self CPU time of one step (a table)
};

/// Builds the model (config, then frames/crop overrides, then `overrides`), runs warm-up and timed training
/// steps on random data, and measures the fp32 and bf16 matmul rates in the same process. Forward GFLOPs are
/// info.h's analytic count at the bench input with DropToken at the config's video rate (audio at its own),
/// training = 3 x forward. Throws std::invalid_argument for a bad option or config.
ModelBenchResult run_model_bench(const ModelBenchOptions& options);

/// Human-readable report of a bench result (several lines).
std::string format_model_bench(const ModelBenchResult& r);

/// `vatt model info` as text, and as JSON:
///   {"config": "mbs", "params": {"video": n, "audio": n, "text": n, "text_word_embedding": n, "shared": n,
///    "heads": n, "total": n}, "gflops": {"0": x, "25": x, "50": x, "75": x},
///    "gflops_detail": {"0": {"video": x, "audio": x, "text": x, "heads": x}, ...}, "fields": {"name":
///    "value"}}
std::string format_model_info(const ModelInfo& info);
std::string model_info_json(const ModelInfo& info);

}  // namespace vatt::model
