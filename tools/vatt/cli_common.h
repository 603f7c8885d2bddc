// Shared argument parsing for sub-commands (Boost.Program_options): --help and usage errors handled alike.
#pragma once

#include <signal.h>

#include <boost/program_options.hpp>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "pipeline/graph_spec.h"
#include "tools/vatt/commands.h"

namespace vatt::cli {

namespace po = boost::program_options;

/// Parses `args` into `vm`. Returns an exit code to return at once (0 after --help, 2 on a usage error), or
/// nullopt to go on.
inline std::optional<int> parse_args(const Args& args, const std::string& usage,
                                     po::options_description& opts,
                                     const po::positional_options_description& pos, po::variables_map& vm,
                                     const po::options_description& hidden = po::options_description()) {
  opts.add_options()("help,h", "show this help");
  po::options_description all;
  all.add(opts).add(hidden);
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n" << opts << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::required_option& e) {
    // A positional argument (declared hidden) is missing: say so in the command's words, not as an option.
    std::string name = e.get_option_name();
    while (!name.empty() && name[0] == '-') name.erase(0, 1);
    if (hidden.find_nothrow(name, false)) {
      for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::cerr << "vatt: missing " << name << " (a file argument)\n" << usage << "\n";
    } else {
      std::cerr << "vatt: " << e.what() << "\n" << usage << "\n" << opts << "\n";
    }
    return 2;
  } catch (const po::error& e) {
    std::cerr << "vatt: " << e.what() << "\n" << usage << "\n" << opts << "\n";
    return 2;
  }
  return std::nullopt;
}

/// Blocks SIGINT and SIGTERM in this thread and the threads it starts, and returns them: one thread then
/// waits for them with sigtimedwait and stops the run in order.
inline sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

/// A registry with every shipped node type (cmd_graph.cpp).
pipeline::Registry make_registry();
/// Loads and validates a graph; prints every diagnostic and returns nullopt when it is invalid.
std::optional<pipeline::GraphSpec> load(const std::string& file, const std::vector<std::string>& sets,
                                        const pipeline::Registry& reg);

}  // namespace vatt::cli
