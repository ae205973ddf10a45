#!/usr/bin/env python3
"""Writes mask_rcnn_reference.json: what torchvision's Mask R-CNN code computes on hand-made and
seeded cases, the ground truth of common_mask_rcnn_reference_test.cpp (MODELS.md, "Mask R-CNN").

torchvision's own modules and functions are called (nothing of them is copied here). Computed with
torch 2.15.0, torchvision 0.29.2, numpy 2.4.6 (Python 3.11) from PyPI, on the CPU:
    python3 -m venv /tmp/mrcnn-venv
    /tmp/mrcnn-venv/bin/pip install torch==2.15.0 torchvision==0.29.2 numpy==2.4.6
    /tmp/mrcnn-venv/bin/python tests/workloads/data/mask_rcnn_reference.py

Cases:
- parameters: maskrcnn_resnet50_fpn's layout with a pretrained-style backbone (FrozenBatchNorm2d,
  trainable_backbone_layers 3, 91 classes): every state-dict name and shape in order, whether it
  is a trainable parameter, and the counts;
- anchors: AnchorGenerator on a 64×64 image (sizes 8 … 128, the tiny preset), a 96×160 image
  (same sizes), and an 800×1088 image (sizes 32 … 512; every 997th anchor and the last 7);
- box coder: BoxCoder((1, 1, 1, 1)) and ((10, 10, 5, 5)) encode_single / decode_single on seeded
  boxes, decoding large deltas too (the log(1000/16) clamp);
- matcher: Matcher(0.7, 0.3, True) and Matcher(0.5, 0.5, False) on hand-made IoU matrices (ties,
  low-quality matches, values at the thresholds, a ground truth without overlap) and seeded ones;
- RPN targets: RegionProposalNetwork.assign_targets_to_anchors on the tiny anchors;
- RoI targets: RoIHeads.add_gt_proposals + assign_targets_to_proposals (labels, matched) and
  BoxCoder((10, 10, 5, 5)).encode of the matches, on seeded proposals;
- roi_align (aligned=False) on a seeded feature map for boxes inside, across the border, outside,
  smaller than a pixel, with sampling_ratio 2 and −1 and spatial scales 1/4 and 1;
- LevelMapper(2, 5, 224, 4) and (2, 5, 32, 4) on hand-made boxes (sides 112, 224, 448 … exactly)
  and seeded boxes;
- proposal selection: RegionProposalNetwork.filter_proposals on seeded objectness and deltas over
  the tiny anchors, in training and in evaluation mode;
- mask targets: project_masks_on_boxes (28 × 28) of a seeded binary mask;
- detections: RoIHeads.postprocess_detections (score 0.05, NMS 0.5, 100) on seeded logits;
- losses: RegionProposalNetwork.compute_loss (its sampler replaced by stored seeded samples),
  fastrcnn_loss and maskrcnn_loss on seeded head outputs and targets of two images;
- paste: paste_masks_in_image of seeded 28 × 28 probabilities for boxes inside, across the
  border, tiny, and fractional, into a 64 × 80 image.
Every float32 is written as its shortest decimal (read it back into a float32).
"""
import json
import math
import os

import numpy as np
import torch
import torchvision
from torchvision.models import resnet50
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection._utils import BoxCoder, Matcher
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import (RoIHeads, fastrcnn_loss, maskrcnn_loss,
                                                    paste_masks_in_image, project_masks_on_boxes)
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.ops import roi_align
from torchvision.ops.misc import FrozenBatchNorm2d
from torchvision.ops.poolers import LevelMapper

torch.set_num_threads(1)
rng = np.random.default_rng(20261130)


def f32(t):
    # the shortest decimal that reads back as the same float32
    return [float(str(v)) for v in np.asarray(t, dtype=np.float32).reshape(-1)]


def ints(t):
    return [int(v) for v in np.asarray(t).reshape(-1)]


def seeded_boxes(n, height, width, min_side=1.0):
    x1 = rng.uniform(-0.1 * width, width, n)
    y1 = rng.uniform(-0.1 * height, height, n)
    w = rng.uniform(min_side, 0.6 * width, n)
    h = rng.uniform(min_side, 0.6 * height, n)
    return np.stack([x1, y1, x1 + w, y1 + h], 1).astype(np.float32)


def inside_boxes(n, height, width, min_side):
    x1 = rng.uniform(0, width - min_side, n)
    y1 = rng.uniform(0, height - min_side, n)
    w = rng.uniform(0.05, 1, n) * (width - x1)
    h = rng.uniform(0.05, 1, n) * (height - y1)
    w = np.maximum(w, min_side)
    h = np.maximum(h, min_side)
    return np.stack([x1, y1, x1 + w, y1 + h], 1).astype(np.float32)


out = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                    "numpy": np.__version__}}

# ---- parameters ---------------------------------------------------------------------------------
body = resnet50(weights=None, norm_layer=FrozenBatchNorm2d)
model = MaskRCNN(_resnet_fpn_extractor(body, 3), num_classes=91)
params = dict(model.named_parameters())
out["parameters"] = {
    "names": list(model.state_dict().keys()),
    "shapes": [list(v.shape) for v in model.state_dict().values()],
    "trainable": [k in params and params[k].requires_grad for k in model.state_dict()],
    "state_dict_total": sum(v.numel() for v in model.state_dict().values()),
    "parameters": sum(p.numel() for p in model.parameters()),
    "trainable_total": sum(p.numel() for p in model.parameters() if p.requires_grad),
}
frozen_eps = [m.eps for m in model.modules() if isinstance(m, FrozenBatchNorm2d)]
out["parameters"]["frozen_bn_eps"] = frozen_eps[0]
assert all(e == frozen_eps[0] for e in frozen_eps)

# ---- anchors ------------------------------------------------------------------------------------
ratios = (0.5, 1.0, 2.0)


def anchors_of(height, width, sizes):
    gen = AnchorGenerator(tuple((s,) for s in sizes), (ratios,) * len(sizes))
    grids = []
    h, w = height, width
    h, w = (h + 2 * 3 - 7) // 2 + 1, (w + 2 * 3 - 7) // 2 + 1
    for _ in range(4):
        h, w = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1
        grids.append((h, w))
    grids.append(((grids[-1][0] - 1) // 2 + 1, (grids[-1][1] - 1) // 2 + 1))
    feats = [torch.zeros(1, 1, gh, gw) for gh, gw in grids]
    images = ImageList(torch.zeros(1, 3, height, width), [(height, width)])
    return gen(images, feats)[0], [gh * gw * 3 for gh, gw in grids]


out["anchors"] = []
for height, width, sizes, every in ((64, 64, (8, 16, 32, 64, 128), 1),
                                    (96, 160, (8, 16, 32, 64, 128), 1),
                                    (800, 1088, (32, 64, 128, 256, 512), 997)):
    a, per_level = anchors_of(height, width, sizes)
    index = list(range(0, a.shape[0], every)) + list(range(a.shape[0] - 7, a.shape[0]))
    index = sorted(set(index))
    out["anchors"].append({"height": height, "width": width, "sizes": list(sizes),
                           "per_level": per_level, "count": a.shape[0], "index": index,
                           "boxes": f32(a[index])})
tiny_anchors, tiny_per_level = anchors_of(64, 64, (8, 16, 32, 64, 128))

# ---- box coder ----------------------------------------------------------------------------------
out["coder"] = []
for weights in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
    coder = BoxCoder(weights)
    ref = torch.from_numpy(seeded_boxes(40, 64, 64))
    gt = torch.from_numpy(seeded_boxes(40, 64, 64))
    enc = coder.encode_single(gt, ref)
    deltas = torch.from_numpy(rng.normal(0, 1, (40, 4)).astype(np.float32))
    deltas[:5, 2:] = torch.tensor([[5.0, 8.0], [-6.0, 30.0], [4.2, 4.1], [50.0, -50.0], [21.0, 20.0]])
    deltas[:5, 2:] *= torch.tensor(weights[2:])
    dec = coder.decode_single(deltas, ref)
    out["coder"].append({"weights": list(weights), "reference": f32(ref), "ground_truth": f32(gt),
                         "encoded": f32(enc), "deltas": f32(deltas), "decoded": f32(dec)})

# ---- matcher ------------------------------------------------------------------------------------
hand = [
    # low-quality: gt 1's best is 0.4 (box 2), box 2's own best is gt 1 -> matched
    [[0.9, 0.1, 0.0, 0.2], [0.1, 0.2, 0.4, 0.0]],
    # ties within a box's column (equal IoU to two ground truths) and a gt's ties across boxes
    [[0.5, 0.5, 0.3, 0.7], [0.5, 0.5, 0.3, 0.7]],
    # exactly at the thresholds
    [[0.7, 0.3, 0.29999998, 0.69999999, 0.5]],
    # a ground truth without any overlap: every box with IoU 0 to it gets its own best back
    [[0.0, 0.0, 0.0], [0.0, 0.8, 0.1]],
    # low-quality match whose own best is another ground truth
    [[0.2, 0.65, 0.0], [0.1, 0.6, 0.05]],
]
out["matcher"] = []
for matrix in hand + [rng.choice([0.0, 0.1, 0.3, 0.5, 0.6, 0.7, 0.8], (4, 12)).tolist(),
                      rng.uniform(0, 1, (5, 30)).astype(np.float32).tolist()]:
    m = torch.tensor(matrix, dtype=torch.float32)
    for high, low, allow in ((0.7, 0.3, True), (0.5, 0.5, False)):
        res = Matcher(high, low, allow)(m.clone())
        out["matcher"].append({"iou": f32(m), "g": m.shape[0], "n": m.shape[1], "high": high,
                               "low": low, "allow_low_quality": allow, "matches": ints(res)})

# ---- RPN targets, proposal selection ------------------------------------------------------------
gen = AnchorGenerator(tuple((s,) for s in (8, 16, 32, 64, 128)), (ratios,) * 5)
rpn = RegionProposalNetwork(gen, None, 0.7, 0.3, 64, 0.5, dict(training=200, testing=100),
                            dict(training=100, testing=50), 0.7)
out["rpn_targets"] = []
for case in range(3):
    gt = inside_boxes(1 + 2 * case, 64, 64, 3.0)
    labels, matched = rpn.assign_targets_to_anchors([tiny_anchors], [{"boxes": torch.from_numpy(gt)}])
    reg = BoxCoder((1.0, 1.0, 1.0, 1.0)).encode_single(matched[0], tiny_anchors)
    out["rpn_targets"].append({"ground_truth": f32(gt), "labels": ints(labels[0]),
                               "regression": f32(reg)})

out["proposals"] = []
for case, training in ((0, True), (1, False), (2, True)):
    n = tiny_anchors.shape[0]
    objectness = torch.from_numpy(rng.normal(0, 2, (1, n)).astype(np.float32))
    deltas = torch.from_numpy(rng.normal(0, 0.5, (n, 4)).astype(np.float32))
    if case == 2:
        deltas[::7, 2:] = -12.0  # tiny boxes, removed
    proposals = BoxCoder((1.0, 1.0, 1.0, 1.0)).decode(deltas, [tiny_anchors]).view(1, -1, 4)
    rpn.train(training)
    boxes, scores = rpn.filter_proposals(proposals, objectness, [(64, 64)], tiny_per_level)
    out["proposals"].append({"training": training, "objectness": f32(objectness),
                             "deltas": f32(deltas), "boxes": f32(boxes[0]), "scores": f32(scores[0])})

# ---- RoI targets (every RoI sampled: few enough of each kind) ----------------------------------
heads = RoIHeads(None, None, None, 0.5, 0.5, 512, 0.25, None, 0.05, 0.5, 100)
out["roi_targets"] = []
for case in range(3):
    gt = inside_boxes(2 + case, 64, 64, 4.0)
    gt_labels = torch.from_numpy(rng.integers(1, 4, gt.shape[0]))
    props = inside_boxes(40, 64, 64, 2.0)
    # some proposals near the ground truth
    near = gt[rng.integers(0, gt.shape[0], 20)] + rng.normal(0, 2, (20, 4)).astype(np.float32)
    near[:, 2:] = np.maximum(near[:, 2:], near[:, :2] + 1.0)
    props = np.concatenate([props, near]).astype(np.float32)
    all_props = heads.add_gt_proposals([torch.from_numpy(props)], [torch.from_numpy(gt)])
    matched, labels = heads.assign_targets_to_proposals(all_props, [torch.from_numpy(gt)], [gt_labels])
    reg = BoxCoder((10.0, 10.0, 5.0, 5.0)).encode_single(torch.from_numpy(gt)[matched[0]], all_props[0])
    out["roi_targets"].append({"ground_truth": f32(gt), "classes": ints(gt_labels),
                               "proposals": f32(props), "labels": ints(labels[0]),
                               "matched": ints(matched[0]), "regression": f32(reg)})

# ---- roi_align ----------------------------------------------------------------------------------
feature = torch.from_numpy(rng.normal(0, 1, (1, 3, 13, 17)).astype(np.float32))
hand_boxes = [[4.0, 4.0, 40.0, 30.0], [-10.0, -6.0, 20.0, 14.0], [50.0, 30.0, 75.0, 60.0],
              [70.0, 55.0, 90.0, 80.0], [10.3, 11.7, 10.9, 12.1], [0.0, 0.0, 68.0, 52.0],
              [-30.0, -30.0, -5.0, -2.0], [66.5, 49.0, 67.5, 51.0]]
boxes = np.concatenate([np.array(hand_boxes, np.float32), seeded_boxes(12, 52, 68)])
out["roi_align"] = []
for scale, sampling, size in ((0.25, 2, 7), (0.25, -1, 7), (1.0, 2, 5), (0.25, 2, 14)):
    rois = torch.cat([torch.zeros(len(boxes), 1), torch.from_numpy(boxes)], 1)
    res = roi_align(feature, rois, (size, size), scale, sampling, aligned=False)
    out["roi_align"].append({"feature": f32(feature), "channels": 3, "height": 13, "width": 17,
                             "boxes": f32(boxes), "spatial_scale": scale, "sampling_ratio": sampling,
                             "size": size, "values": f32(res)})

# ---- level mapper -------------------------------------------------------------------------------
out["levels"] = []
for s0 in (224, 32):
    sides = [s0 / 4, s0 / 2 - 0.01, s0 / 2, s0, s0 * 2 - 0.01, s0 * 2, s0 * 4, s0 * 16, 1.0]
    hb = [[0.0, 0.0, s, s] for s in sides] + [[3.0, 5.0, 3.0 + s0, 5.0 + s0 / 4]]
    lb = np.concatenate([np.array(hb, np.float32), seeded_boxes(30, 800, 1088)])
    lvl = LevelMapper(2, 5, canonical_scale=s0, canonical_level=4)([torch.from_numpy(lb)])
    out["levels"].append({"canonical_scale": s0, "boxes": f32(lb), "levels": ints(lvl)})

# ---- mask targets -------------------------------------------------------------------------------
yy, xx = np.mgrid[0:64, 0:64]
mask = (((xx + 0.5 - 30) / 18) ** 2 + ((yy + 0.5 - 26) / 11) ** 2 <= 1).astype(np.float32)
mask[40:50, 5:25] = 1.0
mboxes = np.array([[12, 15, 48, 37], [0, 0, 64, 64], [-5, 10, 20, 60], [28.4, 20.2, 30.1, 21.3],
                   [50, 50, 70, 70]], np.float32)
mboxes = np.concatenate([mboxes, seeded_boxes(6, 64, 64, 2.0)])
targets = project_masks_on_boxes(torch.from_numpy(mask)[None], torch.from_numpy(mboxes),
                                 torch.zeros(len(mboxes), dtype=torch.int64), 28)
out["mask_targets"] = {"height": 64, "width": 64, "mask": f32(mask), "boxes": f32(mboxes),
                       "size": 28, "values": f32(targets)}

# ---- detections ---------------------------------------------------------------------------------
out["detections"] = []
for case in range(3):
    r, k = 60, 4
    props = inside_boxes(r, 64, 64, 2.0)
    logits = rng.normal(0, 2, (r, k)).astype(np.float32)
    if case == 2:
        logits[:, 1:] += 4.0  # many candidates: the 100 limit
        props = np.tile(props[:10], (6, 1))
    deltas = rng.normal(0, 1, (r, 4 * k)).astype(np.float32)
    b, s, l = heads.postprocess_detections(torch.from_numpy(logits), torch.from_numpy(deltas),
                                           [torch.from_numpy(props)], [(64, 64)])
    out["detections"].append({"proposals": f32(props), "class_logits": f32(logits),
                              "box_deltas": f32(deltas), "boxes": f32(b[0]), "scores": f32(s[0]),
                              "labels": ints(l[0])})

# ---- paste --------------------------------------------------------------------------------------
probs = rng.uniform(0, 1, (7, 1, 28, 28)).astype(np.float32)
pboxes = np.array([[10, 12, 40, 30], [-6.5, -3.2, 20.7, 25.1], [50.2, 40.9, 90, 70],
                   [30.2, 30.4, 30.9, 31.1], [0, 0, 80, 64], [12.5, 7.49, 13.51, 60.2],
                   [70, 55, 80, 64]], np.float32)
pasted = paste_masks_in_image(torch.from_numpy(probs), torch.from_numpy(pboxes), (64, 80), padding=1)
out["paste"] = {"height": 64, "width": 80, "size": 28, "masks": f32(probs), "boxes": f32(pboxes),
                "values": f32(pasted)}

# ---- losses -------------------------------------------------------------------------------------
n_img = 2
gts = [inside_boxes(2 + i, 64, 64, 6.0) for i in range(n_img)]
labels, matched = rpn.assign_targets_to_anchors([tiny_anchors] * n_img,
                                                [{"boxes": torch.from_numpy(g)} for g in gts])
reg = [BoxCoder((1.0, 1.0, 1.0, 1.0)).encode_single(m, tiny_anchors) for m in matched]
samples = []
pos_masks, neg_masks = [], []
for lab in labels:
    pos = torch.where(lab >= 1)[0].numpy()
    neg = torch.where(lab == 0)[0].numpy()
    pos = np.sort(rng.choice(pos, min(len(pos), 32), replace=False))
    neg = np.sort(rng.choice(neg, 64 - len(pos), replace=False))
    pm = torch.zeros_like(lab, dtype=torch.uint8)
    nm = torch.zeros_like(lab, dtype=torch.uint8)
    pm[pos] = 1
    nm[neg] = 1
    pos_masks.append(pm)
    neg_masks.append(nm)
    samples.append({"positive": ints(pos), "negative": ints(neg)})
rpn.fg_bg_sampler = lambda _labels: (pos_masks, neg_masks)
n = tiny_anchors.shape[0]
objectness = torch.from_numpy(rng.normal(0, 2, (n_img * n, 1)).astype(np.float32))
deltas = torch.from_numpy(rng.normal(0, 0.5, (n_img * n, 4)).astype(np.float32))
rpn_obj, rpn_box = rpn.compute_loss(objectness, deltas, labels, reg)

k = 4
roi_counts = [24, 16]
roi_labels = [torch.from_numpy(rng.choice([0, 0, 1, 2, 3], c)) for c in roi_counts]
roi_reg = [torch.from_numpy(rng.normal(0, 1, (c, 4)).astype(np.float32)) for c in roi_counts]
class_logits = torch.from_numpy(rng.normal(0, 2, (sum(roi_counts), k)).astype(np.float32))
box_deltas = torch.from_numpy(rng.normal(0, 1, (sum(roi_counts), 4 * k)).astype(np.float32))
cls_loss, box_loss = fastrcnn_loss(class_logits, box_deltas, roi_labels, roi_reg)

gt_masks = []
for g in gts:
    ms = np.zeros((len(g), 64, 64), np.float32)
    for j, b in enumerate(g):
        x0, y0, x1, y1 = [int(v) for v in b]
        ms[j, y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] = 1.0
        ms[j, y0:(y0 + y1) // 2, x0:(x0 + x1) // 2] = 0.0  # a notch, so the mask is not its box
    gt_masks.append(ms)
gt_labels = [torch.from_numpy(rng.integers(1, k, len(g))) for g in gts]
mask_props, mask_matched = [], []
for g in gts:
    idx = rng.integers(0, len(g), 3)
    mask_props.append(torch.from_numpy(g[idx] + rng.normal(0, 2, (3, 4)).astype(np.float32)))
    mask_matched.append(torch.from_numpy(idx))
mask_logits = torch.from_numpy(rng.normal(0, 2, (6, k, 28, 28)).astype(np.float32))
mask_loss = maskrcnn_loss(mask_logits, mask_props, [torch.from_numpy(m) for m in gt_masks],
                          gt_labels, mask_matched)
out["losses"] = {
    "ground_truth": [f32(g) for g in gts], "samples": samples, "objectness": f32(objectness),
    "deltas": f32(deltas), "rpn_objectness": float(rpn_obj), "rpn_box": float(rpn_box),
    "roi_labels": [ints(l) for l in roi_labels], "roi_regression": [f32(r) for r in roi_reg],
    "class_logits": f32(class_logits), "box_deltas": f32(box_deltas),
    "classifier": float(cls_loss), "box_reg": float(box_loss),
    "masks": [f32(m) for m in gt_masks], "mask_classes": [ints(l) for l in gt_labels],
    "mask_rois": [f32(p) for p in mask_props], "mask_matched": [ints(m) for m in mask_matched],
    "mask_logits": f32(mask_logits), "mask": float(mask_loss)}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mask_rcnn_reference.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"), allow_nan=False)
    f.write("\n")
print("wrote", path, os.path.getsize(path), "bytes")
