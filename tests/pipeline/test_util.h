// Helpers for pipeline tests: a registry with the shipped nodes plus test contracts, and one-call graph runs.
#pragma once

#include <string>
#include <vector>

#include "pipeline/graph_spec.h"
#include "pipeline/metrics.h"
#include "pipeline/registry.h"

namespace vatt::test {

/// Shipped node types plus `needs_path` (a required string option), `takes_batch` (input typed "batch"),
/// `fails_to_construct` (its factory throws), `emits_twice` (breaks max_out) and `fails_the_run` (calls
/// Emitter::fail_run at its `after`-th input).
const pipeline::Registry& test_registry();

/// Loads `yaml` (named "test.yaml" in messages) and runs it with `threads` workers, no progress output.
pipeline::RunMetrics run_yaml(const std::string& yaml, const std::vector<std::string>& sets = {},
                              int threads = 2);

/// The diagnostics `yaml` fails with ("LINE:COL: message" without the file name), or {} if it is valid.
std::vector<std::string> problems(const std::string& yaml, const std::vector<std::string>& sets = {});

/// Peak resident set size of this process in KiB since the last reset_peak_rss().
long peak_rss_kib();
void reset_peak_rss();

}  // namespace vatt::test
