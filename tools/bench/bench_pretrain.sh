#!/usr/bin/env bash
# Pretraining benchmarks (figures for the notes; run on an otherwise idle machine):
#  1. graphs/pretrain.yaml steady clips/s from a clip store and from video files (decoded on the fly), next
#     to the model-only step rate (`vatt bench model`, random data, same config, batch, precision, threads)
#     measured in the same run; the trainer's data-wait fraction; the pipeline's cost over the model step.
#  2. Peak resident memory of a pretraining pass over 100 and over 1000 input clips (must be flat).
# Usage: tools/bench/bench_pretrain.sh [WORKDIR]   (STEPS=N timed pipeline steps, default 150)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vatt="$repo/build/tools/vatt"
gen="$repo/build/tools/vatt-gen-media"
work="${1:-/tmp/vatt-bench-pretrain}"
steps="${STEPS:-150}"
mkdir -p "$work"
json() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

"$gen" --corpus "$work/c100" --videos 34 --heldout 0 >/dev/null 2>&1    # 102 clips
"$gen" --corpus "$work/c1000" --videos 334 --heldout 0 >/dev/null 2>&1  # 1002 clips
if [ ! -d "$work/c1000.db" ]; then
  "$vatt" run "$repo/graphs/ingest.yaml" --progress 0 --set src.uri="$work/c1000/train" --set store.db="$work/c1000.db" \
    --set store.store_media=true --set src.fps=2.5 --set src.short_side=40 --set src.sample_rate=8000 \
    --set src.asr=off >/dev/null 2>&1
fi

common=(--progress 0 --set train.checkpoint_dir= --set train.steps="$steps" --set train.log_every=0)
echo "== model only: vatt bench model (tiny, batch 32, 8x32x32, 25600 samples, fp32, 2 threads)"
model_ms=$("$vatt" bench model --config tiny --batch 32 --frames 8 --res 32 --set audio_samples=25600 \
  --set droptoken.video=0.25 --set droptoken.audio=0.25 --set vocab_size=64 --precision fp32 --threads 2 \
  --steps 30 --warmup 3 2>&1 | sed -n 's/.*total \([0-9.]*\) ms.*/\1/p')
model_cps=$(python3 -c "print(f'{32 * 1000 / $model_ms:.1f}')")
echo "   step ${model_ms} ms = ${model_cps} clips/s"
for src in store files; do
  uri="$work/c1000.db"; [ "$src" = files ] && uri="$work/c1000/train"
  rm -rf "$work/vocab-$src"
  "$vatt" run "$repo/graphs/pretrain.yaml" "${common[@]}" --set src.uri="$uri" \
    --set tok.vocab="$work/vocab-$src.txt" --metrics "$work/pretrain-$src.json" >/dev/null 2>&1
  m="$work/pretrain-$src.json"
  cps=$(json "$m" "round(m['nodes']['train']['steady_clips_per_s'], 1)")
  wait=$(json "$m" "round(100 * m['nodes']['train']['data_wait_fraction'], 2)")
  inside=$(json "$m" "round(m['nodes']['train']['step_ms_mean'], 1)")
  echo "== pipeline from $src: ${cps} clips/s steady = $(python3 -c "print(f'{$cps / $model_cps:.2f}')") x model-only;" \
       "data wait ${wait}% of wall; model step inside the pipeline ${inside} ms" \
       "($(python3 -c "print(f'{$inside / $model_ms:.2f}')") x model-only: CPU shared with decoding/augmentation)"
done

echo "== peak resident memory, one pass (epochs 1) over the clips, from video files"
for n in 100 1000; do
  rm -f "$work/vocab-rss.txt"
  /usr/bin/time -f "%M" -o "$work/rss-$n.txt" "$vatt" run "$repo/graphs/pretrain.yaml" --progress 0 \
    --set src.uri="$work/c$n/train" --set src.epochs=1 --set train.steps=100000 --set train.checkpoint_dir= \
    --set tok.vocab="$work/vocab-rss.txt" --set train.log_every=0 --metrics "$work/rss-$n.json" >/dev/null 2>&1
  clips=$(json "$work/rss-$n.json" "int(m['nodes']['src']['gauges']['clips'] if 'gauges' in m['nodes']['src'] else m['nodes']['src']['clips'])")
  echo "   $clips clips: peak RSS $(( $(cat "$work/rss-$n.txt") / 1024 )) MiB"
done
