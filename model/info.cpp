// Parameter counts and forward GFLOPs from a configuration alone, so `vatt model info` answers instantly even
// for VATT-L; tests/model/test_info.cpp holds the counts against built models.
#include "model/info.h"

#include "model/tokenisers.h"

namespace vatt::model {
namespace {

// Pre-LN stack: per layer two LayerNorms, q/k/v/o with bias, W1/W2 with bias; one final LayerNorm.
int64_t encoder_params(const BackboneConfig& s) {
  const int64_t d = s.hidden, m = s.mlp;
  const int64_t layer = 2 * d + 4 * (d * d + d) + 2 * d + (d * m + m) + (m * d + d);
  return s.layers * layer + 2 * d;
}

// T5 stack: RMS scale, unbiased q/k/v/o, LayerNorm, unbiased W1/W2; final RMS scale; the bias table once.
int64_t t5_params(const BackboneConfig& s, int64_t rel_buckets) {
  const int64_t d = s.hidden, m = s.mlp;
  const int64_t layer = d + 4 * d * d + 2 * d + 2 * d * m;
  return s.layers * layer + d + rel_buckets * s.heads;
}

// Multiply-adds of one stack over n tokens, split into dense (projections, MLP) and attention (QK^T, AV).
struct Macs {
  double dense = 0;
  double attention = 0;
};

Macs stack_macs(const BackboneConfig& s, double n) {
  const double d = static_cast<double>(s.hidden), m = static_cast<double>(s.mlp);
  return {s.layers * n * (4 * d * d + 2 * d * m), s.layers * 2 * n * n * d};
}

double gflops(const Macs& macs) {
  return (2 * macs.dense + macs.attention) / 1e9;
}

}  // namespace

ParameterCounts analytic_parameters(const ModelConfig& c) {
  ParameterCounts p;
  const bool ma = c.modality_agnostic;
  const auto& vs = ma ? c.shared : c.video;
  const auto& as = ma ? c.shared : c.audio;
  const auto& ts = ma ? c.shared : c.text;
  const int64_t P = c.post_proj_dim;

  const int64_t dv = vs.hidden;
  p.video = 3 * c.patch_t * c.patch_hw * c.patch_hw * dv + dv       // Conv3d
            + (c.grid_t() + c.grid_h() + c.grid_w()) * dv + 2 * dv  // three tables + LayerNorm
            + dv;                                                   // AGG
  const int64_t da = as.hidden;
  p.audio = c.audio_patch * da + da + c.audio_tokens() * da + 2 * da + da;
  const int64_t dt = ts.hidden;
  p.text_word_embedding = c.vocab_size * c.word_dim;
  if (ma) {
    p.video += (dv * dv + dv) + (dv * P + P);
    p.audio += (da * da + da) + (da * P + P);
    p.text = p.text_word_embedding + (c.word_dim * dt + dt) + c.text_words * dt + 2 * dt + dt + (dt * P + P);
    p.shared = encoder_params(c.shared);
  } else {
    p.video += encoder_params(vs);
    p.audio += encoder_params(as);
    p.text = p.text_word_embedding + c.word_dim /* AGG */ + c.word_dim * dt + t5_params(ts, c.rel_buckets);
  }
  const int64_t ov = ma ? P : dv, oa = ma ? P : da, ot = ma ? P : dt;
  const int64_t va = c.head_va_dim, vt = c.head_vt_dim;
  p.heads = (ov * va + 2 * va + va * va + 2 * va) + (oa * va + va) + (va * vt + 2 * vt) + (ot * vt + vt);
  p.total = p.video + p.audio + p.text + p.shared + p.heads;
  return p;
}

GflopsBreakdown forward_gflops(const ModelConfig& c, double drop_rate) {
  GflopsBreakdown g;
  g.drop_rate = drop_rate;
  const bool ma = c.modality_agnostic;
  const auto& vs = ma ? c.shared : c.video;
  const auto& as = ma ? c.shared : c.audio;
  const auto& ts = ma ? c.shared : c.text;
  const double P = static_cast<double>(c.post_proj_dim);

  // Video: the tokeniser (and VATT-MA pre-projection) sees every patch; the stack sees the kept ones + AGG.
  {
    const double all = static_cast<double>(c.video_tokens());
    const double n = static_cast<double>(kept_token_count(c.video_tokens(), drop_rate) + 1);
    const double d = static_cast<double>(vs.hidden);
    Macs m = stack_macs(vs, n);
    m.dense += all * 3.0 * c.patch_t * c.patch_hw * c.patch_hw * d;
    if (ma) m.dense += all * d * d + n * d * P;
    g.video = gflops(m);
  }
  {
    const double all = static_cast<double>(c.audio_tokens());
    const double n = static_cast<double>(kept_token_count(c.audio_tokens(), drop_rate) + 1);
    const double d = static_cast<double>(as.hidden);
    Macs m = stack_macs(as, n);
    m.dense += all * static_cast<double>(c.audio_patch) * d;
    if (ma) m.dense += all * d * d + n * d * P;
    g.audio = gflops(m);
  }
  {
    const double words = static_cast<double>(c.text_words);
    const double n = words + 1;
    const double d = static_cast<double>(ts.hidden);
    Macs m = stack_macs(ts, n);
    // T5 projects the AGG vector too (it lives in word space); VATT-MA projects words, then post-projects
    // all.
    m.dense += ma ? words * c.word_dim * d + n * d * P : n * c.word_dim * d;
    g.text = gflops(m);
  }
  {
    const double ov = ma ? P : vs.hidden, oa = ma ? P : as.hidden, ot = ma ? P : ts.hidden;
    const double va = static_cast<double>(c.head_va_dim), vt = static_cast<double>(c.head_vt_dim);
    g.heads = gflops({ov * va + va * va + va * vt + oa * va + ot * vt, 0});
  }
  g.total = g.video + g.audio + g.text + g.heads;
  return g;
}

ModelInfo model_info(const ModelConfig& config) {
  ModelInfo info;
  info.name = config.name;
  info.params = analytic_parameters(config);
  for (double rate : {0.0, 0.25, 0.5, 0.75}) info.gflops.push_back(forward_gflops(config, rate));
  info.fields = config_fields(config);
  return info;
}

}  // namespace vatt::model
