// Strict conversion of YAML scalars to option values: "1.5" is not an int, "yes" is a bool, nothing silent.
#include "pipeline/value.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace vatt::pipeline {

const char* option_type_name(OptionType t) {
  switch (t) {
    case OptionType::Int:
      return "int";
    case OptionType::Float:
      return "float";
    case OptionType::Bool:
      return "bool";
    case OptionType::String:
      return "string";
    case OptionType::StringList:
      return "list of strings";
  }
  return "?";
}

std::string value_to_string(const Value& v) {
  struct V {
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%g", d);
      return buf;
    }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::string& s) const { return s.empty() ? "\"\"" : s; }
    std::string operator()(const std::vector<std::string>& l) const {
      std::string out = "[";
      for (size_t i = 0; i < l.size(); ++i) out += (i ? ", " : "") + l[i];
      return out + "]";
    }
  };
  return std::visit(V{}, v);
}

namespace {

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 0);
  if (errno || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<double> parse_float(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(const std::string& s) {
  if (s == "true" || s == "True" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "False" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::string describe(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

}  // namespace

std::optional<Value> convert_yaml(const YAML::Node& node, OptionType type, std::string* why) {
  auto fail = [&](const char* expected) -> std::optional<Value> {
    if (why) *why = std::string("expected ") + expected + ", got " + describe(node);
    return std::nullopt;
  };
  if (type == OptionType::StringList) {
    if (node.IsScalar()) return Value(std::vector<std::string>{node.Scalar()});
    if (!node.IsSequence()) return fail("a list of strings");
    std::vector<std::string> out;
    for (const auto& item : node) {
      if (!item.IsScalar()) return fail("a list of strings");
      out.push_back(item.Scalar());
    }
    return Value(std::move(out));
  }
  if (!node.IsScalar()) return fail(option_type_name(type));
  const std::string& s = node.Scalar();
  switch (type) {
    case OptionType::Int:
      if (auto v = parse_int(s)) return Value(*v);
      return fail("an integer");
    case OptionType::Float:
      if (auto v = parse_float(s)) return Value(*v);
      return fail("a number");
    case OptionType::Bool:
      if (auto v = parse_bool(s)) return Value(*v);
      return fail("true or false");
    case OptionType::String:
      return Value(s);
    case OptionType::StringList:
      break;
  }
  return fail(option_type_name(type));
}

}  // namespace vatt::pipeline
