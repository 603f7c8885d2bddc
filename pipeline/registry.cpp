// Node registry and contract helpers.
#include "pipeline/registry.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <stdexcept>

namespace vatt::pipeline {

const OptionSpec* NodeContract::option(const std::string& name) const {
  for (const auto& o : options)
    if (o.name == name) return &o;
  return nullptr;
}

std::string OptionSpec::check(const Value& v) const {
  auto number = [&](double x) -> std::string {
    if ((min && x < *min) || (max && x > *max)) return constraint();
    return "";
  };
  if (const auto* i = std::get_if<int64_t>(&v)) return number(static_cast<double>(*i));
  if (const auto* d = std::get_if<double>(&v)) return number(*d);
  if (const auto* s = std::get_if<std::string>(&v)) {
    if (choices.empty() || std::find(choices.begin(), choices.end(), *s) != choices.end()) return "";
    return constraint();
  }
  return "";
}

std::string OptionSpec::constraint() const {
  if (!choices.empty()) {
    std::string out = "one of ";
    for (size_t k = 0; k < choices.size(); ++k) out += (k ? ", " : "") + choices[k];
    return out;
  }
  const std::string what = type == OptionType::Int ? "an integer" : "a number";
  if (min && max) return what + " from " + value_to_string(*min) + " to " + value_to_string(*max);
  if (min) return what + " >= " + value_to_string(*min);
  if (max) return what + " <= " + value_to_string(*max);
  return "";
}

int NodeContract::input_index(const std::string& name) const {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].name == name) return static_cast<int>(i);
  return -1;
}

int NodeContract::output_index(const std::string& name) const {
  for (size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].name == name) return static_cast<int>(i);
  if (errors_port && name == "errors") return errors_index();
  return -1;
}

Registry::Registry() {
  add_type<Batch>("batch", "a group of messages (from `batch`)");
  add_type<Count>("count", "a number and an optional blob (from `counter`)");
  add_type<ErrorRecord>("error", "what failed, where and why (every errors port)");
}

void Registry::add_type(MessageType t) {
  if (t.name.empty() || t.name == "any" || t.name == "@in" || !t.cpp)
    throw std::logic_error("message type '" + t.name + "': a name other than any/@in and a C++ type needed");
  if (types_.count(t.name)) throw std::logic_error("message type '" + t.name + "' registered twice");
  if (type_names_.count(std::type_index(*t.cpp)))
    throw std::logic_error("message type '" + t.name + "': its C++ type " + type_name(*t.cpp) +
                           " is registered already as '" + type_names_.at(std::type_index(*t.cpp)) + "'");
  type_names_.emplace(std::type_index(*t.cpp), t.name);
  std::string name = t.name;
  types_.emplace(std::move(name), std::move(t));
}

const MessageType* Registry::type(const std::string& name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

const MessageType* Registry::type_of(const std::type_info& cpp) const {
  auto it = type_names_.find(std::type_index(cpp));
  return it == type_names_.end() ? nullptr : type(it->second);
}

std::vector<const MessageType*> Registry::types_all() const {
  std::vector<const MessageType*> out;
  for (const auto& [name, t] : types_) out.push_back(&t);
  return out;
}

std::string Registry::origin(const Message& m) const {
  const MessageType* t = m.payload_typeid() ? type_of(*m.payload_typeid()) : nullptr;
  if (!t || !t->origin)
    throw std::invalid_argument("a message of type " + (t ? "'" + t->name + "'" : m.payload_type()) +
                                " names no source it comes from");
  return t->origin(m);
}

void Registry::add(NodeContract c) {
  auto bad = [&](const std::string& why) { throw std::logic_error("node type '" + c.type + "': " + why); };
  if (c.type.empty()) bad("empty type name");
  if (contracts_.count(c.type)) bad("registered twice");
  if (!c.create) bad("no factory");
  if (c.max_concurrency < 0 || c.max_out < 1) bad("max_concurrency must be >= 0 and max_out >= 1");
  if (c.outputs.size() > 15) bad("at most 15 output ports (plus errors)");
  std::set<std::string> names;
  for (const auto& p : c.inputs) {
    if (!names.insert("in:" + p.name).second) bad("duplicate input port '" + p.name + "'");
    if (p.type != "any" && !type(p.type))
      bad("input '" + p.name + "' carries '" + p.type + "', which is not a registered message type");
  }
  for (const auto& p : c.outputs) {
    if (p.name == "errors") bad("'errors' is reserved for the error port");
    if (p.type != "@in" && !type(p.type))
      bad("output '" + p.name + "' carries '" + p.type + "', which is not a registered message type");
    if (!names.insert("out:" + p.name).second) bad("duplicate output port '" + p.name + "'");
    if (p.type == "@in" && c.inputs.empty()) bad("output '" + p.name + "' says @in but there is no input");
  }
  for (const auto& o : c.options) {
    if (!names.insert("opt:" + o.name).second) bad("duplicate option '" + o.name + "'");
    if (o.default_value && !o.check(*o.default_value).empty())
      bad("the default of option '" + o.name + "' is not " + o.constraint());
  }
  std::string type = c.type;
  contracts_.emplace(type, std::move(c));
}

const NodeContract* Registry::find(const std::string& type) const {
  auto it = contracts_.find(type);
  return it == contracts_.end() ? nullptr : &it->second;
}

std::vector<const NodeContract*> Registry::all() const {
  std::vector<const NodeContract*> out;
  for (const auto& [k, v] : contracts_) out.push_back(&v);
  return out;
}

std::vector<std::string> Registry::types() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : contracts_) out.push_back(k);
  return out;
}

std::string describe_contract(const NodeContract& c) {
  std::ostringstream os;
  os << c.type << "  " << c.doc << "\n";
  os << "  concurrency: "
     << (c.max_concurrency == 0   ? std::string("any")
         : c.max_concurrency == 1 ? "serial"
                                  : "up to " + std::to_string(c.max_concurrency))
     << (c.is_source() ? "  (source)" : "") << "\n";
  auto port = [&](const char* dir, const PortSpec& p) {
    os << "  " << dir << " " << p.name << ": " << p.type;
    if (p.keys == KeyMode::New && std::string(dir) == "out") os << " (new keys)";
    if (p.optional) os << " (optional)";
    if (!p.doc.empty()) os << "  -- " << p.doc;
    os << "\n";
  };
  for (const auto& p : c.inputs) port("in ", p);
  for (const auto& p : c.outputs) port("out", p);
  if (c.errors_port) os << "  out errors: error  -- problems with single messages (must be connected)\n";
  for (const auto& o : c.options) {
    os << "  option " << o.name << ": " << option_type_name(o.type);
    if (o.default_value)
      os << " = " << value_to_string(*o.default_value);
    else
      os << " (required)";
    if (auto c = o.constraint(); !c.empty()) os << " [" << c << "]";
    os << "  -- " << o.doc << "\n";
  }
  return os.str();
}

}  // namespace vatt::pipeline
