#!/usr/bin/env bash
# One-step set-up for vatt on Debian 12: the Debian packages of the media/storage stack, and LibTorch as the
# torch==2.11.0 wheel from PyPI in a git-ignored virtual environment (.venv). Idempotent, quiet, fast when done.
#
# Usage: tools/setup.sh            (installs what is missing; prints one line per step)
# Env:   VATT_VENV=DIR             (default: <repo>/.venv)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VATT_VENV:-$repo/.venv}"
torch_version="2.11.0"
# Python-side checks of our exports (a PyTorch user loading vatt weights) need these beside torch.
py_extras=(safetensors==0.5.3 numpy==2.2.6)

# Every Debian package the project builds, tests or runs with. Keep sorted; README lists why each is here.
packages=(
  ccache chromium cmake espeak-ng fonts-dejavu-core g++ gstreamer1.0-libav gstreamer1.0-plugins-bad gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-pocketsphinx gstreamer1.0-tools libbenchmark-dev
  libboost-program-options-dev libcpp-httplib-dev libfaiss-dev libfmt-dev libgstreamer-plugins-base1.0-dev libgstreamer1.0-dev
  libgstrtspserver-1.0-dev libgtest-dev liblinear-dev libopenblas-openmp-dev libpocketsphinx-dev librocksdb-dev librsvg2-dev libspdlog-dev libtbb-dev libyaml-cpp-dev
  ninja-build nlohmann-json3-dev opencv-doc pkg-config pocketsphinx-en-us pocketsphinx-testdata python3-venv
)

start=$(date +%s)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present (${#packages[@]})"
fi

# LibTorch from the PyPI torch wheel. Debian's python3 is used for the venv so that python3-venv suffices.
py=/usr/bin/python3
if [[ -x "$venv/bin/python" ]] &&
  "$venv/bin/python" -W ignore -c "import torch,safetensors,numpy,sys; sys.exit(0 if torch.__version__.split('+')[0]=='$torch_version' else 1)" \
    2>/dev/null; then
  echo "setup: torch $torch_version present in $venv"
else
  echo "setup: installing torch==$torch_version into $venv (about 4.6 GB with its CUDA libraries)"
  [[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "torch==$torch_version" "${py_extras[@]}"
fi
echo "setup: done in $(($(date +%s) - start)) s"
