// bench_runtime: messages/s and per-message cost through a 5-node chain of no-op nodes on the vatt runtime,
// next to the same chain wired by hand with oneTBB (same bound, same message payload), in the same run.
//
//   runtime:    counter -> passthrough -> passthrough -> passthrough -> null      (every edge bounded, 64)
//   hand-wired: input_node -> limiter(64) -> f -> f -> f -> sink -> limiter.decrement
//
// Usage: bench_runtime [--messages N] [--repeats R] [--threads T]
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "nodes/register_all.h"
#include "pipeline/graph_spec.h"
#include "pipeline/runtime.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace flow = tbb::flow;

void spin(long us) {
  if (us <= 0) return;
  auto until = Clock::now() + std::chrono::microseconds(us);
  while (Clock::now() < until) {
  }
}

double run_runtime(const vatt::pipeline::Registry& reg, long n, int threads, long work_us) {
  const std::string work = work_us ? ", options: { spin_us: " + std::to_string(work_us) + " }" : "";
  const std::string yaml =
      "graph: bench\n"
      "defaults: { queue: 64 }\n"
      "nodes:\n"
      "  - { id: src, type: counter, options: { count: " +
      std::to_string(n) +
      " } }\n"
      "  - { id: a, type: passthrough" +
      work +
      " }\n"
      "  - { id: b, type: passthrough" +
      work +
      " }\n"
      "  - { id: c, type: passthrough" +
      work +
      " }\n"
      "  - { id: sink, type: discard }\n"
      "  - { id: log, type: log }\n"
      "edges:\n"
      "  - src.out -> a.in\n  - a.out -> b.in\n  - b.out -> c.in\n  - c.out -> sink.in\n"
      "  - src.errors -> log.in\n  - a.errors -> log.in\n  - b.errors -> log.in\n  - c.errors -> log.in\n";
  auto spec = vatt::pipeline::load_graph_text(yaml, "bench.yaml", reg);
  vatt::pipeline::RunOptions ro;
  ro.threads = threads;
  ro.progress_interval = 0;
  vatt::pipeline::Runtime rt(spec, ro);
  auto t0 = Clock::now();
  auto m = rt.run();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (m.exit_code != 0 || m.node("sink")->in != static_cast<uint64_t>(n)) {
    std::fprintf(stderr, "runtime run failed: %s\n", m.failure.c_str());
    std::exit(1);
  }
  return n / s;
}

double run_hand_wired(long n, int threads, long work_us) {
  using Msg = std::shared_ptr<const vatt::pipeline::Count>;
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  flow::graph g;
  long next = 0;
  long received = 0;
  flow::input_node<Msg> src(g, [&](tbb::flow_control& fc) -> Msg {
    if (next >= n) {
      fc.stop();
      return nullptr;
    }
    vatt::pipeline::Count c;
    c.value = next++;
    return std::make_shared<const vatt::pipeline::Count>(std::move(c));
  });
  flow::limiter_node<Msg> limit(g, 64);
  auto noop = [work_us](const Msg& m) {
    spin(work_us);
    return m;
  };
  flow::function_node<Msg, Msg> a(g, flow::serial, noop), b(g, flow::serial, noop), c(g, flow::serial, noop);
  flow::function_node<Msg, flow::continue_msg> sink(g, flow::serial, [&](const Msg&) {
    ++received;
    return flow::continue_msg();
  });
  flow::make_edge(src, limit);
  flow::make_edge(limit, a);
  flow::make_edge(a, b);
  flow::make_edge(b, c);
  flow::make_edge(c, sink);
  flow::make_edge(sink, limit.decrementer());
  auto t0 = Clock::now();
  src.activate();
  g.wait_for_all();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (received != n) {
    std::fprintf(stderr, "hand-wired run lost messages\n");
    std::exit(1);
  }
  return n / s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  long n = 200000;
  std::vector<long> works = {0};
  int repeats = 5;
  std::vector<int> thread_counts = {1, 2};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--messages") && i + 1 < argc)
      n = std::atol(argv[++i]);
    else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc)
      repeats = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      thread_counts = {std::atoi(argv[++i])};
    else if (!std::strcmp(argv[i], "--work-us") && i + 1 < argc)
      works.push_back(std::atol(argv[++i]));
    else {
      std::fprintf(stderr,
                   "usage: bench_runtime [--messages N] [--repeats R] [--threads T] [--work-us US]...\n");
      return 2;
    }
  }
  vatt::pipeline::Registry reg;
  vatt::nodes::register_all_nodes(reg);
  std::printf("5-node no-op chain, %ld messages, bound 64, median of %d runs (interleaved)\n", n, repeats);
  std::printf("%-8s %-8s %14s %14s %10s %12s %12s\n", "work_us", "threads", "runtime msg/s", "hand msg/s",
              "ratio", "runtime us", "hand us");
  for (long w : works) {
    // With work in the nodes, fewer messages keep each run short.
    const long m = w ? std::max(2000L, static_cast<long>(n / (1 + 4 * w))) : n;
    for (int t : thread_counts) {
      std::vector<double> ours, hand;
      run_runtime(reg, m / 10, t, w);  // warm-up
      run_hand_wired(m / 10, t, w);
      for (int r = 0; r < repeats; ++r) {
        ours.push_back(run_runtime(reg, m, t, w));
        hand.push_back(run_hand_wired(m, t, w));
      }
      const double o = median(ours), h = median(hand);
      std::printf("%-8ld %-8d %14.0f %14.0f %9.1f%% %12.3f %12.3f\n", w, t, o, h, 100 * o / h, 1e6 / o,
                  1e6 / h);
    }
  }
  std::printf(
      "work_us = busy-wait in each of the 3 middle nodes; us = wall time per message through the whole "
      "chain;\n"
      "ratio = runtime rate / hand-wired rate\n");
  return 0;
}
