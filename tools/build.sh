#!/usr/bin/env bash
# Configures and builds vatt into build/ (Release, ccache, -j2). Runs the set-up first unless VATT_SKIP_SETUP=1.
# Usage: tools/build.sh [extra cmake -D options]   Env: VATT_TARGETS="vatt ..." builds only those targets.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${VATT_BUILD_DIR:-$repo/build}"
[[ "${VATT_SKIP_SETUP:-0}" == 1 ]] || "$repo/tools/setup.sh"

venv="${VATT_VENV:-$repo/.venv}"
torch_prefix="$("$venv/bin/python" -W ignore -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
jobs="${VATT_JOBS:-2}"

start=$(date +%s)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" "$@" >/dev/null
elif (($#)); then
  cmake "$build" "$@" >/dev/null
fi
targets=()
for t in ${VATT_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
echo "build: done in $(($(date +%s) - start)) s"
