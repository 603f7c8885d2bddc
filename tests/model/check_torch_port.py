"""Second half of tests/model/test_torch_port.cpp: loads DIR/vatt.safetensors with python/vatt_torch.py,
embeds the raw input the C++ side wrote, and compares with the C++ Embedder's outputs (max |diff| <= 1e-5)."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from vatt_torch import VATT  # noqa: E402

d, batch = sys.argv[1], int(sys.argv[2])
model = VATT.from_safetensors(os.path.join(d, "vatt.safetensors"))
assert not model.training
frames, crop = int(model.config["frames"]), int(model.config["crop"])
samples, words = int(model.config["audio_samples"]), int(model.config["text_words"])


def raw(name, dtype, shape):
    return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype=dtype).reshape(shape))


video = raw("video.u8", np.uint8, (batch, frames, crop, crop, 3)).float().div_(127.5).sub_(1.0)
audio = raw("audio.f32", np.float32, (batch, samples))
text = raw("text.i32", np.int32, (batch, 1, words)).long()
with torch.no_grad():
    out = model(video=video, audio=audio, text=text)

worst = 0.0
for name, normalise in [("video_va", True), ("audio_va", True), ("video_vt", True), ("text_vt", True),
                        ("video_agg", False), ("audio_agg", False)]:
    got = out[name].reshape(batch, -1)
    if normalise:
        got = torch.nn.functional.normalize(got, dim=-1)
    want = raw(name + ".f32", np.float32, tuple(got.shape))
    diff = (got - want).abs().max().item()
    scale = want.abs().max().item()
    print(f"{name}: max |python - c++| = {diff:.2e} (values up to {scale:.2f})")
    assert diff <= 1e-5, name
    worst = max(worst, diff)
assert out["text_agg"].shape[:2] == (batch, 1)

ids = model.tokenize(["The DOG, runs! fast"], candidates=2)
assert ids.shape == (1, 2, words), ids.shape
assert ids[0, 0, :5].tolist() == [2, 3, 4, 1, 0], ids[0, 0].tolist()
assert torch.equal(ids[0, 0], ids[0, 1])
assert model.input_spec["frames"] == 8
print(f"port ok: worst {worst:.2e}")
