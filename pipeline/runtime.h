// The graph runtime: builds a oneTBB flow graph from a validated GraphSpec and runs it to completion.
//
// Per node:  [edge queue_node | sequencer_node (ordered port)]* -> limiter_node -> function_node(concurrency)
// Per source: a thread calling produce(), throttled the same way.
// Back-pressure: every firing of a node holds one slot of the node's limiter until each message it emitted on
// a blocking edge has been taken by its consumer, and a call emits at most max_out messages per port; so a
// blocking edge never holds more than its bound. drop_oldest edges never hold back the producer: when full,
// the oldest waiting message is dropped and counted. Back edges (cycles) are unbounded and never block.
#pragma once

#include <memory>
#include <string>

#include "pipeline/graph_spec.h"
#include "pipeline/metrics.h"

namespace vatt::pipeline {

struct RunOptions {
  int threads = 0;  ///< worker threads (0 = all cores)
  double progress_interval =
      -1;              ///< seconds between progress reports; <0: 1 s on a TTY, 10 s otherwise; 0: off
  bool quiet = false;  ///< no progress and no summary logging
};

class Runtime {
 public:
  /// Instantiates every node (their constructors may throw std::exception: reported as a failed run by
  /// run()).
  Runtime(const GraphSpec& spec, RunOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Opens, runs, flushes and closes every node. Never throws for data errors (they are counted); the
  /// result's exit_code is 0 (completed), 1 (a node failed to open/flush/close), or 128+signal when stopped.
  RunMetrics run();
  /// Asks the run to stop: sources stop, in-flight work drains, nodes are flushed and closed. Thread-safe.
  void request_stop(int signo);
  /// Figures so far; safe to call from any thread while running.
  RunMetrics snapshot() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vatt::pipeline
