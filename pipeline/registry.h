// The set of node types a graph may use, each with its contract. Filled explicitly by register_all_nodes()
// (nodes/), never by static initialisers a linker could drop.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/node.h"

namespace vatt::pipeline {

class Registry {
 public:
  /// Adds a node type. Throws std::logic_error on a duplicate type, a duplicate port/option name, a port
  /// named `errors`, or a contract without a factory (programming errors, caught by the tests).
  void add(NodeContract contract);
  const NodeContract* find(const std::string& type) const;
  std::vector<const NodeContract*> all() const;  ///< sorted by type
  std::vector<std::string> types() const;

 private:
  std::map<std::string, NodeContract> contracts_;
};

/// Human-readable contract of one type (what `vatt nodes` prints).
std::string describe_contract(const NodeContract& c);

}  // namespace vatt::pipeline
