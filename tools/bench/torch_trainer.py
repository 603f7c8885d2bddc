#!/usr/bin/env python3
"""The plain PyTorch + PyAV VATT trainer that tools/bench/bench_vs_pytorch.sh races vatt against.

What a researcher would write without vatt: a torch Dataset that decodes each clip with PyAV (seek, decode,
pick frames at the clip rate, resize + random crop, resample the audio), a DataLoader with worker processes,
the model of python/vatt_torch.py (the same VATT as vatt's C++ model, loaded from `vatt export` of a freshly
initialised checkpoint, so both trainers start from the same weights and shapes) with its DropToken on, NCE
(video-audio) + MIL-NCE (video-text) at temperature 0.07, Adam. Prints one line of JSON with the steady rate
(clips/s after the warm-up steps) and the fraction of wall time the step loop waited for data.

Usage: torch_trainer.py --weights INIT.safetensors --videos DIR [--steps N] [--warmup K] [--batch B]
                        [--workers W] [--threads T] [--fps F] [--frames T] [--crop C] [--rate R] [--seed S]
"""
import argparse
import glob
import json
import os
import random
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import vatt_torch  # noqa: E402


def srt_cues(path):
    """[(start_s, end_s, text)] of a .srt file ([] when there is none)."""
    if not os.path.exists(path):
        return []
    cues = []
    for block in open(path, encoding="utf-8").read().strip().split("\n\n"):
        lines = block.strip().splitlines()
        if len(lines) < 3:
            continue
        m = re.match(r"(\d+):(\d+):(\d+)[,.](\d+) --> (\d+):(\d+):(\d+)[,.](\d+)", lines[1])
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        cues.append((g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000, g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000,
                     " ".join(lines[2:])))
    return cues


class Clips(torch.utils.data.Dataset):
    """Every clip_seconds window of every video: frames [T, crop, crop, 3] uint8, audio [S] float, text."""

    def __init__(self, videos, fps, frames, crop, rate, seconds):
        import av  # noqa: F401  (fail early when PyAV is missing)
        self.fps, self.frames, self.crop, self.rate, self.seconds = fps, frames, crop, rate, seconds
        self.items = []
        for path in videos:
            import av
            with av.open(path) as c:
                duration = float(c.duration) / 1e6 if c.duration else 0.0
            cues = srt_cues(os.path.splitext(path)[0] + ".srt")
            for k in range(int(duration // seconds + 1e-6)):
                start = k * seconds
                words = [t for (s, e, t) in cues if s < start + seconds and e > start]
                self.items.append((path, start, words[0] if words else ""))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        import av
        path, start, text = self.items[i]
        rng = random.Random(i * 7919 + int(time.time() * 1000) % 1000)
        with av.open(path) as c:
            vs = c.streams.video[0]
            c.seek(int(start / vs.time_base), stream=vs, any_frame=False, backward=True)
            want = [start + j / self.fps for j in range(self.frames)]
            picked, j = [None] * self.frames, 0
            for f in c.decode(vs):
                t = float(f.pts * vs.time_base)
                while j < self.frames and t + 0.5 / self.fps > want[j]:
                    if t >= want[j] - 0.5 / self.fps:
                        w, h = f.width, f.height
                        scale = self.crop / min(w, h)
                        img = f.reformat(width=max(self.crop, round(w * scale)), height=max(self.crop, round(h * scale)),
                                         format="rgb24").to_ndarray()
                        y = rng.randint(0, img.shape[0] - self.crop)
                        x = rng.randint(0, img.shape[1] - self.crop)
                        picked[j] = img[y:y + self.crop, x:x + self.crop]
                    j += 1
                if j >= self.frames:
                    break
            last = next((p for p in picked if p is not None), np.zeros((self.crop, self.crop, 3), np.uint8))
            for k in range(self.frames):
                last = picked[k] if picked[k] is not None else last
                picked[k] = last
            video = np.stack(picked)
        samples = int(round(self.seconds * self.rate))
        audio = np.zeros(samples, np.float32)
        with av.open(path) as c:
            if c.streams.audio:
                a = c.streams.audio[0]
                c.seek(int(start / a.time_base), stream=a, backward=True)
                res = av.AudioResampler(format="flt", layout="mono", rate=self.rate)
                got, first = [], None
                for f in c.decode(a):
                    for r in res.resample(f):
                        if first is None:
                            first = float(f.pts * a.time_base)
                        got.append(r.to_ndarray().reshape(-1))
                    if first is not None and sum(len(g) for g in got) >= samples + int((start - first) * self.rate) + 1:
                        break
                if got:
                    wave = np.concatenate(got)
                    skip = max(0, int(round((start - (first or 0)) * self.rate)))
                    cut = wave[skip:skip + samples]
                    audio[:len(cut)] = cut
        return torch.from_numpy(video), torch.from_numpy(audio), text


def nce(a, b, temperature):
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = a @ b.t() / temperature
    target = torch.arange(a.shape[0])
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def mil_nce(video, text, mask, temperature):
    """video [B, D], text [B, K, D] (K candidates), mask [B] (1 = the clip has text)."""
    v, t = F.normalize(video, dim=-1), F.normalize(text, dim=-1)
    b, k, _ = t.shape
    scores = torch.einsum("id,jkd->ijk", v, t) / temperature  # [B, B, K]
    pos = torch.logsumexp(scores[torch.arange(b), torch.arange(b)], dim=-1)
    all_v2t = torch.logsumexp(scores.reshape(b, b * k), dim=-1)
    all_t2v = torch.logsumexp(scores.permute(1, 0, 2).reshape(b, b * k), dim=-1)
    per = (all_v2t - pos) + (all_t2v - pos)
    return (per * mask).sum() / mask.sum().clamp(min=1) / 2


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", required=True)
    p.add_argument("--videos", required=True)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--fps", type=float, default=10)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--crop", type=int, default=112)
    p.add_argument("--rate", type=int, default=48000)
    p.add_argument("--droptoken", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    model = vatt_torch.VATT.from_safetensors(a.weights)
    model.video.droptoken = model.audio.droptoken = a.droptoken
    model.train()
    videos = sorted(glob.glob(os.path.join(a.videos, "*.webm")) + glob.glob(os.path.join(a.videos, "*.mp4")))
    data = Clips(videos, a.fps, a.frames, a.crop, a.rate, a.frames / a.fps)
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.workers,
                                         drop_last=True, persistent_workers=a.workers > 0,
                                         collate_fn=lambda items: items)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)
    step, wait, t_steady, clips_steady = 0, 0.0, None, 0
    it = iter(loader)
    while step < a.steps:
        t0 = time.perf_counter()
        try:
            items = next(it)
        except StopIteration:
            it = iter(loader)
            items = next(it)
        t1 = time.perf_counter()
        video = torch.stack([v for v, _, _ in items]).float().div_(127.5).sub_(1.0)
        audio = torch.stack([w for _, w, _ in items])
        texts = [t for _, _, t in items]
        ids = model.tokenize(texts, candidates=5)
        mask = torch.tensor([1.0 if t else 0.0 for t in texts])
        out = model(video=video, audio=audio, text=ids)
        loss = nce(out["video_va"], out["audio_va"], 0.07) + mil_nce(out["video_vt"], out["text_vt"], mask, 0.07)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step == a.warmup:
            t_steady, clips_steady, wait = time.perf_counter(), 0, 0.0
        elif t_steady is not None:
            clips_steady += len(items)
            wait += t1 - t0
    wall = time.perf_counter() - t_steady
    print(json.dumps({"steady_clips_per_s": clips_steady / wall, "data_wait_fraction": wait / wall,
                      "steps": a.steps, "warmup": a.warmup, "clips": len(data), "loss": loss.item()}))


if __name__ == "__main__":
    main()
