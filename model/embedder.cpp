// Embedder: a checkpoint's model in eval mode, host batches in, normalised embeddings out.
#include "model/embedder.h"

#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/device.h"
#include "model/host_batch.h"
#include "model/precision.h"
#include "model/vatt.h"

namespace vatt::model {

std::string resolve_checkpoint(const std::string& file_or_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (file_or_dir.empty()) throw std::runtime_error("no checkpoint given");
  if (fs::is_directory(file_or_dir, ec)) {
    auto latest = latest_checkpoint(file_or_dir);
    if (!latest)
      throw std::runtime_error("checkpoint directory " + file_or_dir +
                               " holds no checkpoint (expected ckpt-<step>.pt files written by train_vatt)");
    return *latest;
  }
  if (!fs::exists(file_or_dir, ec))
    throw std::runtime_error("checkpoint " + file_or_dir +
                             " does not exist (expected a file or a directory)");
  return file_or_dir;
}

struct Embedder::Impl {
  std::string path;
  CheckpointMeta meta;
  DeviceInfo dev;
  bool bf16 = false;
  Vatt model{nullptr};

  std::vector<float> to_host(torch::Tensor t) const {
    t = torch::nn::functional::normalize(t.to(torch::kFloat),
                                         torch::nn::functional::NormalizeFuncOptions().dim(-1))
            .contiguous()
            .to(torch::kCPU);
    return {t.data_ptr<float>(), t.data_ptr<float>() + t.numel()};
  }
};

Embedder::Embedder(const EmbedderOptions& o) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.path = resolve_checkpoint(o.checkpoint);
  m.meta = read_checkpoint_meta(m.path);
  m.dev = select_device(o.device, o.threads);
  m.bf16 = use_bf16(parse_precision(o.precision), m.dev.device);
  m.model = Vatt(m.meta.config);
  load_checkpoint(m.path, *m.model, nullptr, /*restore_rng=*/false);
  m.model->to(torch::Device(m.dev.device));
  m.model->eval();
}

Embedder::~Embedder() = default;

Embeddings Embedder::embed(const HostBatch& b) {
  auto& m = *impl_;
  const auto& c = m.meta.config;
  check_host_batch(b, c, 1, 0, false, "batch does not fit the model of " + m.path);
  torch::NoGradGuard no_grad;
  TrainBatch t = to_tensors(b, c, torch::Device(m.dev.device));
  auto ids = t.text.select(1, 0).unsqueeze(1);  // each clip's own text
  VattOutput out;
  {
    AutocastGuard autocast(m.dev.device, m.bf16);
    out = m.model->forward(t.video, t.audio, ids);
  }
  Embeddings e;
  e.batch = b.batch;
  e.dim_va = out.video_va.size(1);
  e.dim_vt = out.video_vt.size(1);
  e.video_va = m.to_host(out.video_va);
  e.audio_va = m.to_host(out.audio_va);
  e.video_vt = m.to_host(out.video_vt);
  e.text_vt = m.to_host(out.text_vt.select(1, 0));
  return e;
}

std::vector<float> Embedder::embed_text(const std::vector<int32_t>& ids, int64_t n) {
  auto& m = *impl_;
  const auto words = m.meta.config.text_words;
  if (n < 1 || ids.size() != static_cast<size_t>(n * words))
    throw std::invalid_argument("text ids: expected [" + std::to_string(n) + ", " + std::to_string(words) +
                                "]");
  torch::NoGradGuard no_grad;
  auto t = torch::from_blob(const_cast<int32_t*>(ids.data()), {n, words}, torch::kInt32)
               .to(torch::Device(m.dev.device))
               .to(torch::kLong)
               .clamp_(0, m.meta.config.vocab_size - 1);
  AutocastGuard autocast(m.dev.device, m.bf16);
  return m.to_host(m.model->embed_text(t));
}

const std::string& Embedder::path() const {
  return impl_->path;
}
const std::string& Embedder::user_blob() const {
  return impl_->meta.user_blob;
}
int64_t Embedder::step() const {
  return impl_->meta.step;
}
std::string Embedder::config_name() const {
  return impl_->meta.config.name;
}
int64_t Embedder::frames() const {
  return impl_->meta.config.frames;
}
int64_t Embedder::crop() const {
  return impl_->meta.config.crop;
}
int64_t Embedder::audio_samples() const {
  return impl_->meta.config.audio_samples;
}
int64_t Embedder::text_words() const {
  return impl_->meta.config.text_words;
}
int64_t Embedder::vocab_size() const {
  return impl_->meta.config.vocab_size;
}
int64_t Embedder::dim_va() const {
  return impl_->meta.config.head_va_dim;
}
int64_t Embedder::dim_vt() const {
  return impl_->meta.config.head_vt_dim;
}
std::string Embedder::device() const {
  return impl_->dev.device;
}

}  // namespace vatt::model
