#pragma once
// COCO average precision, box or mask IoU, as pycocotools' COCOeval computes it for crowd-free
// ground truth (MODELS.md, "Metrics").
#include <array>
#include <cstdint>
#include <map>
#include <vector>

namespace greenbench::workloads {

/// What overlap COCO AP is computed on: boxes (`map`) or instance masks (`map_mask`).
enum class CocoIou { kBox, kMask };

/// The objects of one image: its ground truth (no scores) or a model's detections.
struct CocoObjects {
  std::vector<std::array<double, 4>> boxes;  ///< x, y, width, height in pixels (width, height ≥ 0)
  std::vector<int64_t> classes;              ///< class id per object
  std::vector<double> scores;                ///< confidence per detection; empty for ground truth
  std::vector<uint8_t> masks;  ///< [objects, height, width], nonzero inside; for CocoIou::kMask
};

/// COCOeval's summary for area range 'all' and maxDets 100; −1 where no class has ground truth.
struct CocoSummary {
  double ap = -1.0;  ///< AP@[.50:.95]: mean precision over 10 IoU × 101 recall thresholds × classes
  double ap50 = -1.0;   ///< AP at IoU 0.50
  double ap75 = -1.0;   ///< AP at IoU 0.75
  double ar100 = -1.0;  ///< recall at 100 detections, mean over IoU thresholds and classes
  int64_t classes = 0;  ///< classes with ground truth (those the means are over)
};

/// COCOeval's IoU thresholds: numpy.linspace(0.5, 0.95, 10), bit for bit.
[[nodiscard]] std::array<double, 10> coco_iou_thresholds();
/// COCOeval's recall thresholds: numpy.linspace(0, 1, 101), bit for bit.
[[nodiscard]] std::array<double, 101> coco_recall_thresholds();

/// pycocotools' box IoU (maskApi bbIou, not crowd): no +1 on widths; 0 without overlap.
[[nodiscard]] double coco_box_iou(const std::array<double, 4>& detection,
                                  const std::array<double, 4>& ground_truth);

/// Accumulates images one by one (each matched when added, only its matches kept) and computes
/// COCO AP over all of them.
class CocoEvaluator {
 public:
  /// Evaluator on box or mask overlap.
  explicit CocoEvaluator(CocoIou iou) : iou_(iou) {}

  /// Adds one image of `height` × `width` pixels: matches its detections, per class, to its
  /// ground truth at every IoU threshold (highest 100 scores per class, stable order on ties).
  void add_image(int64_t height, int64_t width, const CocoObjects& ground_truth,
                 const CocoObjects& detections);

  /// The summary over the images added so far.
  [[nodiscard]] CocoSummary summarize() const;

  /// Images added.
  [[nodiscard]] int64_t images() const { return images_; }

 private:
  // One kept detection: its score, whether it matched at each IoU threshold (bit t), and
  // whether it is ignored where unmatched (area outside COCOeval's 'all' range).
  struct Match {
    double score;
    uint16_t matched;
    bool ignore_unmatched;
  };
  struct ClassRecord {
    int64_t ground_truth = 0;
    std::vector<Match> detections;  // image order, score-sorted within each image
  };

  CocoIou iou_;
  int64_t images_ = 0;
  std::map<int64_t, ClassRecord> classes_;
};

}  // namespace greenbench::workloads
