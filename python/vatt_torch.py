"""VATT in plain PyTorch, loaded from a file written by `vatt export CHECKPOINT OUT.safetensors`.

Needs torch and safetensors only. The module computes what vatt's C++ model computes in evaluation mode
(no dropout, no DropToken, BatchNorm running statistics), tensor for tensor:

    from vatt_torch import VATT
    model = VATT.from_safetensors("vatt.safetensors")          # eval mode, CPU
    text = model.tokenize(["a dog runs on the beach"])          # [1, 1, 16] int64 word ids
    out = model(video=video, audio=audio, text=text)            # dict of tensors
    out["video_vt"], out["text_vt"]                             # the video-text space (not L2-normalised)

Inputs: video [B, T, H, W, 3] float in [-1, 1] (T, H, W multiples of the patch: 4 x 16 x 16 by default),
audio [B, S] float in [-1, 1] (S a multiple of 128), text [B, K, L] int64 ids (0 = padding). Outputs, for
whichever inputs were given: video_agg [B, dv], audio_agg [B, da], text_agg [B, K, dt] (backbone
features), video_va, audio_va [B, 512], video_vt [B, 256], text_vt [B, K, 256].

The file's metadata carries the model config (`vatt.config`, "field=value" lines), the vocabulary
(`vatt.vocab`) and the input the model was trained on (`vatt.input`: frames, crop, fps, sample rate, ...).
docs/model.md describes the layers; the tensor names are the C++ module's (`video.encoder.layers.0.attn.q`).
"""

from __future__ import annotations

import json
import math
import string
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

MASKED_SCORE = -1e9  # added to the scores of padding keys (finite: a fully masked row stays finite)
PAD, UNK = 0, 1

__all__ = ["VATT", "normalise_words", "parse_config"]


# --------------------------------------------------------------------------------------------------------
# Config and vocabulary


def parse_config(text: str) -> Dict[str, str]:
    """The `vatt.config` text ("name=..." then "field=value" lines) as a dict of strings."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"vatt.config: line {line!r} is not field=value")
        out[key] = value
    return out


class _Config:
    def __init__(self, fields: Dict[str, str]):
        self.fields = fields

    def int(self, key: str) -> int:
        return int(self.fields[key])

    def float(self, key: str) -> float:
        return float(self.fields[key])

    def bool(self, key: str) -> bool:
        return self.fields[key] in ("true", "1")

    def backbone(self, prefix: str) -> Dict[str, int]:
        return {k: self.int(f"{prefix}.{k}") for k in ("layers", "hidden", "mlp", "heads")}


_PUNCT = set(string.punctuation)


def normalise_words(text: str) -> List[str]:
    """vatt's text normalisation: ASCII letters lower-cased, ASCII punctuation removed (apostrophes too),
    split on ASCII whitespace; other characters kept as they are."""
    words, cur = [], []
    for ch in text:
        if ch.isascii() and ch in " \t\n\r\v\f":
            if cur:
                words.append("".join(cur))
            cur = []
        elif ch.isascii() and ch in _PUNCT:
            continue
        else:
            cur.append(ch.lower() if ch.isascii() else ch)
    if cur:
        words.append("".join(cur))
    return words


def _parse_vocab(text: str) -> Dict[str, int]:
    lines = text.split("\n")
    if not lines or lines[0] != "# vatt vocabulary v1":
        raise ValueError("vatt.vocab: expected the header '# vatt vocabulary v1'")
    ids = {"<pad>": PAD, "<unk>": UNK}
    for n, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        word, tab, _count = line.partition("\t")
        if not tab:
            raise ValueError(f"vatt.vocab line {n}: expected WORD<TAB>COUNT")
        ids[word] = len(ids)
    return ids


# --------------------------------------------------------------------------------------------------------
# Layers (names and maths as in vatt's model/layers.cpp and model/tokenisers.cpp)


def _attention(q, k, v, bias: Optional[torch.Tensor], scale: Optional[float]):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=0.0, scale=scale)


def _padding_bias(valid: torch.Tensor, dtype) -> torch.Tensor:
    bias = torch.zeros(valid.shape, dtype=dtype, device=valid.device)
    bias.masked_fill_(~valid.bool(), MASKED_SCORE)
    return bias[:, None, None, :]


class _MultiHeadAttention(nn.Module):
    def __init__(self, dim: int, heads: int, bias: bool, scaled: bool):
        super().__init__()
        self.heads, self.scaled = heads, scaled
        self.q = nn.Linear(dim, dim, bias=bias)
        self.k = nn.Linear(dim, dim, bias=bias)
        self.v = nn.Linear(dim, dim, bias=bias)
        self.o = nn.Linear(dim, dim, bias=bias)

    def forward(self, x, bias=None):
        b, n, d = x.shape

        def split(t):
            return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

        out = _attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), bias,
                         None if self.scaled else 1.0)
        return self.o(out.transpose(1, 2).reshape(b, n, d))


class _EncoderLayer(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        h = size["hidden"]
        self.ln1 = nn.LayerNorm(h, eps=eps)
        self.attn = _MultiHeadAttention(h, size["heads"], bias=True, scaled=True)
        self.ln2 = nn.LayerNorm(h, eps=eps)
        self.w1 = nn.Linear(h, size["mlp"])
        self.w2 = nn.Linear(size["mlp"], h)

    def forward(self, x, bias=None):
        x = x + self.attn(self.ln1(x), bias)
        return x + self.w2(F.gelu(self.w1(self.ln2(x))))


class _TransformerEncoder(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.layers = nn.ModuleList([_EncoderLayer(size, eps) for _ in range(size["layers"])])
        self.final_ln = nn.LayerNorm(size["hidden"], eps=eps)

    def forward(self, x, bias=None):
        for layer in self.layers:
            x = layer(x, bias)
        return self.final_ln(x)


class _RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def _relative_position_bucket(rel: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    half = num_buckets // 2
    max_exact = half // 2
    n = -rel.long()
    ret = (n < 0).long() * half
    n = n.abs()
    is_small = n < max_exact
    nf = n.float().clamp_min(1.0)
    large = max_exact + (torch.log(nf / float(max_exact)) /
                         torch.tensor(math.log(max_distance / max_exact), dtype=torch.float32) *
                         float(half - max_exact)).long()
    large = large.clamp_max(half - 1)
    return ret + torch.where(is_small, n, large)


class _T5Layer(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        h = size["hidden"]
        self.rms = _RmsNorm(h, eps)
        self.attn = _MultiHeadAttention(h, size["heads"], bias=False, scaled=False)
        self.ln = nn.LayerNorm(h, eps=eps)
        self.w1 = nn.Linear(h, size["mlp"], bias=False)
        self.w2 = nn.Linear(size["mlp"], h, bias=False)

    def forward(self, x, bias):
        x = x + self.attn(self.rms(x), bias)
        return x + self.w2(F.gelu(self.w1(self.ln(x))))


class _T5Encoder(nn.Module):
    def __init__(self, size, eps, buckets, max_distance):
        super().__init__()
        self.buckets, self.max_distance = buckets, max_distance
        self.relative_bias = nn.Embedding(buckets, size["heads"])
        self.layers = nn.ModuleList([_T5Layer(size, eps) for _ in range(size["layers"])])
        self.final_norm = _RmsNorm(size["hidden"], eps)

    def position_bias(self, n: int) -> torch.Tensor:
        pos = torch.arange(n, device=self.relative_bias.weight.device)
        buckets = _relative_position_bucket(pos[None, :] - pos[:, None], self.buckets, self.max_distance)
        return self.relative_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x, valid):
        bias = self.position_bias(x.shape[1]).to(x.dtype) + _padding_bias(valid, x.dtype)
        for layer in self.layers:
            x = layer(x, bias)
        return self.final_norm(x)


def _keys_kernel(x: float) -> float:
    a = -0.5
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def _cubic_resize_matrix(rows: int, new_rows: int) -> torch.Tensor:
    """The [new_rows, rows] matrix vatt uses to resize a position table (Keys cubic, a = -0.5, end taps
    extrapolated)."""
    w = [[0.0] * rows for _ in range(new_rows)]

    def add(i, j, weight):
        if 0 <= j < rows:
            w[i][j] += weight
            return
        low = j < 0

        def at(k):
            return k if low else rows - 1 - k

        if rows >= 3:
            w[i][at(0)] += 3 * weight
            w[i][at(1)] += -3 * weight
            w[i][at(2)] += weight
        elif rows == 2:
            w[i][at(0)] += 2 * weight
            w[i][at(1)] += -weight
        else:
            w[i][0] += weight

    for i in range(new_rows):
        p = 0.0 if new_rows == 1 else i * (rows - 1) / (new_rows - 1)
        j = int(math.floor(p))
        if j > rows - 2:
            j = max(rows - 2, 0)
        f = p - j
        for tap in range(-1, 3):
            weight = _keys_kernel(f - tap)
            if weight != 0:
                add(i, j + tap, weight)
    return torch.tensor(w, dtype=torch.float64)


def _resize_rows(table: torch.Tensor, new_rows: int) -> torch.Tensor:
    if table.shape[0] == new_rows:
        return table
    return _cubic_resize_matrix(table.shape[0], new_rows).to(table) @ table


class _SpatioTemporalPositions(nn.Module):
    def __init__(self, t, h, w, dim, eps):
        super().__init__()
        self.temporal = nn.Parameter(torch.zeros(t, dim))
        self.vertical = nn.Parameter(torch.zeros(h, dim))
        self.horizontal = nn.Parameter(torch.zeros(w, dim))
        self.ln = nn.LayerNorm(dim, eps=eps)

    def forward(self, tokens, t, h, w):
        e = (_resize_rows(self.temporal, t).view(t, 1, 1, -1) + _resize_rows(self.vertical, h).view(1, h, 1, -1) +
             _resize_rows(self.horizontal, w).view(1, 1, w, -1))
        return tokens + self.ln(e.reshape(t * h * w, -1)).to(tokens.dtype)


class _TemporalPositions(nn.Module):
    def __init__(self, rows, dim, eps):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(rows, dim))
        self.ln = nn.LayerNorm(dim, eps=eps)

    def forward(self, tokens):
        return tokens + self.ln(_resize_rows(self.table, tokens.shape[1])).to(tokens.dtype)


def _prepend(token, x):
    return torch.cat([token.to(x.dtype).view(1, 1, -1).expand(x.shape[0], 1, x.shape[2]), x], 1)


class _VideoPatch(nn.Module):
    def __init__(self, dim, pt, phw):
        super().__init__()
        self.proj = nn.Conv3d(3, dim, (pt, phw, phw), stride=(pt, phw, phw))

    def forward(self, video):
        y = self.proj(video.permute(0, 4, 1, 2, 3))
        return y.flatten(2).transpose(1, 2), tuple(y.shape[2:])


class _AudioPatch(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.proj = nn.Conv1d(1, dim, patch, stride=patch)

    def forward(self, audio):
        return self.proj(audio.unsqueeze(1)).transpose(1, 2)


class _PatchBackbone(nn.Module):
    """Video or audio: patches -> [pre_proj] -> positions -> AGG -> stack -> [post_proj] (VATT-MA)."""

    def __init__(self, cfg: _Config, video: bool, shared: Optional[_TransformerEncoder]):
        super().__init__()
        size = cfg.backbone("shared" if shared is not None else ("video" if video else "audio"))
        d, eps = size["hidden"], cfg.float("ln_eps")
        if video:
            self.patch = _VideoPatch(d, cfg.int("patch_t"), cfg.int("patch_hw"))
        else:
            self.patch = _AudioPatch(d, cfg.int("audio_patch"))
        self.pre_proj = nn.Linear(d, d) if shared is not None else None
        if video:
            self.positions = _SpatioTemporalPositions(cfg.int("frames") // cfg.int("patch_t"),
                                                      cfg.int("crop") // cfg.int("patch_hw"),
                                                      cfg.int("crop") // cfg.int("patch_hw"), d, eps)
        else:
            self.positions = _TemporalPositions(cfg.int("audio_samples") // cfg.int("audio_patch"), d, eps)
        self.agg = nn.Parameter(torch.zeros(d))
        self._shared = [shared]  # held, not registered: the parameters live under `shared.`
        if shared is None:
            self.encoder = _TransformerEncoder(size, eps)
            self.post_proj = None
        else:
            self.encoder = None
            self.post_proj = nn.Linear(d, cfg.int("post_proj_dim"))
        self.video = video
        self.droptoken = 0.0  # training only: drop this part of the positioned tokens (0 = keep all)

    def forward(self, x):
        if self.video:
            x, grid = self.patch(x)
        else:
            x = self.patch(x)
        if self.pre_proj is not None:
            x = F.gelu(self.pre_proj(x))
        x = self.positions(x, *grid) if self.video else self.positions(x)
        if self.training and self.droptoken > 0:
            # DropToken as vatt's default: one random subset for the whole batch, floor((1 - rate) * N) kept.
            n = x.shape[1]
            keep = max(1, int(math.floor((1 - self.droptoken) * n)))
            x = x[:, torch.randperm(n, device=x.device)[:keep].sort().values]
        x = _prepend(self.agg, x)
        if self.post_proj is None:
            return self.encoder(x)
        return F.gelu(self.post_proj(self._shared[0](x)))


class _TextBackbone(nn.Module):
    def __init__(self, cfg: _Config, shared: Optional[_TransformerEncoder]):
        super().__init__()
        eps, word_dim = cfg.float("ln_eps"), cfg.int("word_dim")
        self.embedding = nn.Embedding(cfg.int("vocab_size"), word_dim)
        self._shared = [shared]
        if shared is None:
            size = cfg.backbone("text")
            self.agg = nn.Parameter(torch.zeros(word_dim))
            self.pre_proj = nn.Linear(word_dim, size["hidden"], bias=False)
            self.t5 = _T5Encoder(size, eps, cfg.int("rel_buckets"), cfg.int("rel_max_distance"))
        else:
            size = cfg.backbone("shared")
            self.pre_proj = nn.Linear(word_dim, size["hidden"])
            self.positions = _TemporalPositions(cfg.int("text_words"), size["hidden"], eps)
            self.agg = nn.Parameter(torch.zeros(size["hidden"]))
            self.post_proj = nn.Linear(size["hidden"], cfg.int("post_proj_dim"))
            self.t5 = None

    def forward(self, ids):
        valid = torch.cat([torch.ones(ids.shape[0], 1, dtype=torch.bool, device=ids.device), ids != 0], 1)
        x = self.embedding(ids)
        if self.t5 is not None:
            return self.t5(F.gelu(self.pre_proj(_prepend(self.agg, x))), valid)
        x = self.positions(F.gelu(self.pre_proj(x)))
        y = self._shared[0](_prepend(self.agg, x), _padding_bias(valid, x.dtype))
        return F.gelu(self.post_proj(y))


class _Heads(nn.Module):
    def __init__(self, cfg: _Config, dv, da, dt):
        super().__init__()
        va, vt = cfg.int("head_va_dim"), cfg.int("head_vt_dim")
        # PyTorch's BatchNorm1d momentum is what vatt's config stores (0.1 = TF's 0.9).
        mom, eps = cfg.float("bn_momentum"), cfg.float("bn_eps")
        self.video_va = nn.Sequential(nn.Linear(dv, va, bias=False), nn.BatchNorm1d(va, eps, mom), nn.ReLU(),
                                      nn.Linear(va, va, bias=False), nn.BatchNorm1d(va, eps, mom))
        self.audio_va = nn.Linear(da, va)
        self.video_vt = nn.Sequential(nn.ReLU(), nn.Linear(va, vt, bias=False), nn.BatchNorm1d(vt, eps, mom))
        self.text_vt = nn.Linear(dt, vt)


# --------------------------------------------------------------------------------------------------------


class VATT(nn.Module):
    """A vatt model; build it with `VATT.from_safetensors(path)`."""

    def __init__(self, config: Dict[str, str], vocab: Optional[Dict[str, int]] = None,
                 input_spec: Optional[dict] = None):
        super().__init__()
        cfg = _Config(config)
        self.config, self.vocab, self.input_spec = config, vocab or {}, input_spec or {}
        self.text_words = cfg.int("text_words")
        ma = cfg.bool("modality_agnostic")
        self.shared = _TransformerEncoder(cfg.backbone("shared"), cfg.float("ln_eps")) if ma else None
        self.video = _PatchBackbone(cfg, True, self.shared)
        self.audio = _PatchBackbone(cfg, False, self.shared)
        self.text = _TextBackbone(cfg, self.shared)
        post = cfg.int("post_proj_dim")
        dv = post if ma else cfg.int("video.hidden")
        da = post if ma else cfg.int("audio.hidden")
        dt = post if ma else cfg.int("text.hidden")
        self.heads = _Heads(cfg, dv, da, dt)

    @classmethod
    def from_safetensors(cls, path: str, device: str = "cpu") -> "VATT":
        """Builds the model from `vatt export` output: config, vocabulary and input from the metadata, every
        tensor loaded by name (a missing or unexpected tensor is an error). Returns it in eval mode."""
        try:
            from safetensors.torch import load_file
            from safetensors import safe_open
        except ImportError as e:  # pragma: no cover
            raise ImportError("vatt_torch needs the safetensors package (pip install safetensors)") from e
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
        if "vatt.config" not in meta:
            raise ValueError(f"{path}: no vatt.config in the metadata (not written by `vatt export`?)")
        vocab = _parse_vocab(meta["vatt.vocab"]) if "vatt.vocab" in meta else None
        spec = json.loads(meta["vatt.input"]) if "vatt.input" in meta else None
        model = cls(parse_config(meta["vatt.config"]), vocab, spec)
        state = load_file(path)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f"{path}: tensors missing {sorted(missing)}, unexpected {sorted(unexpected)}")
        return model.to(device).eval()

    def tokenize(self, sentences: List[str], candidates: int = 1) -> torch.Tensor:
        """Word ids [B, candidates, text_words] with the checkpoint's vocabulary (unknown words -> <unk>,
        clipped or padded with 0 to text_words; each sentence repeated over the candidates)."""
        if not self.vocab:
            raise ValueError("this file carries no vocabulary (vatt.vocab)")
        out = torch.zeros(len(sentences), candidates, self.text_words, dtype=torch.long)
        for i, s in enumerate(sentences):
            words = normalise_words(s)[:self.text_words]
            ids = [self.vocab.get(w, UNK) for w in words]
            out[i, :, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def forward(self, video=None, audio=None, text=None) -> Dict[str, torch.Tensor]:
        out = {}
        if video is not None:
            out["video_agg"] = self.video(video)[:, 0]
            out["video_va"] = self.heads.video_va(out["video_agg"])
            out["video_vt"] = self.heads.video_vt(out["video_va"])
        if audio is not None:
            out["audio_agg"] = self.audio(audio)[:, 0]
            out["audio_va"] = self.heads.audio_va(out["audio_agg"])
        if text is not None:
            if text.dim() == 2:
                text = text.unsqueeze(1)
            b, k, w = text.shape
            ids = text.long().clamp(0, self.text.embedding.num_embeddings - 1).reshape(b * k, w)
            agg = self.text(ids)[:, 0]
            out["text_agg"] = agg.view(b, k, -1)
            out["text_vt"] = self.heads.text_vt(agg).view(b, k, -1)
        return out
