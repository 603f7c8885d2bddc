// The graph runtime: builds a oneTBB flow graph from a validated GraphSpec and runs it to completion.
//
// The runtime is a small scheduler of its own on top of oneTBB: each node is one oneTBB function_node
// (its `concurrency`, queueing) behind an admission gate of ours; oneTBB's workers run the calls.
//
//   in-edge A --> lane A: FIFO                      --+
//   in-edge B --> lane B: FIFO                      --+--> admission gate --> function_node --> process()
//   ordered port --> lane: reorder buffer by seq    --+    (<= limit calls       (concurrency)      |
//                                                           admitted)                             emit
//                                                                                                   v
//                    consumer takes a message <-- deliver to each out-edge's consumer lane <-- CallEmitter
//
// Gate: at most `limit` calls of a node are admitted and not yet released; waiting messages sit in lanes, one
// FIFO per unordered in-edge and one reorder buffer per ordered port (released in sequence order; tombstones
// stand for inputs that yield nothing), taken round-robin so that one busy edge cannot starve another.
// Slots: a call (a Firing) holds its slot until every message it emitted on a blocking edge has been taken by
// its consumer, and a call emits at most max_out messages per port, so a blocking edge never holds more than
// its bound. Ordered ports: a message held ahead of its turn keeps its producer's slot, so messages that
// overtook a straggler can fill every slot of a node the straggler has still to pass; such a node (it feeds
// the port through key-preserving ports) keeps its last slot for the message the port waits for, and is told
// whenever the port moves on. drop_oldest edges never hold back the producer: when full, the oldest waiting message is dropped
// and counted. Back edges (cycles) are unbounded and never block.
// Sources: a thread each, calling produce(), throttled by the same slot count (woken at a low-water mark).
// Checks on every emit: at most max_out messages per data port, and the payload is the port's registered C++
// type (registry.h); either broken is an InvariantError that fails the run. Errors past max_out in one call go
// to the errors port without holding a slot.
// Why not oneTBB's own nodes: the same per-edge bounds wired as buffer_node -> limiter_node -> node are
// 0.75-0.8x as fast as this (docs/figures.md), and they give neither ordered ports nor drop_oldest.
#pragma once

#include <memory>
#include <string>

#include "pipeline/graph_spec.h"
#include "pipeline/metrics.h"
#include "pipeline/services.h"

namespace vatt::pipeline {

struct RunOptions {
  int threads = 0;  ///< worker threads (0 = all cores)
  /// Seconds between progress reports; <0: 1 s on a TTY, 10 s otherwise; 0: off.
  double progress_interval = -1;
  bool quiet = false;  ///< no progress and no summary logging
  WorkerInfo worker;   ///< this process's data-parallel rank and world, handed to every node
  /// Objects shared with the nodes by name (a node may publish one for the program: services.h); optional:
  /// without one the run makes its own, which its nodes share among themselves.
  std::shared_ptr<Services> services;
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
