// Trainer: host batches -> tensors on the device, one train_step, bookkeeping for skips and checkpoints.
#include "model/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/device.h"
#include "model/distributed.h"
#include "model/host_batch.h"
#include "model/negatives.h"
#include "model/optimiser.h"
#include "model/precision.h"
#include "model/schedule.h"
#include "model/train_step.h"
#include "model/vatt.h"

namespace vatt::model {

struct Trainer::Impl {
  TrainerOptions opts;
  ModelConfig config;
  DeviceInfo dev;
  bool bf16 = false;
  Vatt model{nullptr};
  std::unique_ptr<torch::optim::Adam> adam;
  int64_t step = 0;
  int64_t skipped = 0;
  int bad_in_a_row = 0;
  std::shared_ptr<ProcessGroup> group;
  std::unique_ptr<NegativeBank> bank;
  int64_t vectors_found = 0;
};

std::vector<std::pair<std::string, std::vector<float>>> read_checkpoint_parameters(const std::string& path) {
  auto meta = read_checkpoint_meta(path);
  Vatt model(meta.config);
  load_checkpoint(path, *model, nullptr, /*restore_rng=*/false);
  std::vector<std::pair<std::string, std::vector<float>>> out;
  for (const auto& p : model->named_parameters()) {
    auto t = p.value().detach().to(torch::kFloat).contiguous().view(-1);
    out.emplace_back(p.key(), std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel()));
  }
  return out;
}

Trainer::Trainer(const TrainerOptions& o) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.opts = o;
  if (o.steps < 1) throw std::invalid_argument("steps must be >= 1");
  m.config = make_config(o.config, o.overrides);
  m.config.optim.total_steps = o.steps;
  // The schedule's own warm-up (5k for the released code's, 10k for the paper's), at most a tenth of the run.
  const int64_t own_warmup = m.config.optim.schedule == LrSchedule::kCode ? 5000 : 10000;
  m.config.optim.warmup_steps = o.warmup >= 0 ? o.warmup : std::min<int64_t>(own_warmup, o.steps / 10);
  m.config.optim.peak_lr = o.lr;
  m.config.optim.end_lr = o.lr_end;
  m.dev = select_device(o.device, o.threads);
  m.bf16 = use_bf16(parse_precision(o.precision), m.dev.device);
  torch::manual_seed(o.seed);
  m.model = Vatt(m.config);
  if (!o.word_vectors.empty()) {
    if (static_cast<int64_t>(o.vocab_words.size()) != m.config.vocab_size)
      throw std::invalid_argument("word_vectors: the vocabulary has " + std::to_string(o.vocab_words.size()) +
                                  " words but the word embedding " + std::to_string(m.config.vocab_size) +
                                  " rows");
    if (o.checkpoint_dir.empty() || !latest_checkpoint(o.checkpoint_dir)) {
      const auto wv = load_word_vectors(o.word_vectors, o.vocab_words, m.config.word_dim);
      m.model->text->set_word_vectors(wv, o.freeze_words);
      m.vectors_found = wv.found_count;
    } else if (o.freeze_words) {
      // Resuming: the checkpoint holds the embedding (vectors included); reading the file again would be
      // wasted start-up time (word2vec files run to gigabytes). Only the freeze is re-applied.
      m.model->text->embedding->weight.set_requires_grad(false);
      m.vectors_found = -1;
    }
  }
  m.model->to(torch::Device(m.dev.device));
  if (o.world_size > 1) {
    DistConfig d;
    d.rank = o.rank;
    d.world_size = o.world_size;
    d.master_addr = o.master_addr;
    d.master_port = o.master_port;
    d.backend =
        o.dist_backend != "auto" ? o.dist_backend : (m.dev.device.rfind("cuda", 0) == 0 ? "nccl" : "gloo");
    m.group = ProcessGroup::create(d);
    broadcast_parameters(*m.model, m.group.get());
    set_batch_norm_group(*m.model, m.group.get());
    // Same initial weights everywhere (broadcast); each rank its own DropToken/noise draws.
    torch::manual_seed(o.seed + static_cast<uint64_t>(o.rank));
  }
  m.adam = make_adam(m.model->parameters(), m.config.optim);
  if (o.hard_negatives > 0)
    m.bank = std::make_unique<NegativeBank>(o.negatives_memory, m.config.head_vt_dim, o.hard_negatives,
                                            torch::Device(m.dev.device));
}

Trainer::~Trainer() = default;

std::optional<std::string> Trainer::resume() {
  auto& m = *impl_;
  if (m.opts.checkpoint_dir.empty()) return std::nullopt;
  auto path = latest_checkpoint(m.opts.checkpoint_dir);
  if (!path) return std::nullopt;
  auto meta = load_checkpoint(*path, *m.model, m.adam.get(), /*restore_rng=*/true, m.bank.get());
  m.step = meta.step;
  return meta.user_blob;
}

TrainerStep Trainer::step(const HostBatch& b) {
  auto& m = *impl_;
  const auto& c = m.config;
  check_host_batch(b, c, 2, c.text_candidates, true, "batch does not fit the model");
  TrainBatch t = to_tensors(b, c, torch::Device(m.dev.device));
  if (m.opts.audio_noise > 0) {
    auto peak = t.audio.abs().amax(1, /*keepdim=*/true);
    t.audio = t.audio + torch::randn_like(t.audio) * (peak * m.opts.audio_noise);
  }

  auto t0 = std::chrono::steady_clock::now();
  StepResult r = train_step(*m.model, *m.adam, t, m.step, m.bf16, m.group.get(), m.bank.get());
  TrainerStep out;
  out.step = m.step;
  out.loss = r.loss;
  out.nce = r.nce;
  out.mil_nce = r.mil_nce;
  out.lr = r.lr;
  out.grad_norm = r.grad_norm;
  out.skipped = r.skipped;
  out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (r.skipped) {
    ++m.skipped;
    if (++m.bad_in_a_row >= m.opts.max_bad_steps)
      throw std::runtime_error("loss was NaN/Inf for " + std::to_string(m.bad_in_a_row) +
                               " steps in a row (last at step " + std::to_string(m.step) +
                               "); lower the learning rate or check the input data");
  } else {
    m.bad_in_a_row = 0;
    ++m.step;
  }
  return out;
}

std::string Trainer::checkpoint(const std::string& blob) {
  auto& m = *impl_;
  if (m.opts.checkpoint_dir.empty() || m.opts.rank != 0) return "";
  std::filesystem::create_directories(m.opts.checkpoint_dir);
  const auto path = checkpoint_path(m.opts.checkpoint_dir, m.step);
  save_checkpoint(path, *m.model, m.adam.get(), m.step, blob, m.bank.get());
  return path;
}

int64_t Trainer::steps_done() const {
  return impl_->step;
}
int64_t Trainer::total_steps() const {
  return impl_->config.optim.total_steps;
}
int64_t Trainer::word_vectors_found() const {
  return impl_->vectors_found;
}
std::string Trainer::schedule() const {
  return describe_schedule(impl_->config.optim);
}
int64_t Trainer::skipped_steps() const {
  return impl_->skipped;
}
std::string Trainer::device() const {
  return impl_->dev.device;
}
bool Trainer::bf16() const {
  return impl_->bf16;
}
int64_t Trainer::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->model->parameters()) n += p.numel();
  return n;
}
int64_t Trainer::frames() const {
  return impl_->config.frames;
}
int64_t Trainer::crop() const {
  return impl_->config.crop;
}
int64_t Trainer::audio_samples() const {
  return impl_->config.audio_samples;
}
int64_t Trainer::vocab_size() const {
  return impl_->config.vocab_size;
}
int Trainer::rank() const {
  return impl_->opts.rank;
}
int Trainer::world_size() const {
  return impl_->opts.world_size;
}
std::vector<float> Trainer::flat_parameters() const {
  std::vector<float> out;
  for (const auto& p : impl_->model->named_parameters()) {
    auto t = p.value().detach().to(torch::kCPU).to(torch::kFloat).contiguous().view(-1);
    out.insert(out.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }
  return out;
}

}  // namespace vatt::model
