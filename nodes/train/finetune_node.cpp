// `finetune`: supervised fine-tuning of a pretrained checkpoint's video or audio backbone with a linear head
// (model/classifier.h): SGD with momentum, warm-up and a half-period cosine, label smoothing (single-label) or
// sigmoid BCE with mixup and inverse-label-count weights (multi-label, AudioSet style), no DropToken. Each
// clip is prepared from its decoded frames to the model's input: a random square window along the long side
// and a random mirror (seeded), frames at the trained rate; audio resampled and cut to the model's length.
// The classes come from `classes`, or from `classes_from` (a class-folder tree, split folders looked
// through, or a labels CSV). Checkpoints go to `checkpoint_dir` and a run resumes there (weights, head,
// optimiser, RNG, and the number of batches already trained on, which a seeded source replays and skips).
//
//   --in(batch of clips)--> finetune        errors: clips without a known label, batches that do not fit
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <mutex>
#include <random>
#include <set>

#include "model/classifier.h"
#include "nodes/media/datasets.h"
#include "nodes/register_all.h"
#include "nodes/train/eval_input.h"

namespace vatt::nodes {
namespace {

namespace fs = std::filesystem;

/// Class names from a class-folder tree (looking through split folders) or a labels CSV.
std::vector<std::string> discover_classes(const std::string& from) {
  std::set<std::string> out;
  std::error_code ec;
  if (fs::is_directory(from, ec)) {
    for (const auto& e : fs::directory_iterator(from, ec)) {
      if (!e.is_directory(ec)) continue;
      const std::string name = e.path().filename().string();
      if (!is_split_name(name)) {
        out.insert(name);
        continue;
      }
      for (const auto& c : fs::directory_iterator(e.path(), ec))  // train/CLASS, test/CLASS
        if (c.is_directory(ec)) out.insert(c.path().filename().string());
    }
  } else if (fs::is_regular_file(from, ec)) {
    DatasetIndex d;
    d.load_labels_csv(from);
    out = d.labels();
  } else {
    throw std::invalid_argument("classes_from '" + from + "': no such folder or labels CSV");
  }
  if (out.size() < 2)
    throw std::invalid_argument("classes_from '" + from + "': " + std::to_string(out.size()) +
                                " class(es) found, fine-tuning needs at least 2");
  return {out.begin(), out.end()};
}

class FinetuneNode final : public pipeline::Node {
 public:
  explicit FinetuneNode(const pipeline::NodeConfig& cfg) : id_(cfg.id) {
    const auto& o = cfg.options;
    opts_.checkpoint = o.get_string("checkpoint");
    opts_.checkpoint_dir = o.get_string("checkpoint_dir");
    opts_.modality = o.get_string("modality");
    opts_.multi_label = o.get_bool("multi_label");
    opts_.frames = o.get_int("frames");
    opts_.crop = o.get_int("crop");
    opts_.audio_samples = o.get_int("audio_samples");
    opts_.steps = o.get_int("steps");
    opts_.warmup = o.get_int("warmup");
    opts_.lr = o.get_float("lr");
    opts_.lr_end = o.get_float("lr_end");
    opts_.momentum = o.get_float("momentum");
    opts_.weight_decay = o.get_float("weight_decay");
    opts_.label_smoothing = o.get_float("label_smoothing");
    opts_.mixup_alpha = o.get_float("mixup_alpha");
    opts_.inverse_label_weight = o.get_bool("inverse_label_weight");
    opts_.seed = static_cast<uint64_t>(o.get_int("seed"));
    opts_.threads = static_cast<int>(o.get_int("threads"));
    opts_.device = o.get_string("device");
    classes_ = o.get_list("classes");
    classes_from_ = o.get_string("classes_from");
    checkpoint_every_ = o.get_int("checkpoint_every");
    log_every_ = o.get_int("log_every");
    augment_ = o.get_bool("augment");
    if (opts_.checkpoint_dir.empty()) throw std::invalid_argument("checkpoint_dir must not be empty");
  }

  void open() override {
    if (classes_.empty() && !classes_from_.empty()) classes_ = discover_classes(classes_from_);
    opts_.classes = classes_;
    clf_ = std::make_unique<model::Classifier>(opts_);
    classes_ = clf_->classes();  // a resumed run's own
    for (size_t i = 0; i < classes_.size(); ++i) index_[classes_[i]] = static_cast<int>(i);
    spec_ = parse_input_spec(clf_->input_blob(), clf_->source(), static_cast<int>(clf_->frames()),
                             static_cast<int>(clf_->crop()), static_cast<int>(clf_->audio_samples()));
    if (auto blob = clf_->resumed_blob()) {
      auto j = nlohmann::json::parse(*blob, nullptr, false);
      if (j.is_object() && j.contains("batches")) skip_ = j["batches"].get<int64_t>();
      batches_ = skip_;
      spdlog::info("{}: resumed at step {} of {} from {}; skipping the {} batches already trained on", id_,
                   clf_->steps_done(), clf_->total_steps(), clf_->source(), skip_);
    }
    spdlog::info(
        "{}: fine-tuning the {} backbone of {} for {} classes ({}) on {}: {} steps, input {} frames "
        "of {}x{}, {} audio samples",
        id_, clf_->modality(), clf_->source(), classes_.size(),
        clf_->multi_label() ? "multi-label, sigmoid BCE" : "softmax CE", clf_->device(), clf_->total_steps(),
        spec_.frames, spec_.crop, spec_.crop, spec_.audio_samples);
    if (clf_->steps_done() >= clf_->total_steps()) done_ = true;
  }

  void process(int, const pipeline::Message& in, pipeline::Emitter& out) override {
    if (done_) {
      out.stop_run("fine-tuned: " + std::to_string(clf_->steps_done()) + " steps");
      return;
    }
    ++batches_;
    if (skip_ > 0) {
      --skip_;
      return;
    }
    const auto& items = in.as<pipeline::Batch>().items;
    std::vector<const Clip*> clips;
    std::vector<float> targets;
    const size_t K = classes_.size();
    for (const auto& m : items) {
      const Clip& c = m.as<Clip>();
      std::vector<float> t(K, 0.0f);
      bool any = false;
      for (const auto& l : c.labels) {
        auto it = index_.find(l);
        if (it == index_.end()) continue;
        t[static_cast<size_t>(it->second)] = 1;
        any = true;
        if (!clf_->multi_label()) break;  // single-label: the first known label
      }
      if (!any) {
        out.error("unknown_label", c.uri + " clip " + std::to_string(c.clip_index) + ": labels [" +
                                       join(c.labels) + "] name none of the " + std::to_string(K) +
                                       " classes");
        continue;
      }
      if (clf_->modality() == "video" && (!c.frames || c.frames_t < 1)) {
        out.error("no_video", c.uri + " clip " + std::to_string(c.clip_index) + " has no video frames");
        continue;
      }
      clips.push_back(&c);
      targets.insert(targets.end(), t.begin(), t.end());
    }
    if (clips.empty()) return;
    model::HostBatch b = prepare(clips);
    model::ClassifierStep s;
    try {
      s = clf_->step(b, targets);
    } catch (const std::invalid_argument& e) {
      out.error("bad_batch", e.what());
      return;
    } catch (const std::exception& e) {
      out.fail_run(std::string("fine-tuning aborted: ") + e.what());
      done_ = true;
      return;
    }
    const int64_t done = clf_->steps_done();
    {
      std::lock_guard<std::mutex> lk(mu_);
      loss_ = s.loss;
      lr_ = s.lr;
      clips_ += clips.size();
    }
    if (log_every_ > 0 && (done % log_every_ == 0 || done == 1))
      spdlog::info("{}: step {}/{} loss {:.4f} lr {:.3g} {:.0f} ms", id_, done, clf_->total_steps(), s.loss,
                   s.lr, s.ms);
    if (checkpoint_every_ > 0 && done % checkpoint_every_ == 0) save();
    if (done >= clf_->total_steps()) {
      done_ = true;
      save();
      out.stop_run("reached " + std::to_string(done) + " steps");
    }
  }

  void flush(pipeline::Emitter&) override {
    if (clf_ && saved_at_ != clf_->steps_done()) save();
  }

  std::optional<Progress> progress() const override {
    if (!clf_) return std::nullopt;
    return Progress{0, static_cast<uint64_t>(clf_->steps_done()), static_cast<uint64_t>(clf_->total_steps())};
  }

  std::map<std::string, double> gauges() const override {
    std::lock_guard<std::mutex> lk(mu_);
    if (!clf_) return {};
    return {{"step", static_cast<double>(clf_->steps_done())},
            {"loss", loss_},
            {"lr", lr_},
            {"clips", static_cast<double>(clips_)},
            {"classes", static_cast<double>(classes_.size())}};
  }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }

  model::HostBatch prepare(const std::vector<const Clip*>& clips) {
    // One draw per clip from (seed, step): the same run draws the same windows.
    std::mt19937_64 rng(opts_.seed ^ (static_cast<uint64_t>(clf_->steps_done()) * 0x9E3779B97F4A7C15ull));
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<double> at(clips.size(), 0.5);
    std::vector<bool> flip(clips.size(), false);
    for (size_t i = 0; i < clips.size() && augment_; ++i) {
      at[i] = u(rng);
      flip[i] = u(rng) < 0.5;
    }
    return prepare_views(clips, spec_, clf_->modality() == "video", at, flip);
  }

  void save() {
    nlohmann::json j = {{"batches", batches_}};
    const auto path = clf_->checkpoint(j.dump());
    saved_at_ = clf_->steps_done();
    if (!path.empty()) spdlog::info("{}: checkpoint {}", id_, path);
  }

  std::string id_;
  model::ClassifierOptions opts_;
  std::vector<std::string> classes_;
  std::string classes_from_;
  int64_t checkpoint_every_ = 0, log_every_ = 10;
  bool augment_ = true;
  std::unique_ptr<model::Classifier> clf_;
  std::map<std::string, int> index_;
  InputSpec spec_;
  int64_t skip_ = 0, batches_ = 0, saved_at_ = -1;
  bool done_ = false;
  mutable std::mutex mu_;
  double loss_ = 0, lr_ = 0;
  uint64_t clips_ = 0;
};

}  // namespace

void register_finetune(pipeline::Registry& registry) {
  using pipeline::bool_option;
  using pipeline::float_option;
  using pipeline::int_option;
  using pipeline::string_option;
  pipeline::NodeContract c;
  c.type = "finetune";
  c.doc =
      "supervised fine-tuning of a pretrained video or audio backbone with a linear head (SGD, checkpoints, "
      "resume)";
  c.inputs = {{"in", "batch", "batches of labelled clips"}};
  c.progress_gauges = {"step", "loss", "lr"};
  c.options = {
      pipeline::required_option("checkpoint", pipeline::OptionType::String,
                                "the pretraining checkpoint (file, or directory = its latest) to start from"),
      pipeline::required_option("checkpoint_dir", pipeline::OptionType::String,
                                "where the fine-tuned checkpoints go (a run resumes from its latest)"),
      string_option("modality", "video", "the backbone fine-tuned: video or audio", {"video", "audio"}),
      pipeline::list_option("classes", {}, "the class names (empty: classes_from)"),
      string_option("classes_from", "",
                    "a class-folder tree (split folders looked through) or a labels CSV naming the classes"),
      bool_option("multi_label", false,
                  "sigmoid BCE over every label of a clip (AudioSet) instead of softmax CE"),
      int_option("frames", 0,
                 "frames of the fine-tuning input (0 = the checkpoint's; else positions resized)", 0),
      int_option("crop", 0, "crop of the fine-tuning input (0 = the checkpoint's; else positions resized)",
                 0),
      int_option("audio_samples", 0, "audio samples of the fine-tuning input (0 = the checkpoint's)", 0),
      int_option("steps", 1000, "optimiser steps", 1),
      int_option("warmup", -1, "linear warm-up steps (-1: a tenth of the steps, at most 2500)", -1),
      float_option("lr", 0.005, "peak learning rate (the paper: 0.005 video, 0.2 audio)", 0),
      float_option("lr_end", 0.0, "learning rate at the last step (half-period cosine to it)", 0),
      float_option("momentum", 0.9, "SGD momentum", 0, 1),
      float_option("weight_decay", 0.0, "SGD weight decay", 0),
      float_option("label_smoothing", 0.1, "single-label: label smoothing", 0, 1),
      float_option("mixup_alpha", 0.0, "> 0: mixup with lambda ~ Beta(alpha, alpha) (the paper: 5 for audio)",
                   0),
      bool_option("inverse_label_weight", false,
                  "weight each clip's loss by the inverse in-batch count of its labels"),
      bool_option("augment", true, "random square window along the long side and random mirror (video)"),
      int_option("checkpoint_every", 0, "steps between checkpoints (0: at the end)", 0),
      int_option("log_every", 10, "steps between log lines (0: none)", 0),
      int_option("seed", 0, "seed of the head, the windows, mixup"),
      int_option("threads", 0, "LibTorch intra-op threads (0 = all cores)", 0),
      string_option("device", "auto", "auto, cpu, cuda or cuda:N"),
  };
  c.create = [](const pipeline::NodeConfig& cfg) { return std::make_unique<FinetuneNode>(cfg); };
  registry.add(std::move(c));
}

}  // namespace vatt::nodes
