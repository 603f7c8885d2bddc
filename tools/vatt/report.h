// `vatt report`: a training run and its evaluations as one self-contained HTML page of SVG charts (no script
// or style from anywhere else), plus a PNG of each chart for papers and READMEs (the same SVG rendered by
// librsvg). Inputs: RUN_DIR/steps.jsonl (the trainer's step log) and the evaluation reports found in RUN_DIR
// and its parent folder, or given explicitly: retrieval reports (retrieval_eval / zeroshot_eval `report`:
// R@K per direction, similarity densities, a 2-D map of embeddings) and linear-probe reports (linear_probe
// `report`: per-split top-1/top-5, the confusion matrix) and fine-tuned test reports (classify `report`).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vatt::cli::report {

/// A line of a line chart: points (x, y) in order of x.
struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct Point {
  double x = 0, y = 0;
  std::string group;
};

/// Chart SVGs, 720 x 360 user units, self-contained (fonts named generically: DejaVu Sans / sans-serif).
std::string line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                       const std::vector<Series>& series, bool log_y = false);
/// values[g][c]: group g's bar for category c; `reference` > 0 draws a dashed line at that value.
std::string bar_chart(const std::string& title, const std::vector<std::string>& categories,
                      const std::vector<std::string>& groups, const std::vector<std::vector<double>>& values,
                      const std::string& y_label, double y_max = 0, double reference = 0,
                      const std::string& reference_label = "");
std::string scatter_chart(const std::string& title, const std::vector<Point>& points);
std::string heatmap(const std::string& title, const std::vector<std::string>& labels,
                    const std::vector<std::vector<double>>& matrix);

/// One chart of the page.
struct Chart {
  std::string id;  ///< file-name part of its PNG ("loss", "retrieval-1", ...)
  std::string caption;
  std::string svg;
};

/// What a report shows, gathered from the run directory.
struct Inputs {
  std::string run_dir;
  std::vector<nlohmann::json> steps;                              ///< steps.jsonl, one object per line
  std::vector<std::pair<std::string, nlohmann::json>> retrieval;  ///< (file, report)
  std::vector<std::pair<std::string, nlohmann::json>> probes;     ///< (file, report)
  std::vector<std::pair<std::string, nlohmann::json>> classify;   ///< (file, report) of fine-tuned models
  std::vector<std::string> notes;                                 ///< what was not found or not read
};

/// Reads RUN_DIR/steps.jsonl (a malformed line is a std::runtime_error naming the file and line) and the
/// report JSON files in RUN_DIR and its parent, plus `extra` files (each must be a report: else an error).
Inputs gather(const std::string& run_dir, const std::vector<std::string>& extra);

/// The charts of `in`, in page order.
std::vector<Chart> charts(const Inputs& in);

/// The HTML page: a summary table, then each chart with its caption (SVG inline).
std::string page(const Inputs& in, const std::vector<Chart>& charts);

/// Renders an SVG to a PNG file at `scale` x its size on a white background (librsvg + cairo). Throws
/// std::runtime_error when the SVG does not parse or the file cannot be written.
void write_png(const std::string& svg, const std::string& path, double scale = 2.0);

}  // namespace vatt::cli::report
