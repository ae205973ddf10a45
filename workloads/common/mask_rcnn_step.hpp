#pragma once
// Mask R-CNN's host round trip, shared by both workers (MODELS.md, "Mask R-CNN", "Where each step
// runs"): from the fetched RPN outputs to everything the frameworks need to finish a training
// step (RoI gathers, labels, regression and mask targets, loss divisors) or an inference pass
// (proposals, detections, mask gathers), as flat arrays in one layout for both frameworks.
#include <cstdint>
#include <vector>

#include "common/backend.hpp"
#include "common/mask_rcnn_boxes.hpp"
#include "common/models.hpp"

namespace greenbench::workloads {

/// One image's ground truth, without the batch's padding.
struct RcnnGroundTruth {
  std::vector<RcnnBox> boxes;
  std::vector<int64_t> classes;  ///< 1 … K − 1
  std::vector<float> masks;      ///< [objects, H, W], 0/1
};

/// The ground truth of every image of a mask_rcnn batch ("boxes" [B, M, 4], "classes" [B, M]
/// with −1 padding, "masks" [B, M, H, W]). Throws on shapes that do not fit the config.
[[nodiscard]] std::vector<RcnnGroundTruth> rcnn_ground_truth(const MaskRcnnConfig& config,
                                                             const Batch& batch);

/// The pooling table: the P2 … P5 maps of a batch of N images as rows of C channels, level after
/// level, image after image: row = level_offset[k] + (n·H_k + y)·W_k + x (k = 0 … 3 for P2 … P5).
/// Channels-last (TensorFlow's NHWC maps reshape to it; LibTorch permutes NCHW).
struct RcnnFeatureTable {
  std::vector<int64_t> level_offset;  ///< 4 entries
  int64_t rows = 0;                   ///< N·Σ_k H_k·W_k
};
[[nodiscard]] RcnnFeatureTable rcnn_feature_table(const MaskRcnnConfig& config, int64_t images);

/// RoIAlign of a list of RoIs as one gather over the pooling table:
/// out[r, cell, c] = Σ_e weight[(r·cells + cell)·entries + e] · table[index[…], c],
/// cells = out·out in row-major order, entries = 4·sampling_ratio² (rcnn_roi_gather's order).
/// A weight of 0 marks a sample outside the map (its index is a valid row).
struct RcnnPooling {
  int64_t rois = 0;
  int64_t cells = 0;
  int64_t entries = 0;
  std::vector<int64_t> index;  ///< [rois, cells, entries] rows of the table
  std::vector<float> weight;   ///< [rois, cells, entries]
};

/// The pooling of RoIs `boxes` of images `image` (same length) at out × out, each on the level
/// the level mapper gives it (P2 … P5, scale 2^−k), sampling_ratio from the config (must be > 0).
[[nodiscard]] RcnnPooling rcnn_pooling(const MaskRcnnConfig& config, const RcnnFeatureTable& table,
                                       const std::vector<int64_t>& image,
                                       const std::vector<RcnnBox>& boxes, int64_t out);

/// Everything a training step needs after the RPN (MODELS.md, "Losses"). With the RPN outputs
/// objectness [N·anchors] and deltas [N·anchors, 4] flattened image after image, the box head's
/// class_logits [Q, K] and box_deltas [Q, 4K] of the box pooling's RoIs, and the mask head's
/// mask_logits [Q+, K, M, M] of the mask pooling's RoIs:
///   rpn_objectness = Σ_i BCEwithlogits(objectness[rpn_sampled[i]], rpn_labels[i]) / rpn_count
///   rpn_box        = Σ smoothL1_{1/9}(deltas[rpn_positive] − rpn_regression) / rpn_count
///   classifier     = Σ_r CE(class_logits[r], roi_labels[r]) / roi_count
///   box_reg        = Σ smoothL1_{1/9}(box_deltas as [Q·K, 4] [box_positive] − box_regression)
///                    / roi_count
///   mask           = Σ BCEwithlogits(mask_logits as [Q+·K, M, M] [mask_channel], mask_targets)
///                    / mask_count
/// and the loss is their sum. Every divisor is at least 1, so empty sets give 0.
struct RcnnTrainTargets {
  std::vector<int64_t> rpn_sampled;   ///< n·anchors + a, image after image, ascending
  std::vector<float> rpn_labels;      ///< 1 or 0 per sampled anchor
  std::vector<int64_t> rpn_positive;  ///< the positive sampled anchors, n·anchors + a
  std::vector<float> rpn_regression;  ///< [positives, 4]
  float rpn_count = 1;                ///< sampled anchors of the batch (≥ 1)
  RcnnPooling box_pooling;            ///< the sampled RoIs Q, image after image, box_pool²
  std::vector<int64_t> roi_labels;    ///< [Q], 0 … K − 1
  std::vector<int64_t> box_positive;  ///< r·K + label of each RoI with label > 0
  std::vector<float> box_regression;  ///< [Q+, 4], weights box_weights
  float roi_count = 1;                ///< Q (≥ 1)
  RcnnPooling mask_pooling;           ///< the positive RoIs Q+, in order, mask_pool²
  std::vector<int64_t> mask_channel;  ///< p·K + label of positive RoI p
  std::vector<float> mask_targets;    ///< [Q+, M, M]
  float mask_count = 1;               ///< Q+·M·M (≥ 1)
};

/// The host half of training step `step` (0-based) of a run seeded `seed`, on the fetched RPN
/// outputs of a batch (objectness [N·anchors], deltas [N·anchors, 4]): per image, RPN targets and
/// sampling, proposal selection (training mode), RoI targets and sampling, mask targets, then
/// the poolings over `table`.
[[nodiscard]] RcnnTrainTargets rcnn_train_targets(const MaskRcnnConfig& config,
                                                  const RcnnAnchors& anchors,
                                                  const RcnnFeatureTable& table,
                                                  const std::vector<RcnnGroundTruth>& truth,
                                                  const float* objectness, const float* deltas,
                                                  uint64_t seed, int64_t step);

/// Inference, first round trip: each image's proposals (evaluation mode) and their box pooling.
struct RcnnInferenceRois {
  std::vector<std::vector<RcnnBox>> proposals;  ///< per image
  RcnnPooling box_pooling;                      ///< every image's proposals, image after image
};
[[nodiscard]] RcnnInferenceRois rcnn_inference_rois(const MaskRcnnConfig& config,
                                                    const RcnnAnchors& anchors,
                                                    const RcnnFeatureTable& table, int64_t images,
                                                    const float* objectness, const float* deltas);

/// Inference, second round trip: each image's detections from the box head's class_logits [R, K]
/// and box_deltas [R, 4K] (R = every proposal of `rois`), and the mask pooling of every detection
/// (image after image) with the channel of its label, d·K + label, in mask_logits [D·K, M, M].
struct RcnnInferenceDetections {
  std::vector<std::vector<RcnnDetection>> detections;  ///< per image
  RcnnPooling mask_pooling;
  std::vector<int64_t> mask_channel;
};
[[nodiscard]] RcnnInferenceDetections rcnn_inference_detections(const MaskRcnnConfig& config,
                                                                const RcnnFeatureTable& table,
                                                                const RcnnInferenceRois& rois,
                                                                const float* class_logits,
                                                                const float* box_deltas);

/// The predictions (MODELS.md, "Batches and predictions"), float32 [N, detections_per_image,
/// 6 + M²], from the detections and the mask logits of their label channels [D, M, M] (the
/// gathered channels, in the detections' order), the sigmoid taken here in float32.
[[nodiscard]] HostTensor rcnn_predictions(const MaskRcnnConfig& config,
                                          const RcnnInferenceDetections& detections,
                                          const float* mask_logits);

}  // namespace greenbench::workloads
