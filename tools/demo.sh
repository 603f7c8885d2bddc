#!/usr/bin/env bash
# The main job on its embedded default: set up, build, and run graphs/demo.yaml (generated data).
# Extra arguments go to `vatt run` (e.g. --set src.count=100000).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/tools/build.sh"
exec "$repo/build/tools/vatt" run "$repo/graphs/demo.yaml" "$@"
