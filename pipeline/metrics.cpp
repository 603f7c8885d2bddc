// Rendering of run figures: JSON for --metrics, the summary table, the one-line progress report.
#include "pipeline/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace vatt::pipeline {

const NodeMetrics* RunMetrics::node(const std::string& id) const {
  for (const auto& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

const EdgeMetrics* RunMetrics::edge(const std::string& text) const {
  for (const auto& e : edges)
    if (e.text == text) return &e;
  return nullptr;
}

void to_json(nlohmann::json& j, const RunMetrics& m) {
  j = nlohmann::json::object();
  j["graph"] = m.graph;
  j["status"] = m.status;
  j["exit_code"] = m.exit_code;
  if (!m.failure.empty()) j["failure"] = m.failure;
  j["elapsed_s"] = m.elapsed_s;
  auto& nodes = j["nodes"] = nlohmann::json::object();
  for (const auto& n : m.nodes) {
    auto& o = nodes[n.id];
    o["type"] = n.type;
    o["in"] = n.in;
    o["out"] = n.out;
    o["errors"] = n.errors;
    o["errors_by_kind"] = n.errors_by_kind;
    o["busy_s"] = n.busy_s;
    o["per_s"] = n.per_s;
    o["queue"] = n.queue;
    if (n.expected_total) o["expected_total"] = *n.expected_total;
    if (n.progress_total)
      o["progress"] = {{"done", n.progress_done.value_or(0)}, {"total", *n.progress_total}};
    // A gauge named "group.name" appears as o["group"]["name"] (e.g. retrieval's "t2v": {"R@1": ...}).
    for (const auto& [k, v] : n.gauges) {
      const auto dot = k.find('.');
      if (dot != std::string::npos && dot > 0 && dot + 1 < k.size())
        o[k.substr(0, dot)][k.substr(dot + 1)] = v;
      else
        o[k] = v;
    }
  }
  auto& edges = j["edges"] = nlohmann::json::array();
  for (const auto& e : m.edges) {
    edges.push_back({{"edge", e.text},
                     {"capacity", e.capacity},
                     {"policy", e.policy},
                     {"depth", e.depth},
                     {"max_depth", e.max_depth},
                     {"passed", e.passed},
                     {"dropped", e.dropped}});
  }
}

namespace {

std::string si(double v) {
  if (v >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
  if (v >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  if (v >= 100) return fmt::format("{:.0f}", v);
  return fmt::format("{:.1f}", v);
}

std::string duration(double s) {
  if (s < 0 || s > 1e7) return "?";
  int t = static_cast<int>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t / 60) % 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

}  // namespace

std::string summary_table(const RunMetrics& m) {
  std::string out = fmt::format("graph '{}' {} in {:.2f} s{}\n", m.graph, m.status, m.elapsed_s,
                                m.failure.empty() ? "" : ": " + m.failure);
  size_t w = 4;
  for (const auto& n : m.nodes) w = std::max(w, n.id.size() + n.type.size() + 3);
  out += fmt::format("{:<{}} {:>10} {:>10} {:>10} {:>8} {:>10}  {}\n", "node", w, "in", "out", "per_s",
                     "busy_s", "errors", "errors by kind");
  for (const auto& n : m.nodes) {
    std::string kinds;
    for (const auto& [k, v] : n.errors_by_kind)
      kinds += fmt::format("{}{}={}", kinds.empty() ? "" : " ", k, v);
    out += fmt::format("{:<{}} {:>10} {:>10} {:>10} {:>8.2f} {:>10}  {}\n", n.id + " (" + n.type + ")", w,
                       n.in, n.out, si(n.per_s), n.busy_s, n.errors, kinds);
    for (const auto& [k, v] : n.gauges) out += fmt::format("{:<{}}   {} = {:.6g}\n", "", w, k, v);
  }
  for (const auto& e : m.edges)
    if (e.dropped)
      out += fmt::format("edge {} dropped {} (bound {}, drop_oldest)\n", e.text, e.dropped, e.capacity);
  return out;
}

std::string progress_line(const RunMetrics& now, const RunMetrics* prev, size_t width) {
  const double dt = prev ? now.elapsed_s - prev->elapsed_s : now.elapsed_s;
  // The head (elapsed, ETA, errors) and then nodes that know their end (e.g. training) go first, so a narrow
  // terminal keeps what matters most.
  std::string first, line;
  uint64_t errors = 0;
  double eta = -1;
  for (size_t i = 0; i < now.nodes.size(); ++i) {
    const auto& n = now.nodes[i];
    std::string& out = n.progress_total ? first : line;
    errors += n.errors;
    const uint64_t count = n.source ? n.out : n.in;
    const uint64_t before =
        prev && i < prev->nodes.size() ? (n.source ? prev->nodes[i].out : prev->nodes[i].in) : 0;
    const double rate = dt > 0 ? (count - before) / dt : 0;
    out += fmt::format(" | {} {}/s", n.id, si(rate));
    if (n.source && n.expected_total && *n.expected_total > 0) {
      const double frac = std::min(1.0, static_cast<double>(count) / *n.expected_total);
      out += fmt::format(" {:.0f}%", 100 * frac);
      const double avg = now.elapsed_s > 0 ? count / now.elapsed_s : 0;
      if (avg > 0)
        eta = std::max(eta, (*n.expected_total - std::min<uint64_t>(count, *n.expected_total)) / avg);
    }
    if (n.progress_total && *n.progress_total > 0 && n.progress_done) {
      const double done = static_cast<double>(std::min(*n.progress_done, *n.progress_total));
      const double total = static_cast<double>(*n.progress_total);
      out += fmt::format(" {:.0f}%", 100 * done / total);
      const double gained = done - static_cast<double>(n.progress_start.value_or(0));
      if (gained > 0 && now.elapsed_s > 0) eta = std::max(eta, (total - done) / (gained / now.elapsed_s));
    }
    if (!n.source) out += fmt::format(" q{}", n.queue);
    for (const auto& [k, v] : n.gauges)
      if (n.progress_gauges.empty() ||
          std::find(n.progress_gauges.begin(), n.progress_gauges.end(), k) != n.progress_gauges.end())
        out += fmt::format(" {}={:.4g}", k, v);
  }
  std::string head = fmt::format("[{}] {}", now.graph, duration(now.elapsed_s));
  if (eta >= 0) head += " ETA " + duration(eta);
  head += fmt::format(" | errors {}", errors);
  line = head + first + line;
  if (width && line.size() > width) line = line.substr(0, width - 3) + "...";
  return line;
}

}  // namespace vatt::pipeline
