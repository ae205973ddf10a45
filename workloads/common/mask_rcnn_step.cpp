// Mask R-CNN's host round trip (mask_rcnn_step.hpp): the per-step host work both workers share,
// turned into flat index, weight and target arrays for the frameworks.
#include "common/mask_rcnn_step.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "greenbench/error.hpp"

namespace greenbench::workloads {

namespace {

const HostTensor& input(const Batch& batch, const std::string& name, HostTensor::DType dtype,
                        size_t rank) {
  const HostTensor& t = batch.get(name);
  if (t.dtype != dtype || t.shape.size() != rank) {
    throw Error("mask_rcnn batch: input '" + name + "' has the wrong type or rank");
  }
  return t;
}

// The RPN outputs of image n: its anchors' objectness logits and deltas.
struct ImageRpn {
  const float* objectness;
  const float* deltas;
};

ImageRpn image_rpn(const float* objectness, const float* deltas, int64_t anchors, int64_t n) {
  return {objectness + n * anchors, deltas + n * anchors * 4};
}

}  // namespace

std::vector<RcnnGroundTruth> rcnn_ground_truth(const MaskRcnnConfig& config, const Batch& batch) {
  const HostTensor& boxes = input(batch, "boxes", HostTensor::DType::kF32, 3);
  const HostTensor& classes = input(batch, "classes", HostTensor::DType::kI64, 2);
  const HostTensor& masks = input(batch, "masks", HostTensor::DType::kF32, 4);
  const int64_t n = boxes.shape[0];
  const int64_t m = boxes.shape[1];
  const int64_t h = config.data.height;
  const int64_t w = config.data.width;
  if (boxes.shape[2] != 4 || classes.shape != std::vector<int64_t>{n, m} ||
      masks.shape != std::vector<int64_t>{n, m, h, w}) {
    throw Error("mask_rcnn batch: boxes [N, M, 4], classes [N, M] and masks [N, M, " +
                std::to_string(h) + ", " + std::to_string(w) + "] disagree");
  }
  const int64_t plane = h * w;
  std::vector<RcnnGroundTruth> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    RcnnGroundTruth& t = out[static_cast<size_t>(i)];
    for (int64_t j = 0; j < m; ++j) {
      const int64_t label = classes.i64[static_cast<size_t>(i * m + j)];
      if (label < 0) continue;
      if (label == 0 || label >= config.num_classes) {
        throw Error("mask_rcnn batch: class " + std::to_string(label) + " of image " +
                    std::to_string(i) + " is outside 1 … " +
                    std::to_string(config.num_classes - 1));
      }
      const float* b = boxes.f32.data() + (i * m + j) * 4;
      t.boxes.push_back({b[0], b[1], b[2], b[3]});
      t.classes.push_back(label);
      const float* mask = masks.f32.data() + (i * m + j) * plane;
      t.masks.insert(t.masks.end(), mask, mask + plane);
    }
  }
  return out;
}

RcnnFeatureTable rcnn_feature_table(const MaskRcnnConfig& config, int64_t images) {
  const std::vector<std::array<int64_t, 2>> sizes = config.feature_sizes();
  RcnnFeatureTable t;
  for (size_t k = 0; k < 4; ++k) {
    t.level_offset.push_back(t.rows);
    t.rows += images * sizes[k][0] * sizes[k][1];
  }
  return t;
}

RcnnPooling rcnn_pooling(const MaskRcnnConfig& config, const RcnnFeatureTable& table,
                         const std::vector<int64_t>& image, const std::vector<RcnnBox>& boxes,
                         int64_t out) {
  if (image.size() != boxes.size()) {
    throw Error("mask_rcnn pooling: " + std::to_string(image.size()) + " image indices for " +
                std::to_string(boxes.size()) + " boxes");
  }
  if (config.sampling_ratio <= 0) {
    throw Error("mask_rcnn pooling: sampling_ratio must be positive, not " +
                std::to_string(config.sampling_ratio));
  }
  const std::vector<std::array<int64_t, 2>> sizes = config.feature_sizes();
  RcnnPooling p;
  p.rois = static_cast<int64_t>(boxes.size());
  p.cells = out * out;
  p.entries = 4 * config.sampling_ratio * config.sampling_ratio;
  const auto per_roi = static_cast<size_t>(p.cells * p.entries);
  p.index.reserve(per_roi * boxes.size());
  p.weight.reserve(per_roi * boxes.size());
  for (size_t r = 0; r < boxes.size(); ++r) {
    const auto k = static_cast<size_t>(
        rcnn_roi_level(boxes[r], config.canonical_scale, config.canonical_level));
    const int64_t h = sizes[k][0];
    const int64_t w = sizes[k][1];
    const double scale = std::ldexp(1.0, -static_cast<int>(k + 2));
    const RcnnRoiGather g = rcnn_roi_gather(h, w, boxes[r], scale, out, out, config.sampling_ratio);
    if (g.index.size() != per_roi) {
      throw Error("mask_rcnn pooling: RoI " + std::to_string(r) + " gave " +
                  std::to_string(g.index.size()) + " entries, expected " + std::to_string(per_roi));
    }
    const int64_t base = table.level_offset[k] + image[r] * h * w;
    for (int64_t i : g.index) p.index.push_back(base + i);
    p.weight.insert(p.weight.end(), g.weight.begin(), g.weight.end());
  }
  return p;
}

RcnnTrainTargets rcnn_train_targets(const MaskRcnnConfig& config, const RcnnAnchors& anchors,
                                    const RcnnFeatureTable& table,
                                    const std::vector<RcnnGroundTruth>& truth,
                                    const float* objectness, const float* deltas, uint64_t seed,
                                    int64_t step) {
  const auto a = static_cast<int64_t>(anchors.boxes.size());
  const int64_t m = config.mask_resolution;
  const int64_t k = config.num_classes;
  const int64_t plane = config.data.height * config.data.width;
  RcnnTrainTargets t;
  std::vector<int64_t> roi_image;
  std::vector<RcnnBox> rois;
  std::vector<int64_t> positive_image;
  std::vector<RcnnBox> positive_rois;
  int64_t sampled = 0;
  for (size_t n = 0; n < truth.size(); ++n) {
    const RcnnGroundTruth& gt = truth[n];
    const auto image = static_cast<int64_t>(n);
    const ImageRpn rpn = image_rpn(objectness, deltas, a, image);
    Rng rng = rcnn_sampler_rng(seed, step, image);
    // RPN: targets, then the sample (positives and negatives merged in ascending order).
    const RcnnRpnTargets rpn_targets = rcnn_rpn_targets(config, anchors, gt.boxes);
    const RcnnSample s = rcnn_sample(rpn_targets.labels, config.rpn_batch_per_image,
                                     config.rpn_positive_fraction, rng);
    std::vector<int64_t> picked = s.positive;
    picked.insert(picked.end(), s.negative.begin(), s.negative.end());
    std::sort(picked.begin(), picked.end());
    for (int64_t j : picked) {
      const bool positive = rpn_targets.labels[static_cast<size_t>(j)] == 1;
      t.rpn_sampled.push_back(image * a + j);
      t.rpn_labels.push_back(positive ? 1.0F : 0.0F);
      if (positive) {
        t.rpn_positive.push_back(image * a + j);
        const float* r = rpn_targets.regression.data() + j * 4;
        t.rpn_regression.insert(t.rpn_regression.end(), r, r + 4);
      }
    }
    sampled += static_cast<int64_t>(picked.size());
    // Proposals (training mode), then the box head's sampled RoIs from the same stream.
    const RcnnProposals proposals =
        rcnn_select_proposals(config, anchors, rpn.objectness, rpn.deltas, /*training=*/true);
    const RcnnRoiTargets roi = rcnn_roi_targets(config, proposals.boxes, gt.boxes, gt.classes, rng);
    for (size_t r = 0; r < roi.rois.size(); ++r) {
      const auto row = static_cast<int64_t>(rois.size());
      const int64_t label = roi.labels[r];
      rois.push_back(roi.rois[r]);
      roi_image.push_back(image);
      t.roi_labels.push_back(label);
      if (label > 0) {
        t.box_positive.push_back(row * k + label);
        const float* d = roi.regression.data() + r * 4;
        t.box_regression.insert(t.box_regression.end(), d, d + 4);
        const auto p = static_cast<int64_t>(positive_rois.size());
        positive_rois.push_back(roi.rois[r]);
        positive_image.push_back(image);
        t.mask_channel.push_back(p * k + label);
        const std::vector<float> target =
            rcnn_mask_target(gt.masks.data() + roi.matched[r] * plane, config.data.height,
                             config.data.width, roi.rois[r], m);
        t.mask_targets.insert(t.mask_targets.end(), target.begin(), target.end());
      }
    }
  }
  t.rpn_count = static_cast<float>(std::max<int64_t>(sampled, 1));
  t.roi_count = static_cast<float>(std::max<size_t>(rois.size(), 1));
  t.mask_count =
      static_cast<float>(std::max<int64_t>(static_cast<int64_t>(positive_rois.size()) * m * m, 1));
  t.box_pooling = rcnn_pooling(config, table, roi_image, rois, config.box_pool);
  t.mask_pooling = rcnn_pooling(config, table, positive_image, positive_rois, config.mask_pool);
  return t;
}

RcnnInferenceRois rcnn_inference_rois(const MaskRcnnConfig& config, const RcnnAnchors& anchors,
                                      const RcnnFeatureTable& table, int64_t images,
                                      const float* objectness, const float* deltas) {
  const auto a = static_cast<int64_t>(anchors.boxes.size());
  RcnnInferenceRois out;
  std::vector<int64_t> image;
  std::vector<RcnnBox> boxes;
  for (int64_t n = 0; n < images; ++n) {
    const ImageRpn rpn = image_rpn(objectness, deltas, a, n);
    RcnnProposals p =
        rcnn_select_proposals(config, anchors, rpn.objectness, rpn.deltas, /*training=*/false);
    image.insert(image.end(), p.boxes.size(), n);
    boxes.insert(boxes.end(), p.boxes.begin(), p.boxes.end());
    out.proposals.push_back(std::move(p.boxes));
  }
  out.box_pooling = rcnn_pooling(config, table, image, boxes, config.box_pool);
  return out;
}

RcnnInferenceDetections rcnn_inference_detections(const MaskRcnnConfig& config,
                                                  const RcnnFeatureTable& table,
                                                  const RcnnInferenceRois& rois,
                                                  const float* class_logits,
                                                  const float* box_deltas) {
  const int64_t k = config.num_classes;
  RcnnInferenceDetections out;
  std::vector<int64_t> image;
  std::vector<RcnnBox> boxes;
  int64_t row = 0;
  for (size_t n = 0; n < rois.proposals.size(); ++n) {
    const std::vector<RcnnBox>& proposals = rois.proposals[n];
    std::vector<RcnnDetection> d =
        rcnn_detect(config, proposals, class_logits + row * k, box_deltas + row * 4 * k);
    row += static_cast<int64_t>(proposals.size());
    for (const RcnnDetection& det : d) {
      out.mask_channel.push_back(static_cast<int64_t>(boxes.size()) * k + det.label);
      boxes.push_back(det.box);
      image.push_back(static_cast<int64_t>(n));
    }
    out.detections.push_back(std::move(d));
  }
  out.mask_pooling = rcnn_pooling(config, table, image, boxes, config.mask_pool);
  return out;
}

HostTensor rcnn_predictions(const MaskRcnnConfig& config, const RcnnInferenceDetections& detections,
                            const float* mask_logits) {
  const auto n = static_cast<int64_t>(detections.detections.size());
  const int64_t rows = config.detections_per_image;
  const int64_t width = rcnn_prediction_width(config);
  const int64_t plane = config.mask_resolution * config.mask_resolution;
  HostTensor out;
  out.shape = {n, rows, width};
  out.f32.assign(static_cast<size_t>(n * rows * width), 0.0F);
  int64_t d = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<RcnnDetection>& dets = detections.detections[static_cast<size_t>(i)];
    if (static_cast<int64_t>(dets.size()) > rows) {
      throw Error("mask_rcnn predictions: image " + std::to_string(i) + " has " +
                  std::to_string(dets.size()) + " detections, more than " + std::to_string(rows));
    }
    for (size_t j = 0; j < dets.size(); ++j, ++d) {
      float* o = out.f32.data() + (i * rows + static_cast<int64_t>(j)) * width;
      const RcnnDetection& det = dets[j];
      for (size_t q = 0; q < 4; ++q) o[q] = static_cast<float>(det.box[q]);
      o[4] = static_cast<float>(det.score);
      o[5] = static_cast<float>(det.label);
      const float* z = mask_logits + d * plane;
      for (int64_t p = 0; p < plane; ++p) o[6 + p] = 1.0F / (1.0F + std::exp(-z[p]));
    }
  }
  return out;
}

}  // namespace greenbench::workloads
