// Mask R-CNN's shared host code and parameter list checked against torchvision itself on
// hand-made and seeded cases (tests/workloads/data/mask_rcnn_reference.json, written by
// mask_rcnn_reference.py beside it). torchvision computes in float32, the host code in double
// where it is not bound to float32, hence the tolerances below.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/mask_rcnn_boxes.hpp"
#include "common/models.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

using nlohmann::json;

const json& reference() {
  static const json data = [] {
    const std::string path =
        std::string(GREENBENCH_SOURCE_DIR) + "/tests/workloads/data/mask_rcnn_reference.json";
    std::ifstream in(path);
    if (!in) {
      throw Error("cannot open " + path);
    }
    return json::parse(in);
  }();
  return data;
}

std::vector<float> f32_of(const json& a) {
  std::vector<float> out;
  out.reserve(a.size());
  for (const json& v : a) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

std::vector<int64_t> i64_of(const json& a) { return a.get<std::vector<int64_t>>(); }

std::vector<RcnnBox> boxes_of(const json& a) {
  const std::vector<float> v = f32_of(a);
  std::vector<RcnnBox> out;
  for (size_t i = 0; i + 3 < v.size(); i += 4) out.push_back({v[i], v[i + 1], v[i + 2], v[i + 3]});
  return out;
}

// |a − b| ≤ tol·max(1, |b|): absolute for values up to 1, relative above.
void expect_close(double a, double b, double tol, const std::string& what) {
  EXPECT_LE(std::abs(a - b), tol * std::max(1.0, std::abs(b))) << what << ": " << a << " vs " << b;
}

MaskRcnnConfig tiny() { return make_model_spec("mask_rcnn", "tiny").mask_rcnn; }

TEST(MaskRcnnReference, PaperParametersAreTorchvisionsInOrder) {
  const json& r = reference()["parameters"];
  const ModelSpec spec = make_model_spec("mask_rcnn", "paper");
  const auto& names = r["names"];
  ASSERT_EQ(spec.params.size(), names.size());
  int64_t total = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const ParamSpec& p = spec.params[i];
    EXPECT_EQ(p.name, names[i].get<std::string>()) << i;
    EXPECT_EQ(p.shape, r["shapes"][i].get<std::vector<int64_t>>()) << p.name;
    EXPECT_EQ(p.trainable, r["trainable"][i].get<bool>()) << p.name;
    total += p.numel();
  }
  EXPECT_EQ(total, r["state_dict_total"].get<int64_t>());
  EXPECT_EQ(spec.trainable_parameter_count(), r["trainable_total"].get<int64_t>());
  EXPECT_EQ(spec.mask_rcnn.bn_eps, r["frozen_bn_eps"].get<double>());
}

TEST(MaskRcnnReference, AnchorsEqualTorchvisionsBitForBit) {
  for (const json& c : reference()["anchors"]) {
    MaskRcnnConfig cfg = tiny();
    cfg.data.height = c["height"].get<int64_t>();
    cfg.data.width = c["width"].get<int64_t>();
    cfg.anchor_sizes = c["sizes"].get<std::vector<double>>();
    const RcnnAnchors a = rcnn_anchors(cfg);
    ASSERT_EQ(a.per_level, i64_of(c["per_level"]));
    ASSERT_EQ(static_cast<int64_t>(a.boxes.size()), c["count"].get<int64_t>());
    const std::vector<RcnnBox> want = boxes_of(c["boxes"]);
    const std::vector<int64_t> index = i64_of(c["index"]);
    for (size_t n = 0; n < index.size(); ++n) {
      for (size_t q = 0; q < 4; ++q) {
        EXPECT_EQ(a.boxes[static_cast<size_t>(index[n])][q], want[n][q]) << index[n];
      }
    }
  }
}

TEST(MaskRcnnReference, BoxCoderEqualsTorchvisions) {
  for (const json& c : reference()["coder"]) {
    const auto wv = c["weights"].get<std::vector<double>>();
    const std::array<double, 4> w = {wv[0], wv[1], wv[2], wv[3]};
    const std::vector<RcnnBox> ref = boxes_of(c["reference"]);
    const std::vector<RcnnBox> gt = boxes_of(c["ground_truth"]);
    const std::vector<float> enc = f32_of(c["encoded"]);
    const std::vector<float> deltas = f32_of(c["deltas"]);
    const std::vector<float> dec = f32_of(c["decoded"]);
    for (size_t i = 0; i < ref.size(); ++i) {
      const auto e = rcnn_encode(gt[i], ref[i], w);
      const RcnnBox d = rcnn_decode(deltas.data() + i * 4, ref[i], w);
      for (size_t q = 0; q < 4; ++q) {
        expect_close(e[q], enc[i * 4 + q], 1e-5, "encode " + std::to_string(i));
        expect_close(d[q], dec[i * 4 + q], 1e-5, "decode " + std::to_string(i));
      }
    }
  }
}

TEST(MaskRcnnReference, MatcherEqualsTorchvisions) {
  for (const json& c : reference()["matcher"]) {
    const std::vector<float> v = f32_of(c["iou"]);
    const std::vector<double> iou(v.begin(), v.end());
    EXPECT_EQ(rcnn_match(iou, c["g"].get<int64_t>(), c["n"].get<int64_t>(), c["high"].get<double>(),
                         c["low"].get<double>(), c["allow_low_quality"].get<bool>()),
              i64_of(c["matches"]))
        << c["iou"].dump();
  }
}

TEST(MaskRcnnReference, RpnTargetsEqualTorchvisions) {
  const MaskRcnnConfig cfg = tiny();
  const RcnnAnchors anchors = rcnn_anchors(cfg);
  for (const json& c : reference()["rpn_targets"]) {
    const RcnnRpnTargets t = rcnn_rpn_targets(cfg, anchors, boxes_of(c["ground_truth"]));
    const std::vector<int64_t> labels = i64_of(c["labels"]);
    ASSERT_EQ(t.labels.size(), labels.size());
    const std::vector<float> reg = f32_of(c["regression"]);
    int64_t positives = 0;
    for (size_t j = 0; j < labels.size(); ++j) {
      // torchvision: 1.0, 0.0, −1.0 as float labels
      EXPECT_EQ(t.labels[j], labels[j]) << j;
      if (labels[j] == 1) {
        ++positives;
        for (size_t q = 0; q < 4; ++q) {
          expect_close(t.regression[j * 4 + q], reg[j * 4 + q], 1e-5, "rpn regression");
        }
      }
    }
    EXPECT_GT(positives, 0);
  }
}

TEST(MaskRcnnReference, RoiTargetsEqualTorchvisionsWhenEveryRoiIsSampled) {
  const MaskRcnnConfig cfg = make_model_spec("mask_rcnn", "paper").mask_rcnn;  // 512 RoIs
  for (const json& c : reference()["roi_targets"]) {
    Rng rng(1, 2);
    const std::vector<RcnnBox> props = boxes_of(c["proposals"]);
    const std::vector<RcnnBox> gt = boxes_of(c["ground_truth"]);
    const RcnnRoiTargets t = rcnn_roi_targets(cfg, props, gt, i64_of(c["classes"]), rng);
    ASSERT_EQ(t.rois.size(), props.size() + gt.size());
    EXPECT_EQ(t.labels, i64_of(c["labels"]));
    EXPECT_EQ(t.matched, i64_of(c["matched"]));
    const std::vector<float> reg = f32_of(c["regression"]);
    ASSERT_EQ(t.regression.size(), reg.size());
    for (size_t i = 0; i < reg.size(); ++i) {
      expect_close(t.regression[i], reg[i], 1e-5, "roi regression " + std::to_string(i / 4));
    }
  }
}

TEST(MaskRcnnReference, RoiAlignEqualsTorchvisions) {
  for (const json& c : reference()["roi_align"]) {
    const std::vector<float> feature = f32_of(c["feature"]);
    const std::vector<RcnnBox> boxes = boxes_of(c["boxes"]);
    const std::vector<float> want = f32_of(c["values"]);
    const auto ch = c["channels"].get<int64_t>();
    const auto size = c["size"].get<int64_t>();
    std::vector<float> got(static_cast<size_t>(ch * size * size));
    double worst = 0.0;
    for (size_t b = 0; b < boxes.size(); ++b) {
      rcnn_roi_align(feature.data(), ch, c["height"].get<int64_t>(), c["width"].get<int64_t>(),
                     boxes[b], c["spatial_scale"].get<double>(), size, size,
                     c["sampling_ratio"].get<int64_t>(), got.data());
      for (size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, std::abs(double{got[i]} - want[b * got.size() + i]));
      }
    }
    EXPECT_LE(worst, 1e-6) << "sampling " << c["sampling_ratio"] << " size " << size;
  }
}

// The gather form the frameworks compute (weights and indices from the host) gives torchvision's
// values too.
TEST(MaskRcnnReference, RoiAlignAsAGatherEqualsTorchvisions) {
  for (const json& c : reference()["roi_align"]) {
    const std::vector<float> feature = f32_of(c["feature"]);
    const std::vector<RcnnBox> boxes = boxes_of(c["boxes"]);
    const std::vector<float> want = f32_of(c["values"]);
    const auto ch = c["channels"].get<int64_t>();
    const auto h = c["height"].get<int64_t>();
    const auto w = c["width"].get<int64_t>();
    const auto size = c["size"].get<int64_t>();
    double worst = 0.0;
    for (size_t b = 0; b < boxes.size(); ++b) {
      const RcnnRoiGather g = rcnn_roi_gather(h, w, boxes[b], c["spatial_scale"].get<double>(),
                                              size, size, c["sampling_ratio"].get<int64_t>());
      const auto per_cell = static_cast<size_t>(g.samples * 4);
      ASSERT_EQ(g.index.size(), static_cast<size_t>(size * size) * per_cell);
      for (int64_t k = 0; k < ch; ++k) {
        for (int64_t cell = 0; cell < size * size; ++cell) {
          double v = 0.0;
          for (size_t e = 0; e < per_cell; ++e) {
            const size_t at = static_cast<size_t>(cell) * per_cell + e;
            ASSERT_GE(g.index[at], 0);
            ASSERT_LT(g.index[at], h * w);
            v += double{g.weight[at]} * feature[static_cast<size_t>(k * h * w + g.index[at])];
          }
          const size_t o = b * static_cast<size_t>(ch * size * size) +
                           static_cast<size_t>(k * size * size + cell);
          worst = std::max(worst, std::abs(v - want[o]));
        }
      }
    }
    EXPECT_LE(worst, 1e-6) << "sampling " << c["sampling_ratio"] << " size " << size;
  }
}

TEST(MaskRcnnReference, LevelMapperEqualsTorchvisions) {
  for (const json& c : reference()["levels"]) {
    const std::vector<RcnnBox> boxes = boxes_of(c["boxes"]);
    const std::vector<int64_t> want = i64_of(c["levels"]);
    for (size_t i = 0; i < boxes.size(); ++i) {
      EXPECT_EQ(rcnn_roi_level(boxes[i], c["canonical_scale"].get<double>(), 4), want[i]) << i;
    }
  }
}

TEST(MaskRcnnReference, ProposalsEqualTorchvisions) {
  const MaskRcnnConfig cfg = tiny();
  const RcnnAnchors anchors = rcnn_anchors(cfg);
  for (const json& c : reference()["proposals"]) {
    const std::vector<float> obj = f32_of(c["objectness"]);
    const std::vector<float> deltas = f32_of(c["deltas"]);
    const RcnnProposals p =
        rcnn_select_proposals(cfg, anchors, obj.data(), deltas.data(), c["training"].get<bool>());
    const std::vector<RcnnBox> boxes = boxes_of(c["boxes"]);
    const std::vector<float> scores = f32_of(c["scores"]);
    ASSERT_EQ(p.boxes.size(), boxes.size());
    for (size_t i = 0; i < boxes.size(); ++i) {
      expect_close(p.scores[i], scores[i], 1e-6, "score " + std::to_string(i));
      for (size_t q = 0; q < 4; ++q) {
        // float32 decoding in torchvision: measured 3.5e-6 relative
        expect_close(p.boxes[i][q], boxes[i][q], 1e-5, "box " + std::to_string(i));
      }
    }
  }
}

TEST(MaskRcnnReference, MaskTargetsEqualTorchvisions) {
  const json& c = reference()["mask_targets"];
  const std::vector<float> mask = f32_of(c["mask"]);
  const std::vector<RcnnBox> boxes = boxes_of(c["boxes"]);
  const std::vector<float> want = f32_of(c["values"]);
  const auto m = c["size"].get<int64_t>();
  double worst = 0.0;
  for (size_t b = 0; b < boxes.size(); ++b) {
    const std::vector<float> t = rcnn_mask_target(mask.data(), c["height"].get<int64_t>(),
                                                  c["width"].get<int64_t>(), boxes[b], m);
    for (size_t i = 0; i < t.size(); ++i) {
      worst = std::max(worst, std::abs(double{t[i]} - want[b * t.size() + i]));
    }
  }
  EXPECT_LE(worst, 1e-6);
}

TEST(MaskRcnnReference, DetectionsEqualTorchvisions) {
  const MaskRcnnConfig cfg = tiny();
  for (const json& c : reference()["detections"]) {
    const std::vector<float> logits = f32_of(c["class_logits"]);
    const std::vector<float> deltas = f32_of(c["box_deltas"]);
    const std::vector<RcnnDetection> d =
        rcnn_detect(cfg, boxes_of(c["proposals"]), logits.data(), deltas.data());
    const std::vector<RcnnBox> boxes = boxes_of(c["boxes"]);
    const std::vector<float> scores = f32_of(c["scores"]);
    const std::vector<int64_t> labels = i64_of(c["labels"]);
    ASSERT_EQ(d.size(), boxes.size());
    for (size_t i = 0; i < d.size(); ++i) {
      EXPECT_EQ(d[i].label, labels[i]) << i;
      expect_close(d[i].score, scores[i], 1e-6, "score " + std::to_string(i));
      for (size_t q = 0; q < 4; ++q) {
        expect_close(d[i].box[q], boxes[i][q], 1e-5, "box " + std::to_string(i));
      }
    }
  }
}

TEST(MaskRcnnReference, LossesEqualTorchvisions) {
  const json& c = reference()["losses"];
  const MaskRcnnConfig cfg = tiny();
  const RcnnAnchors anchors = rcnn_anchors(cfg);
  const auto n_anchors = static_cast<int64_t>(anchors.boxes.size());
  std::vector<RcnnRpnTargets> rpn_targets;
  std::vector<RcnnSample> samples;
  for (size_t n = 0; n < c["ground_truth"].size(); ++n) {
    rpn_targets.push_back(rcnn_rpn_targets(cfg, anchors, boxes_of(c["ground_truth"][n])));
    samples.push_back({i64_of(c["samples"][n]["positive"]), i64_of(c["samples"][n]["negative"])});
  }
  const std::vector<float> obj = f32_of(c["objectness"]);
  const std::vector<float> deltas = f32_of(c["deltas"]);
  const auto rpn = rcnn_rpn_loss(obj.data(), deltas.data(), n_anchors, rpn_targets, samples);
  expect_close(rpn[0], c["rpn_objectness"].get<double>(), 1e-6, "rpn objectness");
  expect_close(rpn[1], c["rpn_box"].get<double>(), 1e-6, "rpn box");

  std::vector<RcnnRoiTargets> roi;
  for (size_t n = 0; n < c["roi_labels"].size(); ++n) {
    RcnnRoiTargets t;
    t.labels = i64_of(c["roi_labels"][n]);
    t.regression = f32_of(c["roi_regression"][n]);
    roi.push_back(t);
  }
  const std::vector<float> logits = f32_of(c["class_logits"]);
  const std::vector<float> box_deltas = f32_of(c["box_deltas"]);
  const auto box = rcnn_box_loss(logits.data(), box_deltas.data(), cfg.num_classes, roi);
  expect_close(box[0], c["classifier"].get<double>(), 1e-6, "classifier");
  expect_close(box[1], c["box_reg"].get<double>(), 1e-6, "box regression");

  std::vector<int64_t> labels;
  std::vector<float> targets;
  for (size_t n = 0; n < c["masks"].size(); ++n) {
    const std::vector<float> masks = f32_of(c["masks"][n]);
    const std::vector<int64_t> classes = i64_of(c["mask_classes"][n]);
    const std::vector<RcnnBox> rois = boxes_of(c["mask_rois"][n]);
    const std::vector<int64_t> matched = i64_of(c["mask_matched"][n]);
    for (size_t r = 0; r < rois.size(); ++r) {
      const auto j = static_cast<size_t>(matched[r]);
      labels.push_back(classes[j]);
      const std::vector<float> t =
          rcnn_mask_target(masks.data() + j * 64 * 64, 64, 64, rois[r], cfg.mask_resolution);
      targets.insert(targets.end(), t.begin(), t.end());
    }
  }
  const std::vector<float> mask_logits = f32_of(c["mask_logits"]);
  expect_close(
      rcnn_mask_loss(mask_logits.data(), cfg.num_classes, cfg.mask_resolution, labels, targets),
      c["mask"].get<double>(), 1e-6, "mask");
  EXPECT_EQ(rcnn_mask_loss(mask_logits.data(), cfg.num_classes, cfg.mask_resolution, {}, {}), 0.0);
}

TEST(MaskRcnnReference, PastedMasksEqualTorchvisions) {
  const json& c = reference()["paste"];
  const std::vector<float> masks = f32_of(c["masks"]);
  const std::vector<RcnnBox> boxes = boxes_of(c["boxes"]);
  const std::vector<float> want = f32_of(c["values"]);
  const auto h = c["height"].get<int64_t>();
  const auto w = c["width"].get<int64_t>();
  const auto m = c["size"].get<int64_t>();
  double worst = 0.0;
  for (size_t b = 0; b < boxes.size(); ++b) {
    const std::vector<float> p =
        rcnn_paste_mask(masks.data() + b * static_cast<size_t>(m * m), m, boxes[b], h, w);
    for (size_t i = 0; i < p.size(); ++i) {
      worst = std::max(worst, std::abs(double{p[i]} - want[b * p.size() + i]));
    }
  }
  EXPECT_LE(worst, 1e-6);
}

}  // namespace
}  // namespace greenbench::workloads
