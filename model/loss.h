// The VATT objective: symmetric NCE between video and audio, symmetric MIL-NCE between video and
// the 5 candidate texts, with text-less clips masked out. Model-internal header: includes LibTorch.
#pragma once

#include <torch/torch.h>

namespace vatt::model {

/// The total loss and its two terms (scalars, differentiable).
struct LossTerms {
  torch::Tensor total;    ///< (nce + lambda * mil_nce) / (1 + lambda)
  torch::Tensor nce;      ///< video-audio, mean over all clips
  torch::Tensor mil_nce;  ///< video-text, mean over clips that have text (0 when none has)
};

/// Symmetric MIL-NCE over a batch. Both inputs are L2-normalised here; s(i,j,l) = <a_i, b_j,l> / temperature.
///   anchors:    [B, D]      (video)
///   candidates: [B, L, D]   (texts; L = 1 gives plain NCE)
///   has:        [B] (nonzero = clip has candidates) or undefined (all have)
/// For an anchor i with candidates:
///   loss_i = logsumexp({s(i,j,l) : j has, all l} + {s(j,i,l) : all j, all l}) - logsumexp_l s(i,i,l)
/// Both halves run over the whole batch, so the positives s(i,i,l) sit in the denominator once per half, as
/// in the reference code. Candidates of clips without them leave every denominator (their anchors' videos
/// stay, as negatives of other clips' texts) and those clips' own terms are zero. Returns the mean over clips
/// that have candidates, 0 when none has. Half/bf16 inputs are computed in float32.
///
/// `negatives` [B, K, D] (optional; constants, no gradient): extra negatives per anchor (hard negatives mined
/// from a memory bank), added to anchor i's denominator as s(a_i, n_ik); `negatives_valid` [B, K] (bool)
/// leaves out the slots that hold none.
torch::Tensor symmetric_mil_nce(const torch::Tensor& anchors, const torch::Tensor& candidates,
                                const torch::Tensor& has, double temperature,
                                const torch::Tensor& negatives = {},
                                const torch::Tensor& negatives_valid = {});

/// The full objective from the heads' outputs: NCE(video_va [B,Dva], audio_va [B,Dva]) and
/// MIL-NCE(video_vt [B,Dvt], text_vt [B,L,Dvt]) masked by text_mask [B].
/// `text_negatives`/`text_negatives_valid`: optional hard negative texts per video (see symmetric_mil_nce).
LossTerms vatt_loss(const torch::Tensor& video_va, const torch::Tensor& audio_va,
                    const torch::Tensor& video_vt, const torch::Tensor& text_vt,
                    const torch::Tensor& text_mask, double temperature = 0.07, double lambda = 1.0,
                    const torch::Tensor& text_negatives = {}, const torch::Tensor& text_negatives_valid = {});

}  // namespace vatt::model
