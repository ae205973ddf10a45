#include "common/metrics_coco.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

constexpr size_t kThresholds = 10;
constexpr size_t kRecallPoints = 101;
constexpr size_t kMaxDetections = 100;  // COCOeval maxDets[-1], per image and class
constexpr double kMaxArea = 1e10;       // COCOeval areaRng 'all': [0, 1e5²]

// numpy.linspace(start, stop, num): i·step + start with step = (stop − start)/(num − 1), and the
// last point exactly stop.
template <size_t N>
std::array<double, N> linspace(double start, double stop) {
  std::array<double, N> out{};
  const double step = (stop - start) / static_cast<double>(N - 1);
  for (size_t i = 0; i < N; ++i) {
    out[i] = static_cast<double>(i) * step + start;
  }
  out[N - 1] = stop;
  return out;
}

std::string what(const char* role, size_t index) {
  return std::string(role) + " " + std::to_string(index);
}

void check_objects(const CocoObjects& objects, bool detections, CocoIou iou, int64_t pixels) {
  const char* role = detections ? "detection" : "ground truth";
  const size_t n = objects.boxes.size();
  if (objects.classes.size() != n) {
    throw Error(std::string("coco: ") + std::to_string(n) + " " + role + " boxes but " +
                std::to_string(objects.classes.size()) + " classes");
  }
  if (detections ? objects.scores.size() != n : !objects.scores.empty()) {
    throw Error(std::string("coco: ") + std::to_string(objects.scores.size()) + " " + role +
                " scores for " + std::to_string(n) + " boxes" +
                (detections ? "" : " (ground truth has no scores)"));
  }
  for (size_t i = 0; i < n; ++i) {
    const auto& b = objects.boxes[i];
    if (!std::all_of(b.begin(), b.end(), [](double v) { return std::isfinite(v); }) || b[2] < 0.0 ||
        b[3] < 0.0) {
      throw Error("coco: " + what(role, i) + " box (" + std::to_string(b[0]) + ", " +
                  std::to_string(b[1]) + ", " + std::to_string(b[2]) + ", " + std::to_string(b[3]) +
                  ") is not finite x, y, width ≥ 0, height ≥ 0");
    }
    if (detections && !std::isfinite(objects.scores[i])) {
      throw Error("coco: " + what(role, i) + " score " + std::to_string(objects.scores[i]) +
                  " is not finite");
    }
  }
  if (iou == CocoIou::kMask && objects.masks.size() != n * static_cast<size_t>(pixels)) {
    throw Error(std::string("coco: ") + std::to_string(objects.masks.size()) + " " + role +
                " mask values for " + std::to_string(n) + " masks of " + std::to_string(pixels) +
                " pixels");
  }
}

// A mask's pixel count and the rows/columns it occupies (empty: first > last), so that a pair's
// intersection is counted only where both can be nonzero.
struct MaskExtent {
  int64_t area = 0;
  int64_t row0 = 0, row1 = -1, col0 = 0, col1 = -1;
};

MaskExtent mask_extent(const uint8_t* mask, int64_t height, int64_t width) {
  MaskExtent e;
  e.row0 = height;
  e.col0 = width;
  for (int64_t r = 0; r < height; ++r) {
    const uint8_t* row = mask + r * width;
    int64_t count = 0;
    for (int64_t c = 0; c < width; ++c) {  // branch-free, so the compiler can vectorise it
      count += static_cast<int64_t>(row[c] != 0);
    }
    if (count == 0) {
      continue;
    }
    e.area += count;
    e.row0 = std::min(e.row0, r);
    e.row1 = r;
    int64_t first = 0;
    while (row[first] == 0) {
      ++first;
    }
    int64_t last = width - 1;
    while (row[last] == 0) {
      --last;
    }
    e.col0 = std::min(e.col0, first);
    e.col1 = std::max(e.col1, last);
  }
  return e;
}

// maskApi rleIou for a non-crowd pair: intersection / union of pixel counts, 0 without overlap.
double mask_iou(const uint8_t* a, const MaskExtent& ea, const uint8_t* b, const MaskExtent& eb,
                int64_t width) {
  const int64_t r0 = std::max(ea.row0, eb.row0);
  const int64_t r1 = std::min(ea.row1, eb.row1);
  const int64_t c0 = std::max(ea.col0, eb.col0);
  const int64_t c1 = std::min(ea.col1, eb.col1);
  int64_t inter = 0;
  for (int64_t r = r0; r <= r1; ++r) {
    for (int64_t c = c0; c <= c1; ++c) {
      inter += static_cast<int64_t>((a[r * width + c] != 0) & (b[r * width + c] != 0));
    }
  }
  if (inter == 0) {
    return 0.0;
  }
  return static_cast<double>(inter) / static_cast<double>(ea.area + eb.area - inter);
}

}  // namespace

std::array<double, 10> coco_iou_thresholds() { return linspace<kThresholds>(0.5, 0.95); }

std::array<double, 101> coco_recall_thresholds() { return linspace<kRecallPoints>(0.0, 1.0); }

double coco_box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g) {
  // maskApi.c bbIou, operation for operation.
  const double ga = g[2] * g[3];
  const double da = d[2] * d[3];
  const double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) {
    return 0.0;
  }
  const double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) {
    return 0.0;
  }
  const double i = w * h;
  return i / (da + ga - i);
}

void CocoEvaluator::add_image(int64_t height, int64_t width, const CocoObjects& ground_truth,
                              const CocoObjects& detections) {
  if (height <= 0 || width <= 0) {
    throw Error("coco: image " + std::to_string(images_) + " has size " + std::to_string(height) +
                " × " + std::to_string(width));
  }
  const int64_t pixels = height * width;
  check_objects(ground_truth, false, iou_, pixels);
  check_objects(detections, true, iou_, pixels);

  const bool masks = iou_ == CocoIou::kMask;
  auto gt_mask = [&](size_t i) { return ground_truth.masks.data() + i * pixels; };
  auto dt_mask = [&](size_t i) { return detections.masks.data() + i * pixels; };
  std::vector<MaskExtent> gt_extent;
  std::vector<MaskExtent> dt_extent;
  if (masks) {
    for (size_t i = 0; i < ground_truth.boxes.size(); ++i) {
      gt_extent.push_back(mask_extent(gt_mask(i), height, width));
    }
    for (size_t i = 0; i < detections.boxes.size(); ++i) {
      dt_extent.push_back(mask_extent(dt_mask(i), height, width));
    }
  }
  // Ground truth outside the area range would be 'ignored' ground truth, which crowd-free
  // evaluation on images of at most 1e10 pixels never has: refuse it rather than half-support it.
  for (size_t i = 0; i < ground_truth.boxes.size(); ++i) {
    const auto& b = ground_truth.boxes[i];
    const double area = masks ? static_cast<double>(gt_extent[i].area) : b[2] * b[3];
    if (area > kMaxArea) {
      throw Error("coco: ground truth " + std::to_string(i) + " of image " +
                  std::to_string(images_) + " has area " + std::to_string(area) + " > 1e10");
    }
  }

  std::vector<int64_t> class_ids(ground_truth.classes);
  class_ids.insert(class_ids.end(), detections.classes.begin(), detections.classes.end());
  std::sort(class_ids.begin(), class_ids.end());
  class_ids.erase(std::unique(class_ids.begin(), class_ids.end()), class_ids.end());

  const std::array<double, kThresholds> thresholds = coco_iou_thresholds();
  for (const int64_t cls : class_ids) {
    std::vector<size_t> gts;
    for (size_t i = 0; i < ground_truth.classes.size(); ++i) {
      if (ground_truth.classes[i] == cls) {
        gts.push_back(i);
      }
    }
    std::vector<size_t> dts;
    for (size_t i = 0; i < detections.classes.size(); ++i) {
      if (detections.classes[i] == cls) {
        dts.push_back(i);
      }
    }
    // np.argsort(-scores, kind='mergesort'): stable, so equal scores keep their given order.
    std::stable_sort(dts.begin(), dts.end(), [&](size_t a, size_t b) {
      return detections.scores[a] > detections.scores[b];
    });
    if (dts.size() > kMaxDetections) {
      dts.resize(kMaxDetections);
    }

    const size_t n_gt = gts.size();
    std::vector<double> ious(dts.size() * n_gt);
    for (size_t d = 0; d < dts.size(); ++d) {
      for (size_t g = 0; g < n_gt; ++g) {
        ious[d * n_gt + g] =
            masks ? mask_iou(dt_mask(dts[d]), dt_extent[dts[d]], gt_mask(gts[g]), gt_extent[gts[g]],
                             width)
                  : coco_box_iou(detections.boxes[dts[d]], ground_truth.boxes[gts[g]]);
      }
    }

    // COCOeval.evaluateImg: at each threshold, each detection in score order takes the unmatched
    // ground truth of highest IoU ≥ the threshold (the last of equal IoUs).
    std::vector<uint16_t> matched(dts.size(), 0);
    for (size_t t = 0; t < kThresholds; ++t) {
      std::vector<bool> gt_taken(n_gt, false);
      for (size_t d = 0; d < dts.size(); ++d) {
        double best = std::min(thresholds[t], 1 - 1e-10);
        int64_t m = -1;
        for (size_t g = 0; g < n_gt; ++g) {
          if (gt_taken[g] || ious[d * n_gt + g] < best) {
            continue;
          }
          best = ious[d * n_gt + g];
          m = static_cast<int64_t>(g);
        }
        if (m >= 0) {
          gt_taken[static_cast<size_t>(m)] = true;
          matched[d] = static_cast<uint16_t>(matched[d] | (1U << t));
        }
      }
    }

    ClassRecord& record = classes_[cls];
    record.ground_truth += static_cast<int64_t>(n_gt);
    for (size_t d = 0; d < dts.size(); ++d) {
      const auto& b = detections.boxes[dts[d]];
      const double area = masks ? static_cast<double>(dt_extent[dts[d]].area) : b[2] * b[3];
      record.detections.push_back({detections.scores[dts[d]], matched[d], area > kMaxArea});
    }
  }
  ++images_;
}

CocoSummary CocoEvaluator::summarize() const {
  const std::array<double, kRecallPoints> recall_thresholds = coco_recall_thresholds();
  constexpr double kEps = std::numeric_limits<double>::epsilon();  // np.spacing(1)
  CocoSummary out;
  double sum_ap = 0.0;
  double sum_ap50 = 0.0;
  double sum_ap75 = 0.0;
  double sum_recall = 0.0;
  for (const auto& [cls, record] : classes_) {
    // COCOeval.accumulate leaves a class without ground truth at −1, outside every mean.
    if (record.ground_truth == 0) {
      continue;
    }
    ++out.classes;
    std::vector<Match> dets = record.detections;
    std::stable_sort(dets.begin(), dets.end(),
                     [](const Match& a, const Match& b) { return a.score > b.score; });
    const auto npig = static_cast<double>(record.ground_truth);
    const size_t nd = dets.size();
    std::vector<double> rc(nd);
    std::vector<double> pr(nd);
    for (size_t t = 0; t < kThresholds; ++t) {
      double tp = 0.0;
      double fp = 0.0;
      for (size_t i = 0; i < nd; ++i) {
        const bool hit = ((dets[i].matched >> t) & 1U) != 0;
        if (hit) {
          tp += 1.0;
        } else if (!dets[i].ignore_unmatched) {
          fp += 1.0;
        }
        rc[i] = tp / npig;
        pr[i] = tp / (fp + tp + kEps);
      }
      sum_recall += nd > 0 ? rc[nd - 1] : 0.0;
      for (size_t i = nd; i-- > 1;) {
        pr[i - 1] = std::max(pr[i - 1], pr[i]);
      }
      double sum_q = 0.0;
      for (const double r : recall_thresholds) {
        // np.searchsorted(rc, r, side='left'); past the end, precision stays 0.
        const auto at = std::lower_bound(rc.begin(), rc.end(), r);
        if (at == rc.end()) {
          break;
        }
        sum_q += pr[static_cast<size_t>(at - rc.begin())];
      }
      sum_ap += sum_q;
      if (t == 0) {
        sum_ap50 += sum_q;
      } else if (t == 5) {
        sum_ap75 += sum_q;
      }
    }
  }
  if (out.classes > 0) {
    const auto k = static_cast<double>(out.classes);
    out.ap = sum_ap / (k * kThresholds * kRecallPoints);
    out.ap50 = sum_ap50 / (k * kRecallPoints);
    out.ap75 = sum_ap75 / (k * kRecallPoints);
    out.ar100 = sum_recall / (k * kThresholds);
  }
  return out;
}

}  // namespace greenbench::workloads
