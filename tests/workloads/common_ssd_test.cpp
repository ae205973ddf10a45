#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/models.hpp"
#include "common/ssd_boxes.hpp"
#include "common/weights.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

// ---- spec ---------------------------------------------------------------------------------------

TEST(SsdSpec, PaperCountFollowsTheHandFormula) {
  const ModelSpec s = make_model_spec("ssd", "paper");
  // torchvision ResNet-50 (25,557,032) without layer4 and fc:
  const int64_t layer4 =
      (512 * 1024 + 1024 + 512 * 512 * 9 + 1024 + 2048 * 512 + 4096 + 2048 * 1024 + 4096) +
      2 * (512 * 2048 + 1024 + 512 * 512 * 9 + 1024 + 2048 * 512 + 4096);
  const int64_t fc = 2048 * 1000 + 1000;
  const int64_t backbone = 25557032 - layer4 - fc;
  // additional blocks: conv1x1 in→mid, BN(mid), conv3x3 mid→out, BN(out)
  const int64_t oc[] = {1024, 512, 512, 256, 256, 256};
  const int64_t mid[] = {256, 256, 128, 128, 128};
  int64_t extras = 0;
  for (int i = 0; i < 5; ++i) {
    extras += oc[i] * mid[i] + 2 * mid[i] + mid[i] * oc[i + 1] * 9 + 2 * oc[i + 1];
  }
  // heads: 3x3 convs with bias, nd·4 and nd·81 outputs
  const int64_t nd[] = {4, 6, 6, 6, 4, 4};
  int64_t heads = 0;
  for (int k = 0; k < 6; ++k) {
    heads += (nd[k] * 4 + nd[k] * 81) * (oc[k] * 9 + 1);
  }
  EXPECT_EQ(backbone, 8543296);
  EXPECT_EQ(s.trainable_parameter_count(), backbone + extras + heads);
  EXPECT_EQ(s.trainable_parameter_count(), 22894902);
  EXPECT_EQ(s.ssd.num_default_boxes(), 8732);
  EXPECT_EQ(s.param("conf.0.weight").shape, (std::vector<int64_t>{324, 1024, 3, 3}));
  EXPECT_EQ(s.param("loc.5.weight").shape, (std::vector<int64_t>{16, 256, 3, 3}));
  EXPECT_EQ(s.param("additional_blocks.4.3.weight").shape, (std::vector<int64_t>{256, 128, 3, 3}));
  EXPECT_EQ(s.param("layer3.0.downsample.0.weight").shape, (std::vector<int64_t>{1024, 512, 1, 1}));
  EXPECT_THROW((void)s.param("layer4.0.conv1.weight"), Error);
  EXPECT_THROW((void)s.param("fc.weight"), Error);
}

TEST(SsdSpec, PresetsBuildAndAreListed) {
  const auto& names = model_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "ssd"), names.end());
  for (const std::string scale : {"tiny", "small", "paper"}) {
    const ModelSpec s = make_model_spec("ssd", scale);
    EXPECT_EQ(s.model, "ssd");
    EXPECT_EQ(s.ssd.data.num_classes, s.ssd.num_classes - 1) << scale;
    EXPECT_FALSE(s.ssd.data.with_masks);
    std::set<std::string> seen;
    for (const ParamSpec& p : s.params) {
      EXPECT_TRUE(seen.insert(p.name).second) << p.name;
      const bool bn_stat = p.name.ends_with("running_mean") || p.name.ends_with("running_var");
      EXPECT_EQ(p.trainable, !bn_stat) << p.name;
      // DLE's tencent_trick: no weight decay on 1-D parameters and biases
      EXPECT_EQ(p.weight_decay, p.shape.size() > 1) << p.name;
    }
    const Weights w = make_initial_weights(s, 7);
    EXPECT_NO_THROW(check_weights(s, w, "ssd " + scale));
    EXPECT_EQ(trainable_count(w), s.trainable_parameter_count());
  }
  EXPECT_EQ(make_model_spec("ssd", "tiny").ssd.num_default_boxes(), 64 * 4 + 16 * 6 + 4 * 6 + 4);
  EXPECT_EQ(make_model_spec("ssd", "small").ssd.num_default_boxes(),
            256 * 4 + 64 * 6 + 16 * 6 + 4 * 4 + 4);
}

TEST(SsdSpec, AdditionalBlocksAndHeadsAreXavierUniform) {
  const ModelSpec s = make_model_spec("ssd", "paper");
  const ParamSpec& conf = s.param("conf.2.weight");  // [6·81, 512, 3, 3]
  EXPECT_EQ(conf.init.kind, InitRule::Kind::kUniform);
  EXPECT_DOUBLE_EQ(conf.init.b, std::sqrt(6.0 / ((512 + 486) * 9.0)));
  const ParamSpec& bias = s.param("conf.2.bias");  // torch Conv2d default U(±1/sqrt(fan_in))
  EXPECT_DOUBLE_EQ(bias.init.b, 1.0 / std::sqrt(512.0 * 9.0));
  const ParamSpec& extra = s.param("additional_blocks.0.0.weight");  // [256, 1024, 1, 1]
  EXPECT_DOUBLE_EQ(extra.init.b, std::sqrt(6.0 / (256.0 + 1024.0)));
  EXPECT_EQ(s.param("additional_blocks.0.1.weight").init.kind, InitRule::Kind::kOnes);
  EXPECT_EQ(s.param("layer1.0.conv1.weight").init.kind, InitRule::Kind::kNormal);
  // the weights honour the bound
  const Weights w = make_initial_weights(make_model_spec("ssd", "tiny"), 3);
  const ModelSpec t = make_model_spec("ssd", "tiny");
  for (size_t i = 0; i < w.size(); ++i) {
    if (t.params[i].init.kind != InitRule::Kind::kUniform) continue;
    for (float v : w[i].value.f32) {
      ASSERT_LE(std::abs(v), t.params[i].init.b + 1e-6) << t.params[i].name;
    }
  }
}

TEST(SsdSpec, InconsistentConfigIsRefused) {
  SsdConfig c = make_model_spec("ssd", "paper").ssd;
  c.scales.pop_back();
  EXPECT_THROW((void)make_default_boxes(c), Error);
}

// ---- default boxes ---------------------------------------------------------------------------

void expect_box(const SsdDefaultBoxes& b, int64_t index, double cx, double cy, double w, double h) {
  const auto& x = b.xywh[static_cast<size_t>(index)];
  EXPECT_NEAR(x[0], cx, 1e-7) << index;
  EXPECT_NEAR(x[1], cy, 1e-7) << index;
  EXPECT_NEAR(x[2], w, 1e-7) << index;
  EXPECT_NEAR(x[3], h, 1e-7) << index;
  const auto& l = b.ltrb[static_cast<size_t>(index)];
  EXPECT_NEAR(l[0], x[0] - 0.5 * x[2], 1e-7);
  EXPECT_NEAR(l[1], x[1] - 0.5 * x[3], 1e-7);
  EXPECT_NEAR(l[2], x[0] + 0.5 * x[2], 1e-7);
  EXPECT_NEAR(l[3], x[1] + 0.5 * x[3], 1e-7);
}

TEST(SsdDefaultBoxes, PaperFollowsDboxes300Coco) {
  const SsdDefaultBoxes b = make_default_boxes(make_model_spec("ssd", "paper").ssd);
  ASSERT_EQ(b.size(), 8732);
  // map 0 (38×38, step 8, fk = 37.5), sizes 21/300, sqrt(21·45)/300, then ratio 2 both ways
  expect_box(b, 0, 0.5 / 37.5, 0.5 / 37.5, 0.07, 0.07);
  EXPECT_NEAR(b.ltrb[0][0], 0.5 / 37.5 - 0.035, 1e-7);  // ltrb is not clamped
  expect_box(b, 1444, 0.5 / 37.5, 0.5 / 37.5, std::sqrt(21.0 * 45.0) / 300,
             std::sqrt(21.0 * 45.0) / 300);
  expect_box(b, 2 * 1444 + 5 * 38 + 7, 7.5 / 37.5, 5.5 / 37.5, 0.07 * std::sqrt(2.0),
             0.07 / std::sqrt(2.0));
  expect_box(b, 3 * 1444 + 37, 37.5 / 37.5, 0.5 / 37.5, 0.07 / std::sqrt(2.0),
             0.07 * std::sqrt(2.0));
  // map 1 (19×19, step 16, fk = 18.75) starts at 4·1444 = 5776; kind 0 at row 2, column 3
  expect_box(b, 5776 + 2 * 19 + 3, 3.5 / 18.75, 2.5 / 18.75, 0.15, 0.15);
  // kind 4 (ratio 3) of map 1
  expect_box(b, 5776 + 4 * 361, 0.5 / 18.75, 0.5 / 18.75, 0.15 * std::sqrt(3.0),
             0.15 / std::sqrt(3.0));
  // map 4 (3×3, step 100, fk = 3) starts at 5776 + 2166 + 600 + 150 = 8692; kind 1, row 1, col 2
  expect_box(b, 8692 + 9 + 1 * 3 + 2, 2.5 / 3, 1.5 / 3, std::sqrt(207.0 * 261.0) / 300,
             std::sqrt(207.0 * 261.0) / 300);
  // map 5 (1×1): 0.87, sqrt(0.87·1.05), and ratio 2 clamped to 1
  expect_box(b, 8728, 0.5, 0.5, 0.87, 0.87);
  expect_box(b, 8729, 0.5, 0.5, std::sqrt(0.87 * 1.05), std::sqrt(0.87 * 1.05));
  expect_box(b, 8730, 0.5, 0.5, 1.0, 0.87 / std::sqrt(2.0));
  expect_box(b, 8731, 0.5, 0.5, 0.87 / std::sqrt(2.0), 1.0);
  for (const auto& x : b.xywh) {
    for (float v : x) {
      ASSERT_GE(v, 0.0F);
      ASSERT_LE(v, 1.0F);
    }
  }
}

// ---- IoU, matching, encoding
// ---------------------------------------------------------------------

TEST(SsdIou, HandCases) {
  EXPECT_DOUBLE_EQ(ssd_iou({0, 0, 2, 2}, {1, 1, 3, 3}), 1.0 / 7.0);
  EXPECT_DOUBLE_EQ(ssd_iou({0, 0, 2, 2}, {0, 0, 2, 2}), 1.0);
  EXPECT_DOUBLE_EQ(ssd_iou({0, 0, 4, 4}, {1, 1, 2, 2}), 1.0 / 16.0);
  EXPECT_DOUBLE_EQ(ssd_iou({0, 0, 1, 1}, {1, 0, 2, 1}), 0.0);  // touching
  EXPECT_DOUBLE_EQ(ssd_iou({0, 0, 1, 1}, {2, 2, 3, 3}), 0.0);
  EXPECT_TRUE(std::isnan(ssd_iou({1, 1, 1, 1}, {1, 1, 1, 1})));  // 0/0, as DLE
  const std::vector<double> m = ssd_iou_matrix({{0, 0, 2, 2}, {0, 0, 1, 1}}, {{0, 0, 2, 2}});
  ASSERT_EQ(m.size(), 2U);
  EXPECT_DOUBLE_EQ(m[0], 1.0);
  EXPECT_DOUBLE_EQ(m[1], 0.25);
}

SsdConfig hand_config(int64_t classes) {
  SsdConfig c;
  c.num_classes = classes;
  return c;
}

SsdDefaultBoxes hand_boxes(const std::vector<std::array<float, 4>>& xywh) {
  SsdDefaultBoxes b;
  b.xywh = xywh;
  for (const auto& x : xywh) {
    b.ltrb.push_back(
        {x[0] - 0.5F * x[2], x[1] - 0.5F * x[3], x[0] + 0.5F * x[2], x[1] + 0.5F * x[3]});
  }
  return b;
}

TEST(SsdEncode, ThresholdForcedMatchAndTies) {
  const SsdConfig c = hand_config(5);
  const SsdDefaultBoxes b = hand_boxes({
      {0.25F, 0.25F, 0.5F, 0.5F},  // d0 [0, 0, .5, .5]
      {0.75F, 0.25F, 0.5F, 0.5F},  // d1 [.5, 0, 1, .5]
      {0.5F, 0.5F, 1.0F, 1.0F},    // d2 [0, 0, 1, 1]
      {0.75F, 0.75F, 0.5F, 0.5F},  // d3 [.5, .5, 1, 1]
      {0.25F, 0.5F, 0.5F, 1.0F},   // d4 [0, 0, .5, 1]: IoU exactly 0.5 with A
      {0.25F, 0.45F, 0.5F, 0.9F},  // d5 [0, 0, .5, .9]: IoU 0.556 with A
  });
  // A on d0 (IoU 1); B on d3 (0.64); C small, best on d1 with IoU 0.04: forced
  const SsdTargets t =
      ssd_encode(c, b, {{0, 0, 0.5, 0.5}, {0.5, 0.5, 0.9, 0.9}, {0.6, 0, 0.7, 0.1}}, {1, 2, 3});
  EXPECT_EQ(t.labels, (std::vector<int64_t>{1, 3, 0, 2, 0, 1}));
  EXPECT_EQ(t.matched, (std::vector<int64_t>{0, 2, -1, 1, -1, 0}));
  for (int q = 0; q < 4; ++q) {
    EXPECT_EQ(t.loc[2 * 4 + q], 0.0F);  // background boxes carry zero offsets
    EXPECT_EQ(t.loc[0 * 4 + q], 0.0F);  // A equals d0
  }
  // Two identical ground truths: the forced box goes to the later one, the others to the first.
  const SsdTargets u = ssd_encode(c, b, {{0, 0, 0.5, 0.5}, {0, 0, 0.5, 0.5}}, {1, 2});
  EXPECT_EQ(u.labels[0], 2);
  EXPECT_EQ(u.labels[5], 1);
  EXPECT_EQ(u.labels[4], 0);
  // Nothing to match: all background.
  const SsdTargets e = ssd_encode(c, b, {}, {});
  EXPECT_EQ(e.labels, std::vector<int64_t>(6, 0));
  // Bad input is named.
  EXPECT_THROW((void)ssd_encode(c, b, {{0, 0, 0.5, 0.5}}, {5}), Error);
  EXPECT_THROW((void)ssd_encode(c, b, {{0.5, 0, 0.5, 0.5}}, {1}), Error);
  EXPECT_THROW((void)ssd_encode(c, b, {{0, 0, 0.5, 0.5}}, {}), Error);
}

TEST(SsdEncode, OffsetsByHand) {
  const SsdConfig c = hand_config(2);
  const SsdDefaultBoxes b = hand_boxes({{0.25F, 0.25F, 0.5F, 0.5F}});
  // centre (0.3, 0.35), size 0.4 × 0.5: (0.05/0.5)/0.1, (0.1/0.5)/0.1, log(0.8)/0.2, log(1)/0.2
  const SsdTargets t = ssd_encode(c, b, {{0.1, 0.1, 0.5, 0.6}}, {1});
  ASSERT_EQ(t.labels[0], 1);
  EXPECT_NEAR(t.loc[0], 1.0, 1e-6);
  EXPECT_NEAR(t.loc[1], 2.0, 1e-6);
  EXPECT_NEAR(t.loc[2], 5.0 * std::log(0.8), 1e-6);
  EXPECT_NEAR(t.loc[3], 0.0, 1e-6);
}

TEST(SsdEncode, DecodeInvertsEncode) {
  const SsdConfig c = make_model_spec("ssd", "paper").ssd;
  const SsdDefaultBoxes b = make_default_boxes(c);
  const std::vector<SsdBox> gt = {
      {0.1, 0.2, 0.35, 0.5}, {0.5, 0.05, 0.98, 0.9}, {0.0, 0.6, 0.08, 0.7}, {0.4, 0.4, 0.42, 0.43}};
  const SsdTargets t = ssd_encode(c, b, gt, {3, 17, 80, 1});
  std::set<int64_t> matched;
  int64_t positives = 0;
  for (int64_t d = 0; d < b.size(); ++d) {
    if (t.labels[static_cast<size_t>(d)] == 0) continue;
    ++positives;
    const auto j = static_cast<size_t>(t.matched[static_cast<size_t>(d)]);
    matched.insert(static_cast<int64_t>(j));
    const SsdBox r = ssd_decode_box(c, b.xywh[static_cast<size_t>(d)], &t.loc[d * 4]);
    for (int q = 0; q < 4; ++q) {
      ASSERT_NEAR(r[q], gt[j][q], 2e-6) << d;
    }
  }
  EXPECT_EQ(matched.size(), 4U);  // every ground truth has a box (the tiny one by force)
  EXPECT_GT(positives, 4);
}

// ---- decoding and NMS
// ----------------------------------------------------------------------------

// Rows of D boxes × (4 zero offsets + class logits = log of the given probabilities).
std::vector<float> rows_of(const std::vector<std::vector<double>>& probs) {
  std::vector<float> out;
  for (const auto& p : probs) {
    out.insert(out.end(), {0, 0, 0, 0});
    for (double v : p) out.push_back(static_cast<float>(std::log(v)));
  }
  return out;
}

const SsdDefaultBoxes& nms_boxes() {
  static const SsdDefaultBoxes b = hand_boxes({
      {0.25F, 0.25F, 0.5F, 0.5F},      // d0 [0, 0, .5, .5]
      {0.25F, 0.1875F, 0.5F, 0.375F},  // d1 [0, 0, .5, .375]: IoU 0.75 with d0
      {0.75F, 0.75F, 0.5F, 0.5F},      // d2 [.5, .5, 1, 1]: disjoint
      {0.25F, 0.5F, 0.5F, 0.5F},       // d3 [0, .25, .5, .75]: IoU 1/3 with d0
      {0.25F, 0.125F, 0.5F, 0.25F},    // d4 [0, 0, .5, .25]: IoU exactly 0.5 with d0
  });
  return b;
}

TEST(SsdDetect, SuppressionThresholdAndOrder) {
  const SsdConfig c = hand_config(3);
  const std::vector<float> rows = rows_of({{0.1, 0.9, 0.0001},
                                           {0.2, 0.8, 0.0001},
                                           {0.3, 0.7, 0.0001},
                                           {0.4, 0.6, 0.0001},
                                           {0.5, 0.5, 0.0001}});
  const auto det = ssd_detect(c, nms_boxes(), rows.data());
  // d1 (0.75) and d4 (exactly 0.5: DLE keeps IoU < 0.5 only) fall to d0; d3 (1/3) stays
  ASSERT_EQ(det.size(), 3U);
  EXPECT_EQ(det[0].box, 0);
  EXPECT_EQ(det[1].box, 2);
  EXPECT_EQ(det[2].box, 3);
  EXPECT_NEAR(det[0].score, 0.9, 1e-3);
  EXPECT_EQ(det[0].label, 1);
  EXPECT_NEAR(det[0].ltrb[2], 0.5, 1e-7);
  EXPECT_NEAR(det[2].ltrb[3], 0.75, 1e-7);
}

TEST(SsdDetect, ClassesAreSuppressedSeparately) {
  const SsdConfig c = hand_config(3);
  // d0 and d1 overlap; d0 is class 1, d1 class 2: both kept. d2 is both classes at once (tie).
  const std::vector<float> rows = rows_of({{0.11, 0.85, 0.04},
                                           {0.16, 0.04, 0.8},
                                           {0.1, 0.45, 0.45},
                                           {0.98, 0.01, 0.01},
                                           {0.98, 0.01, 0.01}});
  const auto det = ssd_detect(c, nms_boxes(), rows.data());
  ASSERT_EQ(det.size(), 4U);
  EXPECT_EQ(det[0].box, 0);
  EXPECT_EQ(det[0].label, 1);
  EXPECT_EQ(det[1].box, 1);
  EXPECT_EQ(det[1].label, 2);
  // the tie: class 1 before class 2
  EXPECT_EQ(det[2].box, 2);
  EXPECT_EQ(det[2].label, 1);
  EXPECT_EQ(det[3].box, 2);
  EXPECT_EQ(det[3].label, 2);
}

TEST(SsdDetect, ScoreThresholdTopKAndMaxDetections) {
  SsdConfig c = hand_config(3);
  // 0.04 is below the 0.05 threshold; 0.06 above
  std::vector<float> rows = rows_of({{0.96, 0.04, 0.0001},
                                     {0.94, 0.06, 0.0001},
                                     {0.3, 0.7, 0.0001},
                                     {0.5, 0.2, 0.3},
                                     {0.99, 0.0099, 0.0001}});
  auto det = ssd_detect(c, nms_boxes(), rows.data());
  ASSERT_EQ(det.size(), 4U);  // d2 (0.7), d3 class 2 (0.3), d3 class 1 (0.2), d1 (0.06)
  EXPECT_EQ(det[0].box, 2);
  EXPECT_EQ(det[1].box, 3);
  EXPECT_EQ(det[1].label, 2);
  EXPECT_EQ(det[2].box, 3);
  EXPECT_EQ(det[2].label, 1);
  EXPECT_EQ(det[3].box, 1);
  c.max_detections = 2;
  det = ssd_detect(c, nms_boxes(), rows.data());
  ASSERT_EQ(det.size(), 2U);
  EXPECT_EQ(det[1].box, 3);
  c.max_detections = 200;
  c.nms_top_k = 1;  // per class, before NMS
  det = ssd_detect(c, nms_boxes(), rows.data());
  ASSERT_EQ(det.size(), 2U);
  EXPECT_EQ(det[0].box, 2);
  EXPECT_EQ(det[0].label, 1);
  EXPECT_EQ(det[1].label, 2);
}

TEST(SsdDetect, EqualScoresKeepTheLowerDefaultBox) {
  const SsdConfig c = hand_config(2);
  // d0 and d1 overlap with equal scores: d0 (lower index) survives
  const std::vector<float> rows =
      rows_of({{0.2, 0.8}, {0.2, 0.8}, {0.9, 0.1}, {0.9, 0.1}, {0.9, 0.1}});
  const auto det = ssd_detect(c, nms_boxes(), rows.data());
  ASSERT_GE(det.size(), 1U);
  EXPECT_EQ(det[0].box, 0);
  for (const auto& d : det) EXPECT_NE(d.box, 1);
  // non-finite boxes are dropped
  std::vector<float> bad = rows;
  bad[0] = NAN;
  const auto det2 = ssd_detect(c, nms_boxes(), bad.data());
  ASSERT_FALSE(det2.empty());
  EXPECT_EQ(det2[0].box, 1);
}

// ---- loss
// ----------------------------------------------------------------------------------------

TEST(SsdLoss, HardNegativesBreakTiesByIndex) {
  // one positive (d0), so 3 negatives: d2 (largest), then d1, d3 and d4 tie: d1 and d3 win
  const std::vector<double> con = {5.0, 1.0, 2.0, 1.0, 1.0, 0.5};
  const std::vector<int64_t> labels = {2, 0, 0, 0, 0, 0};
  EXPECT_EQ(ssd_hard_negatives(con, labels.data(), 3), (std::vector<uint8_t>{0, 1, 1, 1, 0, 0}));
  // more negatives wanted than exist: all negatives (positives not marked)
  const std::vector<int64_t> many = {1, 1, 0, 1, 0, 1};
  EXPECT_EQ(ssd_hard_negatives(con, many.data(), 3), (std::vector<uint8_t>{0, 0, 1, 0, 1, 0}));
  // no positive: no negative
  const std::vector<int64_t> none(6, 0);
  EXPECT_EQ(ssd_hard_negatives(con, none.data(), 3), std::vector<uint8_t>(6, 0));
}

TEST(SsdLoss, ByHand) {
  SsdConfig c = hand_config(2);
  c.neg_pos_ratio = 1;
  // two images of D = 3; image 0: d0 positive (class 1), image 1: no positive (loss 0)
  HostTensor pred{HostTensor::DType::kF32, {2, 3, 6}, {}, {}};
  pred.f32 = {0.5F, -2.0F, 0, 0, 0, 0,  // d0: loc, logits (0, 0): CE log 2
              0,    0,     0, 0, 2, 0,  // d1: CE of class 0 = log(1 + e^-2)
              0,    0,     0, 0, 0, 1,  // d2: CE = log(1 + e)  (the hard negative)
              0,    0,     0, 0, 0, 9, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 9};
  HostTensor loc{HostTensor::DType::kF32, {2, 3, 4}, std::vector<float>(24, 0.0F), {}};
  HostTensor lab{HostTensor::DType::kI64, {2, 3}, {}, {1, 0, 0, 0, 0, 0}};
  const std::vector<double> l = ssd_image_losses(c, pred, loc, lab);
  ASSERT_EQ(l.size(), 2U);
  // smooth L1: 0.5·0.5² + (2 − 0.5)
  const double expected = 0.125 + 1.5 + std::log(2.0) + std::log(1.0 + std::exp(1.0));
  EXPECT_NEAR(l[0], expected, 1e-12);
  EXPECT_EQ(l[1], 0.0);
  lab.i64[1] = 2;  // class outside 0 … 1
  EXPECT_THROW((void)ssd_image_losses(c, pred, loc, lab), Error);
}

// ---- task data ---------------------------------------------------------------------------------

HostTensor predictions_from_targets(const Batch& b, int64_t classes, bool perfect) {
  const HostTensor& loc = b.get("loc_targets");
  const HostTensor& lab = b.get("label_targets");
  const int64_t n = lab.shape[0];
  const int64_t d = lab.shape[1];
  HostTensor out{HostTensor::DType::kF32, {n, d, 4 + classes}, {}, {}};
  out.f32.assign(static_cast<size_t>(n * d * (4 + classes)), 0.0F);
  for (int64_t i = 0; i < n * d; ++i) {
    float* r = out.f32.data() + i * (4 + classes);
    for (int q = 0; q < 4; ++q) r[q] = loc.f32[static_cast<size_t>(i * 4 + q)];
    r[4 + (perfect ? lab.i64[static_cast<size_t>(i)] : 0)] = 30.0F;
  }
  return out;
}

TEST(SsdTaskData, BatchesFollowTheLayout) {
  const ModelSpec s = make_model_spec("ssd", "tiny");
  const auto data = make_task_data(s, 11);
  const Batch t = data->train_batch(3);
  const int64_t d = s.ssd.num_default_boxes();
  ASSERT_EQ(t.inputs.size(), 3U);
  EXPECT_EQ(t.get("images").shape, (std::vector<int64_t>{16, 3, 64, 64}));
  EXPECT_EQ(t.get("loc_targets").shape, (std::vector<int64_t>{16, d, 4}));
  EXPECT_EQ(t.get("label_targets").shape, (std::vector<int64_t>{16, d}));
  EXPECT_EQ(batch_bytes(t), batch_bytes(s, false));
  const Batch e = data->eval_batch(1);
  EXPECT_EQ(batch_bytes(e), batch_bytes(s, true));
  EXPECT_EQ(data->samples_in(t), 16);
  EXPECT_EQ(data->samples_in(e), 16);
  // every image has positives, and the targets are those of its own ground truth
  const auto& lab = t.get("label_targets").i64;
  for (int64_t i = 0; i < 16; ++i) {
    EXPECT_GT(std::count_if(lab.begin() + i * d, lab.begin() + (i + 1) * d,
                            [](int64_t y) { return y > 0; }),
              0);
  }
  // pure function of the index
  EXPECT_EQ(data->train_batch(3).get("loc_targets").f32, t.get("loc_targets").f32);
  EXPECT_NE(data->train_batch(4).get("images").f32, t.get("images").f32);
  const Batch m = data->metric_inputs(data->eval_batch(0));
  EXPECT_THROW((void)m.get("images"), Error);
  EXPECT_NO_THROW((void)m.get("boxes"));
}

std::vector<std::pair<std::string, double>> evaluate(TaskData& data, int64_t classes,
                                                     bool perfect) {
  data.begin_eval();
  for (int64_t i = 0; i < data.eval_batch_count(); ++i) {
    const Batch b = data.metric_inputs(data.eval_batch(i));
    data.add_eval(b, predictions_from_targets(b, classes, perfect));
  }
  return data.quality();
}

TEST(SsdTaskData, PerfectPredictionsScoreOneAndEmptyZero) {
  const ModelSpec s = make_model_spec("ssd", "tiny");
  auto data = make_task_data(s, 5);
  auto q = evaluate(*data, s.ssd.num_classes, true);
  ASSERT_EQ(q.size(), 4U);
  EXPECT_EQ(q[0].first, "map");
  EXPECT_DOUBLE_EQ(q[0].second, 1.0);
  EXPECT_EQ(q[1].first, "map50");
  EXPECT_DOUBLE_EQ(q[1].second, 1.0);
  EXPECT_EQ(q[3].first, "eval_loss");
  EXPECT_LT(q[3].second, 1e-6);
  q = evaluate(*data, s.ssd.num_classes, false);
  EXPECT_EQ(q[0].second, 0.0);
  EXPECT_NEAR(q[3].second, 30.0, 1e-3);  // every positive costs 30 nats, negatives ~0
}

TEST(SsdTaskData, AGroundTruthThatLosesItsForcedBoxIsMissedAsInDle) {
  // small, evaluation image 54 (seed 5): its object 3 shares its best default box with a later
  // object and overlaps no other box by more than 0.5, so it gets no target at all (DLE's
  // Encoder.encode does the same) and even perfect predictions miss it.
  ModelSpec s = make_model_spec("ssd", "small");
  s.eval_batches = 2;
  auto data = make_task_data(s, 5);
  const Batch b = data->eval_batch(1);
  const int64_t m = s.ssd.data.max_objects;
  std::vector<SsdBox> gt;
  std::vector<int64_t> classes;
  for (int64_t j = 0; j < m; ++j) {
    const int64_t y = b.get("classes").i64[static_cast<size_t>(22 * m + j)];
    if (y < 0) continue;
    const float* q = b.get("boxes").f32.data() + (22 * m + j) * 4;
    gt.push_back({q[0] / 128.0, q[1] / 128.0, q[2] / 128.0, q[3] / 128.0});
    classes.push_back(y);
  }
  ASSERT_GT(gt.size(), 3U);
  const SsdTargets t = ssd_encode(s.ssd, make_default_boxes(s.ssd), gt, classes);
  EXPECT_EQ(std::count(t.matched.begin(), t.matched.end(), 3), 0);
  for (size_t j = 0; j < gt.size(); ++j) {
    if (j != 3) EXPECT_GT(std::count(t.matched.begin(), t.matched.end(), j), 0) << j;
  }
  const auto q = evaluate(*data, s.ssd.num_classes, true);
  EXPECT_LT(q[0].second, 1.0);
  EXPECT_GT(q[0].second, 0.99);
}

TEST(SsdTaskData, WrongPredictionShapeIsNamed) {
  const ModelSpec s = make_model_spec("ssd", "tiny");
  auto data = make_task_data(s, 5);
  data->begin_eval();
  const Batch b = data->metric_inputs(data->eval_batch(0));
  HostTensor bad{HostTensor::DType::kF32, {16, 10, 8}, std::vector<float>(16 * 10 * 8), {}};
  try {
    data->add_eval(b, bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ssd predictions"), std::string::npos);
  }
}

}  // namespace
}  // namespace greenbench::workloads
