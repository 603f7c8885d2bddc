// `linear_probe`: linear evaluation of frozen features. Per labelled source, the mean of its clips' features
// (`video`: the video backbone's AGG feature, `audio`: the audio one's, `va`/`audio_va`/`vt`: the common
// spaces), its first label as the class and its split names (split folders, split lists, ESC-50 folds) as the
// evaluation splits (nodes/train/probe.h). Per split: the features standardised with the training rows'
// statistics, then the paper's low-rank classifier (`lrc`, LibTorch) or a linear SVM (`svm`, liblinear, C
// picked on held-out training rows), scored on the test rows. Figures: top-1 and top-5 per split and their
// mean over splits, chance (100 / classes), the number of classes and sources; a JSON report and a confusion
// matrix CSV (summed over splits) on request. All in percent.
//
//   --in(embeddings)--> linear_probe
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>

#include "model/linear_probe.h"
#include "nodes/register_all.h"
#include "nodes/train/embedding.h"
#include "nodes/train/probe.h"

namespace vatt::nodes {
namespace {

/// One labelled source: the sum of its clips' features, how many, its label and split names.
struct SourceRow {
  std::string uri, label, split;
  std::vector<double> sum;
  size_t clips = 0;
};

struct SplitResult {
  std::string name;
  size_t train = 0, test = 0;
  ProbeScores scores;
  double cost = 0;  // the SVM's chosen C
};

class LinearProbeNode final : public pipeline::Node {
 public:
  explicit LinearProbeNode(const pipeline::NodeConfig& cfg)
      : id_(cfg.id),
        method_(cfg.options.get_string("method")),
        features_(cfg.options.get_string("features")),
        report_(cfg.options.get_string("report")),
        confusion_(cfg.options.get_string("confusion")) {
    const auto& o = cfg.options;
    lrc_.components = static_cast<int>(o.get_int("components"));
    lrc_.keep = o.get_float("keep");
    lrc_.lr = o.get_float("lr");
    lrc_.batch = static_cast<int>(o.get_int("batch"));
    lrc_.epochs = static_cast<int>(o.get_int("epochs"));
    lrc_.threads = static_cast<int>(o.get_int("threads"));
    lrc_.seed = svm_.seed = static_cast<uint64_t>(o.get_int("seed"));
    svm_.holdout = o.get_float("holdout");
    svm_.folds = static_cast<int>(o.get_int("folds"));
    svm_.costs.clear();
    for (const auto& c : o.get_list("costs")) {
      size_t used = 0;
      double v = 0;
      try {
        v = std::stod(c, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != c.size() || !(v > 0))
        throw std::invalid_argument("costs: '" + c + "' is not a positive number");
      svm_.costs.push_back(v);
    }
    if (svm_.costs.empty()) throw std::invalid_argument("costs: give at least one C");
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    const auto& b = in.as<EmbeddingBatch>();
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& e : b.items) {
      const std::vector<float>& f = feature_of(e);
      if (f.empty()) {
        ++missing_;
        out.error("no_feature", e.uri + " clip " + std::to_string(e.clip_index) + " has no '" + features_ +
                                    "' feature" +
                                    (e.has_video ? "" : " (an audio-only source: use features audio)"));
        continue;
      }
      SourceRow& r = rows_[e.uri];
      if (r.sum.empty()) {
        r.uri = e.uri;
        r.label = e.labels.empty() ? "" : e.labels.front();
        r.split = e.record ? e.record->split : "";
        r.sum.assign(f.size(), 0.0);
      }
      if (r.sum.size() != f.size())
        throw std::invalid_argument(e.uri + ": features of " + std::to_string(f.size()) + " values after " +
                                    std::to_string(r.sum.size()) + " (two models in one evaluation?)");
      for (size_t i = 0; i < f.size(); ++i) r.sum[i] += f[i];
      ++r.clips;
    }
  }

  void flush(pipeline::Emitter&) override {
    std::lock_guard<std::mutex> lk(mu_);
    // Rows in URI order (rows_ is a sorted map), classes in name order: one result for any arrival order.
    std::vector<const SourceRow*> rows;
    size_t unlabelled = 0;
    for (const auto& [uri, r] : rows_) {
      if (r.label.empty()) {
        ++unlabelled;
        continue;
      }
      rows.push_back(&r);
    }
    if (unlabelled)
      spdlog::warn(
          "{}: {} source(s) without a label left out (labels come from class folders "
          "(labels_from_folder) or labels_csv)",
          id_, unlabelled);
    if (rows.empty())
      throw std::runtime_error(id_ + ": no labelled source to evaluate (" + std::to_string(rows_.size()) +
                               " source(s) seen, " + std::to_string(missing_) + " clip(s) without features)");
    std::map<std::string, int> class_of;
    for (const auto* r : rows) class_of.emplace(r->label, 0);
    int next = 0;
    for (auto& [name, k] : class_of) {
      k = next++;
      class_names_.push_back(name);
    }
    const int classes = static_cast<int>(class_names_.size());
    const int dim = static_cast<int>(rows.front()->sum.size());
    std::vector<float> x(rows.size() * static_cast<size_t>(dim));
    std::vector<int> y(rows.size());
    std::vector<std::string> splits(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const SourceRow& r = *rows[i];
      for (int j = 0; j < dim; ++j)
        x[i * static_cast<size_t>(dim) + static_cast<size_t>(j)] =
            static_cast<float>(r.sum[static_cast<size_t>(j)] / static_cast<double>(r.clips));
      y[i] = class_of.at(r.label);
      splits[i] = r.split;
    }
    sources_ = rows.size();
    const auto probe = probe_splits(splits);
    confusion_sum_.assign(static_cast<size_t>(classes), std::vector<int>(static_cast<size_t>(classes), 0));
    for (const auto& sp : probe) {
      std::vector<float> xs = x;  // standardised with this split's training rows
      standardise(xs, dim, sp.train);
      auto gather = [&](const std::vector<size_t>& idx, std::vector<float>& fx, std::vector<int>& fy) {
        for (size_t i : idx) {
          fx.insert(fx.end(), xs.begin() + static_cast<std::ptrdiff_t>(i * static_cast<size_t>(dim)),
                    xs.begin() + static_cast<std::ptrdiff_t>((i + 1) * static_cast<size_t>(dim)));
          fy.push_back(y[i]);
        }
      };
      std::vector<float> trx, tex;
      std::vector<int> try_, tey;
      gather(sp.train, trx, try_);
      gather(sp.test, tex, tey);
      SplitResult res;
      res.name = sp.name;
      res.train = sp.train.size();
      res.test = sp.test.size();
      const std::vector<float> logits = method_ == "svm"
                                            ? svm_probe(trx, try_, tex, dim, classes, svm_, &res.cost)
                                            : model::low_rank_probe(trx, try_, tex, dim, classes, lrc_);
      res.scores = score_predictions(logits, tey, classes);
      for (int t = 0; t < classes; ++t)
        for (int p = 0; p < classes; ++p)
          confusion_sum_[static_cast<size_t>(t)][static_cast<size_t>(p)] +=
              res.scores.confusion[static_cast<size_t>(t)][static_cast<size_t>(p)];
      if (method_ == "svm")
        spdlog::info("{}: split {}: {} train, {} test: top-1 {:.1f}%, top-5 {:.1f}% (C = {:g})", id_,
                     res.name, res.train, res.test, res.scores.top1, res.scores.top5, res.cost);
      else
        spdlog::info("{}: split {}: {} train, {} test: top-1 {:.1f}%, top-5 {:.1f}%", id_, res.name,
                     res.train, res.test, res.scores.top1, res.scores.top5);
      results_.push_back(std::move(res));
    }
    for (const auto& r : results_) {
      top1_ += r.scores.top1 / static_cast<double>(results_.size());
      top5_ += r.scores.top5 / static_cast<double>(results_.size());
    }
    spdlog::info(
        "{}: {} on '{}' features ({} values) of {} source(s), {} classes: top-1 {:.1f}%, top-5 {:.1f}% "
        "(mean over {} split(s)); chance {:.1f}%",
        id_, method_ == "svm" ? "linear SVM" : "low-rank classifier", features_, dim, sources_, classes,
        top1_, top5_, results_.size(), chance());
    if (!report_.empty()) write_report(dim);
    if (!confusion_.empty()) write_confusion();
  }

  std::map<std::string, double> gauges() const override {
    std::lock_guard<std::mutex> lk(mu_);
    std::map<std::string, double> g;
    g["sources"] = static_cast<double>(sources_);
    if (results_.empty()) return g;
    g["top1"] = top1_;
    g["top5"] = top5_;
    g["chance"] = chance();
    g["classes"] = static_cast<double>(class_names_.size());
    for (const auto& r : results_) {
      g["splits." + r.name] = r.scores.top1;
      g["splits_top5." + r.name] = r.scores.top5;
    }
    return g;
  }

 private:
  const std::vector<float>& feature_of(const ClipEmbedding& e) const {
    if (features_ == "video") return e.video_feature;
    if (features_ == "audio") return e.audio_feature;
    if (features_ == "va") return e.video_va;
    if (features_ == "audio_va") return e.audio_va;
    return e.video_vt;
  }

  double chance() const {
    return class_names_.empty() ? 0 : 100.0 / static_cast<double>(class_names_.size());
  }

  void write_report(int dim) const {
    nlohmann::json j;
    j["method"] = method_;
    j["features"] = features_;
    j["dim"] = dim;
    j["sources"] = sources_;
    j["classes"] = class_names_;
    j["top1"] = top1_;
    j["top5"] = top5_;
    j["chance"] = chance();
    j["splits"] = nlohmann::json::array();
    for (const auto& r : results_) {
      nlohmann::json s = {{"name", r.name},
                          {"train", r.train},
                          {"test", r.test},
                          {"top1", r.scores.top1},
                          {"top5", r.scores.top5}};
      if (method_ == "svm") s["C"] = r.cost;
      j["splits"].push_back(s);
    }
    j["confusion"] = confusion_sum_;  // [true class][predicted class], summed over the splits
    std::ofstream o(report_);
    o << j.dump(2) << "\n";
    if (!o) throw std::runtime_error(report_ + ": cannot write the linear-probe report");
  }

  void write_confusion() const {
    std::ofstream o(confusion_);
    auto field = [](const std::string& s) {  // RFC 4180 quoting for class names with commas or quotes
      if (s.find_first_of(",\"\n") == std::string::npos) return s;
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    o << "true\\predicted";
    for (const auto& n : class_names_) o << "," << field(n);
    o << "\n";
    for (size_t t = 0; t < class_names_.size(); ++t) {
      o << field(class_names_[t]);
      for (int v : confusion_sum_[t]) o << "," << v;
      o << "\n";
    }
    if (!o) throw std::runtime_error(confusion_ + ": cannot write the confusion matrix");
  }

  std::string id_, method_, features_, report_, confusion_;
  model::LowRankOptions lrc_;
  SvmOptions svm_;
  mutable std::mutex mu_;
  std::map<std::string, SourceRow> rows_;
  size_t missing_ = 0, sources_ = 0;
  std::vector<std::string> class_names_;
  std::vector<SplitResult> results_;
  std::vector<std::vector<int>> confusion_sum_;
  double top1_ = 0, top5_ = 0;
};

}  // namespace

void register_linear_probe(pipeline::Registry& registry) {
  using pipeline::float_option;
  using pipeline::int_option;
  using pipeline::string_option;
  pipeline::NodeContract c;
  c.type = "linear_probe";
  c.doc =
      "linear evaluation of frozen features per labelled source: low-rank classifier or linear SVM, top-1/5 "
      "per split";
  c.inputs = {{"in", "embeddings", "embedded clips with labels and splits"}};
  c.options = {
      string_option("method", "lrc", "lrc (the paper's low-rank classifier) or svm (liblinear)",
                    {"lrc", "svm"}),
      string_option("features", "video",
                    "video / audio (the backbones' AGG features), va / audio_va (video-audio space), vt "
                    "(video-text space)",
                    {"video", "audio", "va", "audio_va", "vt"}),
      string_option("report", "", "also write the figures, per split, to this JSON file (empty: no file)"),
      string_option("confusion", "", "write the confusion matrix (summed over splits) to this CSV file"),
      int_option("seed", 0, "seed of the classifier's initialisation, masks and order, and the SVM hold-out"),
      int_option("components", 128, "lrc: rank of C = U V", 1),
      float_option("keep", 0.1, "lrc: fraction of the components trained per step", 0.001, 1),
      float_option("lr", 5e-4, "lrc: Adam's learning rate", 1e-8, 10),
      int_option("batch", 64, "lrc: rows per step", 1),
      int_option("epochs", 200, "lrc: passes over the training rows", 1),
      int_option("threads", 1, "lrc: LibTorch threads (0 = all cores)", 0),
      pipeline::list_option("costs", {"0.001", "0.01", "0.1", "1", "10", "100"},
                            "svm: the C values tried by the cross-validation"),
      int_option(
          "folds", 5,
          "svm: C is picked by this many-fold cross-validation of the training rows (1: one held-out part)",
          1, 100),
      float_option("holdout", 0.2,
                   "svm: with folds 1, the part of each class's training rows held out to pick C", 0.01, 0.9),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<LinearProbeNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
