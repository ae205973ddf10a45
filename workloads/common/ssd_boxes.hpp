#pragma once
// SSD's host-side box code, shared by both workers (MODELS.md, "SSD300"): default boxes, IoU,
// matching and encoding of ground truth into per-default-box targets (done once per batch in
// set-up, as DeepLearningExamples does it in its data pipeline), decoding of predicted offsets,
// per-class non-maximum suppression, and a host reference of the loss with hard-negative mining.
#include <array>
#include <cstdint>
#include <vector>

#include "common/backend.hpp"
#include "common/models.hpp"

namespace greenbench::workloads {

/// A box as (x1, y1, x2, y2) ("ltrb") or (centre x, centre y, width, height) ("xywh").
using SsdBox = std::array<double, 4>;

/// The default boxes of a config, in image units (0 … 1), in canonical order: per feature map k,
/// per box kind a (sizes as DLE's DefaultBoxes), per row i, per column j; index
/// offset_k + a·F_k² + i·F_k + j.
struct SsdDefaultBoxes {
  std::vector<std::array<float, 4>> xywh;  ///< float32, each value clamped to [0, 1] as DLE
  std::vector<std::array<float, 4>> ltrb;  ///< from the clamped xywh, in float32 (not clamped)
  [[nodiscard]] int64_t size() const { return static_cast<int64_t>(xywh.size()); }
};

/// The default boxes of a config (8732 for SSD300); throws greenbench::Error on a bad config.
[[nodiscard]] SsdDefaultBoxes make_default_boxes(const SsdConfig& config);

/// IoU of two ltrb boxes as DLE's calc_iou_tensor: intersection sides clamped at 0,
/// inter / (area_a + area_b − inter); NaN when both areas are 0.
[[nodiscard]] double ssd_iou(const SsdBox& a, const SsdBox& b);

/// IoU matrix [a.size(), b.size()], row-major.
[[nodiscard]] std::vector<double> ssd_iou_matrix(const std::vector<SsdBox>& a,
                                                 const std::vector<SsdBox>& b);

/// Per-default-box training targets of one image.
struct SsdTargets {
  std::vector<float> loc;        ///< [D, 4] encoded offsets; 0 for background boxes
  std::vector<int64_t> labels;   ///< [D] class 1 … num_classes − 1, 0 background
  std::vector<int64_t> matched;  ///< [D] the ground-truth index a box is matched to, −1 if none
};

/// Matches ground truth (ltrb in image units, classes ≥ 1) to the default boxes and encodes it,
/// as DLE's Encoder.encode followed by its Loss._loc_vec (MODELS.md, "Matching and encoding").
[[nodiscard]] SsdTargets ssd_encode(const SsdConfig& config, const SsdDefaultBoxes& boxes,
                                    const std::vector<SsdBox>& ground_truth,
                                    const std::vector<int64_t>& classes);

/// The encoded offsets of one box against one default box (xywh), as DLE's _loc_vec.
[[nodiscard]] std::array<double, 4> ssd_encode_box(const SsdConfig& config,
                                                   const std::array<float, 4>& default_xywh,
                                                   const SsdBox& ltrb);

/// The ltrb box (image units) of predicted offsets against a default box, as DLE's
/// scale_back_batch.
[[nodiscard]] SsdBox ssd_decode_box(const SsdConfig& config,
                                    const std::array<float, 4>& default_xywh, const float* offsets);

/// One detection of an image.
struct SsdDetection {
  SsdBox ltrb;        ///< image units
  int64_t label = 0;  ///< 1 … num_classes − 1
  double score = 0;   ///< softmax probability of the class
  int64_t box = 0;    ///< the default box it came from
};

/// Decoding and per-class NMS of one image's predictions `row` [D, 4 + num_classes] (offsets,
/// then class logits), as DLE's decode_single with the deterministic order of MODELS.md.
[[nodiscard]] std::vector<SsdDetection> ssd_detect(const SsdConfig& config,
                                                   const SsdDefaultBoxes& boxes, const float* row);

/// Hard-negative mining of one image (MODELS.md, "Loss"): from per-default-box cross entropies
/// `con` and labels, 1 for the negatives (label 0) whose loss counts: the min(ratio·positives, D)
/// first boxes when sorted by loss descending (positives' loss taken as 0), stable, so equal
/// losses go to the lower default-box index. Positives are marked 0 here (their loss always
/// counts).
[[nodiscard]] std::vector<uint8_t> ssd_hard_negatives(const std::vector<double>& con,
                                                      const int64_t* labels, int64_t ratio);

/// The SSD loss of each image (MODELS.md, "Loss"): predictions [N, D, 4 + num_classes],
/// loc_targets [N, D, 4], label_targets [N, D]. The batch loss is their mean.
[[nodiscard]] std::vector<double> ssd_image_losses(const SsdConfig& config,
                                                   const HostTensor& predictions,
                                                   const HostTensor& loc_targets,
                                                   const HostTensor& label_targets);

/// Adds "loc_targets" f32 [N, D, 4] and "label_targets" i64 [N, D] to a detection batch (from
/// its "boxes" and "classes", pixels scaled by its image width and height).
void add_ssd_targets(const SsdConfig& config, const SsdDefaultBoxes& boxes, Batch& batch);

}  // namespace greenbench::workloads
