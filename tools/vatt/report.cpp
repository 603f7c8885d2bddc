#include "tools/vatt/report.h"

#include <librsvg/rsvg.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace vatt::cli::report {

namespace fs = std::filesystem;

namespace {

constexpr double kW = 720, kH = 360;
constexpr double kLeft = 70, kRight = 20, kTop = 58, kBottom = 50;
// Tableau's 10 colours and two more: distinct in print and for the common colour-vision deficiencies.
const char* const kColours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                                "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b"};
constexpr size_t kColourCount = sizeof kColours / sizeof kColours[0];

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string num(double v, int precision = 4) {
  std::ostringstream o;
  o.precision(precision);
  o << v;
  return o.str();
}

/// Tick values over [lo, hi]: about `n` steps of 1, 2 or 5 times a power of ten.
std::vector<double> ticks(double lo, double hi, int n = 5) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

/// The frame of a chart: title, axes, ticks and labels; maps data to user units.
class Frame {
 public:
  Frame(double x0, double x1, double y0, double y1, bool log_y = false)
      : x0_(x0), x1_(x1 > x0 ? x1 : x0 + 1), log_y_(log_y) {
    if (log_y_) {
      y0 = std::log10(std::max(y0, 1e-12));
      y1 = std::log10(std::max(y1, 1e-12));
    }
    y0_ = y0;
    y1_ = y1 > y0 ? y1 : y0 + 1;
  }
  double px(double x) const { return kLeft + (x - x0_) / (x1_ - x0_) * (kW - kLeft - kRight); }
  double py(double y) const {
    if (log_y_) y = std::log10(std::max(y, 1e-12));
    return kH - kBottom - (y - y0_) / (y1_ - y0_) * (kH - kTop - kBottom);
  }
  /// The SVG opening, title, axes with ticks.
  std::string open(const std::string& title, const std::string& x_label, const std::string& y_label,
                   bool x_ticks = true) const {
    std::ostringstream o;
    o << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << kW << " " << kH << "\" width=\"" << kW
      << "\" height=\"" << kH << "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
      << "<text x=\"" << kW / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
      << esc(title) << "</text>";
    const double b = kH - kBottom, r = kW - kRight;
    o << "<g stroke=\"#ddd\">";
    for (double t : y_ticks())
      o << "<line x1=\"" << kLeft << "\" x2=\"" << r << "\" y1=\"" << y_at(t) << "\" y2=\"" << y_at(t)
        << "\"/>";
    o << "</g><g stroke=\"#333\"><line x1=\"" << kLeft << "\" x2=\"" << r << "\" y1=\"" << b << "\" y2=\""
      << b << "\"/><line x1=\"" << kLeft << "\" x2=\"" << kLeft << "\" y1=\"" << kTop << "\" y2=\"" << b
      << "\"/></g>";
    for (double t : y_ticks())
      o << "<text x=\"" << kLeft - 6 << "\" y=\"" << y_at(t) + 4 << "\" text-anchor=\"end\">"
        << esc(num(log_y_ ? std::pow(10.0, t) : t, 3)) << "</text>";
    if (x_ticks)
      for (double t : ticks(x0_, x1_, 6))
        o << "<text x=\"" << px(t) << "\" y=\"" << b + 16 << "\" text-anchor=\"middle\">" << esc(num(t, 4))
          << "</text>";
    o << "<text x=\"" << (kLeft + r) / 2 << "\" y=\"" << kH - 12 << "\" text-anchor=\"middle\">"
      << esc(x_label) << "</text><text transform=\"translate(16 " << (kTop + b) / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << esc(y_label) << "</text>";
    return o.str();
  }

 private:
  std::vector<double> y_ticks() const {
    return log_y_ ? ticks(std::floor(y0_), std::ceil(y1_), 4) : ticks(y0_, y1_);
  }
  double y_at(double t) const {  // a tick value in the (possibly log) axis space
    return kH - kBottom - (t - y0_) / (y1_ - y0_) * (kH - kTop - kBottom);
  }
  double x0_, x1_, y0_ = 0, y1_ = 1;
  bool log_y_;
};

std::string legend(const std::vector<std::string>& names, double x = kLeft + 10, double y = kTop + 4) {
  std::ostringstream o;
  for (size_t i = 0; i < names.size() && i < 24; ++i) {
    const double row = y + static_cast<double>(i % 12) * 16, col = x + static_cast<double>(i / 12) * 130;
    o << "<rect x=\"" << col << "\" y=\"" << row << "\" width=\"10\" height=\"10\" fill=\""
      << kColours[i % kColourCount] << "\"/><text x=\"" << col + 14 << "\" y=\"" << row + 9 << "\">"
      << esc(names[i]) << "</text>";
  }
  return o.str();
}

/// A legend as one row under the title (it never covers the data).
std::string legend_row(const std::vector<std::string>& names) {
  std::ostringstream o;
  double x = kLeft;
  for (size_t i = 0; i < names.size(); ++i) {
    o << "<rect x=\"" << x << "\" y=\"33\" width=\"10\" height=\"10\" fill=\"" << kColours[i % kColourCount]
      << "\"/><text x=\"" << x + 14 << "\" y=\"42\">" << esc(names[i]) << "</text>";
    x += 14 + 7.2 * static_cast<double>(names[i].size()) + 18;
  }
  return o.str();
}

/// A message in place of a chart that has no data.
std::string empty_chart(const std::string& title, const std::string& why) {
  Frame f(0, 1, 0, 1);
  return f.open(title, "", "", false) + "<text x=\"" + num(kW / 2) + "\" y=\"" + num(kH / 2) +
         "\" text-anchor=\"middle\" fill=\"#777\">" + esc(why) + "</text></svg>";
}

}  // namespace

std::string line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                       const std::vector<Series>& series, bool log_y) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || (log_y && s.y[i] <= 0)) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  if (!std::isfinite(x0)) return empty_chart(title, "no data");
  if (!log_y) {
    const double pad = (y1 - y0) * 0.05 + (y1 == y0 ? std::abs(y1) * 0.1 + 1e-9 : 0);
    y0 = y0 >= 0 && y0 - pad < 0 ? 0 : y0 - pad;
    y1 += pad;
  }
  Frame f(x0, x1, y0, y1, log_y);
  std::ostringstream o;
  o << f.open(title, x_label, y_label);
  std::vector<std::string> names;
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    names.push_back(s.name);
    o << "<polyline fill=\"none\" stroke-width=\"1.6\" stroke=\"" << kColours[k % kColourCount]
      << "\" points=\"";
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || (log_y && s.y[i] <= 0)) continue;
      o << num(f.px(s.x[i]), 6) << "," << num(f.py(s.y[i]), 6) << " ";
    }
    o << "\"/>";
  }
  if (series.size() > 1) o << legend_row(names);
  o << "</svg>";
  return o.str();
}

std::string bar_chart(const std::string& title, const std::vector<std::string>& categories,
                      const std::vector<std::string>& groups, const std::vector<std::vector<double>>& values,
                      const std::string& y_label, double y_max, double reference,
                      const std::string& reference_label) {
  if (categories.empty() || groups.empty()) return empty_chart(title, "no data");
  double top = y_max;
  for (const auto& g : values)
    for (double v : g) top = std::max(top, v);
  if (top <= 0) top = 1;
  Frame f(0, 1, 0, top);
  std::ostringstream o;
  o << f.open(title, "", y_label, false);
  const double plot = kW - kLeft - kRight, slot = plot / static_cast<double>(categories.size());
  const double bar = slot * 0.8 / static_cast<double>(groups.size());
  for (size_t c = 0; c < categories.size(); ++c) {
    const double x = kLeft + slot * static_cast<double>(c);
    for (size_t g = 0; g < groups.size(); ++g) {
      const double v = g < values.size() && c < values[g].size() ? values[g][c] : 0;
      const double bx = x + slot * 0.1 + bar * static_cast<double>(g), by = f.py(v);
      o << "<rect x=\"" << num(bx, 6) << "\" y=\"" << num(by, 6) << "\" width=\"" << num(bar * 0.92, 6)
        << "\" height=\"" << num(kH - kBottom - by, 6) << "\" fill=\"" << kColours[g % kColourCount]
        << "\"><title>" << esc(groups[g] + " " + categories[c] + ": " + num(v)) << "</title></rect>";
      if (bar > 22)
        o << "<text x=\"" << num(bx + bar * 0.46, 6) << "\" y=\"" << num(by - 3, 6)
          << "\" text-anchor=\"middle\" font-size=\"10\">" << esc(num(v, 3)) << "</text>";
    }
    o << "<text x=\"" << num(x + slot / 2, 6) << "\" y=\"" << kH - kBottom + 16
      << "\" text-anchor=\"middle\">" << esc(categories[c]) << "</text>";
  }
  if (reference > 0) {
    const double y = f.py(reference);
    o << "<line x1=\"" << kLeft << "\" x2=\"" << kW - kRight << "\" y1=\"" << y << "\" y2=\"" << y
      << "\" stroke=\"#333\" stroke-dasharray=\"5 4\"/><text x=\"" << kW - kRight << "\" y=\"42\" "
      << "text-anchor=\"end\" fill=\"#333\">- - - " << esc(reference_label) << " (" << esc(num(reference, 3))
      << ")</text>";
  }
  if (groups.size() > 1) o << legend_row(groups);
  o << "</svg>";
  return o.str();
}

std::string scatter_chart(const std::string& title, const std::vector<Point>& points) {
  if (points.empty()) return empty_chart(title, "no data");
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  std::vector<std::string> groups;
  std::map<std::string, size_t> index;
  for (const auto& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
    if (index.emplace(p.group, groups.size()).second) groups.push_back(p.group);
  }
  const double px = (x1 - x0) * 0.05 + 1e-9, py = (y1 - y0) * 0.05 + 1e-9;
  // Room on the right for the legend (one or two columns of 12): the points keep to the left of it.
  const double legend_part = groups.size() > 24 ? 0 : groups.size() > 12 ? 0.45 : 0.25;
  const double span = (x1 - x0 + 2 * px) / (1 - legend_part);
  Frame f(x0 - px, x0 - px + span, y0 - py, y1 + py);
  std::ostringstream o;
  o << f.open(title, "first principal component", "second principal component");
  for (const auto& p : points)
    o << "<circle cx=\"" << num(f.px(p.x), 6) << "\" cy=\"" << num(f.py(p.y), 6) << "\" r=\"4\" fill=\""
      << kColours[index.at(p.group) % kColourCount] << "\" fill-opacity=\"0.8\"><title>" << esc(p.group)
      << "</title></circle>";
  if (groups.size() <= 24) o << legend(groups, kW - kRight - (groups.size() > 12 ? 260 : 130) + 10, kTop);
  o << "</svg>";
  return o.str();
}

std::string heatmap(const std::string& title, const std::vector<std::string>& labels,
                    const std::vector<std::vector<double>>& matrix) {
  const size_t n = labels.size();
  if (n == 0) return empty_chart(title, "no data");
  double top = 0;
  for (const auto& r : matrix)
    for (double v : r) top = std::max(top, v);
  const double size = std::min(kH - kTop - 70, 600.0), cell = size / static_cast<double>(n);
  const double x0 = 190, y0 = kTop + 10;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << kW << " " << kH << "\" width=\"" << kW
    << "\" height=\"" << kH << "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"10\">"
    << "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"" << kW / 2
    << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" << esc(title) << "</text>";
  for (size_t t = 0; t < n; ++t) {
    for (size_t p = 0; p < n; ++p) {
      const double v = t < matrix.size() && p < matrix[t].size() ? matrix[t][p] : 0;
      const double a = top > 0 ? v / top : 0;
      o << "<rect x=\"" << num(x0 + cell * static_cast<double>(p), 6) << "\" y=\""
        << num(y0 + cell * static_cast<double>(t), 6) << "\" width=\"" << num(cell, 6) << "\" height=\""
        << num(cell, 6) << "\" fill=\"rgb(" << static_cast<int>(255 - a * 177) << ","
        << static_cast<int>(255 - a * 134) << "," << static_cast<int>(255 - a * 88)
        << ")\" stroke=\"#eee\"><title>" << esc(labels[t] + " -> " + labels[p] + ": " + num(v))
        << "</title></rect>";
      if (cell >= 16 && v > 0)
        o << "<text x=\"" << num(x0 + cell * (static_cast<double>(p) + 0.5), 6) << "\" y=\""
          << num(y0 + cell * (static_cast<double>(t) + 0.5) + 3, 6) << "\" text-anchor=\"middle\" fill=\""
          << (a > 0.6 ? "#fff" : "#222") << "\">" << esc(num(v, 3)) << "</text>";
    }
    o << "<text x=\"" << x0 - 4 << "\" y=\"" << num(y0 + cell * (static_cast<double>(t) + 0.5) + 3, 6)
      << "\" text-anchor=\"end\">" << esc(labels[t]) << "</text>";
  }
  o << "<text transform=\"translate(14 " << y0 + size / 2
    << ") rotate(-90)\" text-anchor=\"middle\" "
       "font-size=\"12\">true class</text><text x=\""
    << x0 + size / 2 << "\" y=\"" << y0 + size + 16
    << "\" text-anchor=\"middle\" font-size=\"12\">predicted class "
    << "(columns in the order of the rows)</text></svg>";
  return o.str();
}

// ------------------------------------------------------------------------------------------------------------

namespace {

bool is_retrieval(const nlohmann::json& j) {
  return j.is_object() && j.contains("t2v") && j["t2v"].is_object() && j["t2v"].contains("R@1");
}
bool is_classify(const nlohmann::json& j) {
  return j.is_object() && j.contains("views_per_source") && j.contains("classes");
}
bool is_probe(const nlohmann::json& j) {
  return j.is_object() && j.contains("method") && j.contains("splits") && j["splits"].is_array();
}

std::vector<double> column(const std::vector<nlohmann::json>& rows, const std::string& key, bool* any) {
  std::vector<double> v;
  for (const auto& r : rows) v.push_back(r.contains(key) && r[key].is_number() ? r[key].get<double>() : NAN);
  *any = std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  return v;
}

double mean_of(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  size_t n = 0;
  for (size_t i = from; i < to && i < v.size(); ++i)
    if (std::isfinite(v[i])) s += v[i], ++n;
  return n ? s / static_cast<double>(n) : NAN;
}

std::string short_name(const std::string& file) {
  return fs::path(file).filename().string();
}

}  // namespace

Inputs gather(const std::string& run_dir, const std::vector<std::string>& extra) {
  Inputs in;
  in.run_dir = run_dir;
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) throw std::runtime_error(run_dir + ": not a directory");
  const std::string steps = run_dir + "/steps.jsonl";
  if (std::ifstream s(steps); s) {
    int line_no = 0;
    for (std::string line; std::getline(s, line);) {
      ++line_no;
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("step"))
        throw std::runtime_error(steps + ":" + std::to_string(line_no) +
                                 ": expected a JSON object with a \"step\" (one line per logged step)");
      in.steps.push_back(std::move(j));
    }
  } else {
    in.notes.push_back(steps +
                       " not found: no training charts (train_vatt writes it into its checkpoint_dir)");
  }
  std::set<std::string> seen;
  auto take = [&](const fs::path& p, bool must) {
    const std::string key = fs::weakly_canonical(p, ec).string();
    if (!seen.insert(key).second) return;
    std::ifstream f(p);
    auto j = nlohmann::json::parse(f, nullptr, false);
    if (is_retrieval(j))
      in.retrieval.emplace_back(p.string(), std::move(j));
    else if (is_probe(j))
      in.probes.emplace_back(p.string(), std::move(j));
    else if (is_classify(j))
      in.classify.emplace_back(p.string(), std::move(j));
    else if (must)
      throw std::runtime_error(p.string() +
                               ": not an evaluation report (expected the JSON report of retrieval_eval, "
                               "zeroshot_eval, linear_probe or classify)");
  };
  const fs::path dirs[] = {fs::path(run_dir), fs::path(run_dir).parent_path()};
  for (const fs::path& dir : dirs) {
    if (dir.empty() || !fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file(ec) && e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& p : files) take(p, false);
  }
  for (const auto& e : extra) {
    if (!fs::is_regular_file(e, ec)) throw std::runtime_error(e + ": no such file");
    take(e, true);
  }
  if (in.retrieval.empty() && in.probes.empty() && in.classify.empty())
    in.notes.push_back("no evaluation report in " + run_dir +
                       " or its parent (score.report / probe.report "
                       "of the evaluation graphs write them)");
  return in;
}

std::vector<Chart> charts(const Inputs& in) {
  std::vector<Chart> out;
  if (!in.steps.empty()) {
    std::vector<double> step;
    for (const auto& r : in.steps) step.push_back(r["step"].get<double>());
    std::vector<Series> losses;
    for (const char* k : {"loss", "nce", "mil_nce"}) {
      bool any = false;
      auto v = column(in.steps, k, &any);
      if (any)
        losses.push_back({k == std::string("nce")       ? "NCE (video-audio)"
                          : k == std::string("mil_nce") ? "MIL-NCE (video-text)"
                                                        : "total loss",
                          step, v});
    }
    out.push_back({"loss", "Loss terms over training steps (as logged every log_every steps).",
                   line_chart("Loss", "step", "loss", losses)});
    bool any = false;
    auto lr = column(in.steps, "lr", &any);
    if (any)
      out.push_back({"lr", "Learning rate: warm-up, then the half-period cosine.",
                     line_chart("Learning rate", "step", "lr", {{"lr", step, lr}})});
    auto gn = column(in.steps, "grad_norm", &any);
    if (any)
      out.push_back({"grad-norm", "Gradient norm before clipping (log scale).",
                     line_chart("Gradient norm", "step", "global L2 norm", {{"grad norm", step, gn}}, true)});
    auto cps = column(in.steps, "clips_per_s", &any);
    if (any) {
      std::vector<Series> s = {{"clips/s", step, cps}};
      out.push_back({"throughput", "Training throughput (clips per second, per logged step).",
                     line_chart("Throughput", "step", "clips/s", s)});
    }
  }
  const char* const dirs[] = {"t2v", "v2t", "v2a", "a2v"};
  int n = 0;
  for (const auto& [file, r] : in.retrieval) {
    ++n;
    const std::string tag = in.retrieval.size() > 1 ? " (" + short_name(file) + ")" : "";
    std::vector<std::string> cats;
    std::vector<std::vector<double>> vals(3);
    for (const char* d : dirs) {
      if (!r.contains(d) || !r[d].contains("R@1")) continue;
      const auto& x = r[d];
      cats.push_back(std::string(d) + " (" + std::to_string(x.value("queries", 0)) + " q, " +
                     std::to_string(x.value("gallery", 0)) + " g)");
      vals[0].push_back(x.value("R@1", 0.0));
      vals[1].push_back(x.value("R@5", 0.0));
      vals[2].push_back(x.value("R@10", 0.0));
    }
    const double chance = r["t2v"].value("chance_R@5", 0.0);
    out.push_back({"retrieval-" + std::to_string(n),
                   "Zero-shot retrieval recall at 1, 5 and 10 per direction" + tag +
                       "; q = queries, g = gallery items; the dashed line is chance R@5.",
                   bar_chart("Zero-shot retrieval" + tag, cats, {"R@1", "R@5", "R@10"}, vals, "recall (%)",
                             100, chance, "chance R@5")});
    if (r.contains("densities"))
      for (const auto& [space, d] : r["densities"].items()) {
        const auto pos = d.value("positive", std::vector<double>{}),
                   neg = d.value("negative", std::vector<double>{});
        if (pos.empty()) continue;
        std::vector<double> x;
        for (size_t i = 0; i < pos.size(); ++i)
          x.push_back(-1 + 2 * (static_cast<double>(i) + 0.5) / static_cast<double>(pos.size()));
        const std::string name = space == "vt" ? "video-text" : space == "va" ? "video-audio" : space;
        out.push_back(
            {"density-" + space + "-" + std::to_string(n),
             "Densities of the cosine similarity of positive pairs (a clip with its own " +
                 std::string(space == "vt" ? "text" : "audio") + ", " +
                 std::to_string(d.value("positives", 0)) + " pairs) and negative pairs (other clips, " +
                 std::to_string(d.value("negatives", 0)) + " pairs) in the " + name + " space" + tag + ".",
             line_chart("Similarities in the " + name + " space" + tag, "cosine similarity", "density",
                        {{"positive pairs", x, pos}, {"negative pairs", x, neg}})});
      }
    if (r.contains("map") && r["map"].contains("points")) {
      std::vector<Point> pts;
      for (const auto& p : r["map"]["points"])
        pts.push_back({p.value("x", 0.0), p.value("y", 0.0), p.value("group", "")});
      out.push_back({"map-" + std::to_string(n),
                     "The clips' " + r["map"].value("space", std::string("video_vt")) +
                         " embeddings on their two leading principal components, coloured by " +
                         r["map"].value("by", std::string("label")) + tag + ".",
                     scatter_chart("Embedding map" + tag, pts)});
    }
  }
  n = 0;
  for (const auto& [file, r] : in.probes) {
    ++n;
    const std::string tag = " (" + r.value("method", std::string()) + ", " +
                            r.value("features", std::string()) + " features" +
                            (in.probes.size() > 1 ? ", " + short_name(file) : std::string()) + ")";
    std::vector<std::string> cats;
    std::vector<std::vector<double>> vals(2);
    for (const auto& s : r["splits"]) {
      cats.push_back("split " + s.value("name", std::string()) + " (" + std::to_string(s.value("test", 0)) +
                     ")");
      vals[0].push_back(s.value("top1", 0.0));
      vals[1].push_back(s.value("top5", 0.0));
    }
    cats.push_back("mean");
    vals[0].push_back(r.value("top1", 0.0));
    vals[1].push_back(r.value("top5", 0.0));
    out.push_back({"probe-" + std::to_string(n),
                   "Linear probe accuracy per split (test items in brackets) and the mean" + tag +
                       "; the dashed line is chance.",
                   bar_chart("Linear probe" + tag, cats, {"top-1", "top-5"}, vals, "accuracy (%)", 100,
                             r.value("chance", 0.0), "chance")});
    if (r.contains("confusion") && r.contains("classes")) {
      const auto labels = r["classes"].get<std::vector<std::string>>();
      const auto m = r["confusion"].get<std::vector<std::vector<double>>>();
      out.push_back({"confusion-" + std::to_string(n),
                     "Confusion matrix of the linear probe, summed over splits" + tag +
                         ": rows true, columns predicted.",
                     heatmap("Confusion matrix" + tag, labels, m)});
    }
  }
  n = 0;
  for (const auto& [file, r] : in.classify) {
    ++n;
    const std::string tag =
        " (" + short_name(file) + ", " + std::to_string(r.value("sources", 0)) + " sources)";
    if (r.contains("mAP")) {
      out.push_back({"classify-" + std::to_string(n),
                     "Fine-tuned multi-label test: mAP and mean ROC AUC" + tag + ".",
                     bar_chart("Fine-tuned" + tag, {"mAP", "AUC"}, {"%"},
                               {{r.value("mAP", 0.0), r.value("AUC", 0.0)}}, "%", 100)});
    } else {
      out.push_back(
          {"classify-" + std::to_string(n),
           "Fine-tuned test accuracy, logits averaged over clips x crops" + tag + "; dashed: chance.",
           bar_chart("Fine-tuned" + tag, {"top-1", "top-5"}, {"%"},
                     {{r.value("top1", 0.0), r.value("top5", 0.0)}}, "accuracy (%)", 100,
                     r.value("chance", 0.0), "chance")});
      if (r.contains("confusion"))
        out.push_back({"classify-confusion-" + std::to_string(n),
                       "Confusion matrix of the fine-tuned model" + tag + ": rows true, columns predicted.",
                       heatmap("Fine-tuned confusion" + tag, r["classes"].get<std::vector<std::string>>(),
                               r["confusion"].get<std::vector<std::vector<double>>>())});
    }
  }
  return out;
}

std::string page(const Inputs& in, const std::vector<Chart>& cs) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>vatt report: "
    << esc(in.run_dir)
    << "</title><style>body{font-family:'DejaVu Sans',sans-serif;margin:24px;max-width:800px;color:#222}"
       "figure{margin:24px "
       "0}figcaption{font-size:13px;color:#444}table{border-collapse:collapse;font-size:13px}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}"
       "td:first-child,th:first-child{text-align:left}svg{max-width:100%;height:auto}</style></head><body>\n"
    << "<h1>vatt report</h1><p>Run directory: <code>" << esc(in.run_dir) << "</code></p>\n";
  if (!in.steps.empty()) {
    bool any = false;
    const auto loss = column(in.steps, "loss", &any), cps = column(in.steps, "clips_per_s", &any);
    const size_t tenth = std::max<size_t>(1, in.steps.size() / 10);
    o << "<h2>Training</h2><table><tr><th>logged steps</th><th>last step</th><th>loss, first 10%</th>"
         "<th>loss, last 10%</th><th>clips/s (mean)</th></tr><tr><td>"
      << in.steps.size() << "</td><td>" << in.steps.back()["step"].get<int64_t>() << "</td><td>"
      << num(mean_of(loss, 0, tenth)) << "</td><td>" << num(mean_of(loss, loss.size() - tenth, loss.size()))
      << "</td><td>" << num(mean_of(cps, 0, cps.size())) << "</td></tr></table>\n";
  }
  for (const auto& [file, r] : in.retrieval) {
    o << "<h2>Retrieval: " << esc(short_name(file))
      << "</h2><table><tr><th>direction</th><th>queries</th>"
         "<th>gallery</th><th>R@1</th><th>R@5</th><th>R@10</th><th>MedR</th></tr>";
    for (const char* d : {"t2v", "v2t", "v2a", "a2v"}) {
      if (!r.contains(d)) continue;
      const auto& x = r[d];
      o << "<tr><td>" << d << "</td><td>" << x.value("queries", 0) << "</td><td>" << x.value("gallery", 0)
        << "</td><td>" << num(x.value("R@1", 0.0), 3) << "%</td><td>" << num(x.value("R@5", 0.0), 3)
        << "%</td><td>" << num(x.value("R@10", 0.0), 3) << "%</td><td>" << num(x.value("MedR", 0.0), 3)
        << "</td></tr>";
    }
    o << "</table>\n";
  }
  for (const auto& [file, r] : in.probes) {
    o << "<h2>Linear probe: " << esc(short_name(file))
      << "</h2><table><tr><th>method</th><th>features</th>"
         "<th>classes</th><th>sources</th><th>top-1 (mean)</th><th>top-5</th><th>chance</th></tr><tr><td>"
      << esc(r.value("method", std::string())) << "</td><td>" << esc(r.value("features", std::string()))
      << "</td><td>" << r["classes"].size() << "</td><td>" << r.value("sources", 0) << "</td><td>"
      << num(r.value("top1", 0.0), 3) << "%</td><td>" << num(r.value("top5", 0.0), 3) << "%</td><td>"
      << num(r.value("chance", 0.0), 3) << "%</td></tr></table>\n";
  }
  for (const auto& [file, r] : in.classify) {
    o << "<h2>Fine-tuned: " << esc(short_name(file)) << "</h2><table><tr><th>sources</th><th>views each</th>"
      << (r.contains("mAP") ? "<th>mAP</th><th>AUC</th><th>d-prime</th>"
                            : "<th>top-1</th><th>top-5</th><th>chance</th>")
      << "</tr><tr><td>" << r.value("sources", 0) << "</td><td>" << num(r.value("views_per_source", 0.0), 3)
      << "</td>";
    if (r.contains("mAP"))
      o << "<td>" << num(r.value("mAP", 0.0), 3) << "%</td><td>" << num(r.value("AUC", 0.0), 3)
        << "%</td><td>" << num(r.value("d_prime", 0.0), 3) << "</td>";
    else
      o << "<td>" << num(r.value("top1", 0.0), 3) << "%</td><td>" << num(r.value("top5", 0.0), 3)
        << "%</td><td>" << num(r.value("chance", 0.0), 3) << "%</td>";
    o << "</tr></table>\n";
  }
  for (const auto& note : in.notes) o << "<p class=\"note\">" << esc(note) << "</p>\n";
  for (const auto& c : cs)
    o << "<figure class=\"chart\" id=\"" << esc(c.id) << "\">" << c.svg << "<figcaption>" << esc(c.caption)
      << "</figcaption></figure>\n";
  // Says, once the page is laid out, how many charts drew something (data-drawn on <body>): what a headless
  // browser checks.
  o << "<script>window.addEventListener('load',function(){var n=0;document.querySelectorAll('figure.chart "
       "svg')"
       ".forEach(function(s){var b=s.getBBox();if(b.width>0&&b.height>0&&s.childElementCount>3)n++;});"
       "document.body.setAttribute('data-drawn',String(n));});</script>\n";
  o << "</body></html>\n";
  return o.str();
}

void write_png(const std::string& svg, const std::string& path, double scale) {
  GError* err = nullptr;
  RsvgHandle* h = rsvg_handle_new_from_data(reinterpret_cast<const guint8*>(svg.data()), svg.size(), &err);
  if (!h) {
    const std::string why = err ? err->message : "unknown error";
    if (err) g_error_free(err);
    throw std::runtime_error(path + ": the chart's SVG does not parse: " + why);
  }
  const int w = static_cast<int>(kW * scale), hh = static_cast<int>(kH * scale);
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, hh);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  RsvgRectangle viewport{0, 0, static_cast<double>(w), static_cast<double>(hh)};
  const bool ok = rsvg_handle_render_document(h, cr, &viewport, &err);
  cairo_destroy(cr);
  g_object_unref(h);
  std::string why;
  if (!ok) why = err ? err->message : "render failed";
  if (err) g_error_free(err);
  const cairo_status_t st = ok ? cairo_surface_write_to_png(surface, path.c_str()) : CAIRO_STATUS_SUCCESS;
  cairo_surface_destroy(surface);
  if (!ok) throw std::runtime_error(path + ": cannot render the chart: " + why);
  if (st != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error(path + ": cannot write: " + cairo_status_to_string(st));
}

}  // namespace vatt::cli::report
