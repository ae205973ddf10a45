#pragma once
// Mask R-CNN's host-side code, shared by both workers (MODELS.md, "Mask R-CNN"): anchors, the box
// coder, the IoU matcher, the deterministic sampler, proposal selection, RoI target assignment,
// the FPN level mapper, a RoIAlign reference, mask targets, and inference post-processing with
// mask pasting. torchvision's semantics throughout, except where MODELS.md names a difference
// (ties broken by index, a seeded sampler instead of randperm).
#include <array>
#include <cstdint>
#include <vector>

#include "common/data.hpp"
#include "common/models.hpp"

namespace greenbench::workloads {

/// A box (x1, y1, x2, y2) in pixels.
using RcnnBox = std::array<double, 4>;

/// The anchors of an image, P2 … P6 concatenated; within level l anchor (y, x, a) has index
/// offset_l + (y·W_l + x)·A + a (torchvision's AnchorGenerator and RPN head order).
struct RcnnAnchors {
  std::vector<RcnnBox> boxes;        ///< float32 values (torchvision computes them in float32)
  std::vector<int64_t> per_level;    ///< anchors of each level
  std::vector<int64_t> level_start;  ///< index of each level's first anchor
};

/// The A zero-centred anchors of one size: round([−w, −h, w, h]/2) with h = sqrt(r)·size,
/// w = size/sqrt(r), in float32, round half to even (torchvision's generate_anchors).
[[nodiscard]] std::vector<RcnnBox> rcnn_cell_anchors(double size,
                                                     const std::vector<double>& aspect_ratios);

/// The anchors of the config's image size: level l has stride (H div H_l, W div W_l).
[[nodiscard]] RcnnAnchors rcnn_anchors(const MaskRcnnConfig& config);

/// The regression target of a ground-truth box against a reference box (proposal or anchor),
/// with weights (wx, wy, ww, wh): torchvision's BoxCoder.encode_single.
[[nodiscard]] std::array<double, 4> rcnn_encode(const RcnnBox& ground_truth,
                                                const RcnnBox& reference,
                                                const std::array<double, 4>& weights);

/// The box of predicted deltas against a reference box: torchvision's BoxCoder.decode_single
/// (dw, dh clamped at log(1000/16) after dividing by the weights).
[[nodiscard]] RcnnBox rcnn_decode(const float* deltas, const RcnnBox& reference,
                                  const std::array<double, 4>& weights);

/// IoU of two boxes (torchvision's box_iou; the same formula as ssd_iou).
[[nodiscard]] double rcnn_iou(const RcnnBox& a, const RcnnBox& b);

/// torchvision's Matcher on an IoU matrix iou[g·n + j] (g ground truths × n boxes; IoUs and
/// thresholds compared as float32, as torchvision does): per box j the
/// ground truth of highest IoU (the lowest index on ties), −1 below `low`, −2 in [low, high);
/// with allow_low_quality, every box j that has some ground truth's highest IoU (ties
/// included) gets back its own best ground truth. Throws when g or n is 0.
[[nodiscard]] std::vector<int64_t> rcnn_match(const std::vector<double>& iou, int64_t g, int64_t n,
                                              double high, double low, bool allow_low_quality);

/// A sampled set of positives and negatives, each in ascending index order.
struct RcnnSample {
  std::vector<int64_t> positive;
  std::vector<int64_t> negative;
};

/// The deterministic BalancedPositiveNegativeSampler (MODELS.md): labels ≥ 1 positive, 0 negative,
/// −1 ignored; P = min(⌊batch·fraction⌋, positives), N = min(batch − P, negatives); the first P
/// (N) of a partial Fisher–Yates shuffle of the positive (negative) indices drawn from `rng`
/// (positives first), then sorted.
[[nodiscard]] RcnnSample rcnn_sample(const std::vector<int64_t>& labels, int64_t batch,
                                     double positive_fraction, Rng& rng);

/// The sampler's stream for training step `step`, image `image`: seed, tag
/// "mask_rcnn.sampler.<step>.<image>"; the RPN draws first, then the box head.
[[nodiscard]] Rng rcnn_sampler_rng(uint64_t seed, int64_t step, int64_t image);

/// Greedy NMS: boxes in order of score descending (ties: lower index first), each kept unless its
/// IoU with a kept box is > `threshold`. Returns kept indices in that order.
[[nodiscard]] std::vector<int64_t> rcnn_nms(const std::vector<RcnnBox>& boxes,
                                            const std::vector<double>& scores, double threshold);

/// The proposals of one image.
struct RcnnProposals {
  std::vector<RcnnBox> boxes;   ///< clipped to the image
  std::vector<double> scores;   ///< sigmoid of the objectness logit
  std::vector<int64_t> levels;  ///< 0 … 4 (P2 … P6)
  std::vector<int64_t> anchor;  ///< the anchor each came from
};

/// torchvision's RegionProposalNetwork.filter_proposals for one image: per level the
/// pre_nms_top_n highest objectness logits (ties: lower index), decoded (weights 1), clipped,
/// sides < rpn_min_size removed, NMS per level at rpn_nms, then all levels by score descending
/// (ties: lower anchor index), the first post_nms_top_n. objectness [anchors], deltas
/// [anchors, 4], in the anchors' order.
[[nodiscard]] RcnnProposals rcnn_select_proposals(const MaskRcnnConfig& config,
                                                  const RcnnAnchors& anchors,
                                                  const float* objectness, const float* deltas,
                                                  bool training);

/// The RPN's training targets of one image (before sampling).
struct RcnnRpnTargets {
  std::vector<int64_t> labels;    ///< per anchor: 1 positive, 0 negative, −1 ignored
  std::vector<float> regression;  ///< [anchors, 4], weights (1, 1, 1, 1); 0 where not positive
};

/// Anchors matched to ground truth (rpn_fg_iou, rpn_bg_iou, low-quality matches allowed);
/// without ground truth every anchor is negative.
[[nodiscard]] RcnnRpnTargets rcnn_rpn_targets(const MaskRcnnConfig& config,
                                              const RcnnAnchors& anchors,
                                              const std::vector<RcnnBox>& ground_truth);

/// The box and mask heads' training RoIs of one image, sampled.
struct RcnnRoiTargets {
  std::vector<RcnnBox> rois;      ///< the sampled proposals (gt boxes appended before)
  std::vector<int64_t> labels;    ///< per RoI: class 1 … K − 1, or 0 background
  std::vector<int64_t> matched;   ///< per RoI: the ground truth it matched (0 when none)
  std::vector<float> regression;  ///< [rois, 4], weights box_weights
};

/// torchvision's RoIHeads.select_training_samples for one image: the ground-truth boxes appended
/// to the proposals, matched at box_fg_iou / box_bg_iou (no low-quality matches), sampled
/// (box_batch_per_image, box_positive_fraction) with `rng`, in ascending index order.
[[nodiscard]] RcnnRoiTargets rcnn_roi_targets(const MaskRcnnConfig& config,
                                              const std::vector<RcnnBox>& proposals,
                                              const std::vector<RcnnBox>& ground_truth,
                                              const std::vector<int64_t>& classes, Rng& rng);

/// torchvision's LevelMapper (float32): ⌊k0 + log2(sqrt(area)/s0) + 1e-6⌋ clamped to [2, 5],
/// returned as the index 0 … 3 of P2 … P5.
[[nodiscard]] int64_t rcnn_roi_level(const RcnnBox& box, double canonical_scale,
                                     int64_t canonical_level);

/// torchvision's roi_align (aligned=False) of one box over a feature map [channels, height, width]
/// to out [channels, out_h, out_w]; sampling_ratio ≤ 0: ⌈roi side / output side⌉ samples.
void rcnn_roi_align(const float* feature, int64_t channels, int64_t height, int64_t width,
                    const RcnnBox& box, double spatial_scale, int64_t out_h, int64_t out_w,
                    int64_t sampling_ratio, float* out);

/// RoIAlign as a gather (MODELS.md, "RoIAlign in the frameworks"): per output cell (ph, pw), in
/// row-major order, per sample (iy, ix), the four feature positions y·width + x and their bilinear
/// weights divided by the sample count (index 0 and weight 0 for a sample outside the map), as
/// rcnn_roi_align computes them. out[c, cell] = Σ over the cell's samples and corners of
/// weight · feature[c, index]. Entries: out_h·out_w·samples·4 each.
struct RcnnRoiGather {
  std::vector<int64_t> index;
  std::vector<float> weight;
  int64_t samples = 0;  ///< samples per cell (grid_h·grid_w)
};
[[nodiscard]] RcnnRoiGather rcnn_roi_gather(int64_t height, int64_t width, const RcnnBox& box,
                                            double spatial_scale, int64_t out_h, int64_t out_w,
                                            int64_t sampling_ratio);

/// The mask target of a RoI: torchvision's project_masks_on_boxes, i.e. roi_align of the binary
/// ground-truth mask [height, width] over the RoI to M × M (scale 1, adaptive sampling), the raw
/// (not thresholded) values.
[[nodiscard]] std::vector<float> rcnn_mask_target(const float* mask, int64_t height, int64_t width,
                                                  const RcnnBox& roi, int64_t m);

/// One detection of an image.
struct RcnnDetection {
  RcnnBox box;
  int64_t label = 0;     ///< 1 … K − 1
  double score = 0;      ///< softmax probability
  int64_t proposal = 0;  ///< the proposal (RoI) it came from
};

/// torchvision's RoIHeads.postprocess_detections for one image: per proposal and class ≥ 1 the
/// decoded box (box_weights), clipped; scores > box_score_thresh, sides ≥ box_min_size; NMS per
/// class at box_nms; the detections_per_image best (score descending, ties: lower
/// proposal·(K − 1) + class − 1). class_logits [R, K], box_deltas [R, 4K].
[[nodiscard]] std::vector<RcnnDetection> rcnn_detect(const MaskRcnnConfig& config,
                                                     const std::vector<RcnnBox>& proposals,
                                                     const float* class_logits,
                                                     const float* box_deltas);

/// torchvision's paste_masks_in_image for one mask: the M × M probabilities padded by one zero
/// pixel, the box expanded by (M + 2)/M and truncated to integers, the mask resized bilinearly
/// (align_corners=False) to it and pasted into a zero [height, width] image.
[[nodiscard]] std::vector<float> rcnn_paste_mask(const float* mask, int64_t m, const RcnnBox& box,
                                                 int64_t height, int64_t width);

/// The RPN's two loss terms over a batch (MODELS.md, "Losses"), as torchvision's
/// RegionProposalNetwork.compute_loss with the given samples: objectness [N, anchors] logits,
/// deltas [N, anchors, 4]; per image its targets and sample. Returns {objectness BCE mean over
/// the sampled anchors, Σ smooth L1 (β 1/9) of the positives / sampled anchors}.
[[nodiscard]] std::array<double, 2> rcnn_rpn_loss(const float* objectness, const float* deltas,
                                                  int64_t anchors,
                                                  const std::vector<RcnnRpnTargets>& targets,
                                                  const std::vector<RcnnSample>& samples);

/// The box head's two loss terms (torchvision's fastrcnn_loss): class_logits [Q, K] and
/// box_deltas [Q, 4K] of the batch's sampled RoIs, image after image in the targets' order.
/// Returns {cross entropy mean over Q, Σ smooth L1 (β 1/9) of the positives' class deltas / Q}.
[[nodiscard]] std::array<double, 2> rcnn_box_loss(const float* class_logits,
                                                  const float* box_deltas, int64_t num_classes,
                                                  const std::vector<RcnnRoiTargets>& targets);

/// The mask loss (torchvision's maskrcnn_loss): mask_logits [P, K, M, M] of the positive RoIs,
/// their labels [P] and mask targets [P, M, M]; BCE with logits of each RoI's label channel, mean
/// over P·M·M; 0 without positives.
[[nodiscard]] double rcnn_mask_loss(const float* mask_logits, int64_t num_classes, int64_t m,
                                    const std::vector<int64_t>& labels,
                                    const std::vector<float>& targets);

/// The predictions layout of mask_rcnn (MODELS.md, "Predictions"): width of one detection row,
/// x1, y1, x2, y2, score, label, then M × M mask probabilities.
[[nodiscard]] int64_t rcnn_prediction_width(const MaskRcnnConfig& config);

}  // namespace greenbench::workloads
