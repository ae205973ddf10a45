#include "common/ssd_boxes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "greenbench/error.hpp"

namespace greenbench::workloads {

SsdDefaultBoxes make_default_boxes(const SsdConfig& c) {
  const size_t maps = c.feature_sizes.size();
  if (maps == 0 || c.steps.size() != maps || c.scales.size() != maps + 1 ||
      c.aspect_ratios.size() != maps || c.image_size <= 0) {
    throw Error("ssd default boxes: feature_sizes, steps, scales and aspect_ratios disagree");
  }
  SsdDefaultBoxes out;
  out.xywh.reserve(static_cast<size_t>(c.num_default_boxes()));
  const auto fig = static_cast<double>(c.image_size);
  for (size_t k = 0; k < maps; ++k) {
    // As DLE's DefaultBoxes (in double, like its Python floats, then float32).
    const double fk = fig / c.steps[k];
    const double sk1 = c.scales[k] / fig;
    const double sk2 = c.scales[k + 1] / fig;
    const double sk3 = std::sqrt(sk1 * sk2);
    std::vector<std::pair<double, double>> sizes = {{sk1, sk1}, {sk3, sk3}};
    for (double alpha : c.aspect_ratios[k]) {
      const double w = sk1 * std::sqrt(alpha);
      const double h = sk1 / std::sqrt(alpha);
      sizes.emplace_back(w, h);
      sizes.emplace_back(h, w);
    }
    const int64_t f = c.feature_sizes[k];
    for (const auto& [w, h] : sizes) {
      for (int64_t i = 0; i < f; ++i) {
        for (int64_t j = 0; j < f; ++j) {
          const double cx = (static_cast<double>(j) + 0.5) / fk;
          const double cy = (static_cast<double>(i) + 0.5) / fk;
          std::array<float, 4> b = {static_cast<float>(cx), static_cast<float>(cy),
                                    static_cast<float>(w), static_cast<float>(h)};
          for (float& v : b) {
            v = std::clamp(v, 0.0F, 1.0F);
          }
          out.xywh.push_back(b);
        }
      }
    }
  }
  out.ltrb.reserve(out.xywh.size());
  for (const auto& b : out.xywh) {
    out.ltrb.push_back(
        {b[0] - 0.5F * b[2], b[1] - 0.5F * b[3], b[0] + 0.5F * b[2], b[1] + 0.5F * b[3]});
  }
  return out;
}

double ssd_iou(const SsdBox& a, const SsdBox& b) {
  const double w = std::max(0.0, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  const double h = std::max(0.0, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  const double inter = w * h;
  const double area_a = (a[2] - a[0]) * (a[3] - a[1]);
  const double area_b = (b[2] - b[0]) * (b[3] - b[1]);
  return inter / (area_a + area_b - inter);
}

std::vector<double> ssd_iou_matrix(const std::vector<SsdBox>& a, const std::vector<SsdBox>& b) {
  std::vector<double> out(a.size() * b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < b.size(); ++j) {
      out[i * b.size() + j] = ssd_iou(a[i], b[j]);
    }
  }
  return out;
}

namespace {
SsdBox to_double(const std::array<float, 4>& b) { return {b[0], b[1], b[2], b[3]}; }
}  // namespace

std::array<double, 4> ssd_encode_box(const SsdConfig& c, const std::array<float, 4>& d,
                                     const SsdBox& b) {
  const double x = 0.5 * (b[0] + b[2]);
  const double y = 0.5 * (b[1] + b[3]);
  const double w = b[2] - b[0];
  const double h = b[3] - b[1];
  return {(x - d[0]) / d[2] / c.scale_xy, (y - d[1]) / d[3] / c.scale_xy,
          std::log(w / d[2]) / c.scale_wh, std::log(h / d[3]) / c.scale_wh};
}

SsdTargets ssd_encode(const SsdConfig& c, const SsdDefaultBoxes& boxes,
                      const std::vector<SsdBox>& gt, const std::vector<int64_t>& classes) {
  if (gt.size() != classes.size()) {
    throw Error("ssd_encode: " + std::to_string(gt.size()) + " boxes but " +
                std::to_string(classes.size()) + " classes");
  }
  const size_t d_count = boxes.xywh.size();
  SsdTargets t;
  t.loc.assign(d_count * 4, 0.0F);
  t.labels.assign(d_count, 0);
  t.matched.assign(d_count, -1);
  if (gt.empty()) {
    return t;
  }
  for (size_t j = 0; j < gt.size(); ++j) {
    const SsdBox& b = gt[j];
    if (!(std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) &&
          std::isfinite(b[3])) ||
        b[2] <= b[0] || b[3] <= b[1]) {
      throw Error("ssd_encode: ground-truth box " + std::to_string(j) +
                  " is not a finite box of positive width and height");
    }
    if (classes[j] < 1 || classes[j] >= c.num_classes) {
      throw Error("ssd_encode: ground-truth class " + std::to_string(classes[j]) + " outside 1 … " +
                  std::to_string(c.num_classes - 1));
    }
  }
  // best ground truth of each default box (first on ties) and best default box of each ground
  // truth (first on ties)
  std::vector<double> best_iou(d_count, -1.0);
  std::vector<int64_t> best_gt(d_count, 0);
  std::vector<size_t> best_box(gt.size(), 0);
  std::vector<double> best_box_iou(gt.size(), -1.0);
  for (size_t d = 0; d < d_count; ++d) {
    const SsdBox db = to_double(boxes.ltrb[d]);
    for (size_t j = 0; j < gt.size(); ++j) {
      const double iou = ssd_iou(gt[j], db);
      if (iou > best_iou[d]) {
        best_iou[d] = iou;
        best_gt[d] = static_cast<int64_t>(j);
      }
      if (iou > best_box_iou[j]) {
        best_box_iou[j] = iou;
        best_box[j] = d;
      }
    }
  }
  // each ground truth forced onto its best default box (a later one wins a shared box)
  for (size_t j = 0; j < gt.size(); ++j) {
    best_iou[best_box[j]] = 2.0;
    best_gt[best_box[j]] = static_cast<int64_t>(j);
  }
  for (size_t d = 0; d < d_count; ++d) {
    if (!(best_iou[d] > c.match_iou)) {
      continue;
    }
    const auto j = static_cast<size_t>(best_gt[d]);
    t.labels[d] = classes[j];
    t.matched[d] = best_gt[d];
    const std::array<double, 4> off = ssd_encode_box(c, boxes.xywh[d], gt[j]);
    for (size_t q = 0; q < 4; ++q) {
      t.loc[d * 4 + q] = static_cast<float>(off[q]);
    }
  }
  return t;
}

SsdBox ssd_decode_box(const SsdConfig& c, const std::array<float, 4>& d, const float* o) {
  const double x = c.scale_xy * o[0] * d[2] + d[0];
  const double y = c.scale_xy * o[1] * d[3] + d[1];
  const double w = std::exp(c.scale_wh * o[2]) * d[2];
  const double h = std::exp(c.scale_wh * o[3]) * d[3];
  return {x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h};
}

std::vector<SsdDetection> ssd_detect(const SsdConfig& c, const SsdDefaultBoxes& boxes,
                                     const float* row) {
  const int64_t d_count = boxes.size();
  const int64_t k = c.num_classes;
  const int64_t width = 4 + k;
  std::vector<SsdBox> decoded(static_cast<size_t>(d_count));
  std::vector<uint8_t> finite(static_cast<size_t>(d_count));
  std::vector<double> probs(static_cast<size_t>(d_count * k));
  for (int64_t d = 0; d < d_count; ++d) {
    const float* r = row + d * width;
    const SsdBox b = ssd_decode_box(c, boxes.xywh[static_cast<size_t>(d)], r);
    decoded[static_cast<size_t>(d)] = b;
    finite[static_cast<size_t>(d)] =
        std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]);
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t q = 0; q < k; ++q) {
      mx = std::max(mx, static_cast<double>(r[4 + q]));
    }
    double sum = 0.0;
    double* p = probs.data() + d * k;
    for (int64_t q = 0; q < k; ++q) {
      p[q] = std::exp(static_cast<double>(r[4 + q]) - mx);
      sum += p[q];
    }
    for (int64_t q = 0; q < k; ++q) {
      p[q] /= sum;
    }
  }
  std::vector<SsdDetection> all;
  std::vector<int64_t> cand;
  std::vector<int64_t> kept;
  for (int64_t cls = 1; cls < k; ++cls) {
    cand.clear();
    for (int64_t d = 0; d < d_count; ++d) {
      if (finite[static_cast<size_t>(d)] && probs[d * k + cls] > c.score_threshold) {
        cand.push_back(d);
      }
    }
    // score descending, lower default-box index first on ties
    std::stable_sort(cand.begin(), cand.end(),
                     [&](int64_t a, int64_t b) { return probs[a * k + cls] > probs[b * k + cls]; });
    if (static_cast<int64_t>(cand.size()) > c.nms_top_k) {
      cand.resize(static_cast<size_t>(c.nms_top_k));
    }
    kept.clear();
    for (int64_t d : cand) {
      bool keep = true;
      for (int64_t e : kept) {
        // DLE keeps a candidate while IoU < criterion: NaN suppresses
        if (!(ssd_iou(decoded[static_cast<size_t>(e)], decoded[static_cast<size_t>(d)]) <
              c.nms_iou)) {
          keep = false;
          break;
        }
      }
      if (keep) {
        kept.push_back(d);
        all.push_back({decoded[static_cast<size_t>(d)], cls, probs[d * k + cls], d});
      }
    }
  }
  // score descending; ties keep class order, then the per-class order
  std::stable_sort(all.begin(), all.end(),
                   [](const SsdDetection& a, const SsdDetection& b) { return a.score > b.score; });
  if (static_cast<int64_t>(all.size()) > c.max_detections) {
    all.resize(static_cast<size_t>(c.max_detections));
  }
  return all;
}

std::vector<uint8_t> ssd_hard_negatives(const std::vector<double>& con, const int64_t* labels,
                                        int64_t ratio) {
  const auto d_count = static_cast<int64_t>(con.size());
  std::vector<double> con_neg(con.size());
  int64_t pos = 0;
  for (int64_t d = 0; d < d_count; ++d) {
    const bool positive = labels[d] > 0;
    pos += positive ? 1 : 0;
    con_neg[static_cast<size_t>(d)] = positive ? 0.0 : con[static_cast<size_t>(d)];
  }
  std::vector<int64_t> order(con.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return con_neg[static_cast<size_t>(a)] > con_neg[static_cast<size_t>(b)];
  });
  const int64_t neg_num = std::min(ratio * pos, d_count);
  std::vector<uint8_t> selected(con.size(), 0);
  for (int64_t r = 0; r < neg_num; ++r) {
    const int64_t d = order[static_cast<size_t>(r)];
    selected[static_cast<size_t>(d)] = labels[d] > 0 ? 0 : 1;
  }
  return selected;
}

std::vector<double> ssd_image_losses(const SsdConfig& c, const HostTensor& pred,
                                     const HostTensor& loc_t, const HostTensor& label_t) {
  if (pred.shape.size() != 3 || loc_t.shape.size() != 3 || label_t.shape.size() != 2 ||
      pred.shape[2] != 4 + c.num_classes || loc_t.shape[2] != 4 ||
      pred.shape[0] != loc_t.shape[0] || pred.shape[0] != label_t.shape[0] ||
      pred.shape[1] != loc_t.shape[1] || pred.shape[1] != label_t.shape[1] ||
      pred.dtype != HostTensor::DType::kF32 || loc_t.dtype != HostTensor::DType::kF32 ||
      label_t.dtype != HostTensor::DType::kI64) {
    throw Error("ssd loss: predictions [N, D, 4 + " + std::to_string(c.num_classes) +
                "] f32, loc_targets [N, D, 4] f32 and label_targets [N, D] i64 disagree");
  }
  const int64_t n = pred.shape[0];
  const int64_t d_count = pred.shape[1];
  const int64_t k = c.num_classes;
  std::vector<double> out(static_cast<size_t>(n));
  std::vector<double> con(static_cast<size_t>(d_count));
  for (int64_t i = 0; i < n; ++i) {
    const float* p = pred.f32.data() + i * d_count * (4 + k);
    const float* g = loc_t.f32.data() + i * d_count * 4;
    const int64_t* lab = label_t.i64.data() + i * d_count;
    int64_t pos = 0;
    double sl1 = 0.0;
    for (int64_t d = 0; d < d_count; ++d) {
      const float* r = p + d * (4 + k);
      const int64_t y = lab[d];
      if (y < 0 || y >= k) {
        throw Error("ssd loss: label target " + std::to_string(y) + " outside 0 … " +
                    std::to_string(k - 1));
      }
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t q = 0; q < k; ++q) {
        mx = std::max(mx, static_cast<double>(r[4 + q]));
      }
      double sum = 0.0;
      for (int64_t q = 0; q < k; ++q) {
        sum += std::exp(static_cast<double>(r[4 + q]) - mx);
      }
      con[static_cast<size_t>(d)] = mx + std::log(sum) - static_cast<double>(r[4 + y]);
      if (y > 0) {
        ++pos;
        for (int64_t q = 0; q < 4; ++q) {
          const double x = std::abs(static_cast<double>(r[q]) - static_cast<double>(g[d * 4 + q]));
          sl1 += x < 1.0 ? 0.5 * x * x : x - 0.5;
        }
      }
    }
    const std::vector<uint8_t> selected = ssd_hard_negatives(con, lab, c.neg_pos_ratio);
    double closs = 0.0;
    for (int64_t d = 0; d < d_count; ++d) {
      if (lab[d] > 0 || selected[static_cast<size_t>(d)]) {
        closs += con[static_cast<size_t>(d)];
      }
    }
    out[static_cast<size_t>(i)] = pos > 0 ? (sl1 + closs) / static_cast<double>(pos) : 0.0;
  }
  return out;
}

void add_ssd_targets(const SsdConfig& c, const SsdDefaultBoxes& boxes, Batch& batch) {
  const HostTensor& images = batch.get("images");
  const HostTensor& gt_boxes = batch.get("boxes");
  const HostTensor& gt_classes = batch.get("classes");
  if (images.shape.size() != 4 || gt_boxes.shape.size() != 3 || gt_classes.shape.size() != 2 ||
      gt_boxes.shape[0] != images.shape[0] || gt_classes.shape[0] != images.shape[0] ||
      gt_boxes.shape[1] != gt_classes.shape[1] || gt_boxes.shape[2] != 4) {
    throw Error("ssd targets: images [N, C, H, W], boxes [N, M, 4] and classes [N, M] disagree");
  }
  const int64_t n = images.shape[0];
  const int64_t m = gt_classes.shape[1];
  const auto h = static_cast<double>(images.shape[2]);
  const auto w = static_cast<double>(images.shape[3]);
  const int64_t d_count = boxes.size();
  HostTensor loc;
  loc.dtype = HostTensor::DType::kF32;
  loc.shape = {n, d_count, 4};
  loc.f32.reserve(static_cast<size_t>(n * d_count * 4));
  HostTensor labels;
  labels.dtype = HostTensor::DType::kI64;
  labels.shape = {n, d_count};
  labels.i64.reserve(static_cast<size_t>(n * d_count));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<SsdBox> gt;
    std::vector<int64_t> cls;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t y = gt_classes.i64[static_cast<size_t>(i * m + j)];
      if (y < 0) {
        continue;  // padding
      }
      const float* b = gt_boxes.f32.data() + (i * m + j) * 4;
      gt.push_back({b[0] / w, b[1] / h, b[2] / w, b[3] / h});
      cls.push_back(y);
    }
    SsdTargets t = ssd_encode(c, boxes, gt, cls);
    loc.f32.insert(loc.f32.end(), t.loc.begin(), t.loc.end());
    labels.i64.insert(labels.i64.end(), t.labels.begin(), t.labels.end());
  }
  batch.inputs.emplace_back("loc_targets", std::move(loc));
  batch.inputs.emplace_back("label_targets", std::move(labels));
}

}  // namespace greenbench::workloads
