#!/usr/bin/env python3
"""Peer benchmark: greenbench's C++ workers against the same ResNet-50 in each Python API.

Not a unit test and not part of `make test`: it takes minutes and its numbers depend on the machine.

  bench/peer_bench.py setup          # once: makes bench/.venv (git-ignored) with the Python APIs
  bench/peer_bench.py run [options]  # times everything and prints medians and ratios

The peers are torchvision's `resnet50` in PyTorch (eager, `loss.backward()` and an SGD-momentum
step, as a training script writes it) and `tf.keras.applications.ResNet50(weights=None)` in
TensorFlow (a `tf.function` train step with `GradientTape` and SGD-momentum, the ordinary custom
training loop; inference through a `tf.function` forward pass). Our workers run the
same model in `--numerics default` (or --numerics strict): ResNet-50 v1.5 with the same input
size, classes, batch and threads.

Each run, ours or a peer's, is its own process. A peer times each step itself (wall time of the
step, the loss or logits copied to the host); ours report `step_s_*` / `batch_s_*` for the same
thing. The first step of each process is a warm-up and is not counted: a run's figure is the mean
of its remaining `--steps` steps ((step_s_sum - step_s_first) / steps for ours). Runs alternate
ours/peer (A/B, B/A, ...) for `--reps` rounds; the table shows the median over runs and the ratio
ours / peer (below 1: ours is faster), and the first (warm-up) step's median for the one-time
costs.

The Python frameworks are the wheels the build already uses (the `.deps` directory: torch 2.15.0
and tensorflow-cpu 2.21.0), made importable in bench/.venv with their pure-Python dependencies
from PyPI. torchvision is pure Python here apart from its optional custom-ops library: PyPI has no
torchvision built for torch 2.15, so the newest one (0.29.2, built for torch 2.14) is installed
without dependencies; its models do not use the custom ops.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")

# Pure-Python (or small binary) dependencies of the two framework wheels; the wheels themselves
# come from the .deps directory. libclang (a TensorFlow build-time tool) is left out.
TORCH_DEPS = ["typing_extensions", "sympy", "networkx", "jinja2", "filelock", "fsspec", "numpy",
              "pillow"]
TF_DEPS = ["absl-py", "astunparse", "flatbuffers", "gast", "google_pasta", "opt_einsum",
           "packaging", "protobuf>=6.31.1,<8", "requests", "setuptools", "six", "termcolor",
           "wrapt", "grpcio", "keras>=3.12", "h5py>=3.11,<3.15", "ml_dtypes>=0.5.1,<1"]
TORCHVISION = "torchvision==0.29.2"
# PyTorch's Python module is the CUDA build: importing it loads libtorch_cuda and the CUDA
# libraries it links, even on a CPU-only machine. Those the machine does not already provide come
# from PyPI (the versions torch 2.15.0's wheel requires), without their dependencies.
CUDA_LIBS = {"libnccl.so.2": "nvidia-nccl-cu13==2.30.7",
             "libcusparseLt.so.0": "nvidia-cusparselt-cu13==0.8.1",
             "libnvshmem_host.so.3": "nvidia-nvshmem-cu13==3.7.2",
             "libcufile.so.0": "nvidia-cufile",
             "libcudnn.so.9": "nvidia-cudnn-cu13==9.26.0.51",
             "libcublas.so.13": "nvidia-cublas",
             "libcublasLt.so.13": "nvidia-cublas"}


def venv_env():
    """The environment the peers run in: the venv's NVIDIA libraries on the library path."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    nvidia = os.path.join(VENV, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}",
                          "site-packages", "nvidia")
    dirs = []
    if os.path.isdir(nvidia):
        for sub in sorted(os.listdir(nvidia)):
            lib = os.path.join(nvidia, sub, "lib")
            if os.path.isdir(lib):
                dirs.append(lib)
    if env.get("LD_LIBRARY_PATH"):
        dirs.append(env["LD_LIBRARY_PATH"])
    env["LD_LIBRARY_PATH"] = ":".join(dirs)
    return env


def missing_cuda_libs(deps):
    lib_dir = os.path.join(deps, "torch", "torch", "lib")
    missing = set()
    for lib in ("libtorch_python.so", "libtorch_cuda.so"):
        out = subprocess.run(["ldd", os.path.join(lib_dir, lib)], capture_output=True, text=True,
                             env=venv_env()).stdout
        missing |= {line.split()[0] for line in out.splitlines() if "not found" in line}
    # A machine's own NCCL (a CUDA toolkit's, say) can be older than the one torch was built
    # against, and torch then fails to import with "undefined symbol: ncclCommResume": torch's
    # pinned NCCL is always installed.
    missing.add("libnccl.so.2")
    return missing


def setup(args):
    deps = os.path.abspath(args.deps)
    for sub in ("torch", "tensorflow"):
        if not os.path.isdir(os.path.join(deps, sub)):
            raise SystemExit(f"{deps}/{sub} is missing: run scripts/setup.sh (or pass --deps)")
    if not os.path.exists(VENV_PY):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    pip = [VENV_PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.check_call(pip + TORCH_DEPS + TF_DEPS)
    subprocess.check_call(pip + ["--no-deps", TORCHVISION])
    missing = missing_cuda_libs(deps)
    unknown = missing - CUDA_LIBS.keys()
    if unknown:
        raise SystemExit("torch's CUDA libraries need " + ", ".join(sorted(unknown)) +
                         ", which this script does not know how to install")
    if missing:
        subprocess.check_call(pip + ["--no-deps"] + sorted({CUDA_LIBS[m] for m in missing}))
    site = subprocess.check_output(
        [VENV_PY, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip()
    with open(os.path.join(site, "greenbench_deps.pth"), "w") as f:
        for sub in ("torch", "tensorflow", "cupti", "cudart"):
            if os.path.isdir(os.path.join(deps, sub)):
                f.write(os.path.join(deps, sub) + "\n")
    out = subprocess.check_output(
        [VENV_PY, "-c", "import torch, torchvision, tensorflow as tf; "
         "print(torch.__version__, torchvision.__version__, tf.__version__)"],
        text=True, env=venv_env())
    print("bench/.venv ready: torch, torchvision, tensorflow", out.strip())


# --------------------------------------------------------------------------------------------
# The peers, run inside bench/.venv as `python peer_bench.py peer ...`; they print one JSON line.

def peer_torch(a):
    import torch
    import torchvision
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    model = torchvision.models.resnet50(num_classes=a.classes)
    gen = torch.Generator().manual_seed(1)
    times = []
    if a.phase == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.875, weight_decay=3.0517578125e-05)
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        batches = [(torch.randn(a.batch, 3, a.size, a.size, generator=gen),
                    torch.randint(0, a.classes, (a.batch,), generator=gen)) for _ in range(2)]
        for i in range(a.steps + 1):
            x, y = batches[i % 2]
            start = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            loss.item()
            times.append(time.perf_counter() - start)
    else:
        model.eval()
        batches = [torch.randn(a.batch, 3, a.size, a.size, generator=gen) for _ in range(2)]
        with torch.inference_mode():
            for i in range(a.steps + 1):
                start = time.perf_counter()
                model(batches[i % 2]).numpy()
                times.append(time.perf_counter() - start)
    return {"framework": "pytorch", "version": torch.__version__, "times": times}


def peer_tf(a):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.random.set_seed(1)
    model = tf.keras.applications.ResNet50(weights=None, classes=a.classes,
                                           input_shape=(a.size, a.size, 3))
    times = []
    if a.phase == "train":
        opt = tf.keras.optimizers.SGD(learning_rate=0.01, momentum=0.875)
        loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=False, label_smoothing=0.1)

        @tf.function
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(tf.one_hot(y, a.classes), model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        batches = [(tf.random.normal((a.batch, a.size, a.size, 3)),
                    tf.random.uniform((a.batch,), 0, a.classes, dtype=tf.int64)) for _ in range(2)]
        for i in range(a.steps + 1):
            x, y = batches[i % 2]
            start = time.perf_counter()
            step(x, y).numpy()
            times.append(time.perf_counter() - start)
    else:
        @tf.function
        def forward(x):
            return model(x, training=False)

        batches = [tf.random.normal((a.batch, a.size, a.size, 3)) for _ in range(2)]
        for i in range(a.steps + 1):
            start = time.perf_counter()
            forward(batches[i % 2]).numpy()
            times.append(time.perf_counter() - start)
    return {"framework": "tensorflow", "version": tf.__version__, "times": times}


def peer(args):
    result = peer_torch(args) if args.framework == "pytorch" else peer_tf(args)
    print(json.dumps(result))


# --------------------------------------------------------------------------------------------

def run_ours(args, framework, phase):
    exe = os.path.join(args.bin, "greenbench-torch" if framework == "pytorch" else "greenbench-tf")
    # The preset's image size and classes are those of the scale; the peers are given the same.
    cmd = [exe, "--model", "resnet50", "--scale", args.scale, "--threads", str(args.threads),
           "--numerics", args.numerics, "--phase", phase, "--seed", "1"]
    if phase == "train":
        cmd += ["--steps", str(args.steps + 1), "--batch-size", str(args.batch),
                "--eval-batches", "1"]
    else:
        cmd += ["--eval-batches", str(args.steps + 1)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    metrics = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                metrics[parts[0]] = float(parts[1])
            except ValueError:
                pass
    prefix = "step_s" if phase == "train" else "batch_s"
    first = metrics[prefix + "_first"]
    return {"steady": (metrics[prefix + "_sum"] - first) / args.steps, "first": first}


def run_peer(args, framework, phase, batch):
    cmd = [VENV_PY, os.path.abspath(__file__), "peer", "--framework", framework, "--phase", phase,
           "--threads", str(args.threads), "--steps", str(args.steps), "--batch", str(batch),
           "--size", str(args.size), "--classes", str(args.classes)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=venv_env()).stdout
    result = json.loads(out.strip().splitlines()[-1])
    times = result["times"]
    return {"steady": statistics.fmean(times[1:]), "first": times[0]}


def run(args):
    if not os.path.exists(VENV_PY):
        raise SystemExit("bench/.venv is missing: run `bench/peer_bench.py setup` first")
    # Only the paper preset is the full ResNet-50 (base width 64, 25,557,032 parameters, as
    # torchvision's and Keras's); tiny and small are narrower, so they have no peer.
    args.scale = "paper"
    args.size, args.classes, eval_batch = 224, 1000, 32
    results = {}
    for rep in range(args.reps):
        for framework in args.frameworks:
            for phase in args.phases:
                batch = args.batch if phase == "train" else eval_batch
                pair = [("ours", lambda: run_ours(args, framework, phase)),
                        ("peer", lambda: run_peer(args, framework, phase, batch))]
                if rep % 2 == 1:
                    pair.reverse()
                for who, fn in pair:
                    r = fn()
                    results.setdefault((framework, phase, who), []).append(r)
                    print(f"rep {rep + 1} {framework} {phase} {who}: step "
                          f"{r['steady']:.4f} s, first {r['first']:.4f} s", file=sys.stderr,
                          flush=True)
    print(f"ResNet-50 paper ({args.size}x{args.size}, {args.classes} classes), threads "
          f"{args.threads}, {args.steps} timed steps after 1 warm-up, {args.reps} interleaved runs, "
          f"ours with --numerics {args.numerics}")
    print("| framework | phase | batch | ours s/step | Python API s/step | ours / Python "
          "| first step ours / Python |")
    print("|---|---|---|---|---|---|---|")
    for framework in args.frameworks:
        for phase in args.phases:
            def med(who, key):
                return statistics.median(r[key] for r in results[(framework, phase, who)])
            ours, peer_s = med("ours", "steady"), med("peer", "steady")
            batch = args.batch if phase == "train" else eval_batch
            print(f"| {framework} | {phase} | {batch} | {ours:.4f} | {peer_s:.4f} | "
                  f"{ours / peer_s:.2f} | {med('ours', 'first'):.2f} s / "
                  f"{med('peer', 'first'):.2f} s |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup", help="make bench/.venv")
    s.add_argument("--deps", default=os.path.join(ROOT, ".deps"),
                   help="the directory scripts/setup.sh installed the wheels into")
    r = sub.add_parser("run", help="time ours against the Python APIs")
    r.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--steps", type=int, default=5, help="timed steps after the warm-up step")
    r.add_argument("--batch", type=int, default=32, help="training batch (the preset's is 32)")
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--numerics", default="default", choices=["default", "strict"])
    r.add_argument("--frameworks", nargs="+", default=["pytorch", "tensorflow"])
    r.add_argument("--phases", nargs="+", default=["train", "infer"])
    p = sub.add_parser("peer", help=argparse.SUPPRESS)
    p.add_argument("--framework", required=True)
    p.add_argument("--phase", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--classes", type=int, required=True)
    args = parser.parse_args()
    {"setup": setup, "run": run, "peer": peer}[args.command](args)


if __name__ == "__main__":
    main()
