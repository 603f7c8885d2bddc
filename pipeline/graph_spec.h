// A graph description file, parsed and fully validated: what the runtime builds from. Also the loader.
//
// File format (YAML), every field:
//   graph: NAME                      # required, a name for logs and metrics
//   description: TEXT                # optional
//   defaults: { queue: 64, policy: block, threads: N, errors: log.in }   # optional; bound and policy of
//                                    # every edge unless overridden; threads: the runtime's workers unless
//                                    # --threads says; errors: where every errors port that no edge
//                                    # consumes goes
//   nodes:                           # required, a list
//     - id: ID                       # required, [A-Za-z0-9_]+, unique
//       type: TYPE                   # required, a registered node type (`vatt nodes`)
//       options: { NAME: VALUE }     # the type's options; missing ones take their defaults, required ones
//                                    # must be given; a string value may contain ${NODE.OPTION}, a
//                                    # number or bool value may be exactly "${NODE.OPTION}"
//       concurrency: N               # optional, 1..the type's maximum
//       ordered: [PORT, ...]         # optional, input ports that restore the order of their sequence
//   edges:                           # required, a list; each either "A.PORT -> B.PORT" or a mapping:
//     - { from: A.PORT, to: B.PORT, queue: N, policy: block|drop_oldest, back: true|false }
//
// Every problem is reported as FILE:LINE:COL: message (all of them, not only the first).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/node.h"
#include "pipeline/registry.h"

namespace vatt::pipeline {

struct Location {
  std::string file;
  int line = 0;  ///< 1-based; 0 = not in a file (e.g. a --set argument)
  int col = 0;   ///< 1-based
};

struct Diagnostic {
  Location at;
  std::string message;
  std::string str() const;  ///< "FILE:LINE:COL: message"
};

/// Thrown by the loader with every problem found.
class GraphError : public std::runtime_error {
 public:
  explicit GraphError(std::vector<Diagnostic> diags);
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

 private:
  std::vector<Diagnostic> diags_;
};

enum class EdgePolicy { Block, DropOldest };
const char* policy_name(EdgePolicy p);

struct EdgeSpec {
  int from_node = -1, from_port = -1;  ///< output port index (errors = last)
  int to_node = -1, to_port = -1;
  int capacity = 64;
  EdgePolicy policy = EdgePolicy::Block;
  bool back = false;
  Location at;
  std::string text;  ///< "a.out -> b.in"
};

struct NodeSpec {
  std::string id;
  const NodeContract* contract = nullptr;
  Options options;
  int concurrency = 1;
  std::vector<bool> ordered;           ///< per input port
  std::vector<std::string> out_types;  ///< resolved type per output port (errors included)
  /// The C++ payload type of each output port (errors included); null where the port may carry any.
  std::vector<const std::type_info*> out_cpp;
  Location at;
};

struct GraphSpec {
  std::string name;
  std::string description;
  std::string file;
  int default_queue = 64;
  EdgePolicy default_policy = EdgePolicy::Block;
  /// The runtime's worker threads when the command line does not say (0 = all cores). Graphs whose nodes
  /// compute with their own thread pools (LibTorch) run faster with fewer: spinning workers steal their
  /// cores.
  int default_threads = 0;
  std::vector<NodeSpec> nodes;
  std::vector<EdgeSpec> edges;
  std::vector<int> topo_order;         ///< node indices, sources first; back edges ignored
  const Registry* registry = nullptr;  ///< the node and message types it was loaded with (outlives the spec)

  int node_index(const std::string& id) const;  ///< -1 if none
  std::string port_name(int node, int out_port) const;
};

/// Loads and validates a graph file. `sets` are "node.option=value" overrides (value parsed as YAML and typed
/// by the contract; "node.concurrency=N" too). Throws GraphError listing every problem.
GraphSpec load_graph_file(const std::string& path, const Registry& registry,
                          const std::vector<std::string>& sets = {});
/// Same from text; `name` stands in for the file name in messages.
GraphSpec load_graph_text(const std::string& text, const std::string& name, const Registry& registry,
                          const std::vector<std::string>& sets = {});

}  // namespace vatt::pipeline
