#!/usr/bin/env python3
"""Writes corpus/run_metadata/unknown_fields.pb: a RunMetadata with a CPU and a GPU-stream device,
nanosecond and microsecond times, and unknown fields of every wire type (groups included) at every
level. corpus/run_metadata/matmul_relu_train.pb is what TensorFlow 2.21 returned for one traced run
of a MatMul-Relu-Sum graph with its gradient and an update (tests/workloads/tf_graph_profile_test's
training graph).

Run from this folder; the files are committed, this script says how the first was made.
"""


def varint(v):
    v &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def vfield(field, v):
    return key(field, 0) + varint(v)


def lfield(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def unknown(first):
    return (vfield(first, 12345) + key(first + 1, 1) + bytes(range(8)) + lfield(first + 2, b"skip")
            + key(first + 3, 5) + bytes(4)
            + key(first + 4, 3) + vfield(1, 7) + key(2, 3) + key(2, 4) + key(first + 4, 4))


def node(name, start_us, op_start, op_end, label, nanos=None):
    out = lfield(1, name) + vfield(2, start_us) + vfield(3, op_start) + vfield(4, op_end)
    out += vfield(5, op_end + 1) + lfield(8, label) + vfield(10, 3)
    if nanos is not None:
        out += vfield(13, nanos) + vfield(14, op_start * 1000) + vfield(15, op_end * 1000)
    return out + unknown(20)


cpu = (lfield(1, b"/job:localhost/replica:0/task:0/device:CPU:0")
       + lfield(2, node(b"model/MatMul_0", 1_800_000_000_000_000, 2, 40,
                        b"model/MatMul_0 = _MklMatMul(x, w)", 1_800_000_000_000_000_123))
       + lfield(2, node(b"gradients/model/Relu_1_grad/ReluGrad", 1_800_000_000_000_050, 1, 9,
                        b"gradients/model/Relu_1_grad/ReluGrad = ReluGrad(a, b)"))
       + lfield(2, node(b"optimizer/Sub_4", 1_800_000_000_000_070, 0, 3, b"optimizer/Sub_4 = Sub(w, d)"))
       + lfield(3, vfield(1, 3) + lfield(2, b"thread")) + unknown(10))
gpu = lfield(1, b"/device:GPU:0/stream:all") + lfield(2, node(b"model/MatMul_0", 5, 0, 7, b"sgemm"))
data = unknown(5) + lfield(1, lfield(1, cpu) + lfield(1, gpu) + unknown(2)) + lfield(2, b"cost")
with open("corpus/run_metadata/unknown_fields.pb", "wb") as f:
    f.write(data)
