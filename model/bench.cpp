// Model benchmark and model-info formatting, shared by `vatt` and `vatt-model-bench`.
#include "model/bench.h"

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "model/device.h"
#include "model/matmul_rate.h"
#include "model/optimiser.h"
#include "model/precision.h"
#include "model/train_step.h"
#include "model/vatt.h"

namespace vatt::model {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string rate_key(double drop) {
  return std::to_string(static_cast<int>(drop * 100 + 0.5));
}

// Self CPU time per operator over one training step (legacy profiler: no Kineto needed). Self time, not
// inclusive, so that the table adds up to the step and shows where it goes (GEMMs vs element-wise work).
std::string profile_step(VattImpl& model, torch::optim::Adam& adam, const TrainBatch& batch, int64_t step,
                         bool bf16) {
  namespace prof = torch::autograd::profiler;
  prof::enableProfilerLegacy(
      torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  train_step(model, adam, batch, step, bf16);
  auto lists = prof::disableProfilerLegacy();
  std::map<std::string, std::pair<double, int64_t>> self;  // name -> (self us, calls)
  double total = 0;
  for (const auto& list : lists) {
    std::vector<std::pair<const prof::LegacyEvent*, double>> stack;  // open range, time of its children
    for (const auto& e : list) {
      if (e.kind() == prof::EventKind::PushRange) {
        stack.emplace_back(&e, 0.0);
      } else if (e.kind() == prof::EventKind::PopRange && !stack.empty()) {
        const auto [start, children] = stack.back();
        stack.pop_back();
        const double us = start->cpuElapsedUs(e);
        auto& entry = self[start->name()];
        entry.first += us - children;
        entry.second += 1;
        if (stack.empty())
          total += us;
        else
          stack.back().second += us;
      }
    }
  }
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& [name, v] : self) rows.emplace_back(v.first, name);
  std::sort(rows.rbegin(), rows.rend());
  std::string out = "profile (self CPU time of one step, all threads' top-level ranges " +
                    fmt("%.0f", total / 1e3) + " ms):\n";
  for (size_t i = 0; i < rows.size() && i < 25; ++i)
    out += fmt("  %8.1f ms", rows[i].first / 1e3) + fmt("  %5.1f%%  ", 100 * rows[i].first / total) +
           rows[i].second + " x" + std::to_string(self[rows[i].second].second) + "\n";
  return out;
}

}  // namespace

ModelBenchResult run_model_bench(const ModelBenchOptions& o) {
  if (o.batch < 1 || o.steps < 1 || o.warmup < 0 || o.frames < 1 || o.res < 1)
    throw std::invalid_argument("bench: batch, steps, frames and res must be positive, warmup >= 0");
  std::vector<std::string> overrides = {"frames=" + std::to_string(o.frames),
                                        "crop=" + std::to_string(o.res)};
  overrides.insert(overrides.end(), o.overrides.begin(), o.overrides.end());
  const ModelConfig config = make_config(o.config, overrides);
  const Precision precision = parse_precision(o.precision);
  const DeviceInfo dev = select_device(o.device, o.threads);
  const bool bf16 = use_bf16(precision, dev.device);

  ModelBenchResult r;
  r.config = o.config;
  r.device = dev.device;
  r.device_name = dev.name;
  r.precision = bf16 ? "bf16" : "fp32";
  r.threads = dev.intra_op_threads;
  r.batch = o.batch;
  r.frames = o.frames;
  r.res = o.res;
  r.drop_video = config.droptoken_video;
  r.drop_audio = config.droptoken_audio;

  // Analytic cost at the bench input: video at its drop rate, audio at its own.
  const auto gv = forward_gflops(config, config.droptoken_video);
  const auto ga = forward_gflops(config, config.droptoken_audio);
  const double forward = gv.video + ga.audio + gv.text + gv.heads;
  r.train_gflop_per_step = 3.0 * forward * o.batch;

  torch::manual_seed(0);
  const torch::Device device(dev.device);
  Vatt model(config);
  model->to(device);
  auto adam = make_adam(model->parameters(), config.optim);
  const auto batch = random_batch(config, o.batch, device, /*text_free_every=*/4);
  r.forward_only = o.forward_only;
  if (o.forward_only) {
    // Inference as the embed node runs it: no DropToken, eval-mode BatchNorm, no autograd.
    model->eval();
    torch::NoGradGuard no_grad;
    const auto ids = batch.text.select(1, 0).unsqueeze(1);
    std::vector<double> times;
    for (int i = 0; i < o.warmup + o.steps; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      float sink = 0;
      {
        AutocastGuard autocast(dev.device, bf16);
        auto out = model->forward(batch.video, batch.audio, ids);
        sink = out.video_vt.sum().item<float>() + out.text_vt.sum().item<float>();
      }
      (void)sink;
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (i >= o.warmup) times.push_back(ms);
    }
    const auto g0 = forward_gflops(config, 0.0);
    r.drop_video = r.drop_audio = 0;
    r.forward_ms = r.step_ms = median(times);
    r.clips_per_s = o.batch / (r.step_ms / 1e3);
    r.train_gflop_per_step = g0.total * o.batch;
    r.achieved_gflops = r.train_gflop_per_step / (r.step_ms / 1e3);
    r.matmul_fp32_gflops = measure_matmul("fp32", o.matmul_n, 5, dev.device).gflops;
    r.matmul_bf16_gflops = measure_matmul("bf16", o.matmul_n, 5, dev.device).gflops;
    r.ratio_to_matmul = r.achieved_gflops / (bf16 ? r.matmul_bf16_gflops : r.matmul_fp32_gflops);
    return r;
  }
  std::vector<double> fwd, bwd, opt, total;
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    const auto s = train_step(*model, *adam, batch, config.optim.warmup_steps + i, bf16);
    if (i == 0) r.loss_first = s.loss;
    r.loss_last = s.loss;
    if (i < o.warmup) continue;
    fwd.push_back(s.forward_ms);
    bwd.push_back(s.backward_ms);
    opt.push_back(s.optimiser_ms);
    total.push_back(s.forward_ms + s.backward_ms + s.optimiser_ms);
  }
  r.forward_ms = median(fwd);
  r.backward_ms = median(bwd);
  r.optimiser_ms = median(opt);
  r.step_ms = median(total);
  r.clips_per_s = o.batch / (r.step_ms / 1e3);
  r.achieved_gflops = r.train_gflop_per_step / (r.step_ms / 1e3);
  if (o.profile) r.profile = profile_step(*model, *adam, batch, config.optim.warmup_steps, bf16);
  r.matmul_fp32_gflops = measure_matmul("fp32", o.matmul_n, 5, dev.device).gflops;
  r.matmul_bf16_gflops = measure_matmul("bf16", o.matmul_n, 5, dev.device).gflops;
  r.ratio_to_matmul = r.achieved_gflops / (bf16 ? r.matmul_bf16_gflops : r.matmul_fp32_gflops);
  return r;
}

std::string format_model_bench(const ModelBenchResult& r) {
  std::string s;
  s += "model " + r.config + "  batch " + std::to_string(r.batch) + "  input " + std::to_string(r.frames) +
       "x" + std::to_string(r.res) + "x" + std::to_string(r.res) + "  DropToken video " +
       fmt("%.0f%%", r.drop_video * 100) + " audio " + fmt("%.0f%%", r.drop_audio * 100) + "  precision " +
       r.precision + "\n";
  s += "device " + r.device + " (" + r.device_name + ")  threads " + std::to_string(r.threads) + "\n";
  const std::string matmul =
      "matmul: fp32 " + fmt("%.1f", r.matmul_fp32_gflops) + " GFLOP/s  bf16 " +
      fmt("%.1f", r.matmul_bf16_gflops) + " GFLOP/s  ->  " + (r.forward_only ? "" : "step ") + "at " +
      fmt("%.1f%%", 100 * r.ratio_to_matmul) + " of the " + r.precision + " matmul rate\n";
  if (r.forward_only) {
    s += "inference (eval, no DropToken): " + fmt("%.1f", r.forward_ms) + " ms per batch  (" +
         fmt("%.2f", r.clips_per_s) + " clips/s)\n";
    s += "work: " + fmt("%.2f", r.train_gflop_per_step) + " GFLOP/batch (forward)  achieved " +
         fmt("%.1f", r.achieved_gflops) + " GFLOP/s\n";
    return s + matmul;
  }
  s += "step: forward " + fmt("%.1f", r.forward_ms) + " ms  backward " + fmt("%.1f", r.backward_ms) +
       " ms  optimiser " + fmt("%.1f", r.optimiser_ms) + " ms  total " + fmt("%.1f", r.step_ms) + " ms  (" +
       fmt("%.2f", r.clips_per_s) + " clips/s)\n";
  s += "work: " + fmt("%.1f", r.train_gflop_per_step) + " GFLOP/step (3x forward)  achieved " +
       fmt("%.1f", r.achieved_gflops) + " GFLOP/s\n";
  s += matmul;
  s += "loss: first " + fmt("%.4f", r.loss_first) + "  last " + fmt("%.4f", r.loss_last) + "\n";
  return s + r.profile;
}

std::string format_model_info(const ModelInfo& info) {
  const auto& p = info.params;
  std::string s = "config " + info.name + "\n";
  s += "parameters (M): video " + fmt("%.2f", p.video / 1e6) + "  audio " + fmt("%.2f", p.audio / 1e6) +
       "  text " + fmt("%.2f", p.text / 1e6) + " (word embedding " +
       fmt("%.2f", p.text_word_embedding / 1e6) + ")  shared " + fmt("%.2f", p.shared / 1e6) + "  heads " +
       fmt("%.2f", p.heads / 1e6) + "  total " + fmt("%.2f", p.total / 1e6) + "\n";
  for (const auto& g : info.gflops)
    s += "GFLOPs at " + fmt("%2.0f", g.drop_rate * 100) + "% DropToken: video " + fmt("%.1f", g.video) +
         "  audio " + fmt("%.1f", g.audio) + "  text " + fmt("%.2f", g.text) + "  heads " +
         fmt("%.4f", g.heads) + "  total " + fmt("%.1f", g.total) + "\n";
  return s;
}

std::string model_info_json(const ModelInfo& info) {
  const auto& p = info.params;
  std::string s = "{\"config\": \"" + json_escape(info.name) + "\", \"params\": {";
  s += "\"video\": " + std::to_string(p.video) + ", \"audio\": " + std::to_string(p.audio) +
       ", \"text\": " + std::to_string(p.text) +
       ", \"text_word_embedding\": " + std::to_string(p.text_word_embedding) +
       ", \"shared\": " + std::to_string(p.shared) + ", \"heads\": " + std::to_string(p.heads) +
       ", \"total\": " + std::to_string(p.total) + "}, \"gflops\": {";
  for (size_t i = 0; i < info.gflops.size(); ++i)
    s += (i ? ", " : "") + std::string("\"") + rate_key(info.gflops[i].drop_rate) +
         "\": " + fmt("%.4f", info.gflops[i].total);
  s += "}, \"gflops_detail\": {";
  for (size_t i = 0; i < info.gflops.size(); ++i) {
    const auto& g = info.gflops[i];
    s += (i ? ", " : "") + std::string("\"") + rate_key(g.drop_rate) +
         "\": {\"video\": " + fmt("%.4f", g.video) + ", \"audio\": " + fmt("%.4f", g.audio) +
         ", \"text\": " + fmt("%.4f", g.text) + ", \"heads\": " + fmt("%.6f", g.heads) + "}";
  }
  s += "}, \"fields\": {";
  for (size_t i = 0; i < info.fields.size(); ++i)
    s += (i ? ", " : "") + std::string("\"") + json_escape(info.fields[i].first) + "\": \"" +
         json_escape(info.fields[i].second) + "\"";
  return s + "}}\n";
}

}  // namespace vatt::model
