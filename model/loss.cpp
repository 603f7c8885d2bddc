// Symmetric (MIL-)NCE with a finite fill for masked candidates, so that no row is all -inf and no NaN
// gradient can appear even when no clip of the batch has text.
#include "model/loss.h"

#include "model/precision.h"

namespace vatt::model {
namespace {

constexpr double kMaskedLogit = -1e9;  // exp underflows to 0 exactly; finite so logsumexp stays finite

torch::Tensor working_precision(const torch::Tensor& x) {
  const auto t = x.scalar_type();
  return t == torch::kHalf || t == torch::kBFloat16 ? x.to(torch::kFloat) : x;
}

}  // namespace

torch::Tensor symmetric_mil_nce(const torch::Tensor& anchors, const torch::Tensor& candidates,
                                const torch::Tensor& has, double temperature, const torch::Tensor& negatives,
                                const torch::Tensor& negatives_valid) {
  namespace F = torch::nn::functional;
  // The loss is always fp32: under a bf16 autocast region the einsum below would otherwise run in bf16, whose
  // 8-bit mantissa is too coarse for logits of magnitude 1/temperature = 14.
  AutocastGuard fp32(anchors.device().str(), false);
  auto a = F::normalize(working_precision(anchors), F::NormalizeFuncOptions().dim(-1));
  auto c = F::normalize(working_precision(candidates).to(a.scalar_type()), F::NormalizeFuncOptions().dim(-1));
  const auto b = a.size(0), l = c.size(1);
  auto m = has.defined() ? has.to(a.device()).to(torch::kBool).view({b})
                         : torch::ones({b}, torch::TensorOptions().dtype(torch::kBool).device(a.device()));
  auto s = torch::einsum("id,jld->ijl", {a, c}) / temperature;  // [B, B, L]: s(a_i, c_j,l)
  auto anchor_to_all = s.masked_fill(m.logical_not().view({1, b, 1}), kMaskedLogit).reshape({b, b * l});
  auto all_to_anchor = s.permute({1, 0, 2}).reshape({b, b * l});  // row i: s(a_j, c_i,l) over j, l
  std::vector<torch::Tensor> terms{anchor_to_all, all_to_anchor};
  if (negatives.defined() && negatives.numel() > 0) {
    auto n = F::normalize(working_precision(negatives).to(a.scalar_type()).detach(),
                          F::NormalizeFuncOptions().dim(-1));
    auto sn = torch::einsum("id,ikd->ik", {a, n}) / temperature;  // [B, K]
    if (negatives_valid.defined())
      sn = sn.masked_fill(negatives_valid.to(torch::kBool).logical_not(), kMaskedLogit);
    terms.push_back(sn);
  }
  auto denominator = torch::logsumexp(torch::cat(terms, 1), 1);
  auto numerator = torch::logsumexp(s.diagonal(0, 0, 1).transpose(0, 1), 1);  // [B]: over s(a_i, c_i,l)
  auto mf = m.to(a.scalar_type());
  return ((denominator - numerator) * mf).sum() / mf.sum().clamp_min(1.0);
}

LossTerms vatt_loss(const torch::Tensor& video_va, const torch::Tensor& audio_va,
                    const torch::Tensor& video_vt, const torch::Tensor& text_vt,
                    const torch::Tensor& text_mask, double temperature, double lambda,
                    const torch::Tensor& text_negatives, const torch::Tensor& text_negatives_valid) {
  LossTerms t;
  t.nce = symmetric_mil_nce(video_va, audio_va.unsqueeze(1), {}, temperature);
  t.mil_nce =
      symmetric_mil_nce(video_vt, text_vt, text_mask, temperature, text_negatives, text_negatives_valid);
  t.total = (t.nce + lambda * t.mil_nce) / (1.0 + lambda);
  return t;
}

}  // namespace vatt::model
