// bench_runtime: messages/s and per-message cost through a 5-node chain of no-op nodes on the vatt runtime,
// next to the same chain wired by hand with oneTBB (same bound, same message payload), in the same run.
//
//   runtime:    counter -> passthrough -> passthrough -> passthrough -> null      (every edge bounded, 64)
//   hand-wired: input_node -> limiter(64) -> f -> f -> f -> sink -> limiter.decrement
//   bounded:    input_node -> [buffer -> limiter(64) -> stage]x3 -> buffer -> limiter(64) -> sink
//               (every edge bounded as the runtime bounds it, each limiter decremented by its stage)
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
#include <tuple>
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

using Msg = std::shared_ptr<const vatt::pipeline::Count>;

/// The body of the hand-wired chains' input_node: Count 0..n-1, the same payload the runtime's counter makes.
auto count_source(long n, long& next) {
  return [n, &next](tbb::flow_control& fc) -> Msg {
    if (next >= n) {
      fc.stop();
      return nullptr;
    }
    vatt::pipeline::Count c;
    c.value = next++;
    return std::make_shared<const vatt::pipeline::Count>(std::move(c));
  };
}

double run_hand_wired(long n, int threads, long work_us) {
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  flow::graph g;
  long next = 0;
  long received = 0;
  flow::input_node<Msg> src(g, count_source(n, next));
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

/// The same chain with the runtime's bound on every edge, wired with oneTBB's own nodes: each stage is
/// limiter(64) -> multifunction_node, whose second output decrements its limiter once the message is done,
/// and a buffer_node in front of each limiter holds what the limiter refuses (so nothing is lost).
double run_hand_bounded(long n, int threads, long work_us) {
  using Stage = flow::multifunction_node<Msg, std::tuple<Msg, flow::continue_msg>>;
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  flow::graph g;
  long next = 0;
  long received = 0;
  flow::input_node<Msg> src(g, count_source(n, next));
  auto body = [work_us](const Msg& m, Stage::output_ports_type& ports) {
    spin(work_us);
    std::get<0>(ports).try_put(m);
    std::get<1>(ports).try_put(flow::continue_msg());
  };
  std::vector<std::unique_ptr<flow::buffer_node<Msg>>> buffers;
  std::vector<std::unique_ptr<flow::limiter_node<Msg>>> limits;
  std::vector<std::unique_ptr<Stage>> stages;
  for (int i = 0; i < 3; ++i) {
    buffers.push_back(std::make_unique<flow::buffer_node<Msg>>(g));
    limits.push_back(std::make_unique<flow::limiter_node<Msg>>(g, 64));
    stages.push_back(std::make_unique<Stage>(g, flow::serial, body));
    flow::make_edge(*buffers[i], *limits[i]);
    flow::make_edge(*limits[i], *stages[i]);
    flow::make_edge(flow::output_port<1>(*stages[i]), limits[i]->decrementer());
  }
  flow::buffer_node<Msg> sink_buf(g);
  flow::limiter_node<Msg> sink_lim(g, 64);
  flow::function_node<Msg, flow::continue_msg> sink(g, flow::serial, [&](const Msg&) {
    ++received;
    return flow::continue_msg();
  });
  flow::make_edge(src, *buffers[0]);
  flow::make_edge(flow::output_port<0>(*stages[0]), *buffers[1]);
  flow::make_edge(flow::output_port<0>(*stages[1]), *buffers[2]);
  flow::make_edge(flow::output_port<0>(*stages[2]), sink_buf);
  flow::make_edge(sink_buf, sink_lim);
  flow::make_edge(sink_lim, sink);
  flow::make_edge(sink, sink_lim.decrementer());
  auto t0 = Clock::now();
  src.activate();
  g.wait_for_all();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (received != n) {
    std::fprintf(stderr, "bounded hand-wired run lost messages\n");
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
  long profile = 0;  // > 0: only the runtime, this many messages, one thread (for perf record)
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
    else if (!std::strcmp(argv[i], "--profile-runtime") && i + 1 < argc)
      profile = std::atol(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: bench_runtime [--messages N] [--repeats R] [--threads T] [--work-us US]... "
                   "[--profile-runtime N]\n");
      return 2;
    }
  }
  vatt::pipeline::Registry reg;
  vatt::nodes::register_generic_nodes(reg);
  if (profile > 0) {
    std::printf("runtime alone: %.0f msg/s\n", run_runtime(reg, profile, thread_counts.front(), 0));
    return 0;
  }
  std::printf("5-node no-op chain, %ld messages, bound 64, median of %d runs (interleaved)\n", n, repeats);
  std::printf("%-8s %-8s %14s %14s %10s %14s %10s %10s %10s %10s\n", "work_us", "threads", "runtime msg/s",
              "hand msg/s", "ratio", "bounded msg/s", "ratio", "runtime us", "hand us", "bounded us");
  for (long w : works) {
    // With work in the nodes, fewer messages keep each run short.
    const long m = w ? std::max(2000L, static_cast<long>(n / (1 + 4 * w))) : n;
    for (int t : thread_counts) {
      std::vector<double> ours, hand, bounded;
      run_runtime(reg, m / 10, t, w);  // warm-up
      run_hand_wired(m / 10, t, w);
      run_hand_bounded(m / 10, t, w);
      for (int r = 0; r < repeats; ++r) {
        ours.push_back(run_runtime(reg, m, t, w));
        hand.push_back(run_hand_wired(m, t, w));
        bounded.push_back(run_hand_bounded(m, t, w));
      }
      const double o = median(ours), h = median(hand), b = median(bounded);
      std::printf("%-8ld %-8d %14.0f %14.0f %9.1f%% %14.0f %9.1f%% %10.3f %10.3f %10.3f\n", w, t, o, h,
                  100 * o / h, b, 100 * o / b, 1e6 / o, 1e6 / h, 1e6 / b);
    }
  }
  std::printf(
      "work_us = busy-wait in each of the 3 middle nodes; us = wall time per message through the whole "
      "chain;\n"
      "hand = one limiter for the whole chain; bounded = oneTBB nodes with the runtime's bound on every "
      "edge\n"
      "(buffer -> limiter(64) -> stage, decremented when the stage is done); ratio = runtime rate / that "
      "rate\n");
  return 0;
}
