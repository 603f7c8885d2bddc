// Typed option values of graph nodes: the types a contract may declare and their conversion from YAML.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace YAML {
class Node;
}

namespace vatt::pipeline {

enum class OptionType { Int, Float, Bool, String, StringList };

using Value = std::variant<int64_t, double, bool, std::string, std::vector<std::string>>;

const char* option_type_name(OptionType t);
/// The value as it would be written in a graph file (strings unquoted, lists as [a, b]).
std::string value_to_string(const Value& v);

/// Converts a YAML node to `type`. On failure returns nullopt and sets `why` to what was expected/found.
std::optional<Value> convert_yaml(const YAML::Node& node, OptionType type, std::string* why);

/// Resolved options of one node instance: every declared option present (given or defaulted).
class Options {
 public:
  Options() = default;
  /// Every value in `values` counts as given (written in the graph file).
  explicit Options(std::map<std::string, Value> values) : values_(std::move(values)) {
    for (const auto& kv : values_) given_.insert(kv.first);
  }

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  /// The graph file, a --set or a reference gave this option (false: it holds the contract's default).
  bool given(const std::string& name) const { return given_.count(name) != 0; }
  int64_t get_int(const std::string& name) const { return get<int64_t>(name); }
  double get_float(const std::string& name) const { return get<double>(name); }
  bool get_bool(const std::string& name) const { return get<bool>(name); }
  const std::string& get_string(const std::string& name) const { return get<std::string>(name); }
  const std::vector<std::string>& get_list(const std::string& name) const {
    return get<std::vector<std::string>>(name);
  }
  void set(const std::string& name, Value v) {
    values_[name] = std::move(v);
    given_.insert(name);
  }
  /// The contract's default for an option the graph did not give.
  void set_default(const std::string& name, Value v) { values_[name] = std::move(v); }
  const std::map<std::string, Value>& all() const { return values_; }

 private:
  template <class T>
  const T& get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end())
      throw std::logic_error("option '" + name + "' is not declared by the node contract");
    const T* v = std::get_if<T>(&it->second);
    if (!v) throw std::logic_error("option '" + name + "' read with the wrong type");
    return *v;
  }
  std::map<std::string, Value> values_;
  std::set<std::string> given_;
};

}  // namespace vatt::pipeline
