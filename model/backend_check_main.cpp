// vatt-model-check: proves the CUDA backend computes what the CPU computes for the whole model (the `tiny`
// config, fp32, same weights), that training steps run there, and times one forward+backward of a named
// config. Usage: vatt-model-check [--config mbs] [--batch 2]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "model/distributed.h"
#include "model/loss.h"
#include "model/optimiser.h"
#include "model/vatt.h"

namespace {

using vatt::model::ModelConfig;
using vatt::model::Vatt;

struct Batch {
  torch::Tensor video, audio, text, mask;
};

Batch make_batch(const ModelConfig& c, int64_t b) {
  Batch x;
  x.video = torch::rand({b, c.frames, c.crop, c.crop, 3}) * 2 - 1;
  x.audio = torch::rand({b, c.audio_samples}) * 2 - 1;
  x.text = torch::randint(2, c.vocab_size, {b, c.text_candidates, c.text_words}, torch::kLong);
  x.mask = torch::ones({b});
  x.mask[b - 1] = 0;
  return x;
}

Batch to(const Batch& x, const torch::Device& d) {
  return {x.video.to(d), x.audio.to(d), x.text.to(d), x.mask.to(d)};
}

torch::Tensor loss_of(Vatt& model, const Batch& x) {
  auto out = model->forward(x.video, x.audio, x.text, x.mask);
  const auto& c = model->config();
  return vatt::model::vatt_loss(out.video_va, out.audio_va, out.video_vt, out.text_vt, out.text_mask,
                                c.temperature, c.mil_nce_lambda)
      .total;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = "mbs";
  int64_t batch = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--config")) name = argv[i + 1];
    if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
  }
  if (!torch::cuda::is_available()) {
    std::printf("no CUDA device: nothing to compare\n");
    return 1;
  }
  const torch::Device cuda("cuda:0");
  int failures = 0;

  // 1. CPU vs CUDA, evaluation mode (deterministic), fp32 with TF32 off so that only summation order differs.
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  for (const char* cfg : {"tiny", "ma-tiny"}) {
    torch::manual_seed(0);
    auto c = std::string(cfg) == "tiny" ? vatt::model::make_config("tiny")
                                        : vatt::model::make_config("tiny", {"modality_agnostic=true"});
    Vatt cpu_model(c);
    cpu_model->eval();
    auto x = make_batch(c, 4);
    torch::NoGradGuard no_grad;
    auto a = cpu_model->forward(x.video, x.audio, x.text, x.mask);
    cpu_model->to(cuda);
    auto g = cpu_model->forward(x.video.to(cuda), x.audio.to(cuda), x.text.to(cuda), x.mask.to(cuda));
    double worst = 0;
    for (auto [p, q] : {std::pair{a.video_va, g.video_va}, std::pair{a.audio_va, g.audio_va},
                        std::pair{a.video_vt, g.video_vt}, std::pair{a.text_vt, g.text_vt}})
      worst = std::max(worst, (p - q.cpu()).abs().max().item<double>());
    const bool ok = worst < 1e-4;
    failures += !ok;
    std::printf("%s cpu-vs-cuda max |diff| %.3g %s\n", cfg, worst, ok ? "OK" : "FAIL");
  }
  at::globalContext().setAllowTF32CuBLAS(true);

  // 2. Training on CUDA: gradients reach the T5 relative bias through the fused attention and stay finite.
  {
    torch::manual_seed(1);
    auto c = vatt::model::make_config("tiny");
    Vatt model(c);
    model->to(cuda);
    model->train();
    auto adam = vatt::model::make_adam(model->parameters(), c.optim);
    vatt::model::apply_schedule(*adam, c.optim, 5);
    auto x = to(make_batch(c, 4), cuda);
    auto loss = loss_of(model, x);
    loss.backward();
    auto rb = model->named_parameters()["text.t5.relative_bias.weight"].grad();
    bool finite = true;
    for (const auto& p : model->parameters())
      if (p.grad().defined()) finite = finite && torch::isfinite(p.grad()).all().item<bool>();
    const bool ok = finite && rb.defined() && rb.abs().sum().item<double>() > 0;
    failures += !ok;
    adam->step();
    std::printf("tiny cuda train step: loss %.4f, relative-bias grad |sum| %.3g, finite %d %s\n",
                loss.item<double>(), rb.defined() ? rb.abs().sum().item<double>() : 0.0, finite,
                ok ? "OK" : "FAIL");
  }

  // 3. One named config at its real input: forward+backward time, fp32 (TF32 matmuls) and peak memory.
  {
    torch::manual_seed(2);
    auto c = vatt::model::make_config(name);
    Vatt model(c);
    model->to(cuda);
    model->train();
    auto x = to(make_batch(c, batch), cuda);
    for (int i = 0; i < 2; ++i) loss_of(model, x).backward();  // warm-up
    torch::cuda::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    const int reps = 3;
    for (int i = 0; i < reps; ++i) loss_of(model, x).backward();
    torch::cuda::synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
    std::printf("%s batch %lld train forward+backward: %.1f ms/step (%.1f clips/s)\n", name.c_str(),
                static_cast<long long>(batch), s * 1e3, batch / s);
  }
  // 4. NCCL: a world-size-1 process group on this GPU (all-reduce and all-gather of CUDA tensors).
  {
    vatt::model::DistConfig dc;
    dc.backend = "nccl";
    dc.world_size = 1;
    dc.rank = 0;
    dc.master_addr = "127.0.0.1";
    dc.master_port = 29517;
    try {
      auto pg = vatt::model::ProcessGroup::create(dc);
      auto t = torch::arange(6, torch::TensorOptions().dtype(torch::kFloat).device(cuda));
      std::vector<torch::Tensor> ts{t};
      pg->all_reduce_sum(ts);
      auto g = pg->all_gather(t.view({2, 3}));
      torch::cuda::synchronize();
      const bool ok = t.cpu().equal(torch::arange(6, torch::kFloat)) && g.size(0) == 2;
      failures += !ok;
      std::printf("nccl process group (world 1): all-reduce + all-gather %s\n", ok ? "OK" : "FAIL");
    } catch (const std::exception& e) {
      ++failures;
      std::printf("nccl process group: FAIL: %s\n", e.what());
    }
  }
  std::printf(failures ? "FAILED\n" : "ALL OK\n");
  return failures ? 1 : 0;
}
