// Run figures: per node (in, out, errors by kind, busy time, queue depth, gauges) and per edge (depth,
// drops), as a snapshot that the progress line, the end-of-run summary table and `--metrics FILE` JSON are
// made from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vatt::pipeline {

struct EdgeMetrics {
  std::string text;  ///< "a.out -> b.in"
  int capacity = 0;
  std::string policy;
  int64_t depth = 0;      ///< messages on the edge now (emitted, not yet taken by the consumer)
  int64_t max_depth = 0;  ///< highest depth seen during the run
  uint64_t passed = 0;    ///< messages taken by the consumer
  uint64_t dropped = 0;   ///< drop_oldest only
};

struct NodeMetrics {
  std::string id;
  std::string type;
  bool source = false;
  uint64_t in = 0;   ///< messages processed (sources: 0)
  uint64_t out = 0;  ///< messages emitted on data ports (errors excluded)
  uint64_t errors = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  double busy_s = 0;  ///< summed time inside process()/produce()
  int64_t queue = 0;  ///< messages waiting on the node's input edges
  double per_s = 0;   ///< messages per second over the run (out for sources, in otherwise)
  std::optional<uint64_t> expected_total;    ///< sources that know their length
  std::map<std::string, double> gauges;      ///< node-specific figures
  std::vector<std::string> progress_gauges;  ///< the gauges the progress line shows (empty: all)
  std::optional<uint64_t> progress_start, progress_done, progress_total;  ///< nodes that know their end
};

struct RunMetrics {
  std::string graph;
  std::string status = "running";  ///< running, completed, stopped by SIGINT/SIGTERM, failed
  int exit_code = 0;
  std::string failure;  ///< why a run failed
  double elapsed_s = 0;
  std::vector<NodeMetrics> nodes;
  std::vector<EdgeMetrics> edges;

  const NodeMetrics* node(const std::string& id) const;
  const EdgeMetrics* edge(const std::string& text) const;
};

void to_json(nlohmann::json& j, const RunMetrics& m);
/// End-of-run table: one row per node, then edges that dropped messages.
std::string summary_table(const RunMetrics& m);
/// One progress line; rates from the difference to `prev` when given; ETA from sources that know their
/// length.
std::string progress_line(const RunMetrics& now, const RunMetrics* prev, size_t width = 0);

}  // namespace vatt::pipeline
