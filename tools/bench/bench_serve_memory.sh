#!/usr/bin/env bash
# Resident memory of `vatt serve` over a long input played faster than real time: COPIES copies of a generated
# corpus (36 narrated videos of 10 s: 6 minutes per copy; 10 copies = 1 hour) dropped into a watched folder at
# once; the service ingests, embeds and stores them as fast as it can. Prints the RSS every 10 s, then the
# first (after warm-up), last and peak RSS, and the input hours per wall-clock hour.
# Usage: tools/bench/bench_serve_memory.sh CORPUS_DIR CHECKPOINT [COPIES] [WORK_DIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
corpus="$1" ckpt="$2" copies="${3:-10}" work="${4:-/tmp/vatt-bench-serve-memory}"
vatt="$repo/build/tools/vatt"
rm -rf "$work" && mkdir -p "$work/inbox"
echo "inbox $work/inbox" > "$work/sources.txt"
"$vatt" serve --db "$work/db" --checkpoint "$ckpt" --root "$work" --sources "$work/sources.txt" \
  --listen 127.0.0.1:0 --set src.settle_seconds=1 > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "http://127.0.0.1:" "$work/serve.log" && break; sleep 0.1; done
port=$(grep -o "127.0.0.1:[0-9]*" "$work/serve.log" | head -1 | cut -d: -f2)
files=0
for c in $(seq 1 "$copies"); do
  for f in "$corpus"/train/*.webm "$corpus"/heldout/*.webm; do
    b=$(basename "$f" .webm)
    cp "${f%.webm}.srt" "$work/inbox/c$c-$b.srt" 2>/dev/null || true
    cp "$f" "$work/inbox/c$c-$b.webm"
    files=$((files + 1))
  done
done
start=$(date +%s.%N)
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
first="" peak=0 last=0
while :; do
  done_files=$(curl -s "http://127.0.0.1:$port/api/sources" | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['files_done'])")
  r=$(rss); last=$r; ((r > peak)) && peak=$r
  now=$(date +%s.%N)
  el=$(python3 -c "print(f'{$now - $start:.0f}')")
  [[ -z "$first" && $el -ge 10 ]] && first=$r
  echo "t=${el}s files=$done_files/$files rss=${r} KiB"
  ((done_files >= files)) && break
  sleep 10
done
wall=$(python3 -c "print($(date +%s.%N) - $start)")
python3 - "$files" "$wall" "$first" "$last" "$peak" <<'PY'
import sys
files, wall, first, last, peak = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3] or 0), int(sys.argv[4]), int(sys.argv[5])
hours = files * 10 / 3600
print(f"{files} files = {hours:.2f} h of input in {wall:.0f} s ({hours * 3600 / wall:.1f}x real time); "
      f"RSS after warm-up {first / 1024:.0f} MiB, at the end {last / 1024:.0f} MiB ({(last - first) / max(first, 1) * 100:+.1f}%), "
      f"peak {peak / 1024:.0f} MiB")
PY
