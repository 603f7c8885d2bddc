#!/usr/bin/env bash
# The main job on its embedded default: set up, build, generate a small corpus of narrated videos, ingest
# it, pretrain VATT on it, and score zero-shot retrieval on held-out videos with different narrations.
#   1. vatt-gen-media --corpus: 72 training + 20 held-out videos (9.6 s each, 3 clips), 12 visual concepts
#      (videotestsrc), each with its own tone, narrated by espeak-ng, with .srt transcripts
#   2. graphs/ingest.yaml: decode once into a clip store (frames and audio kept)
#   3. graphs/pretrain.yaml: train from the clip store (no re-decoding); progress line, checkpoints, resume
#   4. graphs/eval-retrieval.yaml: embed the held-out clips with the last checkpoint; R@K, MedR vs chance
#   5. graphs/embed.yaml: keep the held-out clips' embeddings in a store (runs/demo/store.db), then
#      `vatt search` it for two typed queries
#   6. graphs/eval-linear.yaml (a linear probe on the 12 concepts), graphs/eval-zeroshot.yaml (captions
#      against per-video means), graphs/finetune-video.yaml + eval-classify.yaml (fine-tuning, then a
#      4-clip x 3-crop test) and `vatt report` (runs/demo/report.html and its PNGs)
# Everything goes to runs/demo (VATT_DEMO_DIR). Running it again resumes or reuses what is done; extra
# arguments go to the pretraining run (e.g. --set train.steps=3000).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VATT_TARGETS="${VATT_TARGETS:-vatt vatt-gen-media}" "$repo/tools/build.sh"  # tests are tools/test.sh's
vatt="$repo/build/tools/vatt"
out="${VATT_DEMO_DIR:-$repo/runs/demo}"
mkdir -p "$out"
start=$(date +%s)
stage() { echo "== demo [$(($(date +%s) - start)) s]: $*" >&2; }

stage "generating the corpus in $out/corpus"
"$repo/build/tools/vatt-gen-media" --corpus "$out/corpus"

stage "ingesting $out/corpus/train into the clip store $out/clips.db"
"$vatt" run "$repo/graphs/ingest.yaml" --set src.uri="$out/corpus/train" --set store.db="$out/clips.db" \
  --set store.store_media=true --set src.resume_db="$out/clips.db" --set src.fps=2.5 --set src.short_side=40 \
  --set src.sample_rate=8000 --set src.asr=off --metrics "$out/ingest.json"

stage "pretraining from the clip store (checkpoints in $out/pretrain)"
"$vatt" run "$repo/graphs/pretrain.yaml" --set src.uri="$out/clips.db" \
  --set train.checkpoint_dir="$out/pretrain" --metrics "$out/pretrain.json" "$@"

stage "zero-shot retrieval on the held-out videos ($out/corpus/heldout)"
"$vatt" run "$repo/graphs/eval-retrieval.yaml" --set src.uri="$out/corpus/heldout" \
  --set model.checkpoint="$out/pretrain" --set score.report="$out/retrieval.json" --metrics "$out/eval.json"

stage "embedding the held-out videos into the store $out/store.db"
"$vatt" run "$repo/graphs/embed.yaml" --set src.uri="$out/corpus/heldout" --set model.checkpoint="$out/pretrain" \
  --set store.db="$out/store.db" --metrics "$out/embed.json"
"$vatt" models --db "$out/store.db"

stage "linear probe on the corpus's concepts ($out/corpus/classes: train = the training videos, test = held-out)"
"$vatt" run "$repo/graphs/eval-linear.yaml" --progress 0 --set src.uri="$out/corpus/classes" \
  --set model.checkpoint="$out/pretrain" --set probe.report="$out/probe.json" \
  --set probe.confusion="$out/confusion.csv" --metrics "$out/probe-metrics.json"

stage "zero-shot retrieval, standard protocol (captions of the held-out videos against 4-clip video means)"
"$vatt" run "$repo/graphs/eval-zeroshot.yaml" --progress 0 --set src.uri="$out/corpus/heldout" \
  --set src.captions="$out/corpus/captions.json" --set model.checkpoint="$out/pretrain" \
  --set score.report="$out/zeroshot.json" --metrics "$out/zeroshot-metrics.json"

stage "fine-tuning the video backbone on the concepts (200 steps), then testing it (4 clips x 3 crops)"
"$vatt" run "$repo/graphs/finetune-video.yaml" --progress 0 --set src.uri="$out/corpus/classes" \
  --set train.checkpoint="$out/pretrain" --set train.checkpoint_dir="$out/finetune-video" \
  --set train.steps=200 --set train.lr=0.05 --set train.log_every=50
"$vatt" run "$repo/graphs/eval-classify.yaml" --progress 0 --set src.uri="$out/corpus/classes" \
  --set model.checkpoint="$out/finetune-video" --set model.report="$out/classify.json"

stage "report: $out/report.html (and a PNG per chart beside it)"
"$vatt" report "$out/pretrain" --out "$out/report.html"

stage "done"
python3 - "$out/retrieval.json" "$out/probe.json" "$out/zeroshot.json" "$out/classify.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
names = {"t2v": "text -> video", "v2t": "video -> text", "v2a": "video -> audio", "a2v": "audio -> video"}
print(f"\nZero-shot retrieval on {r['clips']} held-out clips (each clip's own narration / audio is its query):")
print(f"  {'':15} {'R@1':>7} {'R@5':>7} {'R@10':>7} {'MedR':>6}   chance R@5   R@5 / chance")
for k in ("t2v", "v2t", "v2a", "a2v"):
    s = r[k]
    print(f"  {names[k]:15} {s['R@1']:6.1f}% {s['R@5']:6.1f}% {s['R@10']:6.1f}% {s['MedR']:6.1f}   "
          f"{s['chance_R@5']:9.1f}%   {s['R@5'] / s['chance_R@5']:8.1f}x")
p = json.load(open(sys.argv[2]))
print(f"\nLinear probe (low-rank classifier on frozen video features), {p['sources']} videos, "
      f"{len(p['classes'])} concepts: top-1 {p['top1']:.1f}%, top-5 {p['top5']:.1f}% (chance {p['chance']:.1f}%)")
c = json.load(open(sys.argv[4]))
print(f"Fine-tuned video backbone (200 steps), {c['sources']} held-out videos x {c['views_per_source']:.0f} views: "
      f"top-1 {c['top1']:.1f}%, top-5 {c['top5']:.1f}%")
z = json.load(open(sys.argv[3]))
print(f"Zero-shot text -> video, {z['t2v']['queries']} captions against {z['t2v']['gallery']} videos: "
      f"R@1 {z['t2v']['R@1']:.1f}%, R@5 {z['t2v']['R@5']:.1f}%, MedR {z['t2v']['MedR']:.1f}")
PY

for q in "a red screen" "the checkerboard"; do
  echo
  echo "vatt search --db $out/store.db --text \"$q\" -k 5 --per-video"
  "$vatt" search --db "$out/store.db" --text "$q" -k 5 --per-video
done

echo
echo "Serve this store live (a web page with search, a watched folder for new videos; Ctrl-C to stop):"
echo "  mkdir -p $out/inbox && echo \"inbox $out/inbox\" > $out/sources.txt"
echo "  $vatt serve --db $out/store.db --checkpoint $out/pretrain --root $out --sources $out/sources.txt"
echo "  then open http://127.0.0.1:8080/?q=a+red+screen and copy videos into $out/inbox"
