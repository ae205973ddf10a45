// SSD's task: synthetic detection images with their encoded default-box targets, and COCO box AP
// of the decoded, NMS'd predictions (MODELS.md, "SSD300", "Batches and predictions").
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/data.hpp"
#include "common/data_detection.hpp"
#include "common/data_internal.hpp"
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
    Batch out;
    for (auto& [name, t] : batch.inputs) {
      if (name != "images") {
        out.inputs.emplace_back(name, std::move(t));
      }
    }
    return out;
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

}  // namespace

std::unique_ptr<TaskData> data_detail::make_ssd_task(const ModelSpec& spec, uint64_t seed) {
  return std::make_unique<SsdTask>(spec, seed);
}

}  // namespace greenbench::workloads
