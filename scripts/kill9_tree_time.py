#!/usr/bin/env python3
"""How long the measured tree outlives `kill -9` of greenbench.

    scripts/kill9_tree_time.py [--tries N] [--greenbench PATH] [--helper PATH]

Each try runs `greenbench measure --quiet -- leave_children PIDFILE --hold background double-fork
orphan-group` (the command, a child in its group, a double-forked grandchild in a new session, and
one in a new group that ignores SIGTERM), waits until all four have started, sends SIGKILL to
greenbench and polls /proc every millisecond until none of the four is alive (zombies count as
dead). Prints each time and the median; a tree still alive after 10 s counts as 'survived' and is
killed by pid.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"


def one_try(greenbench, helper):
    with tempfile.TemporaryDirectory() as tmp:
        pidfile = os.path.join(tmp, "pids")
        cmd = [greenbench, "measure", "--quiet", "--", helper, pidfile, "--hold",
               "background", "double-fork", "orphan-group"]
        harness = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        pids = []
        deadline = time.monotonic() + 10
        while len(pids) < 4 and time.monotonic() < deadline:
            time.sleep(0.005)
            try:
                with open(pidfile) as f:
                    pids = [int(x) for x in f.read().split()]
            except OSError:
                pass
        if len(pids) < 4:
            harness.kill()
            raise SystemExit("the measured tree did not start")
        t0 = time.monotonic()
        os.kill(harness.pid, signal.SIGKILL)
        harness.wait()
        while any(alive(p) for p in pids) and time.monotonic() - t0 < 10:
            time.sleep(0.001)
        took = time.monotonic() - t0
        survivors = [p for p in pids if alive(p)]
        for p in survivors:
            os.kill(p, signal.SIGKILL)
        return None if survivors else took


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    bin_dir = os.path.join(here, "..", "build", "bin")
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=9)
    ap.add_argument("--greenbench", default=os.path.join(bin_dir, "greenbench"))
    ap.add_argument("--helper", default=os.path.join(bin_dir, "leave_children"))
    a = ap.parse_args()
    times = []
    for i in range(a.tries):
        t = one_try(a.greenbench, a.helper)
        print(f"try {i + 1}: " + ("survived 10 s" if t is None else f"{t * 1000:.1f} ms"))
        if t is not None:
            times.append(t)
    if times:
        print(f"median {statistics.median(times) * 1000:.1f} ms over {len(times)} tries"
              f" ({a.tries - len(times)} survived)")
    else:
        print(f"the tree survived all {a.tries} tries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
