#!/usr/bin/env bash
# Installs what greenbench needs on a fresh Debian 12 machine, and nothing that is already there:
# Debian packages with apt, the framework wheels from PyPI into the git-ignored .deps/ (pinned,
# --no-deps: only their shared libraries and headers are used). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

TF_VERSION=2.21.0
TORCH_VERSION=2.15.0
CUPTI_VERSION=13.2.75
CUDART_VERSION=13.2.75

APT_PACKAGES=(
  build-essential cmake pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 libtomlplusplus-dev nlohmann-json3-dev libboost-dev
  libopenblas-dev python3 python3-pip python3-setuptools python3-wheel python3-scipy
  chromium clang libclang-rt-dev clang-format clang-tidy
  slurmctld slurmd slurm-client munge   # a local one-node Slurm for the tests of run --slurm
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --target installs into .deps only; Debian's "externally managed" guard is about the system
# environment, which is never touched here.
export PIP_BREAK_SYSTEM_PACKAGES=1
PIP=(python3 -m pip install --quiet --no-deps --disable-pip-version-check --root-user-action=ignore)
# install_wheel DIR NAME VERSION: pip-installs NAME==VERSION into .deps/DIR once.
install_wheel() {
  local dir=".deps/$1" stamp=".deps/$1/.installed-$2-$3"
  [ -f "$stamp" ] && return 0
  echo "setup: installing $2==$3 into $dir (this downloads the wheel once)"
  rm -rf "$dir"
  "${PIP[@]}" --target "$dir" "$2==$3"
  touch "$stamp"
}
install_wheel tensorflow tensorflow-cpu "$TF_VERSION"
install_wheel torch torch "$TORCH_VERSION"
# libtorch_cpu is linked against CUPTI and the CUDA runtime even in CPU use; these small wheels
# provide them where no CUDA toolkit is installed.
install_wheel cupti nvidia-cuda-cupti "$CUPTI_VERSION"
install_wheel cudart nvidia-cuda-runtime "$CUDART_VERSION"
echo "setup: dependencies ready"
