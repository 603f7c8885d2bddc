#!/usr/bin/env bash
# GPU check of model/: builds the model-only target against the machine's pip PyTorch, runs the model tests,
# the CPU-vs-CUDA agreement check and the MFU benchmark of VATT-MBS. Run from the repo root on a GPU machine
# with python3 + torch 2.11 (CUDA 13), cmake and g++ (GoogleTest optional: the tests are skipped without it).
# Usage: tools/gpu_check.sh [build dir, default build-gpu]   Env: PYTHON (default python3), JOBS, PEAK_TFLOPS,
# QUICK=1 (tests and the agreement check only, no benchmarks).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build-gpu}"
python="${PYTHON:-python3}"
jobs="${JOBS:-$(nproc)}"
peak="${PEAK_TFLOPS:-989}"  # H100 SXM dense bf16
status=0
step() { printf '\n=== %s\n' "$*"; }

step "environment"
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "device",
  torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")' || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
prefix="$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"

# TorchConfig needs a CUDA toolkit (nvcc, headers) for a CUDA wheel; use the system one or pip's nvidia wheels.
cmake_extra=()
if ! command -v nvcc >/dev/null && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
  nv="$("$python" -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null)/nvidia"
  for d in "$nv"/cu13 "$nv"/cuda_nvcc "$nv"/cuda_runtime; do
    if [[ -x "$d/bin/nvcc" ]]; then cmake_extra+=("-DCUDAToolkit_ROOT=$d" "-DCMAKE_CUDA_COMPILER=$d/bin/nvcc"); break; fi
  done
  ((${#cmake_extra[@]})) || echo "note: no nvcc found; if configuring fails, install the CUDA 13 toolkit"
fi

step "configure + build (model only) into $build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVATT_MODEL_ONLY=ON -DVATT_WERROR=OFF \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 "${cmake_extra[@]}" >"$build.configure.log" 2>&1 ||
  { tail -30 "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" || exit 1

step "model tests (CPU; CUDA is exercised by vatt-model-check below)"
if [[ -x "$build/tests/model/test_model" ]]; then
  "$build/tests/model/test_model" --gtest_brief=1 || status=1
else
  echo "GoogleTest not found at configure time: tests not built"
fi

step "Trainer and Embedder facades on CUDA (what train_vatt and embed run)"
if [[ -x "$build/tests/model/test_model" ]]; then
  VATT_TEST_DEVICE=cuda "$build/tests/model/test_model" --gtest_brief=1 --gtest_filter='Trainer*:Embedder*' || status=1
fi

step "CPU vs CUDA agreement (vatt-model-check)"
"$build/model/vatt-model-check" --config mbs --batch 2 || status=1
[[ "${QUICK:-0}" == 1 ]] && exit $status

step "matmul rate"
"$build/model/vatt-model-bench" --device cuda --n 8192 || status=1

step "MFU: mbs, batch 64, 32x224x224, DropToken 50%, bf16"
out="$("$build/model/vatt-model-bench" model --device cuda --config mbs --batch 64 --frames 32 --res 224 \
  --precision bf16 --steps 5 --warmup 2 --n 8192 --set droptoken.video=0.5 --set droptoken.audio=0.5)" || status=1
echo "$out"
achieved="$(sed -n 's/.*achieved \([0-9.]*\) GFLOP\/s.*/\1/p' <<<"$out")"
if [[ -n "$achieved" ]]; then
  awk -v a="$achieved" -v p="$peak" 'BEGIN { printf "MFU %.1f%% (%.1f TFLOP/s of %g TFLOP/s dense bf16 peak)\n", 100 * a / (p * 1000), a / 1000, p }'
fi

step "fp32 for comparison (batch 16)"
"$build/model/vatt-model-bench" model --device cuda --config mbs --batch 16 --frames 32 --res 224 \
  --precision fp32 --steps 3 --n 8192 || status=1

exit $status
