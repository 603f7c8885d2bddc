// Classifier: a pretrained backbone + a linear head, fine-tuned with SGD; multi-label figures.
#include "model/classifier.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "model/checkpoint.h"
#include "model/device.h"
#include "model/embedder.h"
#include "model/host_batch.h"
#include "model/schedule.h"
#include "model/vatt.h"

namespace vatt::model {

namespace {

/// The head's description, stored as "extra.finetune": "key=value" lines, one "class=NAME" per output.
std::string describe(const std::string& modality, bool multi, const std::vector<std::string>& classes) {
  std::string s = "modality=" + modality + "\nmulti_label=" + (multi ? "1" : "0") + "\n";
  for (const auto& c : classes) s += "class=" + c + "\n";
  return s;
}

void parse_description(const std::string& text, const std::string& path, std::string& modality, bool& multi,
                       std::vector<std::string>& classes) {
  std::istringstream in(text);
  classes.clear();
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "modality") modality = v;
    if (k == "multi_label") multi = v == "1";
    if (k == "class") classes.push_back(v);
  }
  if ((modality != "video" && modality != "audio") || classes.empty())
    throw std::runtime_error("checkpoint " + path + ": malformed fine-tuning description");
}

}  // namespace

struct Classifier::Impl {
  ClassifierOptions o;
  DeviceInfo dev;
  ModelConfig cfg;
  OptimConfig optim;
  Vatt model{nullptr};
  torch::nn::Linear head{nullptr};
  std::unique_ptr<torch::optim::SGD> sgd;
  int64_t step = 0;
  std::string source, input_blob, modality;
  std::optional<std::string> resumed;
  std::vector<std::string> classes;
  bool multi = false;

  torch::Device device() const { return torch::Device(dev.device); }

  std::vector<torch::Tensor> trained_parameters() {
    std::vector<torch::Tensor> ps;
    auto add = [&](const std::vector<torch::Tensor>& v) {
      for (const auto& p : v)
        if (p.requires_grad()) ps.push_back(p);
    };
    add(modality == "video" ? model->video->parameters() : model->audio->parameters());
    if (model->shared) add(model->shared->parameters());
    add(head->parameters());
    return ps;
  }

  /// The batch's input of the modality as a float tensor on the device: video [B,T,H,W,3] in [-1, 1] or
  /// audio [B,S].
  torch::Tensor input(const HostBatch& b) {
    if (b.batch < 1) throw std::invalid_argument("classifier: empty batch");
    if (modality == "video") {
      if (b.frames != cfg.frames || b.height != cfg.crop || b.width != cfg.crop ||
          b.video.size() != static_cast<size_t>(b.batch * b.frames * b.height * b.width * 3))
        throw std::invalid_argument("classifier: video is [" + std::to_string(b.frames) + ", " +
                                    std::to_string(b.height) + ", " + std::to_string(b.width) +
                                    "] per clip, the model takes [" + std::to_string(cfg.frames) + ", " +
                                    std::to_string(cfg.crop) + ", " + std::to_string(cfg.crop) + "]");
      auto v = torch::from_blob(const_cast<uint8_t*>(b.video.data()),
                                {b.batch, b.frames, b.height, b.width, 3}, torch::kUInt8);
      return v.to(device()).to(torch::kFloat).div_(127.5).sub_(1.0);
    }
    if (b.samples != cfg.audio_samples || b.audio.size() != static_cast<size_t>(b.batch * b.samples))
      throw std::invalid_argument("classifier: audio of " + std::to_string(b.samples) +
                                  " samples per clip, the model takes " + std::to_string(cfg.audio_samples));
    return torch::from_blob(const_cast<float*>(b.audio.data()), {b.batch, b.samples}, torch::kFloat)
        .to(device())
        .clone();
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto f = modality == "video" ? model->video->forward(x) : model->audio->forward(x);
    return head->forward(f.select(1, 0));
  }
};

Classifier::Classifier(const ClassifierOptions& o) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.o = o;
  std::optional<std::string> latest;
  if (!o.checkpoint_dir.empty()) latest = latest_checkpoint(o.checkpoint_dir);
  m.source = latest ? *latest : resolve_checkpoint(o.checkpoint);
  const auto meta = read_checkpoint_meta(m.source);
  const auto extra = load_checkpoint_extra(m.source, {"finetune", "head.weight", "head.bias", "node_blob"});
  const bool finetuned = extra.count("finetune") > 0;
  m.dev = select_device(o.device, o.threads);
  torch::manual_seed(o.seed);
  m.input_blob = meta.user_blob;
  if (finetuned) {
    parse_description(tensor_bytes(extra.at("finetune")), m.source, m.modality, m.multi, m.classes);
    if (!extra.count("head.weight") || !extra.count("head.bias"))
      throw std::runtime_error("checkpoint " + m.source + ": fine-tuned without its head");
    m.cfg = meta.config;
    m.model = Vatt(m.cfg);
    load_checkpoint(m.source, *m.model, nullptr, /*restore_rng=*/latest.has_value());
    m.step = meta.step;  // the steps its head was trained
  } else {
    if (o.require_head)
      throw std::runtime_error("checkpoint " + m.source +
                               " has no classification head (a pretraining checkpoint?): fine-tune it first "
                               "(graphs/finetune-video.yaml, graphs/finetune-audio.yaml)");
    if (latest)
      throw std::runtime_error("checkpoint " + m.source + " in checkpoint_dir " + o.checkpoint_dir +
                               " is not a fine-tuned one: give fine-tuning its own directory");
    m.modality = o.modality;
    m.multi = o.multi_label;
    m.classes = o.classes;
    if (m.modality != "video" && m.modality != "audio")
      throw std::invalid_argument("modality '" + m.modality + "': expected video or audio");
    if (m.classes.size() < 2) throw std::invalid_argument("fine-tuning needs at least 2 classes");
    ModelConfig pre = meta.config;
    pre.droptoken_video = pre.droptoken_audio = 0;  // fine-tuning sees every token
    Vatt loaded(pre);
    load_checkpoint(m.source, *loaded, nullptr, /*restore_rng=*/false);
    m.cfg = pre;
    if (o.frames > 0) m.cfg.frames = o.frames;
    if (o.crop > 0) m.cfg.crop = o.crop;
    if (o.audio_samples > 0) m.cfg.audio_samples = o.audio_samples;
    if (m.cfg.frames % m.cfg.patch_t || m.cfg.crop % m.cfg.patch_hw ||
        m.cfg.audio_samples % m.cfg.audio_patch)
      throw std::invalid_argument("frames, crop and audio_samples must be multiples of the patch sizes (" +
                                  std::to_string(m.cfg.patch_t) + ", " + std::to_string(m.cfg.patch_hw) +
                                  ", " + std::to_string(m.cfg.audio_patch) + ")");
    if (m.cfg.frames != pre.frames || m.cfg.crop != pre.crop || m.cfg.audio_samples != pre.audio_samples) {
      // Position tables resized (cubic) to the fine-tuning grid, then every tensor copied by name into a
      // model built for that grid (its config is the one later readers of the checkpoint build).
      loaded->video->positions->resize(m.cfg.grid_t(), m.cfg.grid_h(), m.cfg.grid_w());
      loaded->audio->positions->resize(m.cfg.audio_tokens());
      m.model = Vatt(m.cfg);
      torch::NoGradGuard no_grad;
      auto src = loaded->named_parameters();
      for (auto& p : m.model->named_parameters()) p.value().copy_(src[p.key()]);
      auto srcb = loaded->named_buffers();
      for (auto& b : m.model->named_buffers()) b.value().copy_(srcb[b.key()]);
    } else {
      m.model = loaded;
    }
  }
  const int64_t dim = m.modality == "video" ? m.model->video->out_dim() : m.model->audio->out_dim();
  m.head = torch::nn::Linear(dim, static_cast<int64_t>(m.classes.size()));
  if (finetuned) {
    torch::NoGradGuard no_grad;
    const auto& w = extra.at("head.weight");
    if (w.sizes() != m.head->weight.sizes())
      throw std::runtime_error("checkpoint " + m.source + ": head of shape " + c10::str(w.sizes()) + " for " +
                               std::to_string(m.classes.size()) + " classes");
    m.head->weight.copy_(w);
    m.head->bias.copy_(extra.at("head.bias"));
  }
  m.model->to(m.device());
  m.head->to(m.device());
  m.optim.schedule = LrSchedule::kCode;
  m.optim.peak_lr = o.lr;
  m.optim.end_lr = o.lr_end;
  m.optim.total_steps = std::max<int64_t>(1, o.steps);
  m.optim.warmup_steps = o.warmup >= 0 ? o.warmup : std::min<int64_t>(2500, m.optim.total_steps / 10);
  m.sgd = std::make_unique<torch::optim::SGD>(
      m.trained_parameters(),
      torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  if (latest) {
    load_checkpoint_optimizer(m.source, *m.sgd);
    for (auto& group : m.sgd->param_groups())
      for (auto& p : group.params()) {
        auto it = m.sgd->state().find(p.unsafeGetTensorImpl());
        if (it == m.sgd->state().end()) continue;
        auto& st = static_cast<torch::optim::SGDParamState&>(*it->second);
        if (st.momentum_buffer().defined() && st.momentum_buffer().device() != p.device())
          st.momentum_buffer(st.momentum_buffer().to(p.device()));
      }
    m.step = meta.step;
    m.resumed = extra.count("node_blob") ? tensor_bytes(extra.at("node_blob")) : std::string();
  }
}

Classifier::~Classifier() = default;

std::optional<std::string> Classifier::resumed_blob() const {
  return impl_->resumed;
}

ClassifierStep Classifier::step(const HostBatch& batch, const std::vector<float>& targets) {
  auto& m = *impl_;
  const auto K = static_cast<int64_t>(m.classes.size());
  if (targets.size() != static_cast<size_t>(batch.batch * K))
    throw std::invalid_argument("classifier: " + std::to_string(targets.size()) + " targets for " +
                                std::to_string(batch.batch) + " clips of " + std::to_string(K) + " classes");
  const auto t0 = std::chrono::steady_clock::now();
  m.model->train();
  m.head->train();
  auto x = m.input(batch);
  auto y = torch::from_blob(const_cast<float*>(targets.data()), {batch.batch, K}, torch::kFloat)
               .to(m.device())
               .clone();
  // Inverse-label-count weights from the batch's own labels (before mixup), mean 1.
  torch::Tensor w;
  if (m.o.inverse_label_weight) {
    auto counts = y.sum(0).clamp_min(1);                           // [K]
    auto per = (y / counts).sum(1) / y.sum(1).clamp_min(1);        // mean of 1/count over own labels
    per = torch::where(y.sum(1) > 0, per, torch::ones_like(per));  // unlabelled clips weigh 1
    w = per / per.mean();
  }
  if (m.o.mixup_alpha > 0 && batch.batch > 1) {
    // lambda ~ Beta(a, a) as Ga / (Ga + Gb), one per batch; partners from a seeded permutation.
    auto ga = torch::_standard_gamma(torch::full({2}, m.o.mixup_alpha, torch::kDouble));
    const double lam = (ga[0] / (ga[0] + ga[1])).item<double>();
    auto perm = torch::randperm(batch.batch, torch::TensorOptions().dtype(torch::kLong)).to(m.device());
    x = x * lam + x.index_select(0, perm) * (1 - lam);
    y = y * lam + y.index_select(0, perm) * (1 - lam);
    if (w.defined()) w = w * lam + w.index_select(0, perm) * (1 - lam);
  }
  const double lr = lr_at(m.optim, m.step);
  for (auto& g : m.sgd->param_groups()) static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
  auto logits = m.forward(x);
  torch::Tensor loss;
  if (m.multi) {
    auto per = torch::binary_cross_entropy_with_logits(logits, y, {}, {}, at::Reduction::None).mean(1);
    loss = w.defined() ? (per * w).mean() : per.mean();
  } else {
    const double eps = m.o.label_smoothing;
    auto soft = y * (1 - eps) + eps / static_cast<double>(K);
    auto per = -(soft * torch::log_softmax(logits, 1)).sum(1);
    loss = w.defined() ? (per * w).mean() : per.mean();
  }
  m.sgd->zero_grad();
  loss.backward();
  ClassifierStep out;
  out.step = m.step;
  out.loss = loss.item<double>();
  out.lr = lr;
  if (std::isfinite(out.loss)) {
    m.sgd->step();
    ++m.step;
  }
  out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!std::isfinite(out.loss))
    throw std::runtime_error("fine-tuning loss is " + std::to_string(out.loss) + " at step " +
                             std::to_string(m.step) + ": lower the learning rate");
  return out;
}

std::vector<float> Classifier::logits(const HostBatch& batch) {
  auto& m = *impl_;
  torch::NoGradGuard no_grad;
  m.model->eval();
  m.head->eval();
  auto l = m.forward(m.input(batch)).to(torch::kCPU).to(torch::kFloat).contiguous();
  return std::vector<float>(l.data_ptr<float>(), l.data_ptr<float>() + l.numel());
}

std::string Classifier::checkpoint(const std::string& blob) {
  auto& m = *impl_;
  if (m.o.checkpoint_dir.empty()) return "";
  std::filesystem::create_directories(m.o.checkpoint_dir);
  const auto path = checkpoint_path(m.o.checkpoint_dir, m.step);
  std::map<std::string, torch::Tensor> extra = {
      {"finetune", bytes_tensor(describe(m.modality, m.multi, m.classes))},
      {"head.weight", m.head->weight.detach()},
      {"head.bias", m.head->bias.detach()},
      {"node_blob", bytes_tensor(blob)},
  };
  save_checkpoint(path, *m.model, m.sgd.get(), m.step, m.input_blob, nullptr, extra);
  return path;
}

const std::vector<std::string>& Classifier::classes() const {
  return impl_->classes;
}
const std::string& Classifier::modality() const {
  return impl_->modality;
}
bool Classifier::multi_label() const {
  return impl_->multi;
}
int64_t Classifier::steps_done() const {
  return impl_->step;
}
int64_t Classifier::total_steps() const {
  return impl_->optim.total_steps;
}
int64_t Classifier::frames() const {
  return impl_->cfg.frames;
}
int64_t Classifier::crop() const {
  return impl_->cfg.crop;
}
int64_t Classifier::audio_samples() const {
  return impl_->cfg.audio_samples;
}
const std::string& Classifier::input_blob() const {
  return impl_->input_blob;
}
std::string Classifier::source() const {
  return impl_->source;
}
std::string Classifier::device() const {
  return impl_->dev.device;
}

MultiLabelScores multi_label_scores(const std::vector<float>& scores, const std::vector<float>& targets,
                                    int classes) {
  MultiLabelScores r;
  if (classes < 1 || scores.size() != targets.size() || scores.size() % static_cast<size_t>(classes))
    throw std::invalid_argument("multi_label_scores: scores and targets must both be [N x classes]");
  const size_t n = scores.size() / static_cast<size_t>(classes);
  double ap_sum = 0, auc_sum = 0;
  int ap_n = 0, auc_n = 0;
  for (int c = 0; c < classes; ++c) {
    std::vector<std::pair<float, bool>> v;
    for (size_t i = 0; i < n; ++i)
      v.emplace_back(scores[i * static_cast<size_t>(classes) + static_cast<size_t>(c)],
                     targets[i * static_cast<size_t>(classes) + static_cast<size_t>(c)] > 0.5f);
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    const auto pos =
        static_cast<size_t>(std::count_if(v.begin(), v.end(), [](const auto& x) { return x.second; }));
    if (pos == 0) continue;
    // Average precision: mean precision at each positive's rank (a tie block's precision taken at its end).
    double ap = 0;
    size_t seen = 0, hits = 0;
    for (size_t i = 0; i < v.size();) {
      size_t j = i, block_hits = 0;
      while (j < v.size() && v[j].first == v[i].first) block_hits += v[j++].second;
      seen = j;
      hits += block_hits;
      ap += static_cast<double>(block_hits) * static_cast<double>(hits) / static_cast<double>(seen);
      i = j;
    }
    ap_sum += ap / static_cast<double>(pos);
    ++ap_n;
    const size_t neg = v.size() - pos;
    if (neg == 0) continue;
    // AUC: the chance that a positive outscores a negative, ties half (Mann-Whitney over tie blocks).
    double wins = 0;
    size_t neg_below = neg;
    for (size_t i = 0; i < v.size();) {
      size_t j = i, bp = 0, bn = 0;
      while (j < v.size() && v[j].first == v[i].first) (v[j++].second ? bp : bn)++;
      neg_below -= bn;
      wins += static_cast<double>(bp) * (static_cast<double>(neg_below) + 0.5 * static_cast<double>(bn));
      i = j;
    }
    auc_sum += wins / (static_cast<double>(pos) * static_cast<double>(neg));
    ++auc_n;
  }
  r.classes_scored = ap_n;
  r.map = ap_n ? 100.0 * ap_sum / ap_n : 0;
  const double auc = auc_n ? auc_sum / auc_n : 0.5;
  r.auc = 100.0 * auc;
  // d' = sqrt(2) * Phi^-1(AUC); Phi^-1 by bisection on erfc (plenty precise for a figure).
  const double a = std::clamp(auc, 1e-9, 1 - 1e-9);
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < a ? lo : hi) = mid;
  }
  r.d_prime = std::sqrt(2.0) * (lo + hi) / 2;
  return r;
}

}  // namespace vatt::model
