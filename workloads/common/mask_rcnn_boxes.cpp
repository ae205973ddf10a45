#include "common/mask_rcnn_boxes.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "common/ssd_boxes.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

// log(1000/16): the largest dw, dh the decoder exponentiates (torchvision's bbox_xform_clip).
const double kXformClip = std::log(1000.0 / 16.0);

// Indices 0 … n−1 ordered by key descending; equal keys keep ascending index.
std::vector<int64_t> order_descending(const std::vector<double>& key) {
  std::vector<int64_t> idx(key.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return key[static_cast<size_t>(a)] > key[static_cast<size_t>(b)];
  });
  return idx;
}

RcnnBox clip_box(const RcnnBox& b, double height, double width) {
  return {std::clamp(b[0], 0.0, width), std::clamp(b[1], 0.0, height), std::clamp(b[2], 0.0, width),
          std::clamp(b[3], 0.0, height)};
}

// One bilinear sample of roi_align: four positions y·width + x and weights (torchvision's
// bilinear_interpolate, CPU kernel, in its float32 arithmetic); all weights 0 outside the map.
struct Corners {
  std::array<int64_t, 4> index{};
  std::array<float, 4> weight{};
};

Corners bilinear_corners(int64_t height, int64_t width, float y, float x) {
  Corners c;
  if (y < -1.0F || y > static_cast<float>(height) || x < -1.0F || x > static_cast<float>(width)) {
    return c;
  }
  y = std::max(y, 0.0F);
  x = std::max(x, 0.0F);
  auto y_low = static_cast<int64_t>(y);
  auto x_low = static_cast<int64_t>(x);
  int64_t y_high = 0;
  int64_t x_high = 0;
  if (y_low >= height - 1) {
    y_high = y_low = height - 1;
    y = static_cast<float>(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= width - 1) {
    x_high = x_low = width - 1;
    x = static_cast<float>(x_low);
  } else {
    x_high = x_low + 1;
  }
  const float ly = y - static_cast<float>(y_low);
  const float lx = x - static_cast<float>(x_low);
  const float hy = 1.0F - ly;
  const float hx = 1.0F - lx;
  c.index = {y_low * width + x_low, y_low * width + x_high, y_high * width + x_low,
             y_high * width + x_high};
  c.weight = {hy * hx, hy * lx, ly * hx, ly * lx};
  return c;
}

// The sample grid of one RoI (torchvision's roi_align, aligned=False, float32): calls
// visit(cell, corners) for each output cell in row-major order and each of its samples; returns
// the samples per cell.
template <typename Visit>
int64_t roi_samples(int64_t height, int64_t width, const RcnnBox& box, double spatial_scale,
                    int64_t out_h, int64_t out_w, int64_t sampling_ratio, Visit visit) {
  const auto scale = static_cast<float>(spatial_scale);
  const float x0 = static_cast<float>(box[0]) * scale;
  const float y0 = static_cast<float>(box[1]) * scale;
  const float roi_w = std::max(static_cast<float>(box[2]) * scale - x0, 1.0F);
  const float roi_h = std::max(static_cast<float>(box[3]) * scale - y0, 1.0F);
  const float bin_h = roi_h / static_cast<float>(out_h);
  const float bin_w = roi_w / static_cast<float>(out_w);
  const int64_t grid_h = sampling_ratio > 0
                             ? sampling_ratio
                             : static_cast<int64_t>(std::ceil(roi_h / static_cast<float>(out_h)));
  const int64_t grid_w = sampling_ratio > 0
                             ? sampling_ratio
                             : static_cast<int64_t>(std::ceil(roi_w / static_cast<float>(out_w)));
  for (int64_t ph = 0; ph < out_h; ++ph) {
    for (int64_t pw = 0; pw < out_w; ++pw) {
      for (int64_t iy = 0; iy < grid_h; ++iy) {
        const float y =
            y0 + static_cast<float>(ph) * bin_h +
            static_cast<float>(static_cast<double>(iy) + 0.5) * bin_h / static_cast<float>(grid_h);
        for (int64_t ix = 0; ix < grid_w; ++ix) {
          const float x = x0 + static_cast<float>(pw) * bin_w +
                          static_cast<float>(static_cast<double>(ix) + 0.5) * bin_w /
                              static_cast<float>(grid_w);
          visit(ph * out_w + pw, bilinear_corners(height, width, y, x));
        }
      }
    }
  }
  return grid_h * grid_w;
}

}  // namespace

std::vector<RcnnBox> rcnn_cell_anchors(double size, const std::vector<double>& aspect_ratios) {
  std::vector<RcnnBox> out;
  const auto s = static_cast<float>(size);
  for (double r : aspect_ratios) {
    const float h_ratio = std::sqrt(static_cast<float>(r));
    const float w_ratio = 1.0F / h_ratio;
    const float w = w_ratio * s;
    const float h = h_ratio * s;
    // std::nearbyint rounds half to even in the default rounding mode, as torch.round.
    out.push_back({std::nearbyint(-w / 2.0F), std::nearbyint(-h / 2.0F), std::nearbyint(w / 2.0F),
                   std::nearbyint(h / 2.0F)});
  }
  return out;
}

RcnnAnchors rcnn_anchors(const MaskRcnnConfig& config) {
  RcnnAnchors out;
  const auto sizes = config.feature_sizes();
  for (size_t l = 0; l < sizes.size(); ++l) {
    const std::vector<RcnnBox> cell =
        rcnn_cell_anchors(config.anchor_sizes.at(l), config.aspect_ratios);
    const int64_t gh = sizes[l][0];
    const int64_t gw = sizes[l][1];
    const int64_t sy = config.data.height / gh;
    const int64_t sx = config.data.width / gw;
    out.level_start.push_back(static_cast<int64_t>(out.boxes.size()));
    for (int64_t y = 0; y < gh; ++y) {
      for (int64_t x = 0; x < gw; ++x) {
        const auto cx = static_cast<double>(x * sx);
        const auto cy = static_cast<double>(y * sy);
        for (const RcnnBox& a : cell) {
          out.boxes.push_back({cx + a[0], cy + a[1], cx + a[2], cy + a[3]});
        }
      }
    }
    out.per_level.push_back(gh * gw * static_cast<int64_t>(cell.size()));
  }
  return out;
}

std::array<double, 4> rcnn_encode(const RcnnBox& gt, const RcnnBox& ref,
                                  const std::array<double, 4>& weights) {
  const double ew = ref[2] - ref[0];
  const double eh = ref[3] - ref[1];
  const double ex = ref[0] + 0.5 * ew;
  const double ey = ref[1] + 0.5 * eh;
  const double gw = gt[2] - gt[0];
  const double gh = gt[3] - gt[1];
  const double gx = gt[0] + 0.5 * gw;
  const double gy = gt[1] + 0.5 * gh;
  return {weights[0] * (gx - ex) / ew, weights[1] * (gy - ey) / eh, weights[2] * std::log(gw / ew),
          weights[3] * std::log(gh / eh)};
}

RcnnBox rcnn_decode(const float* d, const RcnnBox& ref, const std::array<double, 4>& weights) {
  const double w = ref[2] - ref[0];
  const double h = ref[3] - ref[1];
  const double cx = ref[0] + 0.5 * w;
  const double cy = ref[1] + 0.5 * h;
  const double dx = d[0] / weights[0];
  const double dy = d[1] / weights[1];
  const double dw = std::min(d[2] / weights[2], kXformClip);
  const double dh = std::min(d[3] / weights[3], kXformClip);
  const double px = dx * w + cx;
  const double py = dy * h + cy;
  const double pw = std::exp(dw) * w;
  const double ph = std::exp(dh) * h;
  return {px - 0.5 * pw, py - 0.5 * ph, px + 0.5 * pw, py + 0.5 * ph};
}

double rcnn_iou(const RcnnBox& a, const RcnnBox& b) { return ssd_iou(a, b); }

std::vector<int64_t> rcnn_match(const std::vector<double>& iou, int64_t g, int64_t n, double high,
                                double low, bool allow_low_quality) {
  if (g <= 0 || n <= 0 || iou.size() != static_cast<size_t>(g * n)) {
    throw Error("mask_rcnn matcher: " + std::to_string(g) + " ground truths × " +
                std::to_string(n) + " boxes with " + std::to_string(iou.size()) + " IoUs");
  }
  // torchvision compares float32 IoUs with the thresholds rounded to float32.
  std::vector<float> q(iou.begin(), iou.end());
  const auto lo = static_cast<float>(low);
  const auto hi = static_cast<float>(high);
  std::vector<int64_t> best(static_cast<size_t>(n), 0);
  std::vector<int64_t> matches(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    int64_t b = 0;
    for (int64_t i = 1; i < g; ++i) {
      if (q[static_cast<size_t>(i * n + j)] > q[static_cast<size_t>(b * n + j)]) b = i;
    }
    best[static_cast<size_t>(j)] = b;
    const float v = q[static_cast<size_t>(b * n + j)];
    matches[static_cast<size_t>(j)] = v < lo ? -1 : (v < hi ? -2 : b);
  }
  if (allow_low_quality) {
    for (int64_t i = 0; i < g; ++i) {
      const float* row = q.data() + i * n;
      const float top = *std::max_element(row, row + n);
      for (int64_t j = 0; j < n; ++j) {
        if (row[j] == top) matches[static_cast<size_t>(j)] = best[static_cast<size_t>(j)];
      }
    }
  }
  return matches;
}

RcnnSample rcnn_sample(const std::vector<int64_t>& labels, int64_t batch, double positive_fraction,
                       Rng& rng) {
  std::vector<int64_t> pos;
  std::vector<int64_t> neg;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= 1) pos.push_back(static_cast<int64_t>(i));
    if (labels[i] == 0) neg.push_back(static_cast<int64_t>(i));
  }
  const auto want_pos = static_cast<int64_t>(static_cast<double>(batch) * positive_fraction);
  const int64_t num_pos = std::min(want_pos, static_cast<int64_t>(pos.size()));
  const int64_t num_neg = std::min(batch - num_pos, static_cast<int64_t>(neg.size()));
  const auto draw = [&rng](std::vector<int64_t>& v, int64_t k) {
    for (int64_t i = 0; i < k; ++i) {
      const auto j = i + static_cast<int64_t>(
                             rng.below(static_cast<uint64_t>(static_cast<int64_t>(v.size()) - i)));
      std::swap(v[static_cast<size_t>(i)], v[static_cast<size_t>(j)]);
    }
    v.resize(static_cast<size_t>(k));
    std::sort(v.begin(), v.end());
  };
  draw(pos, num_pos);
  draw(neg, num_neg);
  return {pos, neg};
}

Rng rcnn_sampler_rng(uint64_t seed, int64_t step, int64_t image) {
  return Rng(seed,
             stream_tag("mask_rcnn.sampler." + std::to_string(step) + "." + std::to_string(image)));
}

std::vector<int64_t> rcnn_nms(const std::vector<RcnnBox>& boxes, const std::vector<double>& scores,
                              double threshold) {
  std::vector<int64_t> kept;
  for (int64_t i : order_descending(scores)) {
    bool keep = true;
    for (int64_t k : kept) {
      if (rcnn_iou(boxes[static_cast<size_t>(i)], boxes[static_cast<size_t>(k)]) > threshold) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push_back(i);
  }
  return kept;
}

RcnnProposals rcnn_select_proposals(const MaskRcnnConfig& c, const RcnnAnchors& anchors,
                                    const float* objectness, const float* deltas, bool training) {
  const int64_t pre = training ? c.rpn_pre_nms_top_n_train : c.rpn_pre_nms_top_n_test;
  const int64_t post = training ? c.rpn_post_nms_top_n_train : c.rpn_post_nms_top_n_test;
  const auto height = static_cast<double>(c.data.height);
  const auto width = static_cast<double>(c.data.width);
  // Survivors of every level: (logit, anchor, box), in each level's NMS order.
  std::vector<double> all_logit;
  std::vector<int64_t> all_anchor;
  std::vector<int64_t> all_level;
  std::vector<RcnnBox> all_box;
  for (size_t l = 0; l < anchors.per_level.size(); ++l) {
    const int64_t start = anchors.level_start[l];
    const int64_t count = anchors.per_level[l];
    std::vector<double> logit(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) logit[static_cast<size_t>(i)] = objectness[start + i];
    std::vector<int64_t> top = order_descending(logit);
    top.resize(static_cast<size_t>(std::min(pre, count)));
    std::vector<RcnnBox> boxes;
    std::vector<double> scores;
    std::vector<int64_t> index;
    for (int64_t t : top) {
      const int64_t a = start + t;
      const RcnnBox b = clip_box(
          rcnn_decode(deltas + a * 4, anchors.boxes[static_cast<size_t>(a)], {1.0, 1.0, 1.0, 1.0}),
          height, width);
      if (b[2] - b[0] < c.rpn_min_size || b[3] - b[1] < c.rpn_min_size) continue;
      boxes.push_back(b);
      scores.push_back(logit[static_cast<size_t>(t)]);
      index.push_back(a);
    }
    for (int64_t k : rcnn_nms(boxes, scores, c.rpn_nms)) {
      all_logit.push_back(scores[static_cast<size_t>(k)]);
      all_anchor.push_back(index[static_cast<size_t>(k)]);
      all_level.push_back(static_cast<int64_t>(l));
      all_box.push_back(boxes[static_cast<size_t>(k)]);
    }
  }
  // Across levels by logit descending, ties by anchor index (levels are in anchor order).
  std::vector<int64_t> order(all_logit.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const double la = all_logit[static_cast<size_t>(a)];
    const double lb = all_logit[static_cast<size_t>(b)];
    if (la != lb) return la > lb;
    return all_anchor[static_cast<size_t>(a)] < all_anchor[static_cast<size_t>(b)];
  });
  if (static_cast<int64_t>(order.size()) > post) order.resize(static_cast<size_t>(post));
  RcnnProposals out;
  for (int64_t k : order) {
    const auto s = static_cast<size_t>(k);
    out.boxes.push_back(all_box[s]);
    out.scores.push_back(1.0 / (1.0 + std::exp(-all_logit[s])));
    out.levels.push_back(all_level[s]);
    out.anchor.push_back(all_anchor[s]);
  }
  return out;
}

RcnnRpnTargets rcnn_rpn_targets(const MaskRcnnConfig& c, const RcnnAnchors& anchors,
                                const std::vector<RcnnBox>& gt) {
  const auto n = static_cast<int64_t>(anchors.boxes.size());
  RcnnRpnTargets out;
  out.labels.assign(static_cast<size_t>(n), 0);
  out.regression.assign(static_cast<size_t>(n * 4), 0.0F);
  if (gt.empty()) return out;
  const auto g = static_cast<int64_t>(gt.size());
  std::vector<double> iou(static_cast<size_t>(g * n));
  for (int64_t i = 0; i < g; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      iou[static_cast<size_t>(i * n + j)] =
          rcnn_iou(gt[static_cast<size_t>(i)], anchors.boxes[static_cast<size_t>(j)]);
    }
  }
  const std::vector<int64_t> m = rcnn_match(iou, g, n, c.rpn_fg_iou, c.rpn_bg_iou, true);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t k = m[static_cast<size_t>(j)];
    out.labels[static_cast<size_t>(j)] = k >= 0 ? 1 : (k == -1 ? 0 : -1);
    if (k >= 0) {
      const auto t = rcnn_encode(gt[static_cast<size_t>(k)], anchors.boxes[static_cast<size_t>(j)],
                                 {1.0, 1.0, 1.0, 1.0});
      for (size_t q = 0; q < 4; ++q) {
        out.regression[static_cast<size_t>(j * 4) + q] = static_cast<float>(t[q]);
      }
    }
  }
  return out;
}

RcnnRoiTargets rcnn_roi_targets(const MaskRcnnConfig& c, const std::vector<RcnnBox>& proposals,
                                const std::vector<RcnnBox>& gt, const std::vector<int64_t>& classes,
                                Rng& rng) {
  if (gt.size() != classes.size()) {
    throw Error("mask_rcnn RoI targets: " + std::to_string(gt.size()) + " boxes, " +
                std::to_string(classes.size()) + " classes");
  }
  std::vector<RcnnBox> all = proposals;
  all.insert(all.end(), gt.begin(), gt.end());
  const auto n = static_cast<int64_t>(all.size());
  const auto g = static_cast<int64_t>(gt.size());
  std::vector<int64_t> labels(static_cast<size_t>(n), 0);
  std::vector<int64_t> matched(static_cast<size_t>(n), 0);
  if (g > 0 && n > 0) {
    std::vector<double> iou(static_cast<size_t>(g * n));
    for (int64_t i = 0; i < g; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        iou[static_cast<size_t>(i * n + j)] =
            rcnn_iou(gt[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
      }
    }
    const std::vector<int64_t> m = rcnn_match(iou, g, n, c.box_fg_iou, c.box_bg_iou, false);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = m[static_cast<size_t>(j)];
      matched[static_cast<size_t>(j)] = std::max<int64_t>(k, 0);
      labels[static_cast<size_t>(j)] =
          k >= 0 ? classes[static_cast<size_t>(k)] : (k == -1 ? 0 : -1);
    }
  }
  const RcnnSample s = rcnn_sample(labels, c.box_batch_per_image, c.box_positive_fraction, rng);
  std::vector<int64_t> picked = s.positive;
  picked.insert(picked.end(), s.negative.begin(), s.negative.end());
  std::sort(picked.begin(), picked.end());
  const std::array<double, 4> w = {c.box_weights[0], c.box_weights[1], c.box_weights[2],
                                   c.box_weights[3]};
  RcnnRoiTargets out;
  for (int64_t j : picked) {
    const auto u = static_cast<size_t>(j);
    out.rois.push_back(all[u]);
    out.labels.push_back(labels[u]);
    out.matched.push_back(matched[u]);
    // torchvision encodes every sampled RoI against its (clamped) match; the loss reads only
    // the positives'. Without ground truth the targets are 0.
    const std::array<double, 4> t =
        g > 0 ? rcnn_encode(gt[static_cast<size_t>(matched[u])], all[u], w)
              : std::array<double, 4>{0.0, 0.0, 0.0, 0.0};
    for (double v : t) out.regression.push_back(static_cast<float>(v));
  }
  return out;
}

int64_t rcnn_roi_level(const RcnnBox& box, double canonical_scale, int64_t canonical_level) {
  const float area = (static_cast<float>(box[2]) - static_cast<float>(box[0])) *
                     (static_cast<float>(box[3]) - static_cast<float>(box[1]));
  const float s = std::sqrt(area);
  const float lvl = std::floor(static_cast<float>(canonical_level) +
                               std::log2(s / static_cast<float>(canonical_scale)) + 1e-6F);
  const float clamped = std::clamp(lvl, 2.0F, 5.0F);
  return static_cast<int64_t>(clamped) - 2;
}

void rcnn_roi_align(const float* feature, int64_t channels, int64_t height, int64_t width,
                    const RcnnBox& box, double spatial_scale, int64_t out_h, int64_t out_w,
                    int64_t sampling_ratio, float* out) {
  // torchvision's CPU kernel computes in the feature's type: float32 here, in its order (the
  // samples of a cell summed, then divided by their count).
  for (int64_t ch = 0; ch < channels; ++ch) {
    const float* f = feature + ch * height * width;
    float* o = out + ch * out_h * out_w;
    std::fill(o, o + out_h * out_w, 0.0F);
    const int64_t samples =
        roi_samples(height, width, box, spatial_scale, out_h, out_w, sampling_ratio,
                    [&](int64_t cell, const Corners& c) {
                      o[cell] += c.weight[0] * f[c.index[0]] + c.weight[1] * f[c.index[1]] +
                                 c.weight[2] * f[c.index[2]] + c.weight[3] * f[c.index[3]];
                    });
    const auto count = static_cast<float>(std::max<int64_t>(samples, 1));
    for (int64_t i = 0; i < out_h * out_w; ++i) o[i] /= count;
  }
}

RcnnRoiGather rcnn_roi_gather(int64_t height, int64_t width, const RcnnBox& box,
                              double spatial_scale, int64_t out_h, int64_t out_w,
                              int64_t sampling_ratio) {
  RcnnRoiGather g;
  std::vector<Corners> all;
  g.samples = roi_samples(height, width, box, spatial_scale, out_h, out_w, sampling_ratio,
                          [&](int64_t, const Corners& c) { all.push_back(c); });
  const auto count = static_cast<float>(std::max<int64_t>(g.samples, 1));
  for (const Corners& c : all) {
    for (size_t q = 0; q < 4; ++q) {
      g.index.push_back(c.index[q]);
      g.weight.push_back(c.weight[q] / count);
    }
  }
  return g;
}

std::vector<float> rcnn_mask_target(const float* mask, int64_t height, int64_t width,
                                    const RcnnBox& roi, int64_t m) {
  std::vector<float> out(static_cast<size_t>(m * m));
  rcnn_roi_align(mask, 1, height, width, roi, 1.0, m, m, 0, out.data());
  return out;
}

std::vector<RcnnDetection> rcnn_detect(const MaskRcnnConfig& c,
                                       const std::vector<RcnnBox>& proposals,
                                       const float* class_logits, const float* box_deltas) {
  const int64_t k = c.num_classes;
  const auto height = static_cast<double>(c.data.height);
  const auto width = static_cast<double>(c.data.width);
  const std::array<double, 4> w = {c.box_weights[0], c.box_weights[1], c.box_weights[2],
                                   c.box_weights[3]};
  std::vector<RcnnDetection> cand;
  std::vector<double> prob(static_cast<size_t>(k));
  for (size_t r = 0; r < proposals.size(); ++r) {
    const float* z = class_logits + static_cast<int64_t>(r) * k;
    const double top = *std::max_element(z, z + k);
    double sum = 0.0;
    for (int64_t j = 0; j < k; ++j) sum += prob[static_cast<size_t>(j)] = std::exp(z[j] - top);
    for (int64_t j = 1; j < k; ++j) {
      const double score = prob[static_cast<size_t>(j)] / sum;
      if (!(score > c.box_score_thresh)) continue;
      const RcnnBox b =
          clip_box(rcnn_decode(box_deltas + (static_cast<int64_t>(r) * k + j) * 4, proposals[r], w),
                   height, width);
      if (b[2] - b[0] < c.box_min_size || b[3] - b[1] < c.box_min_size) continue;
      cand.push_back({b, j, score, static_cast<int64_t>(r)});
    }
  }
  // Candidates are in (proposal, class) order; NMS within each class, then all by score.
  std::vector<RcnnDetection> kept;
  for (int64_t j = 1; j < k; ++j) {
    std::vector<RcnnBox> boxes;
    std::vector<double> scores;
    std::vector<size_t> index;
    for (size_t i = 0; i < cand.size(); ++i) {
      if (cand[i].label != j) continue;
      boxes.push_back(cand[i].box);
      scores.push_back(cand[i].score);
      index.push_back(i);
    }
    for (int64_t q : rcnn_nms(boxes, scores, c.box_nms)) kept.push_back(cand[index[q]]);
  }
  std::stable_sort(kept.begin(), kept.end(), [k](const RcnnDetection& a, const RcnnDetection& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.proposal * (k - 1) + a.label < b.proposal * (k - 1) + b.label;
  });
  if (static_cast<int64_t>(kept.size()) > c.detections_per_image) {
    kept.resize(static_cast<size_t>(c.detections_per_image));
  }
  return kept;
}

std::vector<float> rcnn_paste_mask(const float* mask, int64_t m, const RcnnBox& box, int64_t height,
                                   int64_t width) {
  // torchvision computes in float32: expand_masks pads by 1, expand_boxes scales by (M + 2)/M,
  // the box is truncated to int64.
  const int64_t mp = m + 2;
  const auto scale = static_cast<float>(static_cast<double>(mp) / static_cast<double>(m));
  const auto bx0 = static_cast<float>(box[0]);
  const auto by0 = static_cast<float>(box[1]);
  const auto bx1 = static_cast<float>(box[2]);
  const auto by1 = static_cast<float>(box[3]);
  const float w_half = (bx1 - bx0) * 0.5F * scale;
  const float h_half = (by1 - by0) * 0.5F * scale;
  const float xc = (bx1 + bx0) * 0.5F;
  const float yc = (by1 + by0) * 0.5F;
  const auto x0 = static_cast<int64_t>(xc - w_half);
  const auto x1 = static_cast<int64_t>(xc + w_half);
  const auto y0 = static_cast<int64_t>(yc - h_half);
  const auto y1 = static_cast<int64_t>(yc + h_half);
  const int64_t w = std::max<int64_t>(x1 - x0 + 1, 1);
  const int64_t h = std::max<int64_t>(y1 - y0 + 1, 1);
  const auto padded = [&](int64_t y, int64_t x) -> float {
    if (y <= 0 || x <= 0 || y >= mp - 1 || x >= mp - 1) return 0.0F;
    return mask[(y - 1) * m + (x - 1)];
  };
  // F.interpolate bilinear, align_corners=False: src = (dst + ½)·in/out − ½, clamped at 0.
  const auto source = [](int64_t dst, int64_t in, int64_t out, int64_t& i0, int64_t& i1,
                         float& l1) {
    const float sc = static_cast<float>(in) / static_cast<float>(out);
    const float src = std::max(sc * (static_cast<float>(dst) + 0.5F) - 0.5F, 0.0F);
    i0 = static_cast<int64_t>(src);
    i1 = i0 + (i0 < in - 1 ? 1 : 0);
    l1 = src - static_cast<float>(i0);
  };
  std::vector<float> out(static_cast<size_t>(height * width), 0.0F);
  const int64_t ya = std::max<int64_t>(y0, 0);
  const int64_t yb = std::min<int64_t>(y1 + 1, height);
  const int64_t xa = std::max<int64_t>(x0, 0);
  const int64_t xb = std::min<int64_t>(x1 + 1, width);
  for (int64_t y = ya; y < yb; ++y) {
    int64_t r0 = 0;
    int64_t r1 = 0;
    float ly = 0.0F;
    source(y - y0, mp, h, r0, r1, ly);
    for (int64_t x = xa; x < xb; ++x) {
      int64_t c0 = 0;
      int64_t c1 = 0;
      float lx = 0.0F;
      source(x - x0, mp, w, c0, c1, lx);
      out[static_cast<size_t>(y * width + x)] =
          (1.0F - ly) * ((1.0F - lx) * padded(r0, c0) + lx * padded(r0, c1)) +
          ly * ((1.0F - lx) * padded(r1, c0) + lx * padded(r1, c1));
    }
  }
  return out;
}

namespace {

double smooth_l1(double x) {
  const double beta = 1.0 / 9.0;
  const double a = std::abs(x);
  return a < beta ? 0.5 * x * x / beta : a - 0.5 * beta;
}

// BCE with logits of one value: max(z, 0) − z·y + log(1 + exp(−|z|)).
double bce(double z, double y) {
  return std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
}

}  // namespace

std::array<double, 2> rcnn_rpn_loss(const float* objectness, const float* deltas, int64_t anchors,
                                    const std::vector<RcnnRpnTargets>& targets,
                                    const std::vector<RcnnSample>& samples) {
  if (targets.size() != samples.size()) {
    throw Error("mask_rcnn RPN loss: " + std::to_string(targets.size()) + " targets, " +
                std::to_string(samples.size()) + " samples");
  }
  double obj = 0.0;
  double box = 0.0;
  int64_t sampled = 0;
  for (size_t n = 0; n < targets.size(); ++n) {
    const int64_t base = static_cast<int64_t>(n) * anchors;
    for (int64_t a : samples[n].positive) {
      obj += bce(objectness[base + a], 1.0);
      for (int64_t q = 0; q < 4; ++q) {
        box += smooth_l1(double{deltas[(base + a) * 4 + q]} -
                         targets[n].regression[static_cast<size_t>(a * 4 + q)]);
      }
    }
    for (int64_t a : samples[n].negative) obj += bce(objectness[base + a], 0.0);
    sampled += static_cast<int64_t>(samples[n].positive.size() + samples[n].negative.size());
  }
  if (sampled == 0) {
    throw Error("mask_rcnn RPN loss: no sampled anchors");
  }
  return {obj / static_cast<double>(sampled), box / static_cast<double>(sampled)};
}

std::array<double, 2> rcnn_box_loss(const float* class_logits, const float* box_deltas,
                                    int64_t num_classes,
                                    const std::vector<RcnnRoiTargets>& targets) {
  const int64_t k = num_classes;
  double ce = 0.0;
  double box = 0.0;
  int64_t r = 0;
  for (const RcnnRoiTargets& t : targets) {
    for (size_t i = 0; i < t.labels.size(); ++i, ++r) {
      const float* z = class_logits + r * k;
      const double top = *std::max_element(z, z + k);
      double sum = 0.0;
      for (int64_t j = 0; j < k; ++j) sum += std::exp(z[j] - top);
      const int64_t y = t.labels[i];
      ce += top + std::log(sum) - z[y];
      if (y > 0) {
        for (int64_t q = 0; q < 4; ++q) {
          box += smooth_l1(double{box_deltas[(r * k + y) * 4 + q]} - t.regression[i * 4 + q]);
        }
      }
    }
  }
  if (r == 0) {
    throw Error("mask_rcnn box loss: no sampled RoIs");
  }
  return {ce / static_cast<double>(r), box / static_cast<double>(r)};
}

double rcnn_mask_loss(const float* mask_logits, int64_t num_classes, int64_t m,
                      const std::vector<int64_t>& labels, const std::vector<float>& targets) {
  const int64_t plane = m * m;
  if (targets.size() != labels.size() * static_cast<size_t>(plane)) {
    throw Error("mask_rcnn mask loss: " + std::to_string(labels.size()) + " RoIs with " +
                std::to_string(targets.size()) + " target values");
  }
  if (labels.empty()) return 0.0;
  double sum = 0.0;
  for (size_t p = 0; p < labels.size(); ++p) {
    const float* z = mask_logits + (static_cast<int64_t>(p) * num_classes + labels[p]) * plane;
    for (int64_t i = 0; i < plane; ++i)
      sum += bce(z[i], targets[p * static_cast<size_t>(plane) + i]);
  }
  return sum / static_cast<double>(labels.size() * static_cast<size_t>(plane));
}

int64_t rcnn_prediction_width(const MaskRcnnConfig& config) {
  return 6 + config.mask_resolution * config.mask_resolution;
}

}  // namespace greenbench::workloads
