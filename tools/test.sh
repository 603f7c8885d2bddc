#!/usr/bin/env bash
# The whole test suite: set up, build, and run every GoogleTest case through CTest.
# Extra arguments go to ctest (e.g. -R Runtime).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/tools/build.sh"
cd "$repo/build"
exec ctest --output-on-failure -j2 "$@"
