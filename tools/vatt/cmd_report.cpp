// vatt report RUN_DIR [--out FILE.html] [--eval REPORT.json ...]: a training run and its evaluations as one
// self-contained HTML page of SVG charts, and a PNG of each chart beside it (FILE-<chart>.png).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tools/vatt/cli_common.h"
#include "tools/vatt/report.h"

namespace vatt::cli {

int cmd_report(const Args& args) {
  std::string run_dir, out;
  std::vector<std::string> extra;
  bool png = true;
  po::options_description opts("vatt report options");
  opts.add_options()("out,o", po::value(&out), "the HTML file (default RUN_DIR/report.html)")(
      "eval", po::value(&extra)->composing(),
      "an evaluation report JSON to include (repeatable; those in RUN_DIR and its parent are found)")(
      "no-png", "write the HTML page only");
  po::options_description hidden;
  hidden.add_options()("run-dir", po::value(&run_dir)->required(), "run directory");
  po::positional_options_description pos;
  pos.add("run-dir", 1);
  po::variables_map vm;
  const std::string usage =
      "usage: vatt report RUN_DIR [--out FILE.html] [--eval REPORT.json ...]\n"
      "A training run (RUN_DIR/steps.jsonl, written by train_vatt into its checkpoint_dir) and the\n"
      "evaluation reports in RUN_DIR and its parent (the `report` files of retrieval_eval, zeroshot_eval,\n"
      "linear_probe and classify) as one HTML page with no outside resources: loss terms, learning rate,\n"
      "gradient norm and throughput over steps; retrieval R@K; similarity densities of positive and "
      "negative\n"
      "pairs; a 2-D map of embeddings; probe and fine-tuned accuracy and their confusion matrices. Each "
      "chart\n"
      "is also written as FILE-<chart>.png.";
  if (auto rc = parse_args(args, usage, opts, pos, vm, hidden)) return *rc;
  png = !vm.count("no-png");
  if (out.empty()) out = run_dir + "/report.html";
  try {
    const report::Inputs in = report::gather(run_dir, extra);
    const auto charts = report::charts(in);
    {
      std::ofstream f(out, std::ios::trunc);
      f << report::page(in, charts);
      if (!f) throw std::runtime_error(out + ": cannot write");
    }
    std::string base = out;
    if (base.size() > 5 && base.substr(base.size() - 5) == ".html") base.resize(base.size() - 5);
    size_t pngs = 0;
    if (png)
      for (const auto& c : charts) {
        report::write_png(c.svg, base + "-" + c.id + ".png");
        ++pngs;
      }
    for (const auto& n : in.notes) std::fprintf(stderr, "vatt report: %s\n", n.c_str());
    std::printf(
        "vatt report: %s: %zu chart(s) from %zu logged step(s), %zu retrieval, %zu probe and %zu fine-tuned "
        "report(s)",
        out.c_str(), charts.size(), in.steps.size(), in.retrieval.size(), in.probes.size(),
        in.classify.size());
    if (pngs) std::printf("; %zu PNG file(s) %s-*.png", pngs, base.c_str());
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt report: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace vatt::cli
