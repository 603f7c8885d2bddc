// `classify`: tests a fine-tuned checkpoint (`finetune`) as the paper does: per source, the logits of its
// clips (the source samples K uniformly spaced ones; the paper: 4) times `crops` square windows along the
// long side (3: left, centre, right; 1: centre) are averaged. Single-label: top-1 and top-5 against the
// source's first known label, chance, a confusion matrix; multi-label (AudioSet): mAP, mean ROC AUC and
// d-prime over the classes present. Figures to the log, the gauges and an optional JSON report.
//
//   --in(batch of clips)--> classify
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <mutex>

#include "model/classifier.h"
#include "nodes/register_all.h"
#include "nodes/train/eval_input.h"
#include "nodes/train/probe.h"

namespace vatt::nodes {
namespace {

struct SourceLogits {
  std::vector<double> sum;
  size_t views = 0;
  std::vector<std::string> labels;
};

class ClassifyNode final : public pipeline::Node {
 public:
  explicit ClassifyNode(const pipeline::NodeConfig& cfg)
      : id_(cfg.id),
        report_(cfg.options.get_string("report")),
        crops_(static_cast<int>(cfg.options.get_int("crops"))) {
    opts_.checkpoint = cfg.options.get_string("checkpoint");
    opts_.threads = static_cast<int>(cfg.options.get_int("threads"));
    opts_.device = cfg.options.get_string("device");
    opts_.require_head = true;
    if (crops_ != 1 && crops_ != 3) throw std::invalid_argument("crops must be 1 or 3");
  }

  void open() override {
    clf_ = std::make_unique<model::Classifier>(opts_);
    if (clf_->steps_done() == 0) spdlog::warn("{}: {} has a head trained 0 steps", id_, clf_->source());
    spec_ = parse_input_spec(clf_->input_blob(), clf_->source(), static_cast<int>(clf_->frames()),
                             static_cast<int>(clf_->crop()), static_cast<int>(clf_->audio_samples()));
    if (clf_->modality() == "audio") crops_ = 1;
    spdlog::info("{}: {} ({} classes, {} backbone, fine-tuned {} steps); {} crop(s) per clip", id_,
                 clf_->source(), clf_->classes().size(), clf_->modality(), clf_->steps_done(), crops_);
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    const auto& items = in.as<pipeline::Batch>().items;
    std::vector<const Clip*> clips;
    for (const auto& m : items) {
      const Clip& c = m.as<Clip>();
      if (clf_->modality() == "video" && (!c.frames || c.frames_t < 1)) {
        out.error("no_video", c.uri + " clip " + std::to_string(c.clip_index) + " has no video frames");
        continue;
      }
      clips.push_back(&c);
    }
    if (clips.empty()) return;
    const double positions3[] = {0.0, 0.5, 1.0};
    const size_t K = clf_->classes().size();
    for (int v = 0; v < crops_; ++v) {
      const double at = crops_ == 1 ? 0.5 : positions3[v];
      const model::HostBatch b =
          prepare_views(clips, spec_, clf_->modality() == "video", std::vector<double>(clips.size(), at),
                        std::vector<bool>(clips.size(), false));
      const auto logits = clf_->logits(b);
      std::lock_guard<std::mutex> lk(mu_);
      for (size_t i = 0; i < clips.size(); ++i) {
        auto& s = sources_[clips[i]->uri];
        if (s.sum.empty()) {
          s.sum.assign(K, 0.0);
          s.labels = clips[i]->labels;
        }
        for (size_t k = 0; k < K; ++k) s.sum[k] += logits[i * K + k];
        ++s.views;
      }
    }
  }

  void flush(pipeline::Emitter&) override {
    std::lock_guard<std::mutex> lk(mu_);
    const auto& classes = clf_->classes();
    const int K = static_cast<int>(classes.size());
    std::map<std::string, int> index;
    for (int i = 0; i < K; ++i) index[classes[static_cast<size_t>(i)]] = i;
    std::vector<float> scores, targets;
    std::vector<int> truth;
    size_t unknown = 0, views = 0;
    for (const auto& [uri, s] : sources_) {
      std::vector<float> t(static_cast<size_t>(K), 0.0f);
      int first = -1;
      for (const auto& l : s.labels) {
        auto it = index.find(l);
        if (it == index.end()) continue;
        t[static_cast<size_t>(it->second)] = 1;
        if (first < 0) first = it->second;
      }
      if (first < 0) {
        ++unknown;
        continue;
      }
      for (double x : s.sum) scores.push_back(static_cast<float>(x / static_cast<double>(s.views)));
      targets.insert(targets.end(), t.begin(), t.end());
      truth.push_back(first);
      views += s.views;
    }
    if (unknown)
      spdlog::warn("{}: {} source(s) whose labels name none of the {} classes left out", id_, unknown, K);
    if (truth.empty())
      throw std::runtime_error(id_ + ": no source with a label among the checkpoint's " + std::to_string(K) +
                               " classes (" + std::to_string(sources_.size()) + " source(s) seen)");
    n_ = truth.size();
    views_per_source_ = static_cast<double>(views) / static_cast<double>(n_);
    nlohmann::json j;
    j["checkpoint"] = clf_->source();
    j["sources"] = n_;
    j["classes"] = classes;
    j["views_per_source"] = views_per_source_;
    if (clf_->multi_label()) {
      ml_ = model::multi_label_scores(scores, targets, K);
      spdlog::info(
          "{}: {} sources ({:.1f} views each): mAP {:.1f}%, AUC {:.1f}%, d-prime {:.3f} over {} classes", id_,
          n_, views_per_source_, ml_.map, ml_.auc, ml_.d_prime, ml_.classes_scored);
      j["mAP"] = ml_.map;
      j["AUC"] = ml_.auc;
      j["d_prime"] = ml_.d_prime;
    } else {
      sc_ = score_predictions(scores, truth, K);
      spdlog::info(
          "{}: {} sources ({:.1f} views each), {} classes: top-1 {:.1f}%, top-5 {:.1f}% (chance {:.1f}%)",
          id_, n_, views_per_source_, K, sc_.top1, sc_.top5, 100.0 / K);
      j["top1"] = sc_.top1;
      j["top5"] = sc_.top5;
      j["chance"] = 100.0 / K;
      j["confusion"] = sc_.confusion;
    }
    if (!report_.empty()) {
      std::ofstream o(report_);
      o << j.dump(2) << "\n";
      if (!o) throw std::runtime_error(report_ + ": cannot write the classification report");
    }
    done_ = true;
  }

  std::map<std::string, double> gauges() const override {
    std::lock_guard<std::mutex> lk(mu_);
    std::map<std::string, double> g;
    if (!done_) return g;
    g["sources"] = static_cast<double>(n_);
    g["views_per_source"] = views_per_source_;
    g["classes"] = static_cast<double>(clf_->classes().size());
    if (clf_->multi_label()) {
      g["mAP"] = ml_.map;
      g["AUC"] = ml_.auc;
      g["d_prime"] = ml_.d_prime;
    } else {
      g["top1"] = sc_.top1;
      g["top5"] = sc_.top5;
      g["chance"] = 100.0 / static_cast<double>(clf_->classes().size());
    }
    return g;
  }

 private:
  std::string id_, report_;
  int crops_;
  model::ClassifierOptions opts_;
  std::unique_ptr<model::Classifier> clf_;
  InputSpec spec_;
  mutable std::mutex mu_;
  std::map<std::string, SourceLogits> sources_;
  bool done_ = false;
  size_t n_ = 0;
  double views_per_source_ = 0;
  ProbeScores sc_;
  model::MultiLabelScores ml_;
};

}  // namespace

void register_classify(pipeline::Registry& registry) {
  pipeline::NodeContract c;
  c.type = "classify";
  c.doc =
      "tests a fine-tuned checkpoint: logits averaged over clips x crops per source; top-1/5 or mAP/AUC/d'";
  c.inputs = {{"in", "batch", "batches of labelled clips"}};
  c.options = {
      pipeline::required_option(
          "checkpoint", pipeline::OptionType::String,
          "a fine-tuned checkpoint (file, or the finetune checkpoint_dir = its latest)"),
      pipeline::int_option("crops", 3,
                           "square windows per clip along the long side: 3 (left, centre, right) or 1", 1, 3),
      pipeline::string_option("report", "", "also write the figures to this JSON file (empty: no file)"),
      pipeline::int_option("threads", 0, "LibTorch intra-op threads (0 = all cores)", 0),
      pipeline::string_option("device", "auto", "auto, cpu, cuda or cuda:N"),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<ClassifyNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
