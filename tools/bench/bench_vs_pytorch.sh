#!/usr/bin/env bash
# vatt's pretraining against a plain PyTorch + PyAV trainer of the same model and shapes (run on an
# otherwise idle machine; figures for the notes, not a test). Both start from the same freshly initialised
# weights (`vatt run graphs/pretrain.yaml` one step at lr 0, then `vatt export`), train on the same narrated
# clips (batch 16, 8 frames at 10 fps, 112 px crops, 0.8 s of 48 kHz audio, DropToken 0.5, 2 threads) and
# print their steady clips/s (after the warm-up steps) and how long the step loop waited for data. Rows:
#   sss    Small everywhere, vatt's auto precision (bf16 where the CPU has it), from the video files
#   tiny+  tiny with 256 hidden / 1024 MLP / 4 heads, from the video files
#   store  the same tiny+, vatt reading a clip store ingested once (the PyTorch side still decodes)
# Runs are interleaved (vatt, torch, vatt, torch, ...) RUNS times per row (default 3) and the median is the
# figure, because this 2-core VM drifts +-30% between runs.
# The PyTorch trainer has no dropout (python/vatt_torch.py is the inference port), so by default vatt trains
# without it too (train.set dropout=0): both sides do the same arithmetic. DROPOUT=on gives vatt the released
# code's dropout (its default for pretraining), which costs it 10-35% of its step on the CPU.
# The PyTorch trainer is tools/bench/torch_trainer.py (torch from .venv; PyAV installed into .venv from PyPI
# the first time).
# Usage: tools/bench/bench_vs_pytorch.sh [WORKDIR]
# Env: RUNS=3 STEPS=60 WARMUP=10 ROWS="sss tiny+ store" DROPOUT=off
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vatt="$repo/build/tools/vatt"
gen="$repo/build/tools/vatt-gen-media"
py="$repo/.venv/bin/python"
work="${1:-/tmp/vatt-bench-vs-pytorch}"
runs="${RUNS:-3}" steps="${STEPS:-60}" warmup="${WARMUP:-10}" rows="${ROWS:-sss tiny+ store}"
case "${DROPOUT:-off}" in
  off) drop="dropout=0," ;;
  on) drop="" ;;
  *) echo "DROPOUT must be on or off, not '$DROPOUT'" >&2; exit 2 ;;
esac
mkdir -p "$work"
"$py" -c "import av" 2>/dev/null || "$repo/.venv/bin/pip" install -q "av==12.3.0"
json() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# 48 narrated videos of 9.6 s = 576 clips of 0.8 s.
"$gen" --corpus "$work/corpus" --videos 48 --heldout 0 >/dev/null 2>&1
shape=(--set src.fps=10 --set src.frames=8 --set src.short_side=112 --set src.sample_rate=48000
       --set src.asr=off --set aug.crop=112 --set train.audio_samples=38400 --set train.droptoken=0.5
       --set batch.size=16 --set train.threads=2)
if [ ! -d "$work/store.db" ]; then
  "$vatt" run "$repo/graphs/ingest.yaml" --progress 0 --set src.uri="$work/corpus/train" --set store.db="$work/store.db" \
    --set store.store_media=true --set src.fps=10 --set src.short_side=112 --set src.sample_rate=48000 \
    --set src.clip_seconds=0.8 --set src.asr=off >/dev/null 2>&1
fi

config_of() {  # row -> train.config and train.set overrides
  case "$1" in
    sss) echo "--set train.config=sss --set train.precision=auto${drop:+ --set train.set=[${drop%,}]}" ;;
    *) echo "--set train.config=tiny --set train.precision=auto --set train.set=[${drop}video.hidden=256,video.mlp=1024,video.heads=4,audio.hidden=256,audio.mlp=1024,audio.heads=4,text.hidden=256,text.mlp=1024,text.heads=4]" ;;
  esac
}

median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }

for row in $rows; do
  cfg=$(config_of "$row")
  init="$work/init-$row"
  if [ ! -f "$init.safetensors" ]; then
    rm -rf "$init"
    # shellcheck disable=SC2086
    "$vatt" run "$repo/graphs/pretrain.yaml" --progress 0 "${shape[@]}" $cfg --set src.uri="$work/corpus/train" \
      --set train.checkpoint_dir="$init" --set train.steps=1 --set train.lr=0 --set train.lr_end=0 >/dev/null 2>&1
    "$vatt" export "$init" "$init.safetensors" >/dev/null
  fi
  uri="$work/corpus/train"; [ "$row" = store ] && uri="$work/store.db"
  v_rates=() t_rates=() v_waits=() t_waits=()
  for r in $(seq "$runs"); do
    rm -rf "$work/run-$row"
    # shellcheck disable=SC2086
    "$vatt" run "$repo/graphs/pretrain.yaml" --progress 0 "${shape[@]}" $cfg --set src.uri="$uri" \
      --set tok.vocab="$init/vocab.txt" --set train.checkpoint_dir="$work/run-$row" --set train.steps="$steps" \
      --set train.lr=1e-4 --set train.log_every=0 --set train.checkpoint_every=0 \
      --metrics "$work/vatt-$row-$r.json" >/dev/null 2>&1
    v_rates+=("$(json "$work/vatt-$row-$r.json" "m['nodes']['train']['steady_clips_per_s']")")
    v_waits+=("$(json "$work/vatt-$row-$r.json" "100 * m['nodes']['train']['data_wait_fraction']")")
    "$py" "$repo/tools/bench/torch_trainer.py" --weights "$init.safetensors" --videos "$work/corpus/train" \
      --steps "$steps" --warmup "$warmup" --batch 16 --workers 2 --threads 2 --fps 10 --frames 8 --crop 112 \
      --rate 48000 --droptoken 0.5 > "$work/torch-$row-$r.json" 2>"$work/torch-$row-$r.log"
    t_rates+=("$(json "$work/torch-$row-$r.json" "m['steady_clips_per_s']")")
    t_waits+=("$(json "$work/torch-$row-$r.json" "100 * m['data_wait_fraction']")")
    echo "   $row run $r: vatt ${v_rates[-1]} clips/s (waits ${v_waits[-1]}%), torch ${t_rates[-1]} clips/s (waits ${t_waits[-1]}%)"
  done
  vm=$(median "${v_rates[@]}") tm=$(median "${t_rates[@]}")
  echo "== $row: vatt $vm clips/s (median of $runs; data wait $(median "${v_waits[@]}")%), plain PyTorch + PyAV" \
       "$tm clips/s (data wait $(median "${t_waits[@]}")%): ratio $(python3 -c "print(f'{$vm / $tm:.2f}')")x"
done

# Embedding for the live service: forward-only rates (eval mode, no DropToken, what `embed` runs) and how many
# real-time streams they would carry if the model were all the work (a stream gives one clip per clip length;
# decoding the streams takes cores too: docs/live.md has the end-to-end figures).
echo "== embedding, forward only, batch 16, 2 threads (model alone)"
for c in "tiny 8 32 25600 3.2" "sss 8 112 38400 0.8"; do
  set -- $c
  for p in fp32 bf16; do
    rate=$("$vatt" bench model --config "$1" --batch 16 --frames "$2" --res "$3" --set audio_samples="$4" \
      --precision "$p" --threads 2 --steps 5 --warmup 2 --forward 2>&1 | sed -n 's/.*(\([0-9.]*\) clips\/s).*/\1/p')
    echo "   $1 ($2 frames of $3 px, $5 s clips) $p: $rate clips/s = $(python3 -c "print(f'{$rate * $5:.0f}')") real-time streams"
  done
done
