#!/usr/bin/env python3
"""Writes metrics_reference.json: sacreBLEU's and pycocotools' results on hand-made cases, the
ground truth of common_metrics_reference_test.cpp (bleu, map, map_mask; MODELS.md, "Metrics").

Computed with sacrebleu 2.6.0, pycocotools 2.0.11, numpy 2.4.6 (Python 3.11), from PyPI:
    python3 -m venv /tmp/venv-metrics
    /tmp/venv-metrics/bin/pip install sacrebleu==2.6.0 pycocotools==2.0.11 numpy==2.4.6
    /tmp/venv-metrics/bin/python tests/workloads/data/metrics_reference.py

BLEU: token-id sentences are joined as space-separated strings and scored by
sacrebleu.corpus_bleu(tokenize='none', force=True) with its defaults (smooth_method='exp',
use_effective_order=False, lowercase=False), one reference per sentence. With tokenize='none'
sacreBLEU splits each line on whitespace, so its n-grams are the id n-grams exactly; the script
checks that the statistics sacreBLEU reports equal an independent count on the ids.

COCO: every case is a small dataset built in memory (images with ids 1..N in the given order,
annotation ids from 1, iscrowd 0, categories = every class id present) and evaluated by
COCOeval(iouType='bbox' or 'segm') with default parameters; the reference values are
stats[0] (AP@[.50:.95]), stats[1] (AP50), stats[2] (AP75) and stats[8] (AR@100), all for area
range 'all'. Masks are stored as rows of '0'/'1' and given to pycocotools as compressed RLE.
Random cases come from a seeded numpy generator and are stored in full, so the C++ test never
depends on numpy's generator.
"""
import collections
import contextlib
import importlib.metadata
import io
import json
import os
import sys

import numpy as np
import sacrebleu
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval, Params

rng = np.random.default_rng(20260909)

# --- BLEU ------------------------------------------------------------------------------------
bleu_cases = []


def ngram_stats(hyps, refs):
    """Independent count of BLEU's statistics on the ids, to check the string round trip."""
    correct, total = [0] * 4, [0] * 4
    for h, r in zip(hyps, refs):
        for n in range(1, 5):
            hc = collections.Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            rc = collections.Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            total[n - 1] += sum(hc.values())
            correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
    return correct, total


def add_bleu(name, hyps, refs):
    hyps = [[int(t) for t in h] for h in hyps]
    refs = [[int(t) for t in r] for r in refs]
    assert len(hyps) == len(refs) and hyps
    score = sacrebleu.corpus_bleu([" ".join(map(str, h)) for h in hyps],
                                  [[" ".join(map(str, r)) for r in refs]],
                                  tokenize="none", force=True)
    correct, total = ngram_stats(hyps, refs)
    assert list(score.counts) == correct and list(score.totals) == total, name
    assert score.sys_len == sum(map(len, hyps)) and score.ref_len == sum(map(len, refs)), name
    bleu_cases.append({
        "name": name, "hypotheses": hyps, "references": refs,
        "score": float(score.score), "precisions": [float(p) for p in score.precisions],
        "bp": float(score.bp), "counts": correct, "totals": total,
        "sys_len": int(score.sys_len), "ref_len": int(score.ref_len),
    })


ref1 = [3, 14, 15, 92, 65, 35, 89, 79]
add_bleu("perfect_match", [ref1], [ref1])
add_bleu("perfect_match_corpus", [ref1, [2, 7, 1, 8, 2, 8], [1, 4, 1, 4, 2, 1]],
         [ref1, [2, 7, 1, 8, 2, 8], [1, 4, 1, 4, 2, 1]])
add_bleu("no_overlap", [[1, 2, 3, 4, 5]], [[6, 7, 8, 9, 10]])
add_bleu("no_overlap_shorter", [[1, 2, 3]], [[6, 7, 8, 9, 10]])
add_bleu("partial_overlap", [[1, 2, 3, 4, 9, 6, 7, 8]], [[1, 2, 3, 4, 5, 6, 7, 8]])
add_bleu("unigrams_only_match", [[4, 3, 2, 1]], [[1, 2, 3, 4]])
add_bleu("unigram_and_bigram_match", [[1, 2, 5, 3, 4, 6]], [[1, 2, 7, 3, 4, 8]])
add_bleu("no_fourgram_match", [[1, 2, 3, 9, 4, 5, 6, 9]], [[1, 2, 3, 8, 4, 5, 6, 8]])
add_bleu("shorter_brevity_penalty", [[1, 2, 3, 4]], [[1, 2, 3, 4, 5, 6, 7, 8]])
add_bleu("longer_no_penalty", [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]], [[1, 2, 3, 4, 5, 6, 7, 8]])
add_bleu("empty_hypothesis", [[]], [[1, 2, 3, 4]])
add_bleu("empty_hypothesis_in_corpus", [[1, 2, 3, 4, 5], []], [[1, 2, 3, 4, 5], [6, 7, 8]])
add_bleu("empty_reference", [[1, 2, 3, 4]], [[]])
add_bleu("single_token_match", [[7]], [[7]])
add_bleu("single_tokens_corpus", [[7], [8], [9]], [[7], [8], [1]])
add_bleu("three_tokens_no_fourgrams", [[1, 2, 3]], [[1, 2, 3]])
add_bleu("repeated_unigram_clipping", [[5, 5, 5, 5, 5, 5, 5]], [[5, 1, 5, 2, 3, 4, 6]])
add_bleu("repeated_bigram_clipping", [[1, 2, 1, 2, 1, 2, 1, 2]], [[1, 2, 3, 1, 2, 4, 5, 6]])
add_bleu("clipping_per_sentence", [[1, 1, 1, 1], [1, 1, 1, 1]], [[1, 1, 1, 1], [1, 2, 3, 4]])
add_bleu("large_and_negative_ids", [[2**40, -3, 0, 2**40 + 1, 17], [-1, -1, 0]],
         [[2**40, -3, 0, 2**40, 17], [-1, 0, 0]])
add_bleu("several_sentences", [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10], [11, 12, 13, 14, 15, 16, 17],
                               [1, 3, 5, 7, 9]],
         [[1, 2, 3, 4, 6, 5], [7, 8, 10, 9, 11], [11, 12, 13, 14, 15, 16, 17], [2, 4, 6, 8]])
for i, (sentences, vocab, lo, hi) in enumerate([(40, 6, 0, 16), (200, 30, 3, 30), (25, 3, 1, 8)]):
    hyps, refs = [], []
    for _ in range(sentences):
        ref = rng.integers(0, vocab, rng.integers(lo, hi + 1)).tolist()
        hyp = [t for t in ref if rng.random() > 0.15]  # drop, substitute, insert
        hyp = [t if rng.random() > 0.2 else int(rng.integers(0, vocab)) for t in hyp]
        for _ in range(int(rng.integers(0, 3))):
            hyp.insert(int(rng.integers(0, len(hyp) + 1)), int(rng.integers(0, vocab)))
        hyps.append(hyp)
        refs.append(ref)
    add_bleu(f"random_corpus_{i}", hyps, refs)


# --- COCO ------------------------------------------------------------------------------------
def mask_rows(m):
    return ["".join("1" if v else "0" for v in row) for row in m]


def coco_eval(iou_type, images):
    """COCOeval's summary for images [{height, width, gt: {boxes, classes[, masks]},
    dt: {boxes, classes, scores[, masks]}}]."""
    segm = iou_type == "segm"
    classes = sorted({int(c) for im in images for part in ("gt", "dt")
                      for c in im[part]["classes"]})
    gt = {"images": [], "annotations": [], "categories": [{"id": c} for c in classes]}
    dts = []
    for image_id, im in enumerate(images, 1):
        h, w = im["height"], im["width"]
        gt["images"].append({"id": image_id, "height": h, "width": w})
        for j, (box, c) in enumerate(zip(im["gt"]["boxes"], im["gt"]["classes"])):
            ann = {"id": len(gt["annotations"]) + 1, "image_id": image_id, "category_id": c,
                   "bbox": list(box), "iscrowd": 0}
            if segm:
                m = np.array([[ch == "1" for ch in row] for row in im["gt"]["masks"][j]], np.uint8)
                assert m.shape == (h, w)
                ann["segmentation"] = mask_utils.encode(np.asfortranarray(m))
                ann["area"] = float(m.sum())
            else:
                ann["area"] = box[2] * box[3]
            gt["annotations"].append(ann)
        for j, (box, c, s) in enumerate(zip(im["dt"]["boxes"], im["dt"]["classes"],
                                            im["dt"]["scores"])):
            ann = {"image_id": image_id, "category_id": c, "score": s}
            if segm:  # no 'bbox': loadRes would then take the area from it, not from the mask
                m = np.array([[ch == "1" for ch in row] for row in im["dt"]["masks"][j]], np.uint8)
                assert m.shape == (h, w)
                ann["segmentation"] = mask_utils.encode(np.asfortranarray(m))
            else:
                ann["bbox"] = list(box)
            dts.append(ann)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if dts:
            coco_dt = coco_gt.loadRes(dts)
        else:  # loadRes cannot take an empty list
            coco_dt = COCO()
            coco_dt.dataset = {"images": gt["images"], "annotations": [],
                               "categories": gt["categories"]}
            coco_dt.createIndex()
        e = COCOeval(coco_gt, coco_dt, iou_type)
        e.evaluate()
        e.accumulate()
        e.summarize()
    precision = e.eval["precision"][:, :, :, 0, 2]  # area 'all', maxDets 100
    with_gt = int(np.sum(precision[0, 0, :] > -1))
    return {"ap": float(e.stats[0]), "ap50": float(e.stats[1]), "ap75": float(e.stats[2]),
            "ar100": float(e.stats[8]), "classes": with_gt}


coco_cases = []


def image(h, w, gt_boxes, gt_classes, dt_boxes, dt_classes, dt_scores, gt_masks=None,
          dt_masks=None):
    im = {"height": h, "width": w,
          "gt": {"boxes": [[float(v) for v in b] for b in gt_boxes],
                 "classes": [int(c) for c in gt_classes]},
          "dt": {"boxes": [[float(v) for v in b] for b in dt_boxes],
                 "classes": [int(c) for c in dt_classes],
                 "scores": [float(s) for s in dt_scores]}}
    if gt_masks is not None:
        im["gt"]["masks"] = [mask_rows(m) for m in gt_masks]
        im["dt"]["masks"] = [mask_rows(m) for m in dt_masks]
    return im


def add_coco(name, iou_type, images):
    case = {"name": name, "iou": iou_type, "images": images}
    case.update(coco_eval(iou_type, images))
    coco_cases.append(case)


B = [[10, 10, 20, 20], [50, 40, 30, 10], [5, 60, 12, 25], [70, 70, 20, 25]]
add_coco("perfect", "bbox", [
    image(100, 120, B[:3], [1, 2, 3], B[:3], [1, 2, 3], [0.9, 0.8, 0.7]),
    image(100, 120, B[1:], [2, 2, 1], B[1:], [2, 2, 1], [0.3, 0.6, 0.95])])
add_coco("perfect_class_zero", "bbox", [image(100, 100, B[:2], [0, 0], B[:2], [0, 0], [0.5, 0.4])])
add_coco("empty_detections_one_image", "bbox", [
    image(100, 120, B[:3], [1, 2, 3], B[:3], [1, 2, 3], [0.9, 0.8, 0.7]),
    image(100, 120, B[1:], [2, 2, 1], [], [], [])])
add_coco("no_detections_at_all", "bbox", [image(100, 120, B, [1, 1, 2, 2], [], [], [])])
add_coco("no_ground_truth_at_all", "bbox", [image(100, 120, [], [], B[:2], [1, 2], [0.5, 0.6])])
add_coco("empty_image", "bbox", [image(100, 120, B[:2], [1, 1], B[:2], [1, 1], [0.5, 0.6]),
                                 image(100, 120, [], [], [], [], [])])
add_coco("class_without_ground_truth", "bbox", [
    image(100, 120, B[:2], [1, 1], B[:2] + B[2:], [1, 1, 5, 5], [0.5, 0.6, 0.99, 0.98])])
add_coco("class_missing_from_one_image", "bbox", [
    image(100, 120, B[:2], [1, 2], B[:2], [1, 2], [0.5, 0.6]),
    image(100, 120, B[2:], [1, 1], [B[2], B[0]], [1, 1], [0.7, 0.8])])
add_coco("false_positive_image", "bbox", [
    image(100, 120, B[:2], [1, 1], B[:2], [1, 1], [0.5, 0.4]),
    image(100, 120, [], [], B[2:], [1, 1], [0.9, 0.45])])
# Equal scores: the stable order (image order, then the given order) decides the PR curve.
add_coco("ties_in_score_across_images", "bbox", [
    image(100, 120, [B[0]], [1], [B[3]], [1], [0.5]),
    image(100, 120, [B[1]], [1], [B[1]], [1], [0.5])])
add_coco("ties_in_score_across_images_swapped", "bbox", [
    image(100, 120, [B[1]], [1], [B[1]], [1], [0.5]),
    image(100, 120, [B[0]], [1], [B[3]], [1], [0.5])])
add_coco("ties_in_score_within_image", "bbox", [
    image(100, 120, B[:2], [1, 1], [B[3], B[0], B[2], B[1]], [1, 1, 1, 1], [0.7, 0.7, 0.7, 0.7])])
add_coco("ties_in_score_within_image_reordered", "bbox", [
    image(100, 120, B[:2], [1, 1], [B[0], B[3], B[1], B[2]], [1, 1, 1, 1], [0.7, 0.7, 0.7, 0.7])])
add_coco("duplicate_detection", "bbox", [
    image(100, 120, B[:2], [1, 1], [B[0], B[0], B[1]], [1, 1, 1], [0.9, 0.8, 0.7])])
add_coco("duplicate_detection_tied", "bbox", [
    image(100, 120, B[:2], [1, 1], [B[0], B[1], B[0]], [1, 1, 1], [0.8, 0.8, 0.8])])
add_coco("false_positive_first", "bbox", [image(100, 120, [B[0]], [1], [B[3], B[0]], [1, 1],
                                                [0.9, 0.8])])
add_coco("low_iou_detections", "bbox", [
    image(100, 120, B[:2], [1, 1], [[20, 20, 20, 20], [55, 42, 30, 10]], [1, 1], [0.9, 0.8])])
# IoU exactly at, just above and just below thresholds (gt 10×10 at the origin: IoU = h/10).
g = [0, 0, 10, 10]
at = [[0, 0, 10, h] for h in (5, 5.5, 6, 7.5, 9.5, 4.999999, 7.4999999, 7.5000001, 9.4999)]
for i, d in enumerate(at):
    add_coco(f"iou_threshold_{i}", "bbox", [image(20, 20, [g], [1], [d], [1], [0.9])])
add_coco("iou_thresholds_mixed", "bbox", [
    image(20, 20, [g] * len(at), [1] * len(at), at, [1] * len(at),
          np.linspace(0.9, 0.1, len(at)).tolist())])
# Fractional boxes, overlaps on both axes, zero-size boxes.
add_coco("fractional_boxes", "bbox", [
    image(50, 50, [[1.25, 2.5, 10.75, 8.125], [20.1, 20.2, 5.3, 7.9]], [1, 1],
          [[1.5, 2.0, 10.0, 9.0], [21.0, 19.0, 5.0, 8.5], [0, 0, 0, 0]], [1, 1, 1],
          [0.6, 0.7, 0.8])])
add_coco("zero_size_ground_truth", "bbox", [
    image(50, 50, [[5, 5, 0, 0], [10, 10, 5, 5]], [1, 1], [[5, 5, 0, 0], [10, 10, 5, 5]], [1, 1],
          [0.9, 0.8])])
# One detection overlapping two ground truths equally: COCOeval takes the last of equal IoUs.
add_coco("equal_iou_two_ground_truths", "bbox", [
    image(40, 40, [[0, 0, 10, 10], [5, 0, 10, 10]], [1, 1],
          [[2.5, 0, 10, 10], [0, 0, 10, 10]], [1, 1], [0.9, 0.8])])
add_coco("several_categories", "bbox", [
    image(100, 120, B, [1, 2, 2, 3],
          [B[0], [52, 41, 30, 10], B[2], [70, 75, 20, 25], B[3], [0, 0, 5, 5]],
          [1, 2, 2, 3, 1, 3], [0.9, 0.85, 0.4, 0.6, 0.7, 0.65]),
    image(100, 120, B[:2], [3, 1],
          [[11, 10, 20, 20], B[1], [50, 40, 30, 12]], [3, 1, 1], [0.3, 0.5, 0.55])])
# A detection larger than COCOeval's area range (1e10 px²) is ignored when unmatched.
add_coco("huge_unmatched_detection", "bbox", [
    image(100, 120, B[:2], [1, 1], [[0, 0, 2e5, 2e5], B[0], [90, 90, 5, 5]], [1, 1, 1],
          [0.99, 0.5, 0.6])])
# maxDets 100 per image and class: the true positives below the 100th score do not count.
many = [[float(x), 0.0, 2.0, 2.0] for x in range(150)]
add_coco("more_than_100_detections", "bbox", [
    image(200, 400, [[300, 100, 10, 10], [0, 0, 2, 2]], [1, 1],
          many + [[300, 100, 10, 10]], [1] * 151, np.linspace(0.99, 0.2, 150).tolist() + [0.1])])
add_coco("more_than_100_detections_tied", "bbox", [
    image(200, 400, [[300, 100, 10, 10], [0, 0, 2, 2], [20, 0, 2, 2]], [1, 1, 1],
          [[300, 100, 10, 10]] + many, [1] * 151, [0.5] * 151)])
add_coco("100_per_class_not_per_image", "bbox", [
    image(200, 400, [[300, 100, 10, 10], [300, 150, 10, 10]], [1, 2],
          many[:90] + [[300, 100, 10, 10]] + many[90:] + [[300, 150, 10, 10]],
          [1] * 91 + [2] * 61, np.linspace(0.9, 0.3, 152).tolist())])


def random_boxes_case(name, images, classes, max_gt, size=(120, 160)):
    h, w = size
    out = []
    for _ in range(images):
        n = int(rng.integers(0, max_gt + 1))
        gb, gc, db, dc, ds = [], [], [], [], []
        for _ in range(n):
            bw, bh = rng.uniform(4, 40, 2)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            c = int(rng.integers(1, classes + 1))
            gb.append([round(x, 2), round(y, 2), round(bw, 2), round(bh, 2)])
            gc.append(c)
            for _ in range(int(rng.integers(0, 3))):  # 0–2 detections per object
                jit = rng.normal(0, 0.12, 4) * [bw, bh, bw, bh]
                db.append([round(x + jit[0], 2), round(y + jit[1], 2),
                           round(max(0.5, bw + jit[2]), 2), round(max(0.5, bh + jit[3]), 2)])
                dc.append(c if rng.random() > 0.1 else int(rng.integers(1, classes + 1)))
                ds.append(round(float(rng.uniform()), 1))  # coarse: many ties
        for _ in range(int(rng.integers(0, 4))):  # background false positives
            bw, bh = rng.uniform(4, 40, 2)
            db.append([round(rng.uniform(0, w - bw), 2), round(rng.uniform(0, h - bh), 2),
                       round(bw, 2), round(bh, 2)])
            dc.append(int(rng.integers(1, classes + 1)))
            ds.append(round(float(rng.uniform()), 1))
        out.append(image(h, w, gb, gc, db, dc, ds))
    add_coco(name, "bbox", out)


random_boxes_case("random_boxes_0", 12, 3, 5)
random_boxes_case("random_boxes_1", 30, 5, 8)
random_boxes_case("random_boxes_2", 6, 2, 12)


# --- masks -----------------------------------------------------------------------------------
def grid(h, w):
    return np.mgrid[0:h, 0:w]


def rect(h, w, x, y, bw, bh):
    yy, xx = grid(h, w)
    return ((xx >= x) & (xx < x + bw) & (yy >= y) & (yy < y + bh)).astype(np.uint8)


def ellipse(h, w, cx, cy, rx, ry):
    yy, xx = grid(h, w)
    return (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1).astype(np.uint8)


def ring(h, w, cx, cy, r_out, r_in):
    return ellipse(h, w, cx, cy, r_out, r_out) & (1 - ellipse(h, w, cx, cy, r_in, r_in))


def triangle(h, w, x0, y0, size):
    yy, xx = grid(h, w)
    return ((yy >= y0) & (yy < y0 + size) & (xx >= x0) & (xx - x0 <= yy - y0)).astype(np.uint8)


def box_of(m):
    ys, xs = np.nonzero(m)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1)]


def mask_image(h, w, gt_masks, gt_classes, dt_masks, dt_classes, dt_scores):
    return image(h, w, [box_of(m) for m in gt_masks], gt_classes, [box_of(m) for m in dt_masks],
                 dt_classes, dt_scores, gt_masks, dt_masks)


H, W = 24, 32
shapes = [rect(H, W, 2, 3, 8, 6), ellipse(H, W, 20, 8, 6, 4), ring(H, W, 10, 16, 6, 3),
          triangle(H, W, 20, 12, 10)]
add_coco("masks_perfect", "segm", [
    mask_image(H, W, shapes, [1, 1, 2, 3], shapes, [1, 1, 2, 3], [0.9, 0.8, 0.7, 0.6])])
# A filled disk for a ring (the hole counts against it), a shifted ellipse, a cut triangle.
disk = ellipse(H, W, 10, 16, 6, 6)
add_coco("masks_with_holes_and_shapes", "segm", [
    mask_image(H, W, shapes, [1, 1, 2, 3],
               [rect(H, W, 3, 3, 8, 6), ellipse(H, W, 21, 9, 6, 4), disk,
                triangle(H, W, 20, 12, 10) & rect(H, W, 0, 0, W, 19)],
               [1, 1, 2, 3], [0.9, 0.8, 0.7, 0.6])])
add_coco("mask_ring_hole_filled", "segm", [
    mask_image(H, W, [ring(H, W, 12, 12, 10, 6)], [1], [ellipse(H, W, 12, 12, 10, 10)], [1],
               [0.5])])
add_coco("mask_empty_detection", "segm", [
    mask_image(H, W, shapes[:2], [1, 1], [np.zeros((H, W), np.uint8), shapes[1]], [1, 1],
               [0.9, 0.8])])
add_coco("mask_duplicates_and_no_detections", "segm", [
    mask_image(H, W, shapes[:3], [1, 1, 2], [shapes[0], shapes[0], shapes[2]], [1, 1, 2],
               [0.6, 0.9, 0.2]),
    mask_image(H, W, shapes[2:], [2, 3], [], [], [])])


def random_mask_case(name, images, classes, max_gt, size=(32, 40)):
    h, w = size
    out = []
    for _ in range(images):
        gm, gc, dm, dc, ds = [], [], [], [], []
        for _ in range(int(rng.integers(0, max_gt + 1))):
            kind = int(rng.integers(0, 4))
            cx, cy = rng.uniform(6, w - 6), rng.uniform(6, h - 6)
            r = rng.uniform(3, 9)

            def draw(dx, dy, dr):
                if kind == 0:
                    return rect(h, w, cx - r + dx, cy - r + dy, 2 * (r + dr), 1.5 * (r + dr))
                if kind == 1:
                    return ellipse(h, w, cx + dx, cy + dy, r + dr, 0.7 * (r + dr))
                if kind == 2:
                    return ring(h, w, cx + dx, cy + dy, r + dr, 0.5 * (r + dr))
                return triangle(h, w, cx - r + dx, cy - r + dy, 2 * (r + dr))

            c = int(rng.integers(1, classes + 1))
            gm.append(draw(0, 0, 0))
            gc.append(c)
            for _ in range(int(rng.integers(0, 3))):
                dx, dy, dr = rng.normal(0, 1.2, 3)
                dm.append(draw(dx, dy, dr))
                dc.append(c)
                ds.append(round(float(rng.uniform()), 1))
        out.append(mask_image(h, w, gm, gc, dm, dc, ds))
    add_coco(name, "segm", out)


random_mask_case("random_masks_0", 8, 3, 4)
random_mask_case("random_masks_1", 10, 2, 6)

# Box IoU of single pairs, straight from maskUtils.iou (maskApi bbIou), for bit equality.
box_iou_cases = []
pairs = [([0, 0, 10, 10], [0, 0, 10, 10]), ([0, 0, 10, 10], [5, 5, 10, 10]),
         ([0, 0, 10, 10], [10, 0, 10, 10]), ([0, 0, 10, 10], [20, 20, 1, 1]),
         ([1.25, 2.5, 10.75, 8.125], [1.5, 2.0, 10.0, 9.0]), ([0, 0, 0, 0], [0, 0, 0, 0]),
         ([0.1, 0.2, 0.3, 0.4], [0.15, 0.1, 0.3, 0.35]), ([3, 3, 2, 2], [0, 0, 10, 10])]
pairs += [(np.round(rng.uniform(0, 50, 4), 3).tolist(), np.round(rng.uniform(0, 50, 4), 3).tolist())
          for _ in range(20)]
for d, g in pairs:
    iou = mask_utils.iou([list(map(float, d))], [list(map(float, g))], [0])
    box_iou_cases.append({"detection": [float(v) for v in d], "ground_truth": [float(v) for v in g],
                          "iou": float(np.asarray(iou).reshape(-1)[0])})

params = Params(iouType="bbox")
out = {
    "generator": f"metrics_reference.py with sacrebleu {sacrebleu.__version__}, pycocotools "
                 f"{importlib.metadata.version('pycocotools')}, numpy {np.__version__}, "
                 f"Python {sys.version.split()[0]}",
    "iou_thresholds": [float(t) for t in params.iouThrs],
    "recall_thresholds": [float(r) for r in params.recThrs],
    "bleu": bleu_cases,
    "box_iou": box_iou_cases,
    "coco": coco_cases,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_reference.json")
with open(path, "w") as f:
    # One case per line: readable diffs without one line per number.
    f.write("{\n")
    keys = list(out)
    for i, key in enumerate(keys):
        value = out[key]
        f.write(f" {json.dumps(key)}: ")
        if isinstance(value, list) and value and isinstance(value[0], dict):
            f.write("[\n" + ",\n".join("  " + json.dumps(c) for c in value) + "\n ]")
        else:
            f.write(json.dumps(value))
        f.write(",\n" if i + 1 < len(keys) else "\n")
    f.write("}\n")
assert json.load(open(path)) == json.loads(json.dumps(out))
print(f"wrote {path}: {len(bleu_cases)} BLEU, {len(box_iou_cases)} box IoU, "
      f"{len(coco_cases)} COCO cases")
for c in bleu_cases:
    print(f"  bleu {c['name']}: {c['score']:.6f}")
for c in coco_cases:
    print(f"  {c['iou']} {c['name']}: ap {c['ap']:.6f} ap50 {c['ap50']:.6f} "
          f"ap75 {c['ap75']:.6f} ar100 {c['ar100']:.6f} classes {c['classes']}")
