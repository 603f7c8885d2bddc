// vatt run / check / nodes: graph files and node contracts.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "nodes/register_all.h"
#include "pipeline/graph_spec.h"
#include "pipeline/runtime.h"
#include "pipeline/worker.h"
#include "tools/vatt/cli_common.h"

namespace vatt::cli {

pipeline::Registry make_registry() {
  pipeline::Registry r;
  nodes::register_all_nodes(r);
  return r;
}

/// Loads and validates; prints every diagnostic and returns nullopt when the graph is invalid.
std::optional<pipeline::GraphSpec> load(const std::string& file, const std::vector<std::string>& sets,
                                        const pipeline::Registry& reg) {
  try {
    return pipeline::load_graph_file(file, reg, sets);
  } catch (const pipeline::GraphError& e) {
    for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.str().c_str());
    std::fprintf(stderr, "vatt: %s: %zu problem(s); nothing was run\n", file.c_str(), e.diagnostics().size());
    return std::nullopt;
  }
}

int cmd_check(const Args& args) {
  po::options_description opts("vatt check options");
  std::vector<std::string> files, sets;
  opts.add_options()("set", po::value(&sets)->composing(), "NODE.OPTION=VALUE override (repeatable)");
  po::options_description hidden;
  hidden.add_options()("graph", po::value(&files)->required(), "graph files");
  po::positional_options_description pos;
  pos.add("graph", -1);
  po::variables_map vm;
  if (auto rc = parse_args(args,
                           "usage: vatt check GRAPH... [--set NODE.OPTION=VALUE ...]\n"
                           "Validates graph files completely; exit 0 if all are valid, 2 otherwise.",
                           opts, pos, vm, hidden))
    return *rc;
  auto reg = make_registry();
  int rc = 0;
  for (const auto& f : files) {
    auto spec = load(f, sets, reg);
    if (!spec) {
      rc = 2;
      continue;
    }
    std::printf("%s: ok (graph '%s', %zu nodes, %zu edges)\n", f.c_str(), spec->name.c_str(),
                spec->nodes.size(), spec->edges.size());
  }
  return rc;
}

int cmd_run(const Args& args) {
  po::options_description opts("vatt run options");
  std::string file, metrics_file, log_level = "info";
  std::vector<std::string> sets;
  int threads = 0;
  double progress = -1;
  int world_size = 0, rank = -1, master_port = 0;
  std::string master_addr;
  opts.add_options()                                                                     //
      ("set", po::value(&sets)->composing(), "NODE.OPTION=VALUE override (repeatable)")  //
      ("metrics", po::value(&metrics_file), "write the run's figures as JSON to FILE")   //
      ("threads", po::value(&threads),
       "worker threads (default: the graph's defaults.threads, else all cores)")  //
      ("progress", po::value(&progress),
       "seconds between progress reports (default: 1 on a terminal, 10 otherwise; 0 = off)")  //
      ("log-level", po::value(&log_level), "trace, debug, info, warn, error")                 //
      ("world-size", po::value(&world_size),
       "data-parallel workers in all (default: $WORLD_SIZE or 1); each runs this command with its --rank")  //
      ("rank", po::value(&rank), "this worker, 0..world-size-1 (default: $RANK or 0)")                      //
      ("master-addr", po::value(&master_addr),
       "host of rank 0's rendezvous (default: $MASTER_ADDR or 127.0.0.1)")  //
      ("master-port", po::value(&master_port), "its TCP port (default: $MASTER_PORT or 29500)");
  po::options_description hidden;
  hidden.add_options()("graph", po::value(&file)->required(), "graph file");
  po::positional_options_description pos;
  pos.add("graph", 1);
  po::variables_map vm;
  if (auto rc =
          parse_args(args,
                     "usage: vatt run GRAPH [--set NODE.OPTION=VALUE ...] [--metrics FILE]\n"
                     "Runs a graph file. Ctrl-C/SIGTERM drain in-flight work, flush and close every node.",
                     opts, pos, vm, hidden))
    return *rc;
  spdlog::set_level(spdlog::level::from_str(log_level));
  // Data parallel: the torchrun-style variables (vatt launch sets them), overridden by the flags; the result
  // reaches every node through its NodeConfig.
  pipeline::WorkerInfo worker;
  try {
    worker = pipeline::worker_info();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "vatt run: %s\n", e.what());
    return 2;
  }
  if (world_size > 0) worker.world_size = world_size;
  if (rank >= 0) worker.rank = rank;
  if (!master_addr.empty()) worker.master_addr = master_addr;
  if (master_port > 0) worker.master_port = master_port;
  if (worker.rank >= worker.world_size) {
    std::fprintf(stderr, "vatt run: --rank %d is not below --world-size %d\n", worker.rank,
                 worker.world_size);
    return 2;
  }
  if (worker.world_size > 1) {
    spdlog::info("data-parallel worker {} of {} (rendezvous {}:{})", worker.rank, worker.world_size,
                 worker.master_addr, worker.master_port);
    if (worker.rank > 0 && !metrics_file.empty()) metrics_file += ".rank" + std::to_string(worker.rank);
  }
  auto reg = make_registry();
  auto spec = load(file, sets, reg);
  if (!spec) return 2;

  // Signals go to one thread that asks the runtime to stop; a second signal exits at once.
  sigset_t set = block_stop_signals();

  pipeline::RunOptions ro;
  ro.threads = threads > 0 ? threads : spec->default_threads;
  ro.progress_interval = progress;
  ro.worker = worker;
  pipeline::Runtime runtime(*spec, ro);
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    int stops = 0;
    while (!done.load()) {
      timespec ts{0, 100 * 1000 * 1000};
      int sig = sigtimedwait(&set, nullptr, &ts);
      if (sig <= 0) continue;
      if (++stops > 1) {
        std::fprintf(stderr, "\nvatt: second signal, exiting without draining\n");
        std::_Exit(128 + sig);
      }
      spdlog::warn("received {}; draining in-flight work (send again to exit at once)",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
      runtime.request_stop(sig);
    }
  });
  spdlog::info("running graph '{}' from {} ({} nodes, {} edges)", spec->name, file, spec->nodes.size(),
               spec->edges.size());
  pipeline::RunMetrics m = runtime.run();
  done = true;
  watcher.join();

  std::fprintf(stderr, "%s", pipeline::summary_table(m).c_str());
  if (!metrics_file.empty()) {
    std::ofstream out(metrics_file);
    nlohmann::json j = m;
    out << j.dump(2) << "\n";
    if (!out) {
      spdlog::error("cannot write metrics to {}", metrics_file);
      return m.exit_code ? m.exit_code : 1;
    }
  }
  if (m.exit_code == 1) spdlog::error("{}", m.failure);
  return m.exit_code;
}

int cmd_nodes(const Args& args) {
  po::options_description opts("vatt nodes options");
  std::vector<std::string> types;
  opts.add_options()("json", "print the contracts as JSON");
  po::options_description hidden;
  hidden.add_options()("type", po::value(&types), "node types");
  po::positional_options_description pos;
  pos.add("type", -1);
  po::variables_map vm;
  if (auto rc =
          parse_args(args, "usage: vatt nodes [TYPE...] [--json]\nLists node types with their contracts.",
                     opts, pos, vm, hidden))
    return *rc;
  auto reg = make_registry();
  std::vector<const pipeline::NodeContract*> list;
  if (types.empty()) {
    list = reg.all();
  } else {
    for (const auto& t : types) {
      const auto* c = reg.find(t);
      if (!c) {
        std::fprintf(stderr, "vatt: unknown node type '%s'\n", t.c_str());
        return 2;
      }
      list.push_back(c);
    }
  }
  if (vm.count("json")) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto* c : list) {
      nlohmann::json o{{"type", c->type},
                       {"doc", c->doc},
                       {"max_concurrency", c->max_concurrency},
                       {"max_out", c->max_out},
                       {"source", c->is_source()},
                       {"errors_port", c->errors_port}};
      for (const auto& p : c->inputs)
        o["inputs"].push_back({{"name", p.name}, {"type", p.type}, {"doc", p.doc}});
      for (const auto& p : c->outputs)
        o["outputs"].push_back({{"name", p.name},
                                {"type", p.type},
                                {"doc", p.doc},
                                {"keys", p.keys == pipeline::KeyMode::New ? "new" : "preserve"}});
      for (const auto& op : c->options) {
        nlohmann::json oj{{"name", op.name}, {"type", pipeline::option_type_name(op.type)}, {"doc", op.doc}};
        if (op.default_value)
          oj["default"] = pipeline::value_to_string(*op.default_value);
        else
          oj["required"] = true;
        o["options"].push_back(oj);
      }
      j.push_back(o);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  for (const auto* c : list) std::printf("%s\n", pipeline::describe_contract(*c).c_str());
  return 0;
}

}  // namespace vatt::cli
