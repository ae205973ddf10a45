#!/usr/bin/env bash
# Installs what greenbench needs on a fresh Debian 12 machine, and nothing that is already there:
# Debian packages with apt, the framework wheels from PyPI into the git-ignored .deps/ (pinned,
# --no-deps: only their shared libraries and headers are used). Safe to run again.
#
#   scripts/setup.sh          the CPU set-up
#   scripts/setup.sh --gpu    also the CUDA builds: the `tensorflow` wheel with its CUDA 12 wheels
#                             into .deps/tensorflow-gpu, and the CUDA 13 wheels libtorch_cuda.so
#                             links against into .deps/torch-cuda (each framework its own CUDA)
set -euo pipefail
cd "$(dirname "$0")/.."

GPU=0
for arg in "$@"; do
  case "$arg" in
    --gpu) GPU=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option '$arg' (use --gpu or nothing)" >&2; exit 2 ;;
  esac
done

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
# install_wheels DIR NAME==VERSION...: pip-installs a set of wheels together into .deps/DIR once
# (the nvidia-* wheels share the `nvidia` package folder, so they go in with one pip call).
install_wheels() {
  local dir=".deps/$1"; shift
  local stamp="$dir/.installed-$(printf '%s\n' "$@" | cksum | cut -d' ' -f1)"
  [ -f "$stamp" ] && return 0
  echo "setup: installing into $dir (this downloads the wheels once): $*"
  rm -rf "$dir"
  "${PIP[@]}" --target "$dir" "$@"
  printf '%s\n' "$@" >"$stamp"
}
install_wheel tensorflow tensorflow-cpu "$TF_VERSION"
install_wheel torch torch "$TORCH_VERSION"
# libtorch_cpu is linked against CUPTI and the CUDA runtime even in CPU use; these small wheels
# provide them where no CUDA toolkit is installed.
install_wheel cupti nvidia-cuda-cupti "$CUPTI_VERSION"
install_wheel cudart nvidia-cuda-runtime "$CUDART_VERSION"

# The CUDA builds (--gpu). Versions are the wheels' own Requires-Dist, pinned:
# - tensorflow 2.21.0's `and-cuda` extra gives lower bounds, the CUDA 12.5 / cuDNN 9.3 it was
#   built with; those exact versions are installed beside it. TensorFlow finds them through the
#   RPATH of its libraries ($ORIGIN/../nvidia/*/lib), so they go into the same folder.
# - torch 2.15.0 requires cuda-toolkit[...]==13.2.2 (whose extras pin the CUDA 13.2 wheels),
#   nvidia-cudnn-cu13, -cusparselt-cu13, -nccl-cu13 and -nvshmem-cu13. Installed are those that
#   libtorch_cuda.so and the libraries it loads need (readelf -d: cuBLAS, cuDNN, NCCL, cuFile,
#   cuSPARSELt, NVSHMEM, cuSPARSE, cuFFT, NVRTC, and nvJitLink for cuSPARSE and cuFFT; the CUDA
#   runtime and CUPTI are the CPU set-up's). The worker finds them through its RPATH
#   (cmake/FindTorchWheel.cmake).
TF_CUDA_WHEELS=(
  "tensorflow==$TF_VERSION"
  nvidia-cublas-cu12==12.5.3.2 nvidia-cuda-cupti-cu12==12.5.82 nvidia-cuda-nvcc-cu12==12.5.82
  nvidia-cuda-nvrtc-cu12==12.5.82 nvidia-cuda-runtime-cu12==12.5.82 nvidia-cudnn-cu12==9.3.0.75
  nvidia-cufft-cu12==11.2.3.61 nvidia-curand-cu12==10.3.6.82 nvidia-cusolver-cu12==11.6.3.83
  nvidia-cusparse-cu12==12.5.1.3 nvidia-nccl-cu12==2.27.7 nvidia-nvjitlink-cu12==12.5.82
)
TORCH_CUDA_WHEELS=(
  nvidia-cublas==13.4.1.3 nvidia-cuda-nvrtc==13.2.86 nvidia-cufft==12.2.0.57
  nvidia-cufile==1.17.1.22 nvidia-cusparse==12.7.10.12 nvidia-nvjitlink==13.2.86
  nvidia-cudnn-cu13==9.26.0.51 nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.30.7
  nvidia-nvshmem-cu13==3.7.2
)
if ((GPU)); then
  install_wheels tensorflow-gpu "${TF_CUDA_WHEELS[@]}"
  install_wheels torch-cuda "${TORCH_CUDA_WHEELS[@]}"
elif python3 -c 'import ctypes; ctypes.CDLL("libnvidia-ml.so.1")' 2>/dev/null; then
  echo "setup: an NVIDIA driver is here; GPU studies need the CUDA builds: 'make run GPU=1' (scripts/setup.sh --gpu), and device = \"cuda\" in the study file"
fi
echo "setup: dependencies ready"
