#!/usr/bin/env python3
"""Writes corpus/checkpoint/*.ckpt: small checkpoints in the format of docs/checkpoint.md.

Run from this folder; the files are committed, this script says how they were made.
"""
import struct


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def string(s):
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def checkpoint(model, scale, tensors):
    body = string(model) + string(scale) + struct.pack("<I", len(tensors))
    for name, trainable, shape, values in tensors:
        body += string(name) + struct.pack("<BBHI", 1 if trainable else 0, 0, 0, len(shape))
        body += b"".join(struct.pack("<q", d) for d in shape)
        body += b"".join(struct.pack("<f", v) for v in values)
    head = b"GBCKPT\r\n" + struct.pack("<II", 1, 0)
    size = len(head) + 8 + len(body) + 8
    data = head + struct.pack("<Q", size) + body
    return data + struct.pack("<Q", fnv1a(data))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


write("corpus/checkpoint/two_tensors.ckpt",
      checkpoint("ncf", "tiny", [("user_embedding.weight", True, [2, 3], [0.5, -1.0, 2.0, 0.0, 1e-38, 3.0]),
                                 ("bn.running_mean", False, [2], [0.25, -0.25])]))
write("corpus/checkpoint/scalar.ckpt", checkpoint("resnet50", "small", [("w", True, [], [1.0])]))
write("corpus/checkpoint/empty.ckpt", checkpoint("transformer_xl", "paper", []))
