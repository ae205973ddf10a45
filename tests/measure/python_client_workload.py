"""A measured script that uses python/greenbench_markers.py (run by marker_clients_test)."""
import sys
import threading
import time

import greenbench_markers as gb

assert gb.enabled(), "GREENBENCH_MARKER_FD should be set"
for bad in ("Bad Name", "", "x" * 65, "a/b"):
    try:
        gb.begin(bad)
    except ValueError:
        pass
    else:
        sys.exit("bad name %r accepted" % bad)

for bad in (-1, 1.5, True, "3", None, 1 << 63):
    try:
        gb.step(bad)
    except ValueError:
        pass
    else:
        sys.exit("bad step index %r accepted" % (bad,))

gb.info("client", "python\n%d.%d" % sys.version_info[:2])
gb.info("long", "\u00e9" * 3000)  # 6000 bytes of UTF-8: cut to fit one line
with gb.phase("setup"):
    time.sleep(0.03)
with gb.phase("train"):
    with gb.phase("epoch-1"):
        # Lines from several threads arrive whole.
        threads = [threading.Thread(target=lambda i=i: [gb.metric("t%d" % i, k) for k in range(50)])
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for t in range(3):
            time.sleep(0.01)
            gb.step(t)
        gb.metric("loss", 0.25)
    gb.metric("samples", 51200, "samples")
try:
    with gb.phase("failing"):
        raise RuntimeError("the phase still ends")
except RuntimeError:
    pass
gb.metric("accuracy_top1", 0.734)
