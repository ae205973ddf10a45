// The detection tasks. SSD: synthetic detection images with their encoded default-box targets,
// and COCO box AP of the decoded, NMS'd predictions (MODELS.md, "SSD300", "Batches and
// predictions"). Mask R-CNN: the images with boxes, classes and masks, and COCO box and mask AP
// of the workers' detections (MODELS.md, "Mask R-CNN", "Batches and predictions").
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/data.hpp"
#include "common/data_detection.hpp"
#include "common/data_internal.hpp"
#include "common/mask_rcnn_boxes.hpp"
#include "common/metrics_coco.hpp"
#include "common/ssd_boxes.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {

namespace {

class SsdTask : public TaskData {
 public:
  SsdTask(const ModelSpec& spec, uint64_t seed)
      : config_(spec.ssd),
        seed_(seed),
        batch_(spec.batch_size),
        eval_batch_(spec.eval_batch_size),
        batches_(spec.eval_batches),
        boxes_(make_default_boxes(spec.ssd)),
        coco_(CocoIou::kBox) {}

  // Step t holds training images t·B … t·B + B − 1: images, loc_targets, label_targets.
  Batch train_batch(int64_t step) const override {
    Batch b = make_detection_batch(config_.data, seed_, false, step * batch_, batch_);
    add_ssd_targets(config_, boxes_, b);
    Batch out;
    for (auto& [name, t] : b.inputs) {
      if (name != "boxes" && name != "classes") {
        out.inputs.emplace_back(name, std::move(t));
      }
    }
    return out;
  }

  int64_t eval_batch_count() const override { return batches_; }

  // Evaluation batch i holds evaluation images i·B … i·B + B − 1: images, boxes, classes,
  // loc_targets, label_targets.
  Batch eval_batch(int64_t index) const override {
    Batch b = make_detection_batch(config_.data, seed_, true, index * eval_batch_, eval_batch_);
    add_ssd_targets(config_, boxes_, b);
    return b;
  }

  int64_t samples_in(const Batch& batch) const override {
    return batch.get("label_targets").shape.at(0);
  }

  Batch metric_inputs(Batch batch) const override {
    return data_detail::drop(std::move(batch), "images");
  }

  void begin_eval() override {
    coco_ = CocoEvaluator(CocoIou::kBox);
    loss_ = 0.0;
    images_ = 0;
  }

  void add_eval(const Batch& b, const HostTensor& logits) override {
    const HostTensor& gt_boxes = b.get("boxes");
    const HostTensor& gt_classes = b.get("classes");
    const HostTensor& loc_t = b.get("loc_targets");
    const HostTensor& label_t = b.get("label_targets");
    const int64_t n = label_t.shape.at(0);
    const int64_t d_count = boxes_.size();
    const int64_t width = 4 + config_.num_classes;
    if (logits.dtype != HostTensor::DType::kF32 ||
        logits.shape != std::vector<int64_t>{n, d_count, width}) {
      throw Error("ssd predictions: expected float32 [" + std::to_string(n) + ", " +
                  std::to_string(d_count) + ", " + std::to_string(width) + "]");
    }
    for (double l : ssd_image_losses(config_, logits, loc_t, label_t)) {
      loss_ += l;
    }
    const int64_t m = gt_classes.shape.at(1);
    const auto size = static_cast<double>(config_.image_size);
    for (int64_t i = 0; i < n; ++i) {
      CocoObjects gt;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t y = gt_classes.i64[static_cast<size_t>(i * m + j)];
        if (y < 0) {
          continue;
        }
        const float* q = gt_boxes.f32.data() + (i * m + j) * 4;
        gt.boxes.push_back(
            {q[0], q[1], static_cast<double>(q[2]) - q[0], static_cast<double>(q[3]) - q[1]});
        gt.classes.push_back(y);
      }
      CocoObjects det;
      for (const SsdDetection& d :
           ssd_detect(config_, boxes_, logits.f32.data() + i * d_count * width)) {
        det.boxes.push_back({d.ltrb[0] * size, d.ltrb[1] * size, (d.ltrb[2] - d.ltrb[0]) * size,
                             (d.ltrb[3] - d.ltrb[1]) * size});
        det.classes.push_back(d.label);
        det.scores.push_back(d.score);
      }
      coco_.add_image(config_.image_size, config_.image_size, gt, det);
    }
    images_ += n;
  }

  std::vector<std::pair<std::string, double>> quality() const override {
    if (images_ == 0) {
      return {};
    }
    const CocoSummary s = coco_.summarize();
    return {{"map", s.ap},
            {"map50", s.ap50},
            {"map75", s.ap75},
            {"eval_loss", loss_ / static_cast<double>(images_)}};
  }

 private:
  SsdConfig config_;
  uint64_t seed_;
  int64_t batch_, eval_batch_, batches_;
  SsdDefaultBoxes boxes_;
  CocoEvaluator coco_;
  double loss_ = 0.0;
  int64_t images_ = 0;
};

// Mask R-CNN: every batch holds images, boxes, classes and masks (its targets depend on the
// proposals, so the workers make them during the step with mask_rcnn_boxes.hpp). Predictions are
// float32 [N, D, 6 + M·M], D = detections_per_image: per row x1, y1, x2, y2 (pixels), score,
// label (1 … K − 1; 0 marks an empty row), then the M × M mask probabilities of that label.
class MaskRcnnTask : public TaskData {
 public:
  MaskRcnnTask(const ModelSpec& spec, uint64_t seed)
      : config_(spec.mask_rcnn),
        seed_(seed),
        batch_(spec.batch_size),
        eval_batch_(spec.eval_batch_size),
        batches_(spec.eval_batches),
        boxes_(CocoIou::kBox),
        masks_(CocoIou::kMask) {}

  // Step t holds training images t·B … t·B + B − 1.
  Batch train_batch(int64_t step) const override {
    return make_detection_batch(config_.data, seed_, false, step * batch_, batch_);
  }

  int64_t eval_batch_count() const override { return batches_; }

  // Evaluation batch i holds evaluation images i·B … i·B + B − 1.
  Batch eval_batch(int64_t index) const override {
    return make_detection_batch(config_.data, seed_, true, index * eval_batch_, eval_batch_);
  }

  int64_t samples_in(const Batch& batch) const override { return batch.get("images").shape.at(0); }

  Batch metric_inputs(Batch batch) const override {
    return data_detail::drop(std::move(batch), "images");
  }

  void begin_eval() override {
    boxes_ = CocoEvaluator(CocoIou::kBox);
    masks_ = CocoEvaluator(CocoIou::kMask);
    images_ = 0;
  }

  void add_eval(const Batch& b, const HostTensor& predictions) override {
    const HostTensor& gt_boxes = b.get("boxes");
    const HostTensor& gt_classes = b.get("classes");
    const HostTensor& gt_masks = b.get("masks");
    const int64_t n = gt_classes.shape.at(0);
    const int64_t m = gt_classes.shape.at(1);
    const int64_t h = config_.data.height;
    const int64_t w = config_.data.width;
    const int64_t d_count = config_.detections_per_image;
    const int64_t res = config_.mask_resolution;
    const int64_t width = rcnn_prediction_width(config_);
    if (predictions.dtype != HostTensor::DType::kF32 ||
        predictions.shape != std::vector<int64_t>{n, d_count, width}) {
      throw Error("mask_rcnn predictions: expected float32 [" + std::to_string(n) + ", " +
                  std::to_string(d_count) + ", " + std::to_string(width) + "]");
    }
    const auto plane = static_cast<size_t>(h * w);
    for (int64_t i = 0; i < n; ++i) {
      CocoObjects gt;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t y = gt_classes.i64[static_cast<size_t>(i * m + j)];
        if (y < 0) {
          continue;
        }
        const float* q = gt_boxes.f32.data() + (i * m + j) * 4;
        gt.boxes.push_back(
            {q[0], q[1], static_cast<double>(q[2]) - q[0], static_cast<double>(q[3]) - q[1]});
        gt.classes.push_back(y);
        const float* mask = gt_masks.f32.data() + static_cast<size_t>(i * m + j) * plane;
        for (size_t p = 0; p < plane; ++p) {
          gt.masks.push_back(mask[p] > 0.5F ? 1 : 0);
        }
      }
      CocoObjects det;
      for (int64_t r = 0; r < d_count; ++r) {
        const float* row = predictions.f32.data() + (i * d_count + r) * width;
        const float label = row[5];
        if (label == 0.0F) {
          continue;
        }
        if (!(label >= 1.0F && label < static_cast<float>(config_.num_classes)) ||
            label != std::floor(label)) {
          throw Error("mask_rcnn predictions: image " + std::to_string(i) + " row " +
                      std::to_string(r) + " has label " + std::to_string(label) + " (0 … " +
                      std::to_string(config_.num_classes - 1) + ")");
        }
        const RcnnBox box = {row[0], row[1], row[2], row[3]};
        if (!std::isfinite(row[0]) || !std::isfinite(row[1]) || !std::isfinite(row[2]) ||
            !std::isfinite(row[3]) || !std::isfinite(row[4]) || box[2] < box[0] ||
            box[3] < box[1]) {
          throw Error("mask_rcnn predictions: image " + std::to_string(i) + " row " +
                      std::to_string(r) + " has a non-finite score or box, or x2 < x1, y2 < y1");
        }
        det.boxes.push_back({box[0], box[1], box[2] - box[0], box[3] - box[1]});
        det.classes.push_back(static_cast<int64_t>(label));
        det.scores.push_back(row[4]);
        const std::vector<float> pasted = rcnn_paste_mask(row + 6, res, box, h, w);
        for (float v : pasted) {
          det.masks.push_back(v > config_.mask_threshold ? 1 : 0);
        }
      }
      boxes_.add_image(h, w, gt, CocoObjects{det.boxes, det.classes, det.scores, {}});
      masks_.add_image(h, w, gt, det);
    }
    images_ += n;
  }

  std::vector<std::pair<std::string, double>> quality() const override {
    if (images_ == 0) {
      return {};
    }
    const CocoSummary s = boxes_.summarize();
    const CocoSummary sm = masks_.summarize();
    return {{"map", s.ap},       {"map50", s.ap50},       {"map75", s.ap75},
            {"map_mask", sm.ap}, {"map_mask50", sm.ap50}, {"map_mask75", sm.ap75}};
  }

 private:
  MaskRcnnConfig config_;
  uint64_t seed_;
  int64_t batch_, eval_batch_, batches_;
  CocoEvaluator boxes_;
  CocoEvaluator masks_;
  int64_t images_ = 0;
};

}  // namespace

std::unique_ptr<TaskData> data_detail::make_ssd_task(const ModelSpec& spec, uint64_t seed) {
  return std::make_unique<SsdTask>(spec, seed);
}

std::unique_ptr<TaskData> data_detail::make_mask_rcnn_task(const ModelSpec& spec, uint64_t seed) {
  return std::make_unique<MaskRcnnTask>(spec, seed);
}

}  // namespace greenbench::workloads
