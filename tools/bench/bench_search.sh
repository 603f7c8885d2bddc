#!/usr/bin/env bash
# Nearest-neighbour search benchmarks over the embedding store (figures for the notes; run on an otherwise idle
# machine). Each run is one bench_search process (tools/bench/bench_search.cpp): seeded L2-normalised vectors
# ("random": Gaussian; "clustered": 1000 centres + noise) written into a fresh RocksDB store through
# EmbeddingStore::Writer, exact top-10 by brute force, then per index kind (flat, hnsw, ivf) and per efSearch /
# nprobe: build time, memory, reopen time, single-query p50/p99 latency, QPS and recall@10; the same queries
# filtered on the "test" split (10% of the vectors) and on 5 sources (500 vectors); 1000 vectors added and
# caught up with sync(), then searched for.
#
# Targets:
#   1M x 256, hnsw:   p99 <= 2 ms at recall@10 >= 0.95
#   100k:             p99 <= 2 ms at recall@10 >= 0.99
#   filtered queries: p99 within 2x of unfiltered
#   adding 1,000 clips: <= 1 s (write + sync) and searchable at once (each comes back first for itself)
#
# Matrix: SIZES (default "100000x256 100000x512") with KINDS (flat,hnsw,ivf), on each of SETS (random,
# clustered). FULL=1 adds 1M x 256 with hnsw, ivf and flat (flat with FLAT_QUERIES queries, 200 by default, as
# each flat query scans every vector).
# Usage: tools/bench/bench_search.sh [WORKDIR]
#   Env: SIZES, SETS, KINDS, QUERIES (1000), FULL=1, FLAT_QUERIES (200),
#        EXTRA (more bench_search options, e.g. "--ef-search 64,128,256 --nprobe 16,32,64").
# Output: runs/bench-search/<date-time>/<run>.txt (the tables), .log (progress) and .json.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${1:-/tmp/vatt-bench-search}"
queries="${QUERIES:-1000}"
flat_queries="${FLAT_QUERIES:-200}"
sizes="${SIZES:-100000x256 100000x512}"
sets="${SETS:-random clustered}"
kinds="${KINDS:-flat,hnsw,ivf}"
read -r -a extra <<<"${EXTRA:-}"

VATT_SKIP_SETUP=1 VATT_TARGETS=bench_search "$repo/tools/build.sh"
bin="$repo/build/tools/bench/bench_search"
out="$repo/runs/bench-search/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
echo "== writing to $out"

run() {  # NAME bench_search options...
  local name="$1" start
  shift
  start=$(date +%s)
  echo "== $name: bench_search $*"
  "$bin" --dir "$work/$name" --json "$out/$name.json" "$@" "${extra[@]}" >"$out/$name.txt" \
    2> >(tee "$out/$name.log" >&2)
  cat "$out/$name.txt"
  echo "== $name: $(($(date +%s) - start)) s" | tee -a "$out/$name.txt"
}

total=$(date +%s)
for set in $sets; do
  for size in $sizes; do
    n="${size%x*}" dim="${size#*x}"
    run "$n-$dim-$set" --n "$n" --dim "$dim" --set "$set" --kinds "$kinds" --queries "$queries"
  done
done
if [[ "${FULL:-0}" == 1 ]]; then
  for set in $sets; do
    run "1000000-256-$set" --n 1000000 --dim 256 --set "$set" --kinds hnsw,ivf,flat --queries "$queries" \
      --flat-queries "$flat_queries"
  done
fi
echo "== all runs: $(($(date +%s) - total)) s; tables in $out"
