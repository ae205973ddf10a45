#!/usr/bin/env python3
"""Writes ssd_reference.json: what DeepLearningExamples' PyTorch SSD computes on seeded cases, the
ground truth of common_ssd_reference_test.cpp (MODELS.md, "SSD300").

DeepLearningExamples' own ssd/utils.py and ssd/model.py are imported from a checkout (nothing of
them is copied here); the imports their used parts never touch (torchvision, PIL) are stubbed.
Computed with torch 2.15.0 and numpy 2.4.6 (Python 3.11) from PyPI, on the CPU, against
NVIDIA/DeepLearningExamples at commit 729963dd47e7c8bd462ad10bfac7a7b0b604e6dd:
    python3 -m venv /tmp/venv-ssd
    /tmp/venv-ssd/bin/pip install torch==2.15.0 numpy==2.4.6
    /tmp/venv-ssd/bin/python tests/workloads/data/ssd_reference.py <DeepLearningExamples checkout>

Cases:
- default boxes: dboxes300_coco() (every 23rd box and the last 8) and the tiny preset's
  DefaultBoxes(64, [8, 4, 2, 1], [8, 16, 32, 64], [6, 16, 29, 45, 61], [[2], [2, 3], [2, 3],
  [2]]) in full, xywh and ltrb;
- encoding: Encoder(dboxes300_coco()).encode on seeded ground truth (float32 ltrb in image units,
  classes 1..80), then Loss._loc_vec of its boxes: every positive box's index, label and offsets;
- decoding: Encoder(tiny).decode_batch(ploc, plabel, 0.5, 200) (evaluate.py's arguments) on
  seeded raw predictions, 4 classes (two cases with more than 200 detections, one with
  fewer): boxes, labels, scores, reversed to score-descending order;
- loss: Loss(tiny)(ploc, plabel, gloc, glabel) with gloc, glabel from Encoder.encode of seeded
  ground truth, on seeded predictions.
Predictions are stored as [N, D, 4 + K] rows (greenbench's layout): offsets, then logits. Random
values come from a seeded numpy generator and are stored in full, every value a float32 written
as its shortest decimal (read it back into a float32).
"""
import json
import os
import sys
import types

import numpy as np
import torch
import torch.nn as nn

if len(sys.argv) != 2:
    sys.exit("usage: ssd_reference.py <DeepLearningExamples checkout>")
ssd_dir = os.path.join(sys.argv[1], "PyTorch", "Detection", "SSD")


def stub(name, **attrs):
    m = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


def fake_resnet(weights=None):
    """Just enough of a torchvision ResNet for DLE's ResNet wrapper (never run here)."""
    block = nn.Module()
    block.conv1 = nn.Conv2d(1, 1, 1)
    block.conv2 = nn.Conv2d(1, 1, 1)
    block.downsample = nn.Sequential(nn.Conv2d(1, 1, 1))
    m = nn.Module()
    for i in range(6):
        setattr(m, "c%d" % i, nn.Identity())
    m.layer3 = nn.Sequential(block)
    return m


tv_resnet = stub("torchvision.models.resnet", **{n: fake_resnet for n in
                 ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]})
tv_models = stub("torchvision.models", resnet=tv_resnet)
tv_transforms = stub("torchvision.transforms")
stub("torchvision", models=tv_models, transforms=tv_transforms)
pil_image = stub("PIL.Image")
stub("PIL", Image=pil_image)
sys.path.insert(0, ssd_dir)
from ssd.utils import DefaultBoxes, Encoder, dboxes300_coco  # noqa: E402
from ssd.model import Loss  # noqa: E402

rng = np.random.default_rng(20261130)
f32 = np.float32


def floats(a):
    """float32 values as their shortest decimal (reads back as the same float32)."""
    return [float(str(x)) for x in np.asarray(a, dtype=np.float32).reshape(-1)]


def tiny_dboxes():
    return DefaultBoxes(64, [8, 4, 2, 1], [8, 16, 32, 64], [6, 16, 29, 45, 61],
                        [[2], [2, 3], [2, 3], [2]])


def random_ground_truth(count):
    boxes = []
    for _ in range(count):
        w, h = rng.uniform(0.03, 0.6, 2)
        x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        boxes.append([x, y, x + w, y + h])
    return np.array(boxes, dtype=np.float32)


out = {}

# --- default boxes -----------------------------------------------------------------------------
d300 = dboxes300_coco()
idx = list(range(0, 8732, 23)) + list(range(8724, 8732))
out["dboxes300"] = {"count": int(d300("xywh").shape[0]), "index": idx,
                    "xywh": floats(d300("xywh")[idx]), "ltrb": floats(d300("ltrb")[idx])}
dt = tiny_dboxes()
out["dboxes_tiny"] = {"count": int(dt("xywh").shape[0]), "xywh": floats(dt("xywh")),
                      "ltrb": floats(dt("ltrb"))}

# --- encoding ----------------------------------------------------------------------------------
enc300 = Encoder(d300)
loss300 = Loss(d300)
cases = []
for n_obj in [1, 2, 3, 5, 8, 8]:
    gt = random_ground_truth(n_obj)
    labels = rng.integers(1, 81, n_obj)
    bboxes_out, labels_out = enc300.encode(torch.from_numpy(gt), torch.from_numpy(labels))
    vec = loss300._loc_vec(bboxes_out.transpose(0, 1).unsqueeze(0).contiguous())[0].T
    pos = torch.nonzero(labels_out > 0).reshape(-1)
    cases.append({"boxes": floats(gt), "classes": [int(c) for c in labels],
                  "positive": [int(i) for i in pos], "labels": [int(labels_out[i]) for i in pos],
                  "offsets": floats(vec[pos])})
out["encode"] = cases

# --- decoding ----------------------------------------------------------------------------------
enc_tiny = Encoder(dt)
D, K = 380, 4
cases = []
for background_shift in [-1.0, -1.0, 9.0]:
    ploc = rng.normal(0, 1, (4, D)).astype(f32)
    plabel = rng.normal(0, 2, (K, D)).astype(f32)
    plabel[0] += background_shift  # -1: over 200 detections (cut), 9: fewer
    boxes, labels, scores = enc_tiny.decode_batch(torch.from_numpy(ploc.copy())[None],
                                                  torch.from_numpy(plabel.copy())[None],
                                                  0.5, 200)[0]
    rows = np.concatenate([ploc.T, plabel.T], axis=1)
    order = list(range(len(scores)))[::-1]
    cases.append({"predictions": floats(rows), "boxes": floats(boxes[order]),
                  "labels": [int(labels[i]) for i in order],
                  "scores": floats(scores[order])})
out["decode"] = cases

# --- loss --------------------------------------------------------------------------------------
loss_tiny = Loss(dt)
cases = []
for n_obj_list in [[2, 4], [1, 3]]:
    gts, classes, glocs, glabels = [], [], [], []
    for n_obj in n_obj_list:
        gt = random_ground_truth(n_obj)
        labels = rng.integers(1, K, n_obj)
        bboxes_out, labels_out = enc_tiny.encode(torch.from_numpy(gt), torch.from_numpy(labels))
        gts.append(floats(gt))
        classes.append([int(c) for c in labels])
        glocs.append(bboxes_out.transpose(0, 1))
        glabels.append(labels_out)
    n = len(n_obj_list)
    ploc = rng.normal(0, 1, (n, 4, D)).astype(f32)
    plabel = rng.normal(0, 2, (n, K, D)).astype(f32)
    value = loss_tiny(torch.from_numpy(ploc), torch.from_numpy(plabel), torch.stack(glocs),
                      torch.stack(glabels))
    rows = np.concatenate([ploc.transpose(0, 2, 1), plabel.transpose(0, 2, 1)], axis=2)
    cases.append({"boxes": gts, "classes": classes, "predictions": floats(rows),
                  "loss": float(value)})
out["loss"] = cases

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ssd_reference.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print("wrote", path)
