// The training step: autocast around the forward only, loss in fp32, optional data-parallel collectives.
#include "model/train_step.h"

#include <chrono>
#include <cmath>

#include "model/loss.h"
#include "model/negatives.h"
#include "model/optimiser.h"
#include "model/precision.h"

namespace vatt::model {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0, const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

StepResult train_step(VattImpl& model, torch::optim::Adam& adam, const TrainBatch& batch, int64_t step,
                      bool bf16, ProcessGroup* group, NegativeBank* bank) {
  StepResult r;
  const auto device = batch.video.device();
  model.train();
  auto t0 = std::chrono::steady_clock::now();
  VattOutput out;
  {
    AutocastGuard autocast(device.str(), bf16);
    out = model.forward(batch.video, batch.audio, batch.text, batch.text_mask);
  }
  auto video_va = all_gather_with_grad(out.video_va, group);
  auto audio_va = all_gather_with_grad(out.audio_va, group);
  auto video_vt = all_gather_with_grad(out.video_vt, group);
  auto text_vt = all_gather_with_grad(out.text_vt, group);
  auto text_mask = group && group->world_size() > 1 ? group->all_gather(out.text_mask) : out.text_mask;
  const auto& c = model.config();
  NegativeBank::Hard hard;
  torch::Tensor sources;
  if (bank && batch.sources.defined()) {
    sources = group && group->world_size() > 1 ? group->all_gather(batch.sources) : batch.sources;
    hard = bank->hardest(video_vt, sources);
  }
  auto loss = vatt_loss(video_va, audio_va, video_vt, text_vt, text_mask, c.temperature, c.mil_nce_lambda,
                        hard.negatives, hard.valid);

  r.forward_ms = ms_since(t0, device);
  r.loss = loss.total.item<double>();
  r.nce = loss.nce.item<double>();
  r.mil_nce = loss.mil_nce.item<double>();
  if (!std::isfinite(r.loss)) {
    // Every rank computed the same global loss, so every rank skips: the replicas stay identical.
    r.skipped = true;
    adam.zero_grad(/*set_to_none=*/true);
    return r;
  }
  if (bank && sources.defined()) {
    // This batch's own texts (candidate 0 of clips that have text) become negatives of the next batches.
    auto has = text_mask.to(torch::kBool);
    bank->add(text_vt.select(1, 0).index({has}), sources.index({has.to(sources.device())}));
  }

  t0 = std::chrono::steady_clock::now();
  loss.total.backward();
  average_gradients(model.parameters(), group);
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> norms;  // one device sync for all parameters, not one each
    for (const auto& p : model.parameters())
      if (p.grad().defined()) norms.push_back(p.grad().detach().to(torch::kFloat).norm());
    if (!norms.empty()) r.grad_norm = torch::stack(norms).norm().item<double>();
  }
  r.backward_ms = ms_since(t0, device);

  t0 = std::chrono::steady_clock::now();
  r.lr = apply_schedule(adam, c.optim, step);
  fused_adam_step(adam);
  adam.zero_grad(/*set_to_none=*/true);
  r.optimiser_ms = ms_since(t0, device);
  return r;
}

TrainBatch random_batch(const ModelConfig& c, int64_t b, const torch::Device& device,
                        int64_t text_free_every) {
  using torch::indexing::Slice;
  TrainBatch t;
  auto opts = torch::TensorOptions().device(device);
  t.video = torch::rand({b, c.frames, c.crop, c.crop, 3}, opts) * 2 - 1;
  t.audio = torch::rand({b, c.audio_samples}, opts) * 2 - 1;
  t.text = torch::randint(2, c.vocab_size, {b, c.text_candidates, c.text_words}, opts.dtype(torch::kLong));
  t.text.index_put_({Slice(), Slice(), Slice(c.text_words * 2 / 3)}, 0);  // padded tails, as real captions
  t.text_mask = torch::ones({b}, opts);
  if (text_free_every > 0)
    for (int64_t i = text_free_every - 1; i < b; i += text_free_every) {
      t.text[i].zero_();
      t.text_mask[i] = 0;
    }
  return t;
}

}  // namespace vatt::model
