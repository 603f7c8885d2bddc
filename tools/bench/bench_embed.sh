#!/usr/bin/env bash
# Embedding throughput (figures for the notes; run on an otherwise idle machine): clips/s of graphs/embed.yaml
# from a clip store (no decoding) and from video files (decoded on the fly), in fp32 and bf16, next to the
# model-only inference rate (`vatt bench model --forward`: the same config, batch, input, precision and
# threads on random data) measured in the same run. Target: the pipeline from a store within 10% of the
# model-only rate. From the store with one runtime worker (--threads 1), from files with all cores.
# Usage: tools/bench/bench_embed.sh [WORKDIR]   (EPOCHS=N passes over the 1,002 stored clips, default 5)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vatt="$repo/build/tools/vatt"
gen="$repo/build/tools/vatt-gen-media"
work="${1:-/tmp/vatt-bench-embed}"
epochs="${EPOCHS:-5}"
mkdir -p "$work"
json() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

"$gen" --corpus "$work/c1000" --videos 334 --heldout 0 >/dev/null 2>&1  # 1002 clips of 3.2 s
if [ ! -d "$work/c1000.db" ]; then
  "$vatt" run "$repo/graphs/ingest.yaml" --progress 0 --set src.uri="$work/c1000/train" \
    --set store.db="$work/c1000.db" --set store.store_media=true --set src.fps=2.5 --set src.short_side=40 \
    --set src.sample_rate=8000 --set src.asr=off >/dev/null 2>&1
fi
if [ ! -d "$work/ckpt" ]; then
  "$vatt" run "$repo/graphs/pretrain.yaml" --progress 0 --set src.uri="$work/c1000.db" \
    --set train.checkpoint_dir="$work/ckpt" --set train.steps=20 --set train.log_every=0 >/dev/null 2>&1
fi

batch=32
echo "tiny, batch $batch, 8 frames of 32x32, 25600 samples at 8 kHz, 2 LibTorch threads"
printf "%-6s %-28s %10s %10s\n" precision source clips/s "of model"
for prec in fp32 bf16; do
  model=$("$vatt" bench model --forward --config tiny --batch $batch --frames 8 --res 32 \
    --set audio_samples=25600 --set vocab_size=64 --precision $prec --threads 2 --steps 30 --warmup 3 |
    sed -n 's/.*(\([0-9.]*\) clips\/s).*/\1/p')
  printf "%-6s %-28s %10.1f %10s\n" $prec "model only (random data)" "$model" "1.00"
  for src in store files; do
    uri="$work/c1000.db"
    extra=(--threads 1 --set src.epochs="$epochs")  # nothing to decode: the cores go to LibTorch
    if [ "$src" = files ]; then uri="$work/c1000/train"; extra=(); fi
    db="$work/emb-$src-$prec.db"
    rm -rf "$db" "$db.index"
    "$vatt" run "$repo/graphs/embed.yaml" --progress 0 --set src.uri="$uri" "${extra[@]}" \
      --set model.checkpoint="$work/ckpt" --set model.precision=$prec --set batch.size=$batch \
      --set store.db="$db" --metrics "$work/embed-$src-$prec.json" >/dev/null 2>&1
    m="$work/embed-$src-$prec.json"
    clips=$(json "$m" "m['nodes']['src']['out']")
    cps=$(json "$m" "round(m['nodes']['src']['out'] / m['elapsed_s'], 1)")
    printf "%-6s %-28s %10.1f %10.2f\n" $prec "graphs/embed.yaml, $src ($clips clips)" "$cps" \
      "$(python3 -c "print($cps / $model)")"
  done
done
