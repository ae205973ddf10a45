"""Marker client for greenbench: announce phases, steps, metrics and facts of a measured program.

Standard library only; copy this one file next to any script. Without GREENBENCH_MARKER_FD in
the environment (the program is not being measured) every call does nothing.

    import greenbench_markers as gb
    with gb.phase("train"):
        for t in range(steps):
            train_step()
            gb.step(t)
    gb.metric("accuracy_top1", 0.734)
    gb.info("framework", "torch " + torch.__version__)

Each line is written with a single os.write() of less than PIPE_BUF (4096) bytes, so lines from
several threads or processes never interleave. GPU work is asynchronous: synchronise the device
before a marker so the phase boundary is where the work really ends.
"""

import contextlib
import operator
import os
import re

__all__ = ["begin", "end", "step", "metric", "info", "phase", "enabled", "valid_name"]

MAX_LINE_BYTES = 4096
_NAME = re.compile(r"[a-z0-9_.-]{1,64}\Z")
_UNSET = object()
_fd = _UNSET


def _marker_fd():
    global _fd
    if _fd is _UNSET:
        text = os.environ.get("GREENBENCH_MARKER_FD", "")
        _fd = int(text) if text.isdigit() else None
    return _fd


def _write(line):
    global _fd
    fd = _marker_fd()
    if fd is None:
        return
    data = (line + "\n").encode("utf-8")
    try:
        os.write(fd, data)
    except OSError:
        # A broken descriptor must not break the program being measured: stop marking.
        _fd = None


def valid_name(name):
    """Whether name is a valid phase, metric or info name: [a-z0-9_.-]{1,64}."""
    return isinstance(name, str) and _NAME.match(name) is not None


def _check(what, name):
    if not valid_name(name):
        raise ValueError("greenbench marker: bad %s %r (want [a-z0-9_.-]{1,64})" % (what, name))


def enabled():
    """True when the program runs under greenbench (markers are recorded)."""
    return _marker_fd() is not None


def begin(name):
    """Starts phase name; phases nest and must end in reverse order."""
    _check("phase name", name)
    _write("begin " + name)


def end(name):
    """Ends phase name, which must be the innermost open phase."""
    _check("phase name", name)
    _write("end " + name)


def step(index):
    """Marks the end of step index (a training step or an inference batch) of the current phase.

    greenbench reads the energy counters when the line arrives: each step gets the energy since
    the previous step line of the phase (or since the phase began). index is an integer >= 0
    (numpy and torch integers too); synchronise the device before it, as before a phase ends.
    """
    try:
        if isinstance(index, bool):
            raise TypeError
        n = operator.index(index)
    except TypeError:
        raise ValueError("greenbench marker: bad step index %r (want a non-negative integer)"
                         % (index,)) from None
    if n < 0 or n >= 1 << 63:
        raise ValueError("greenbench marker: bad step index %d (want 0 to 2**63 - 1)" % n)
    _write("step %d" % n)


def metric(name, value, unit=""):
    """Reports a result, e.g. metric("accuracy_top1", 0.734) or metric("samples", 51200, "samples").

    NaN and infinity are written as they are (nan, inf): a diverged run is reported, not hidden.
    """
    _check("metric name", name)
    value = float(value)
    if len(unit) > 64 or any(c.isspace() for c in unit):
        raise ValueError("greenbench marker: bad unit %r (one word of at most 64 bytes)" % unit)
    line = "metric %s %r" % (name, value)
    _write(line + (" " + unit if unit else ""))


def info(key, text):
    """Records a fact such as a framework version; text too long for one line is cut."""
    _check("info key", key)
    text = str(text).replace("\r", " ").replace("\n", " ")
    prefix = "info " + key + " "
    data = text.encode("utf-8")
    room = MAX_LINE_BYTES - 1 - len(prefix)
    if len(data) > room:
        text = data[:room].decode("utf-8", errors="ignore")
    _write(prefix + text)


@contextlib.contextmanager
def phase(name):
    """Marks a block as a phase: with phase("train"): ..."""
    begin(name)
    try:
        yield
    finally:
        end(name)
