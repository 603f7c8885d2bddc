// The set of node types a graph may use, each with its contract, and the message types their ports carry,
// each tied to its C++ payload type. Filled explicitly by register_all_nodes() (nodes/), never by static
// initialisers a linker could drop.
//
// A port's type name is checked when the contract is registered (it must be a registered message type, or
// "any" / "@in"), matched between the two ends of every edge when a graph loads, and checked against what a
// node really emits when the graph runs (Message's C++ type): the loader's check and Message::as<T> cannot
// disagree.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <vector>

#include "pipeline/node.h"

namespace vatt::pipeline {

/// A message type: its name in contracts and graph files, its C++ payload type, and where a message of it
/// comes from (a source's path or URI: what `batch` groups by when it mixes datasets), when it has one.
struct MessageType {
  std::string name;
  const std::type_info* cpp = nullptr;
  std::string doc;
  std::function<std::string(const Message&)> origin;  ///< empty: messages of this type name no origin
};

class Registry {
 public:
  /// Registers the pipeline's own message types: batch (Batch), count (Count), error (ErrorRecord).
  Registry();

  /// Adds a message type carried as payload T. `origin` (optional) names where a message comes from. Throws
  /// std::logic_error when the name or the C++ type is registered already.
  template <class T>
  void add_type(std::string name, std::string doc, std::function<std::string(const T&)> origin = {}) {
    MessageType t{std::move(name), &typeid(T), std::move(doc), {}};
    if (origin) t.origin = [f = std::move(origin)](const Message& m) { return f(m.as<T>()); };
    add_type(std::move(t));
  }
  void add_type(MessageType type);
  const MessageType* type(const std::string& name) const;       ///< null if none
  const MessageType* type_of(const std::type_info& cpp) const;  ///< null if none
  std::vector<const MessageType*> types_all() const;            ///< sorted by name
  /// Where `m` comes from; throws std::invalid_argument when its type has no origin.
  std::string origin(const Message& m) const;

  /// Adds a node type. Throws std::logic_error on a duplicate type, a duplicate port/option name, a port
  /// named `errors`, a port type that is not registered, or a contract without a factory (programming
  /// errors, caught by the tests).
  void add(NodeContract contract);
  const NodeContract* find(const std::string& type) const;
  std::vector<const NodeContract*> all() const;  ///< sorted by type
  std::vector<std::string> types() const;

 private:
  std::map<std::string, NodeContract> contracts_;
  std::map<std::string, MessageType> types_;
  std::map<std::type_index, std::string> type_names_;
};

/// Human-readable contract of one type (what `vatt nodes` prints).
std::string describe_contract(const NodeContract& c);

}  // namespace vatt::pipeline
