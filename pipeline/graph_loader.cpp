// Graph file loader: YAML -> GraphSpec, validating everything a run could trip on before any data flows.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "pipeline/graph_spec.h"

namespace vatt::pipeline {

std::string Diagnostic::str() const {
  if (at.line <= 0) return at.file + ": " + message;
  return at.file + ":" + std::to_string(at.line) + ":" + std::to_string(at.col) + ": " + message;
}

namespace {
std::string join_diags(const std::vector<Diagnostic>& d) {
  std::string out;
  for (const auto& x : d) out += (out.empty() ? "" : "\n") + x.str();
  return out;
}
}  // namespace

GraphError::GraphError(std::vector<Diagnostic> diags)
    : std::runtime_error(join_diags(diags)), diags_(std::move(diags)) {}

const char* policy_name(EdgePolicy p) {
  return p == EdgePolicy::Block ? "block" : "drop_oldest";
}

int GraphSpec::node_index(const std::string& id) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].id == id) return static_cast<int>(i);
  return -1;
}

std::string GraphSpec::port_name(int node, int out_port) const {
  const auto& c = *nodes[node].contract;
  std::string p = out_port == c.errors_index() ? "errors" : c.outputs[out_port].name;
  return nodes[node].id + "." + p;
}

namespace {

std::string list_names(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

class Loader {
 public:
  Loader(std::string file, const Registry& reg) : file_(std::move(file)), reg_(reg) {}

  GraphSpec load(const YAML::Node& root, const std::vector<std::string>& sets) {
    spec_.file = file_;
    spec_.registry = &reg_;
    if (!root.IsMap()) {
      error(root,
            "a graph file is a mapping with keys graph, nodes, edges (and optional description, defaults)");
      throw GraphError(diags_);
    }
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      if (key != "graph" && key != "description" && key != "defaults" && key != "nodes" && key != "edges")
        error(kv.first,
              "unknown key '" + key + "'; expected one of: graph, description, defaults, nodes, edges");
    }
    if (!root["graph"] || !root["graph"].IsScalar())
      error(root, "missing 'graph: NAME' (a name for logs and metrics)");
    else
      spec_.name = root["graph"].Scalar();
    if (root["description"] && root["description"].IsScalar())
      spec_.description = root["description"].Scalar();
    parse_defaults(root["defaults"]);
    parse_nodes(root["nodes"], root);
    apply_sets(sets);
    check_required_options();
    resolve_references();
    resolve_number_references();
    parse_edges(root["edges"], root);
    if (diags_.empty()) default_error_edges();
    if (diags_.empty()) check_structure(root);
    if (!diags_.empty()) throw GraphError(diags_);
    return std::move(spec_);
  }

 private:
  Location loc(const YAML::Node& n) const {
    auto m = n.Mark();
    return Location{file_, m.line + 1, m.column + 1};
  }
  void error(const YAML::Node& n, const std::string& msg) { diags_.push_back({loc(n), msg}); }
  void error(const Location& at, const std::string& msg) { diags_.push_back({at, msg}); }

  std::optional<std::string> type_text(const YAML::Node& n) const {
    if (n.IsScalar()) return n.Scalar();
    return std::nullopt;
  }

  static bool valid_id(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum((unsigned char)c) || c == '_'; });
  }

  void parse_defaults(const YAML::Node& d) {
    if (!d) return;
    if (!d.IsMap()) return error(d, "'defaults' must be a mapping, e.g. { queue: 64, policy: block }");
    for (const auto& kv : d) {
      const std::string key = kv.first.Scalar();
      if (key == "queue") {
        spec_.default_queue = parse_capacity(kv.second);
      } else if (key == "policy") {
        spec_.default_policy = parse_policy(kv.second);
      } else if (key == "threads") {
        std::string why;
        auto v = convert_yaml(kv.second, OptionType::Int, &why);
        if (!v || std::get<int64_t>(*v) < 0 || std::get<int64_t>(*v) > 1024)
          error(kv.second, "threads: expected the runtime's worker threads, 0..1024 (0 = all cores)" +
                               (why.empty() ? std::string() : "; " + why));
        else
          spec_.default_threads = static_cast<int>(std::get<int64_t>(*v));
      } else if (key == "errors") {
        if (!kv.second.IsScalar() || kv.second.Scalar().empty())
          error(kv.second, "errors: expected NODE.PORT, the input every unconnected errors port goes to");
        else
          errors_target_ = kv.second, has_errors_target_ = true;
      } else {
        error(kv.first, "unknown key '" + key + "' in defaults; expected queue, policy, threads or errors");
      }
    }
  }

  int parse_capacity(const YAML::Node& n) {
    std::string why;
    auto v = convert_yaml(n, OptionType::Int, &why);
    if (!v || std::get<int64_t>(*v) < 1 || std::get<int64_t>(*v) > (1 << 24)) {
      error(n, "queue bound: expected an integer from 1 to 16777216" + (v ? std::string() : "; " + why));
      return 1;
    }
    return static_cast<int>(std::get<int64_t>(*v));
  }

  EdgePolicy parse_policy(const YAML::Node& n) {
    if (n.IsScalar() && n.Scalar() == "block") return EdgePolicy::Block;
    if (n.IsScalar() && n.Scalar() == "drop_oldest") return EdgePolicy::DropOldest;
    error(n, "edge policy: expected block or drop_oldest");
    return EdgePolicy::Block;
  }

  void parse_nodes(const YAML::Node& nodes, const YAML::Node& root) {
    if (!nodes) return error(root, "missing 'nodes:' (a list of { id, type, options })");
    if (!nodes.IsSequence()) return error(nodes, "'nodes' must be a list of { id, type, options }");
    std::map<std::string, Location> seen;
    for (const auto& n : nodes) {
      if (!n.IsMap()) {
        error(n, "a node is a mapping { id: ID, type: TYPE, options: {...} }");
        continue;
      }
      NodeSpec ns;
      ns.at = loc(n);
      for (const auto& kv : n) {
        const std::string key = kv.first.Scalar();
        if (key != "id" && key != "type" && key != "options" && key != "concurrency" && key != "ordered")
          error(kv.first,
                "unknown node key '" + key + "'; expected one of: id, type, options, concurrency, ordered");
      }
      if (!n["id"] || !n["id"].IsScalar()) {
        error(n, "node without 'id'");
        continue;
      }
      ns.id = n["id"].Scalar();
      declared_ids_.insert(ns.id);
      if (!valid_id(ns.id)) error(n["id"], "node id '" + ns.id + "': expected letters, digits and '_' only");
      if (seen.count(ns.id)) {
        const auto& p = seen[ns.id];
        error(n["id"],
              "duplicate node id '" + ns.id + "' (first defined at line " + std::to_string(p.line) + ")");
        continue;
      }
      seen[ns.id] = ns.at;
      std::optional<std::string> type_name;
      if (n["type"]) type_name = type_text(n["type"]);
      if (!type_name) {
        error(n, "node '" + ns.id + "' has no 'type'; known types: " + list_names(reg_.types()));
        continue;
      }
      const std::string type = *type_name;
      ns.contract = reg_.find(type);
      if (!ns.contract) {
        error(n["type"], "unknown node type '" + type + "'; known types: " + list_names(reg_.types()));
        continue;
      }
      const auto& c = *ns.contract;
      std::map<std::string, Value> values;
      if (const auto& opts = n["options"]) {
        if (!opts.IsMap()) {
          error(opts, "options of node '" + ns.id + "' must be a mapping { NAME: VALUE }");
        } else {
          for (const auto& kv : opts) {
            const std::string name = kv.first.Scalar();
            const OptionSpec* os = c.option(name);
            if (!os) {
              error(kv.first, "unknown option '" + name + "' for node '" + ns.id + "' (type " + c.type +
                                  "); expected one of: " + option_names(c));
              continue;
            }
            if (note_number_reference(ns.id, *os, kv.second, loc(kv.second))) {
              values[name] = placeholder(*os);
              continue;
            }
            std::string why;
            auto v = convert_yaml(kv.second, os->type, &why);
            if (!v) {
              error(kv.second, "option '" + name + "' of node '" + ns.id + "': " + why);
              continue;
            }
            if (auto bad = has_reference(*v) ? std::string() : os->check(*v); !bad.empty()) {
              error(kv.second, "option '" + name + "' of node '" + ns.id + "': expected " + bad + ", got " +
                                   value_to_string(*v));
              continue;
            }
            values[name] = *v;
          }
        }
      }
      ns.options = Options(std::move(values));
      ns.concurrency = 1;
      if (const auto& cn = n["concurrency"]) ns.concurrency = parse_concurrency(cn, c, ns.id, loc(cn));
      ns.ordered.assign(c.inputs.size(), false);
      if (const auto& ord = n["ordered"]) {
        std::string why;
        auto v = convert_yaml(ord, OptionType::StringList, &why);
        if (!v) {
          error(ord, "'ordered' of node '" + ns.id + "': " + why);
        } else {
          for (const auto& p : std::get<std::vector<std::string>>(*v)) {
            int idx = c.input_index(p);
            if (idx < 0)
              error(ord, "'ordered' names unknown input port '" + p + "' of node '" + ns.id +
                             "'; inputs: " + list_names(input_names(c)));
            else
              ns.ordered[idx] = true;
          }
        }
      }
      spec_.nodes.push_back(std::move(ns));
    }
    if (spec_.nodes.empty() && nodes.IsSequence() && diags_.empty()) error(nodes, "the graph has no nodes");
  }

  int parse_concurrency(const YAML::Node& n, const NodeContract& c, const std::string& id,
                        const Location& at) {
    std::string why;
    auto v = convert_yaml(n, OptionType::Int, &why);
    int64_t val = v ? std::get<int64_t>(*v) : 0;
    const int64_t max = c.max_concurrency == 0 ? 1024 : c.max_concurrency;
    if (!v || val < 1 || val > max) {
      error(at, "concurrency of node '" + id + "' (type " + c.type + "): expected an integer from 1 to " +
                    std::to_string(max) + (c.max_concurrency == 1 ? " (this type is serial)" : ""));
      return 1;
    }
    return static_cast<int>(val);
  }

  static std::string option_names(const NodeContract& c) {
    std::vector<std::string> n;
    for (const auto& o : c.options) n.push_back(o.name);
    return list_names(n);
  }
  static std::vector<std::string> input_names(const NodeContract& c) {
    std::vector<std::string> n;
    for (const auto& p : c.inputs) n.push_back(p.name);
    return n;
  }
  static std::vector<std::string> output_names(const NodeContract& c) {
    std::vector<std::string> n;
    for (const auto& p : c.outputs) n.push_back(p.name);
    if (c.errors_port) n.push_back("errors");
    return n;
  }

  void apply_sets(const std::vector<std::string>& sets) {
    for (const auto& s : sets) {
      Location at{"--set " + s, 0, 0};
      auto eq = s.find('=');
      auto dot = s.find('.');
      if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
        error(at, "expected NODE.OPTION=VALUE");
        continue;
      }
      std::string id = s.substr(0, dot), name = s.substr(dot + 1, eq - dot - 1), text = s.substr(eq + 1);
      int idx = spec_.node_index(id);
      if (idx < 0) {
        std::vector<std::string> ids;
        for (const auto& n : spec_.nodes) ids.push_back(n.id);
        error(at, "unknown node '" + id + "'; nodes of this graph: " + list_names(ids));
        continue;
      }
      auto& ns = spec_.nodes[idx];
      YAML::Node value;
      try {
        value = YAML::Load(text);
        if (value.IsNull()) value = YAML::Node(text);
      } catch (const YAML::Exception&) {
        value = YAML::Node(text);  // not YAML: take it as a plain string
      }
      if (name == "concurrency") {
        ns.concurrency = parse_concurrency(value, *ns.contract, id, at);
        continue;
      }
      const OptionSpec* os = ns.contract->option(name);
      if (!os) {
        error(at, "unknown option '" + name + "' for node '" + id + "' (type " + ns.contract->type +
                      "); expected one of: " + option_names(*ns.contract) + ", concurrency");
        continue;
      }
      if (note_number_reference(id, *os, value, at)) {
        ns.options.set(name, placeholder(*os));
        continue;
      }
      number_refs_.erase({id, name});  // a literal --set replaces a reference the file gave
      std::string why;
      auto v = convert_yaml(value, os->type, &why);
      if (!v && os->type == OptionType::String) v = Value(text);
      if (!v) {
        error(at, "option '" + name + "' of node '" + id + "': " + why);
        continue;
      }
      if (auto bad = has_reference(*v) ? std::string() : os->check(*v); !bad.empty()) {
        error(at,
              "option '" + name + "' of node '" + id + "': expected " + bad + ", got " + value_to_string(*v));
        continue;
      }
      ns.options.set(name, *v);
    }
  }

  // A number or bool option whose whole value is "${NODE.OPTION}" takes that option's value (of the same type;
  // an integer may feed a float), so a shape is written once. Returns true when `value` is such a reference.
  bool note_number_reference(const std::string& node, const OptionSpec& os, const YAML::Node& value,
                             const Location& at) {
    if (os.type == OptionType::String || os.type == OptionType::StringList || !value.IsScalar()) return false;
    static const std::regex ref(R"(^\$\{([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\}$)");
    std::smatch m;
    const std::string s = value.Scalar();
    if (!std::regex_match(s, m, ref)) return false;
    number_refs_[{node, os.name}] = NumberRef{m[1], m[2], at};
    return true;
  }
  static Value placeholder(const OptionSpec& os) {
    if (os.default_value) return *os.default_value;
    if (os.type == OptionType::Bool) return Value(false);
    if (os.type == OptionType::Float) return Value(0.0);
    return Value(int64_t{0});
  }

  void resolve_number_references() {
    std::set<std::pair<std::string, std::string>> resolving;
    std::function<bool(const std::pair<std::string, std::string>&)> resolve =
        [&](const std::pair<std::string, std::string>& key) -> bool {
      auto it = number_refs_.find(key);
      if (it == number_refs_.end()) return true;  // a literal (or already resolved) value
      const NumberRef r = it->second;
      const std::string self = key.first + "." + key.second;
      auto fail = [&] {
        number_refs_.erase(key);
        return false;
      };
      if (!resolving.insert(key).second) {
        error(r.at,
              "option '" + key.second + "' of node '" + key.first + "': reference cycle through " + self);
        return fail();
      }
      const int from = spec_.node_index(r.node);
      const int to = spec_.node_index(key.first);
      if (from < 0 || !spec_.nodes[from].options.has(r.option)) {
        error(r.at, "option '" + key.second + "' of node '" + key.first + "': '${" + r.node + "." + r.option +
                        "}' does not name an option of a node of this graph (expected ${NODE.OPTION})");
        return fail();
      }
      if (!resolve({r.node, r.option})) return fail();
      const Value v = spec_.nodes[from].options.all().at(r.option);
      const OptionSpec* os = spec_.nodes[to].contract->option(key.second);
      std::optional<Value> out;
      if (os->type == OptionType::Int && std::holds_alternative<int64_t>(v)) out = v;
      if (os->type == OptionType::Float && std::holds_alternative<double>(v)) out = v;
      if (os->type == OptionType::Float && std::holds_alternative<int64_t>(v))
        out = Value(static_cast<double>(std::get<int64_t>(v)));
      if (os->type == OptionType::Bool && std::holds_alternative<bool>(v)) out = v;
      if (!out) {
        error(r.at, "option '" + key.second + "' of node '" + key.first + "' refers to ${" + r.node + "." +
                        r.option + "} = " + value_to_string(v) + ", which is not of its type");
        return fail();
      }
      if (auto bad = os->check(*out); !bad.empty()) {
        error(r.at, "option '" + key.second + "' of node '" + key.first + "': expected " + bad + ", got " +
                        value_to_string(*out) + " (from ${" + r.node + "." + r.option + "})");
        return fail();
      }
      spec_.nodes[to].options.set(key.second, *out);
      number_refs_.erase(key);
      return true;
    };
    while (!number_refs_.empty()) resolve(number_refs_.begin()->first);
  }

  // "${NODE.OPTION}" inside a string option is replaced by that node's option value (after --set and
  // defaults), so a value given once (e.g. the source folder) can feed several nodes:
  //   vocab: "${train.checkpoint_dir}/vocab.txt". References may chain; a cycle, an unknown node/option or a
  // non-string target is an error at the referring node. "$${" writes a literal "${".
  static bool has_reference(const Value& v) {
    const auto* t = std::get_if<std::string>(&v);
    return t && t->find("${") != std::string::npos;
  }

  void resolve_references() {
    std::map<std::string, std::string> done;  // "node.option" -> resolved text
    std::set<std::string> failed;             // reported once, however many references lead there
    std::vector<std::string> stack;
    std::function<std::optional<std::string>(NodeSpec&, const std::string&)> resolve =
        [&](NodeSpec& ns, const std::string& name) -> std::optional<std::string> {
      const std::string self = ns.id + "." + name;
      if (auto it = done.find(self); it != done.end()) return it->second;
      if (failed.count(self)) return std::nullopt;
      if (std::find(stack.begin(), stack.end(), self) != stack.end()) {
        error(ns.at, "option '" + name + "' of node '" + ns.id + "': reference cycle " + list_names(stack) +
                         ", " + self);
        return std::nullopt;
      }
      const auto* text = std::get_if<std::string>(&ns.options.all().at(name));
      if (!text) return std::nullopt;
      stack.push_back(self);
      std::string out;
      bool ok = true;
      for (size_t i = 0; i < text->size();) {
        if (text->compare(i, 3, "$${") == 0) {
          out += "${";
          i += 3;
          continue;
        }
        if (text->compare(i, 2, "${") != 0) {
          out += (*text)[i++];
          continue;
        }
        const auto end = text->find('}', i);
        const std::string target = end == std::string::npos ? "" : text->substr(i + 2, end - i - 2);
        const auto dot = target.find('.');
        const int idx = dot == std::string::npos ? -1 : spec_.node_index(target.substr(0, dot));
        const std::string opt = dot == std::string::npos ? "" : target.substr(dot + 1);
        if (idx < 0 || !spec_.nodes[idx].options.has(opt)) {
          error(ns.at, "option '" + name + "' of node '" + ns.id + "': '" +
                           (end == std::string::npos ? text->substr(i) : "${" + target + "}") +
                           "' does not name an option of a node of this graph (expected ${NODE.OPTION})");
          ok = false;
          break;
        }
        auto& other = spec_.nodes[idx];
        if (!std::holds_alternative<std::string>(other.options.all().at(opt))) {
          error(ns.at, "option '" + name + "' of node '" + ns.id + "' refers to ${" + target +
                           "}, which is not a string option");
          ok = false;
          break;
        }
        auto v = resolve(other, opt);
        if (!v) {
          ok = false;
          break;
        }
        out += *v;
        i = end + 1;
      }
      stack.pop_back();
      if (ok) {
        // The resolved value must meet the option's contract (choices) like a literal one.
        if (const OptionSpec* os = ns.contract->option(name)) {
          if (auto bad = os->check(Value(out)); !bad.empty()) {
            error(ns.at, "option '" + name + "' of node '" + ns.id + "': expected " + bad + ", got '" + out +
                             "' (from " + *text + ")");
            ok = false;
          }
        }
      }
      if (!ok) {
        failed.insert(self);
        return std::nullopt;
      }
      done[self] = out;
      return out;
    };
    for (auto& ns : spec_.nodes) {
      std::vector<std::string> names;
      for (const auto& [name, value] : ns.options.all())
        if (const auto* t = std::get_if<std::string>(&value); t && t->find("${") != std::string::npos)
          names.push_back(name);
      for (const auto& name : names)
        if (auto v = resolve(ns, name)) ns.options.set(name, *v);
    }
  }

  void check_required_options() {
    for (auto& ns : spec_.nodes) {
      for (const auto& os : ns.contract->options) {
        if (ns.options.has(os.name)) continue;
        if (os.default_value) {
          ns.options.set_default(os.name, *os.default_value);
        } else {
          error(ns.at, "node '" + ns.id + "' (type " + ns.contract->type + ") is missing required option '" +
                           os.name + "' (" + option_type_name(os.type) + ": " + os.doc + ")");
        }
      }
    }
  }

  // "node.port" -> (node index, port index); reports what is wrong.
  bool endpoint(const std::string& text, const YAML::Node& where, bool output, int* node, int* port) {
    auto dot = text.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == text.size()) {
      error(where, "edge endpoint '" + text + "': expected NODE.PORT");
      return false;
    }
    std::string id = text.substr(0, dot), p = text.substr(dot + 1);
    *node = spec_.node_index(id);
    if (*node < 0 && declared_ids_.count(id)) return false;  // the node itself was reported; no cascade
    if (*node < 0) {
      std::vector<std::string> ids;
      for (const auto& n : spec_.nodes) ids.push_back(n.id);
      error(where, "edge refers to unknown node '" + id + "'; nodes: " + list_names(ids));
      return false;
    }
    const auto& c = *spec_.nodes[*node].contract;
    *port = output ? c.output_index(p) : c.input_index(p);
    if (*port < 0) {
      const bool other_side = output ? c.input_index(p) >= 0 : c.output_index(p) >= 0;
      if (other_side) {
        error(where, std::string("'") + text + "' is an " + (output ? "input" : "output") +
                         " port; an edge goes from an output to an input");
      } else {
        error(where, "node '" + id + "' (type " + c.type + ") has no " + (output ? "output" : "input") +
                         " port '" + p + "'; " + (output ? "outputs: " : "inputs: ") +
                         list_names(output ? output_names(c) : input_names(c)));
      }
      return false;
    }
    return true;
  }

  // defaults.errors: NODE.PORT: an edge from every errors port that no edge consumes (the target's own
  // errors port excepted: a node cannot consume its own errors).
  void default_error_edges() {
    if (!has_errors_target_) return;
    const std::string to = errors_target_.Scalar();
    int node = -1, port = -1;
    if (!endpoint(to, errors_target_, false, &node, &port)) return;
    std::vector<bool> consumed(spec_.nodes.size(), false);
    for (const auto& e : spec_.edges)
      if (e.from_port == spec_.nodes[e.from_node].contract->errors_index()) consumed[e.from_node] = true;
    for (size_t i = 0; i < spec_.nodes.size(); ++i) {
      const auto& c = *spec_.nodes[i].contract;
      if (c.errors_index() < 0 || consumed[i] || static_cast<int>(i) == node) continue;
      EdgeSpec es;
      es.at = loc(errors_target_);
      es.capacity = spec_.default_queue;
      es.policy = spec_.default_policy;
      es.from_node = static_cast<int>(i);
      es.from_port = c.errors_index();
      es.to_node = node;
      es.to_port = port;
      es.text = spec_.nodes[i].id + ".errors -> " + to;
      spec_.edges.push_back(es);
    }
  }

  void parse_edges(const YAML::Node& edges, const YAML::Node& root) {
    if (!edges) return error(root, "missing 'edges:' (a list of \"A.PORT -> B.PORT\")");
    if (!edges.IsSequence()) return error(edges, "'edges' must be a list of \"A.PORT -> B.PORT\"");
    std::map<std::tuple<int, int, int, int>, int> seen;
    static const std::regex arrow(R"(^\s*([^\s]+)\s*->\s*([^\s]+)\s*$)");
    for (const auto& e : edges) {
      EdgeSpec es;
      es.at = loc(e);
      es.capacity = spec_.default_queue;
      es.policy = spec_.default_policy;
      std::string from, to;
      YAML::Node from_node = e, to_node = e;
      if (e.IsScalar()) {
        std::smatch m;
        const std::string s = e.Scalar();
        if (!std::regex_match(s, m, arrow)) {
          error(e, "edge '" + s + "': expected \"A.PORT -> B.PORT\"");
          continue;
        }
        from = m[1];
        to = m[2];
      } else if (e.IsMap()) {
        // yaml-cpp marks a flow mapping at its end; its first key is where a reader looks.
        if (e.begin() != e.end()) es.at = loc(e.begin()->first);
        for (const auto& kv : e) {
          const std::string key = kv.first.Scalar();
          if (key == "from") {
            from = kv.second.Scalar();
            from_node = kv.second;
          } else if (key == "to") {
            to = kv.second.Scalar();
            to_node = kv.second;
          } else if (key == "queue") {
            es.capacity = parse_capacity(kv.second);
          } else if (key == "policy") {
            es.policy = parse_policy(kv.second);
          } else if (key == "back") {
            std::string why;
            auto v = convert_yaml(kv.second, OptionType::Bool, &why);
            if (!v)
              error(kv.second, "edge 'back': " + why);
            else
              es.back = std::get<bool>(*v);
          } else {
            error(kv.first, "unknown edge key '" + key + "'; expected one of: from, to, queue, policy, back");
          }
        }
        if (from.empty() || to.empty()) {
          error(e, "an edge mapping needs 'from: A.PORT' and 'to: B.PORT'");
          continue;
        }
      } else {
        error(e, "an edge is \"A.PORT -> B.PORT\" or { from: A.PORT, to: B.PORT, queue: N, policy: P }");
        continue;
      }
      es.text = from + " -> " + to;
      bool ok = endpoint(from, from_node, true, &es.from_node, &es.from_port);
      ok = endpoint(to, to_node, false, &es.to_node, &es.to_port) && ok;
      if (!ok) continue;
      auto key = std::make_tuple(es.from_node, es.from_port, es.to_node, es.to_port);
      if (seen.count(key)) {
        error(es.at, "duplicate edge " + es.text + " (first at line " +
                         std::to_string(spec_.edges[seen[key]].at.line) + ")");
        continue;
      }
      seen[key] = static_cast<int>(spec_.edges.size());
      spec_.edges.push_back(es);
    }
  }

  void check_structure(const YAML::Node& root) {
    const int n = static_cast<int>(spec_.nodes.size());
    // Connectivity: inputs fed, outputs (errors above all) consumed.
    std::vector<std::vector<int>> in_count(n), out_count(n);
    for (int i = 0; i < n; ++i) {
      in_count[i].assign(spec_.nodes[i].contract->inputs.size(), 0);
      out_count[i].assign(spec_.nodes[i].contract->output_count(), 0);
    }
    for (const auto& e : spec_.edges) {
      in_count[e.to_node][e.to_port]++;
      out_count[e.from_node][e.from_port]++;
    }
    bool any_source = false;
    for (int i = 0; i < n; ++i) {
      const auto& ns = spec_.nodes[i];
      const auto& c = *ns.contract;
      any_source |= c.is_source();
      for (size_t p = 0; p < c.inputs.size(); ++p)
        if (!in_count[i][p] && !c.inputs[p].optional)
          error(ns.at, "input port '" + c.inputs[p].name + "' of node '" + ns.id +
                           "' is not connected (nothing would reach it)");
      for (int p = 0; p < c.output_count(); ++p) {
        if (out_count[i][p]) continue;
        if (p == c.errors_index()) {
          error(ns.at,
                "the errors port of node '" + ns.id + "' is not consumed; connect it, e.g. '" + ns.id +
                    ".errors -> log.in' with a node of type log, or give every errors port a home with "
                    "'defaults: { errors: log.in }'");
        } else if (!c.outputs[p].optional) {
          error(ns.at, "output port '" + c.outputs[p].name + "' of node '" + ns.id +
                           "' is not connected; connect it (a node of type discard discards messages)");
        }
      }
    }
    if (!any_source) error(root, "the graph has no source node (a node without inputs); nothing would flow");
    if (!diags_.empty()) return;

    // Cycles: every cycle needs an edge marked back: true. Kahn's algorithm over forward edges.
    std::vector<int> indeg(n, 0);
    std::vector<std::vector<int>> fwd(n);
    for (size_t k = 0; k < spec_.edges.size(); ++k) {
      const auto& e = spec_.edges[k];
      if (e.back) continue;
      fwd[e.from_node].push_back(static_cast<int>(k));
      indeg[e.to_node]++;
    }
    std::vector<int> order, ready;
    for (int i = 0; i < n; ++i)
      if (!indeg[i]) ready.push_back(i);
    while (!ready.empty()) {
      std::sort(ready.begin(), ready.end(), std::greater<int>());  // stable: file order
      int i = ready.back();
      ready.pop_back();
      order.push_back(i);
      for (int k : fwd[i])
        if (--indeg[spec_.edges[k].to_node] == 0) ready.push_back(spec_.edges[k].to_node);
    }
    if (static_cast<int>(order.size()) != n) {
      // Report one edge of the cycle: from a node left over to another left over.
      for (const auto& e : spec_.edges) {
        if (!e.back && indeg[e.from_node] > 0 && indeg[e.to_node] > 0) {
          error(e.at, "edge " + e.text +
                          " closes a cycle; mark one edge of the cycle with 'back: true' "
                          "({ from: A.PORT, to: B.PORT, back: true })");
          break;
        }
      }
      return;
    }
    spec_.topo_order = order;

    // Types: resolve "@in" outputs in topological order, then check every edge.
    for (int i : order) {
      auto& ns = spec_.nodes[i];
      const auto& c = *ns.contract;
      ns.out_types.clear();
      for (const auto& p : c.outputs) {
        std::string t = p.type;
        if (t == "@in") {
          std::set<std::string> incoming;
          for (const auto& e : spec_.edges)
            if (e.to_node == i && e.to_port == 0)
              incoming.insert(e.back ? "any" : spec_.nodes[e.from_node].out_types[e.from_port]);
          t = incoming.size() == 1 ? *incoming.begin() : "any";
        }
        ns.out_types.push_back(t);
      }
      if (c.errors_port) ns.out_types.push_back("error");
      ns.out_cpp.clear();
      for (const auto& t : ns.out_types) {
        const MessageType* mt = t == "any" ? nullptr : reg_.type(t);
        ns.out_cpp.push_back(mt ? mt->cpp : nullptr);
      }
    }
    for (const auto& e : spec_.edges) {
      const std::string& out = spec_.nodes[e.from_node].out_types[e.from_port];
      const std::string& in = spec_.nodes[e.to_node].contract->inputs[e.to_port].type;
      if (in != "any" && out != "any" && in != out)
        error(e.at, "type mismatch on edge " + e.text + ": " + spec_.port_name(e.from_node, e.from_port) +
                        " sends '" + out + "' but input '" +
                        spec_.nodes[e.to_node].contract->inputs[e.to_port].name + "' of node '" +
                        spec_.nodes[e.to_node].id + "' expects '" + in + "'");
    }
    check_ordering();
  }

  // An ordered input restores one sequence: all its messages must stem from one New-keys output, through
  // key-preserving ports and lossless (block) edges only.
  void check_ordering() {
    const int n = static_cast<int>(spec_.nodes.size());
    // origins[node][out_port] = set of origin port names; lossy[node][out_port] = a drop_oldest edge
    // upstream.
    std::vector<std::vector<std::set<std::string>>> origins(n);
    std::vector<std::vector<bool>> lossy(n);
    for (int i : spec_.topo_order) {
      const auto& c = *spec_.nodes[i].contract;
      origins[i].resize(c.output_count());
      lossy[i].assign(c.output_count(), false);
      std::set<std::string> in_origins;
      bool in_lossy = false;
      for (const auto& e : spec_.edges) {
        if (e.to_node != i) continue;
        if (e.back) {
          in_origins.insert(spec_.port_name(e.from_node, e.from_port) + " (back edge)");
          continue;
        }
        const auto& o = origins[e.from_node][e.from_port];
        in_origins.insert(o.begin(), o.end());
        in_lossy |= lossy[e.from_node][e.from_port] || e.policy == EdgePolicy::DropOldest;
      }
      for (int p = 0; p < c.output_count(); ++p) {
        const bool is_new = c.is_source() || (p != c.errors_index() && c.outputs[p].keys == KeyMode::New);
        if (is_new) {
          origins[i][p] = {spec_.port_name(i, p)};
        } else {
          origins[i][p] = in_origins;
          lossy[i][p] = in_lossy;
        }
      }
      const auto& ns = spec_.nodes[i];
      for (size_t p = 0; p < c.inputs.size(); ++p) {
        if (!ns.ordered[p]) continue;
        std::set<std::string> o;
        bool l = false;
        for (const auto& e : spec_.edges) {
          if (e.to_node != i || e.to_port != static_cast<int>(p)) continue;
          if (e.back) {
            o.insert("back edge " + e.text);
            continue;
          }
          o.insert(origins[e.from_node][e.from_port].begin(), origins[e.from_node][e.from_port].end());
          l |= lossy[e.from_node][e.from_port] || e.policy == EdgePolicy::DropOldest;
        }
        std::vector<std::string> ov(o.begin(), o.end());
        if (o.size() != 1)
          error(ns.at, "input '" + c.inputs[p].name + "' of node '" + ns.id +
                           "' is ordered, but its messages come from " + std::to_string(o.size()) +
                           " sequences (" + list_names(ov) +
                           "); order can be restored within one sequence only");
        else if (l)
          error(ns.at, "input '" + c.inputs[p].name + "' of node '" + ns.id +
                           "' is ordered, but a drop_oldest edge upstream loses messages; ordering needs "
                           "lossless (block) edges");
      }
    }
  }

  std::string file_;
  const Registry& reg_;
  struct NumberRef {
    std::string node, option;
    Location at;
  };
  std::map<std::pair<std::string, std::string>, NumberRef> number_refs_;  // (node, option) -> its reference
  YAML::Node errors_target_;                                              // defaults.errors, when given
  bool has_errors_target_ = false;
  std::set<std::string> declared_ids_;
  GraphSpec spec_;
  std::vector<Diagnostic> diags_;
};

}  // namespace

GraphSpec load_graph_text(const std::string& text, const std::string& name, const Registry& registry,
                          const std::vector<std::string>& sets) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw GraphError(
        {Diagnostic{Location{name, e.mark.line + 1, e.mark.column + 1}, "YAML syntax: " + e.msg}});
  }
  return Loader(name, registry).load(root, sets);
}

GraphSpec load_graph_file(const std::string& path, const Registry& registry,
                          const std::vector<std::string>& sets) {
  std::ifstream in(path);
  if (!in) throw GraphError({Diagnostic{Location{path, 0, 0}, "cannot open graph file"}});
  std::stringstream ss;
  ss << in.rdbuf();
  return load_graph_text(ss.str(), path, registry, sets);
}

}  // namespace vatt::pipeline
