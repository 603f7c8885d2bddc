// The full model on the `tiny` config: output shapes in training and evaluation, where DropToken and the AGG
// token act, VATT-MA sharing, word-vector loading, a finite-difference gradient check, and construction of
// every named configuration.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "model/loss.h"
#include "model/optimiser.h"
#include "model/vatt.h"

namespace vatt::model {
namespace {

using torch::indexing::Slice;

struct Inputs {
  torch::Tensor video, audio, text, mask;
};

Inputs tiny_inputs(const ModelConfig& c, int64_t b, torch::Dtype dtype = torch::kFloat) {
  Inputs in;
  auto opts = torch::TensorOptions().dtype(dtype);
  in.video = torch::rand({b, c.frames, c.crop, c.crop, 3}, opts) * 2 - 1;
  in.audio = torch::rand({b, c.audio_samples}, opts) * 2 - 1;
  in.text = torch::randint(2, c.vocab_size, {b, c.text_candidates, c.text_words}, torch::kLong);
  in.text.index_put_({Slice(), Slice(), Slice(10)}, 0);  // pad the tail of every text
  in.mask = torch::ones({b});
  if (b > 1) {
    in.text[1].zero_();  // clip 1 has no text
    in.mask[1] = 0;
  }
  return in;
}

void expect_shapes(const VattOutput& out, const ModelConfig& c, int64_t b) {
  EXPECT_EQ(out.video_va.sizes(), (std::vector<int64_t>{b, c.head_va_dim}));
  EXPECT_EQ(out.audio_va.sizes(), (std::vector<int64_t>{b, c.head_va_dim}));
  EXPECT_EQ(out.video_vt.sizes(), (std::vector<int64_t>{b, c.head_vt_dim}));
  EXPECT_EQ(out.text_vt.sizes(), (std::vector<int64_t>{b, c.text_candidates, c.head_vt_dim}));
  EXPECT_EQ(out.text_mask.sizes(), (std::vector<int64_t>{b}));
  for (const auto& t : {out.video_va, out.audio_va, out.video_vt, out.text_vt})
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>());
}

TEST(Vatt, TinyForwardShapesInTrainingAndEvaluation) {
  torch::manual_seed(0);
  auto c = make_config("tiny");
  Vatt model(c);
  auto in = tiny_inputs(c, 3);
  model->train();
  auto out = model->forward(in.video, in.audio, in.text, in.mask);
  expect_shapes(out, c, 3);
  EXPECT_EQ(out.text_agg.sizes(), (std::vector<int64_t>{3, 5, 64}));
  auto loss = vatt_loss(out.video_va, out.audio_va, out.video_vt, out.text_vt, out.text_mask, c.temperature,
                        c.mil_nce_lambda);
  EXPECT_TRUE(torch::isfinite(loss.total).item<bool>());
  loss.total.backward();
  EXPECT_TRUE(model->video->agg.grad().defined());

  model->eval();
  torch::NoGradGuard no_grad;
  auto a = model->forward(in.video, in.audio, in.text, in.mask);
  auto b = model->forward(in.video, in.audio, in.text, in.mask);
  expect_shapes(a, c, 3);
  EXPECT_TRUE(torch::equal(a.video_vt, b.video_vt));  // no dropout, no DropToken in evaluation
  EXPECT_EQ(model->embed_video_text_space(in.video).sizes(), (std::vector<int64_t>{3, 16}));
  EXPECT_TRUE(torch::allclose(model->embed_text(in.text[0]), a.text_vt[0], 1e-5, 1e-6));
}

TEST(Vatt, OfficialDropoutDefaultsChangeTrainingOnly) {
  // The default config has every dropout of the released code; eval mode equals a model without any.
  torch::manual_seed(8);
  auto c = make_config("tiny", {"droptoken.video=0", "droptoken.audio=0"});
  ASSERT_TRUE(c.attention_dropout && c.output_dropout);
  Vatt model(c);
  Vatt plain(make_config("tiny", {"droptoken.video=0", "droptoken.audio=0", "dropout=0"}));
  auto in = tiny_inputs(c, 3);
  torch::NoGradGuard no_grad;
  model->train();
  auto a = model->forward(in.video, in.audio, in.text, in.mask);
  auto b = model->forward(in.video, in.audio, in.text, in.mask);
  EXPECT_FALSE(torch::allclose(a.video_agg, b.video_agg));
  EXPECT_FALSE(torch::allclose(a.text_agg, b.text_agg));
  // Output dropout: a tenth of the AGG features entering the heads are exact zeros.
  EXPECT_NEAR((a.video_agg == 0).to(torch::kDouble).mean().item<double>(), 0.1, 0.08);
  // The same weights and BatchNorm statistics (which the training-mode calls above updated) in both.
  auto src = model->named_parameters();
  for (auto& p : plain->named_parameters()) p.value().copy_(src[p.key()]);
  auto bsrc = model->named_buffers();
  for (auto& q : plain->named_buffers()) q.value().copy_(bsrc[q.key()]);
  model->eval();
  plain->eval();
  auto e = model->forward(in.video, in.audio, in.text, in.mask);
  auto f = plain->forward(in.video, in.audio, in.text, in.mask);
  EXPECT_TRUE(torch::allclose(e.video_vt, f.video_vt, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(e.audio_va, f.audio_va, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(e.text_vt, f.text_vt, 1e-5, 1e-6));
}

TEST(Vatt, OfficialInitIsGlorotUniformWithZeroBiases) {
  torch::manual_seed(9);
  Vatt official(make_config("tiny"));
  Vatt torch_default(make_config("tiny", {"init=torch"}));
  int kernels = 0;
  for (const auto& m : official->named_modules()) {
    torch::Tensor w, bias;
    if (auto* l = m.value()->as<torch::nn::LinearImpl>()) w = l->weight, bias = l->bias;
    if (auto* c3 = m.value()->as<torch::nn::Conv3dImpl>()) w = c3->weight, bias = c3->bias;
    if (auto* c1 = m.value()->as<torch::nn::Conv1dImpl>()) w = c1->weight, bias = c1->bias;
    if (!w.defined()) continue;
    ++kernels;
    const double receptive = static_cast<double>(w[0][0].numel());
    const double limit = std::sqrt(6.0 / (receptive * static_cast<double>(w.size(0) + w.size(1))));
    EXPECT_LE(w.abs().max().item<double>(), limit + 1e-7) << m.key();
    EXPECT_GT(w.abs().max().item<double>(), 0.8 * limit) << m.key();  // fills its range
    if (bias.defined()) {
      EXPECT_EQ(bias.abs().max().item<double>(), 0.0) << m.key();
    }
  }
  EXPECT_GT(kernels, 20);
  // LibTorch's defaults draw non-zero biases.
  EXPECT_GT(torch_default->heads->named_parameters()["audio_va.bias"].abs().max().item<double>(), 0.0);
}

TEST(Vatt, DropTokenActsInTrainingOnlyAndSparesTheAggToken) {
  torch::manual_seed(1);
  auto c = make_config("tiny", {"dropout=0", "frames=16", "crop=64"});  // 4 x 4 x 4 = 64 video tokens
  VideoBackbone video(c);
  AudioBackbone audio(c);
  auto in = tiny_inputs(c, 2);
  video->eval();
  audio->eval();
  auto all_video = video->tokens(in.video).detach();
  ASSERT_EQ(all_video.sizes(), (std::vector<int64_t>{2, 65, 64}));
  EXPECT_EQ(audio->tokens(in.audio).size(1), 33);
  video->train();
  audio->train();
  auto kept = video->tokens(in.video).detach();
  ASSERT_EQ(kept.sizes(), (std::vector<int64_t>{2, 33, 64}));  // floor(0.5 * 64) + AGG
  EXPECT_EQ(audio->tokens(in.audio).size(1), 17);              // floor(0.5 * 32) + AGG
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_TRUE(
        torch::equal(kept[b][0], video->agg.detach()));  // the AGG token is always first, never dropped
    // Every kept token is one of the eval tokens (positions added before the drop), none the AGG.
    std::set<int64_t> found;
    for (int64_t k = 1; k < 33; ++k) {
      auto match = (all_video[b].index({Slice(1)}) - kept[b][k]).abs().amax(1).argmin().item<int64_t>();
      EXPECT_TRUE(torch::allclose(all_video[b][match + 1], kept[b][k])) << k;
      found.insert(match);
    }
    EXPECT_EQ(found.size(), 32u);
  }
  auto with_rate = make_config("tiny", {"droptoken.video=0.25", "droptoken.audio=0.75"});
  VideoBackbone v2(with_rate);
  AudioBackbone a2(with_rate);
  auto in2 = tiny_inputs(with_rate, 1);
  EXPECT_EQ(v2->tokens(in2.video).size(1), 1 + 6);  // floor(0.75 * 8) + AGG
  EXPECT_EQ(a2->tokens(in2.audio).size(1), 1 + 8);  // floor(0.25 * 32) + AGG
}

TEST(Vatt, PerSampleDropTokenDiffersAcrossTheBatch) {
  torch::manual_seed(2);
  auto c = make_config("tiny", {"dropout=0", "droptoken.mode=per_sample"});
  AudioBackbone audio(c);
  auto in = tiny_inputs(c, 1);
  auto same = torch::cat({in.audio, in.audio});  // two identical clips
  audio->train();
  auto kept = audio->tokens(same);
  EXPECT_FALSE(torch::allclose(kept[0], kept[1]));
  auto shared = make_config("tiny", {"dropout=0"});
  AudioBackbone audio_shared(shared);
  audio_shared->train();
  auto kept_shared = audio_shared->tokens(same);
  EXPECT_TRUE(torch::allclose(kept_shared[0], kept_shared[1]));
}

TEST(Vatt, ModalityAgnosticSharesOneStackAndCountsItOnce) {
  torch::manual_seed(3);
  auto c = make_config("tiny", {"modality_agnostic=true"});
  Vatt model(c);
  ASSERT_TRUE(static_cast<bool>(model->shared));
  auto in = tiny_inputs(c, 2);
  model->train();
  expect_shapes(model->forward(in.video, in.audio, in.text, in.mask), c, 2);
  std::set<const void*> unique;
  for (const auto& p : model->parameters()) unique.insert(p.data_ptr());
  EXPECT_EQ(unique.size(), model->parameters().size());
  const auto counts = count_parameters(*model);
  EXPECT_EQ(counts.shared, count_parameters(*model->shared));
  EXPECT_EQ(counts.total, counts.video + counts.audio + counts.text + counts.shared + counts.heads);
  // The relative bias belongs to the modality-specific T5 text encoder only.
  for (const auto& p : model->named_parameters()) EXPECT_EQ(p.key().find("relative_bias"), std::string::npos);
}

TEST(Vatt, WordVectorsLoadFreezeAndReportErrors) {
  auto c = make_config("tiny");
  std::vector<std::string> vocab = {"<pad>", "<unk>", "cat", "dog", "fish"};
  for (int64_t i = 5; i < c.vocab_size; ++i) vocab.push_back("w" + std::to_string(i));
  const std::string path = std::string(VATT_BINARY_DIR) + "/test_word_vectors.txt";
  {
    std::ofstream out(path);
    out << "4 16\n";  // word2vec header
    for (const char* w : {"dog", "bird", "cat", "dog"}) {
      out << w;
      for (int j = 0; j < 16; ++j) out << ' ' << (std::string(w) == "cat" ? 0.5 + j : -1.0 * j);
      out << '\n';
    }
  }
  auto wv = load_word_vectors(path, vocab, 16);
  EXPECT_EQ(wv.found_count, 2);  // cat, dog; bird is not in the vocabulary; the second dog is ignored
  EXPECT_EQ(wv.lines, 4);
  EXPECT_TRUE(wv.found[2].item<bool>());
  EXPECT_FALSE(wv.found[4].item<bool>());
  EXPECT_FLOAT_EQ(wv.table[2][3].item<float>(), 3.5f);
  EXPECT_FLOAT_EQ(wv.table[3][3].item<float>(), -3.0f);

  TextBackbone text(c);
  auto fish_before = text->embedding->weight[4].detach().clone();
  text->set_word_vectors(wv, /*freeze=*/true);
  EXPECT_TRUE(torch::equal(text->embedding->weight[2].detach(), wv.table[2]));
  EXPECT_TRUE(torch::equal(text->embedding->weight[4].detach(), fish_before));  // not found: unchanged
  EXPECT_FALSE(text->embedding->weight.requires_grad());
  auto adam = make_adam(text->parameters(), c.optim);
  for (const auto& p : adam->param_groups()[0].params()) EXPECT_FALSE(p.is_same(text->embedding->weight));

  {
    std::ofstream out(path);
    out << "cat 1 2 3\n";
  }
  try {
    load_word_vectors(path, vocab, 16);
    ADD_FAILURE() << "short line accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":1"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  try {
    load_word_vectors(path, vocab, 16);
    ADD_FAILURE() << "missing file accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Vatt, FiniteDifferenceGradientsMatchBackprop) {
  torch::manual_seed(4);
  // Deterministic in training mode: no dropout, no DropToken; BatchNorm then uses batch statistics.
  auto c = make_config("tiny", {"dropout=0", "droptoken.video=0", "droptoken.audio=0"});
  Vatt model(c);
  model->to(torch::kFloat64);
  model->train();
  auto in = tiny_inputs(c, 3, torch::kFloat64);
  auto loss_of = [&] {
    auto out = model->forward(in.video, in.audio, in.text, in.mask);
    return vatt_loss(out.video_va, out.audio_va, out.video_vt, out.text_vt, out.text_mask, c.temperature,
                     c.mil_nce_lambda)
        .total;
  };
  model->zero_grad();
  loss_of().backward();
  auto params = model->named_parameters();
  const std::vector<std::pair<std::string, int64_t>> probes = {
      {"video.positions.temporal", 3},
      {"video.agg", 5},
      {"video.encoder.layers.0.attn.q.weight", 17},
      {"audio.encoder.layers.1.w1.weight", 40},
      {"text.t5.relative_bias.weight", 2},  // bucket 1, head 0: distance -1 occurs in every text
      {"text.pre_proj.weight", 9},
      {"text.t5.layers.1.ln.bias", 4},
      {"heads.video_va.0.weight", 11},
      {"heads.text_vt.bias", 3}};
  torch::NoGradGuard no_grad;
  for (const auto& [name, index] : probes) {
    auto* p = params.find(name);
    ASSERT_NE(p, nullptr) << name;
    auto flat = p->view({-1});
    const double analytic = p->grad().view({-1})[index].item<double>();
    const double eps = 1e-6;
    const double x0 = flat[index].item<double>();
    flat[index] = x0 + eps;
    const double up = loss_of().item<double>();
    flat[index] = x0 - eps;
    const double down = loss_of().item<double>();
    flat[index] = x0;
    const double numeric = (up - down) / (2 * eps);
    EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-4 * std::abs(numeric)) << name << "[" << index << "]";
    EXPECT_NE(analytic, 0.0) << name;  // a probe with no gradient would test nothing
  }
}

TEST(Vatt, EveryNamedConfigBuildsWithItsWidths) {
  // One layer per stack and a small vocabulary keep this cheap; widths, tables and heads are the real ones.
  for (const auto& name : named_configs()) {
    auto c = make_config(
        name, {"video.layers=1", "audio.layers=1", "text.layers=1", "shared.layers=1", "vocab_size=16"});
    Vatt model(c);
    const auto& vs = c.modality_agnostic ? c.shared : c.video;
    const auto& as = c.modality_agnostic ? c.shared : c.audio;
    EXPECT_EQ(model->video->patch->proj->weight.sizes(), (std::vector<int64_t>{vs.hidden, 3, 4, 16, 16}))
        << name;
    EXPECT_EQ(model->video->positions->temporal.size(0), c.grid_t()) << name;
    EXPECT_EQ(model->video->positions->vertical.size(0), c.grid_h()) << name;
    EXPECT_EQ(model->audio->positions->table.sizes(), (std::vector<int64_t>{c.audio_tokens(), as.hidden}))
        << name;
    EXPECT_EQ(model->text->embedding->weight.sizes(), (std::vector<int64_t>{16, c.word_dim})) << name;
    EXPECT_EQ(count_parameters(*model).total, analytic_parameters(c).total) << name;
  }
}

}  // namespace
}  // namespace vatt::model
