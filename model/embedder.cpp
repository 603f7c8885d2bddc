// Embedder: a checkpoint's model in eval mode, host batches in, normalised embeddings out.
#include "model/embedder.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/device.h"
#include "model/host_batch.h"
#include "model/precision.h"
#include "model/safetensors.h"
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

namespace {

// 64-bit digest of bytes, eight at a time (FNV-style multiply-xor on words, then a final avalanche).
uint64_t mix_bytes(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

uint64_t digest_weights(const VattImpl& model) {
  uint64_t h = 1469598103934665603ULL;
  auto add = [&](const std::string& name, const torch::Tensor& t0) {
    auto t = t0.detach().to(torch::kCPU).contiguous();
    h = mix_bytes(h, name.data(), name.size());
    for (auto d : t.sizes()) h = mix_bytes(h, &d, sizeof d);
    const auto type = static_cast<int>(t.scalar_type());
    h = mix_bytes(h, &type, sizeof type);
    h = mix_bytes(h, t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
  };
  for (const auto& p : model.named_parameters()) add(p.key(), p.value());
  for (const auto& b : model.named_buffers()) add(b.key(), b.value());
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::string export_safetensors(const std::string& checkpoint, const std::string& out,
                               const std::map<std::string, std::string>& metadata) {
  const std::string path = resolve_checkpoint(checkpoint);
  const auto meta = read_checkpoint_meta(path);
  Vatt model(meta.config);
  load_checkpoint(path, *model, nullptr, /*restore_rng=*/false);
  auto all = metadata;
  all["vatt.step"] = std::to_string(meta.step);
  all["vatt.blob"] = meta.user_blob;
  save_safetensors(out, *model, all);
  return path;
}

std::string checkpoint_user_blob(const std::string& checkpoint) {
  return read_checkpoint_meta(resolve_checkpoint(checkpoint)).user_blob;
}

struct Embedder::Impl {
  std::string path;
  CheckpointMeta meta;
  DeviceInfo dev;
  bool bf16 = false;
  Vatt model{nullptr};
  uint64_t digest = 0;

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
  m.dev = select_device(o.device, o.threads);
  m.bf16 = use_bf16(parse_precision(o.precision), m.dev.device);
  const std::string ext = ".safetensors";
  if (m.path.size() > ext.size() && m.path.compare(m.path.size() - ext.size(), ext.size(), ext) == 0) {
    std::map<std::string, std::string> md;
    auto tensors = read_safetensors(m.path, &md);
    auto cfg = md.find("vatt.config");
    if (cfg == md.end())
      throw std::runtime_error(m.path + ": no vatt.config in its metadata (not written by vatt)");
    m.meta.config = config_from_text(cfg->second);
    m.meta.step = md.count("vatt.step") ? std::stoll(md["vatt.step"]) : 0;
    m.meta.user_blob = md.count("vatt.blob") ? md["vatt.blob"] : std::string();
    m.model = Vatt(m.meta.config);
    load_safetensors(tensors, *m.model, m.path);
  } else {
    m.meta = read_checkpoint_meta(m.path);
    m.model = Vatt(m.meta.config);
    load_checkpoint(m.path, *m.model, nullptr, /*restore_rng=*/false);
  }
  m.digest = digest_weights(*m.model);
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
  auto raw = [](torch::Tensor t) {
    t = t.to(torch::kFloat).contiguous().to(torch::kCPU);
    return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  };
  e.dim_video_feature = out.video_agg.size(-1);
  e.dim_audio_feature = out.audio_agg.size(-1);
  e.video_feature = raw(out.video_agg);
  e.audio_feature = raw(out.audio_agg);
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

std::vector<float> Embedder::embed_audio(const std::vector<float>& audio, int64_t n) {
  auto& m = *impl_;
  const auto samples = m.meta.config.audio_samples;
  if (n < 1 || audio.size() != static_cast<size_t>(n * samples))
    throw std::invalid_argument("audio: expected [" + std::to_string(n) + ", " + std::to_string(samples) +
                                "] samples");
  torch::NoGradGuard no_grad;
  auto a = torch::from_blob(const_cast<float*>(audio.data()), {n, samples}, torch::kFloat)
               .to(torch::Device(m.dev.device));
  AutocastGuard autocast(m.dev.device, m.bf16);
  auto agg = m.model->audio->forward(a).select(1, 0);
  return m.to_host(m.model->heads->audio_va(agg));
}

uint64_t Embedder::weights_digest() const {
  return impl_->digest;
}

void Embedder::save_weights(const std::string& path) const {
  save_safetensors(path, *impl_->model,
                   {{"vatt.step", std::to_string(impl_->meta.step)}, {"vatt.blob", impl_->meta.user_blob}});
}

std::string Embedder::config_text() const {
  return config_to_text(impl_->meta.config);
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
