// Mask R-CNN's host round trip (common/mask_rcnn_step.hpp): the flat arrays both workers feed
// their frameworks must give back, reduced as the RcnnTrainTargets contract says, exactly the
// reference losses of the per-image host code, and the poolings must be RoIAlign.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/data.hpp"
#include "common/mask_rcnn_boxes.hpp"
#include "common/mask_rcnn_step.hpp"
#include "common/models.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

std::vector<float> seeded(size_t n, uint64_t seed, double scale) {
  Rng rng(seed, 7);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.normal() * scale);
  return v;
}

double smooth_l1(double x) {
  const double beta = 1.0 / 9.0;
  const double a = std::abs(x);
  return a < beta ? 0.5 * x * x / beta : a - 0.5 * beta;
}

double bce(double z, double y) {
  return std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
}

// What a framework computes from the flat arrays: out[r, cell, c] of a channels-last table.
std::vector<double> pool(const RcnnPooling& p, const std::vector<float>& table, int64_t c) {
  std::vector<double> out(static_cast<size_t>(p.rois * p.cells * c), 0.0);
  for (int64_t rc = 0; rc < p.rois * p.cells; ++rc) {
    for (int64_t e = 0; e < p.entries; ++e) {
      const auto i = static_cast<size_t>(rc * p.entries + e);
      for (int64_t ch = 0; ch < c; ++ch) {
        out[static_cast<size_t>(rc * c + ch)] +=
            double{p.weight[i]} * table[static_cast<size_t>(p.index[i] * c + ch)];
      }
    }
  }
  return out;
}

class MaskRcnnStep : public ::testing::Test {
 protected:
  void SetUp() override {
    spec_ = make_model_spec("mask_rcnn", "tiny");
    config_ = spec_.mask_rcnn;
    data_ = make_task_data(spec_, 11);
    batch_ = data_->train_batch(2);
    truth_ = rcnn_ground_truth(config_, batch_);
    anchors_ = rcnn_anchors(config_);
  }
  ModelSpec spec_;
  MaskRcnnConfig config_;
  std::unique_ptr<TaskData> data_;
  Batch batch_;
  std::vector<RcnnGroundTruth> truth_;
  RcnnAnchors anchors_;
};

TEST_F(MaskRcnnStep, GroundTruthDropsThePaddingAndRefusesBadClasses) {
  const HostTensor& classes = batch_.get("classes");
  const int64_t m = classes.shape[1];
  ASSERT_EQ(truth_.size(), static_cast<size_t>(spec_.batch_size));
  const int64_t plane = config_.data.height * config_.data.width;
  for (size_t n = 0; n < truth_.size(); ++n) {
    int64_t objects = 0;
    for (int64_t j = 0; j < m; ++j) objects += classes.i64[n * m + j] >= 0 ? 1 : 0;
    EXPECT_EQ(static_cast<int64_t>(truth_[n].boxes.size()), objects);
    EXPECT_EQ(truth_[n].classes.size(), truth_[n].boxes.size());
    EXPECT_EQ(static_cast<int64_t>(truth_[n].masks.size()), objects * plane);
    ASSERT_GT(objects, 0);
    EXPECT_EQ(truth_[n].boxes[0][0], batch_.get("boxes").f32[n * m * 4]);
  }
  Batch bad = batch_;
  for (auto& [name, t] : bad.inputs) {
    if (name == "classes") t.i64[0] = config_.num_classes;
  }
  EXPECT_THROW((void)rcnn_ground_truth(config_, bad), Error);
}

TEST_F(MaskRcnnStep, TheFeatureTableStacksLevelsThenImagesThenRows) {
  const RcnnFeatureTable t = rcnn_feature_table(config_, 3);
  const auto sizes = config_.feature_sizes();
  ASSERT_EQ(t.level_offset.size(), 4U);
  EXPECT_EQ(t.level_offset[0], 0);
  EXPECT_EQ(t.level_offset[1], 3 * sizes[0][0] * sizes[0][1]);
  EXPECT_EQ(t.rows, t.level_offset[3] + 3 * sizes[3][0] * sizes[3][1]);
}

TEST_F(MaskRcnnStep, PoolingIsRoiAlignOnTheMappedLevelOfTheRightImage) {
  const int64_t images = 2;
  const int64_t c = 3;
  const RcnnFeatureTable t = rcnn_feature_table(config_, images);
  const std::vector<float> table = seeded(static_cast<size_t>(t.rows * c), 5, 1.0);
  // Boxes of every level (small to large), one across the border, on both images.
  const std::vector<RcnnBox> boxes = {{3.0, 4.0, 9.5, 12.0},
                                      {10.0, 8.0, 40.0, 30.0},
                                      {0.0, 0.0, 63.0, 63.0},
                                      {-5.0, 50.0, 20.0, 70.0},
                                      {30.5, 2.25, 31.0, 3.0}};
  const std::vector<int64_t> image = {1, 0, 1, 0, 1};
  const auto sizes = config_.feature_sizes();
  for (int64_t out : {config_.box_pool, config_.mask_pool}) {
    const RcnnPooling p = rcnn_pooling(config_, t, image, boxes, out);
    EXPECT_EQ(p.rois, 5);
    EXPECT_EQ(p.cells, out * out);
    EXPECT_EQ(p.entries, 16);
    const std::vector<double> got = pool(p, table, c);
    std::vector<bool> level_seen(4, false);
    for (size_t r = 0; r < boxes.size(); ++r) {
      const auto k = static_cast<size_t>(
          rcnn_roi_level(boxes[r], config_.canonical_scale, config_.canonical_level));
      level_seen[k] = true;
      const int64_t h = sizes[k][0];
      const int64_t w = sizes[k][1];
      // The image's level map in [c, h, w], from the channels-last table.
      std::vector<float> map(static_cast<size_t>(c * h * w));
      for (int64_t y = 0; y < h * w; ++y) {
        for (int64_t ch = 0; ch < c; ++ch) {
          map[static_cast<size_t>(ch * h * w + y)] =
              table[static_cast<size_t>((t.level_offset[k] + image[r] * h * w + y) * c + ch)];
        }
      }
      std::vector<float> want(static_cast<size_t>(c * out * out));
      rcnn_roi_align(map.data(), c, h, w, boxes[r], std::ldexp(1.0, -static_cast<int>(k + 2)), out,
                     out, config_.sampling_ratio, want.data());
      for (int64_t cell = 0; cell < out * out; ++cell) {
        for (int64_t ch = 0; ch < c; ++ch) {
          EXPECT_NEAR(
              got[static_cast<size_t>((static_cast<int64_t>(r) * out * out + cell) * c + ch)],
              want[static_cast<size_t>(ch * out * out + cell)], 1e-5)
              << "roi " << r << " cell " << cell;
        }
      }
    }
    EXPECT_GE(std::count(level_seen.begin(), level_seen.end(), true), 3);
  }
  EXPECT_THROW((void)rcnn_pooling(config_, t, {0}, boxes, 7), Error);
}

TEST_F(MaskRcnnStep, FlatTrainingTargetsGiveTheReferenceLosses) {
  const auto a = static_cast<int64_t>(anchors_.boxes.size());
  const auto n = static_cast<int64_t>(truth_.size());
  const int64_t k = config_.num_classes;
  const int64_t m = config_.mask_resolution;
  // RPN outputs that make proposals near the objects likely: small deltas, seeded logits.
  const std::vector<float> objectness = seeded(static_cast<size_t>(n * a), 1, 2.0);
  const std::vector<float> deltas = seeded(static_cast<size_t>(n * a * 4), 2, 0.1);
  const RcnnFeatureTable table = rcnn_feature_table(config_, n);
  const uint64_t seed = 3;
  const int64_t step = 4;
  const RcnnTrainTargets t = rcnn_train_targets(config_, anchors_, table, truth_, objectness.data(),
                                                deltas.data(), seed, step);
  // The reference: per image, the same host steps in the documented order.
  std::vector<RcnnRpnTargets> rpn_targets;
  std::vector<RcnnSample> rpn_samples;
  std::vector<RcnnRoiTargets> roi_targets;
  std::vector<int64_t> positive_labels;
  std::vector<float> mask_targets;
  for (int64_t i = 0; i < n; ++i) {
    const RcnnGroundTruth& gt = truth_[static_cast<size_t>(i)];
    Rng rng = rcnn_sampler_rng(seed, step, i);
    rpn_targets.push_back(rcnn_rpn_targets(config_, anchors_, gt.boxes));
    rpn_samples.push_back(rcnn_sample(rpn_targets.back().labels, config_.rpn_batch_per_image,
                                      config_.rpn_positive_fraction, rng));
    const RcnnProposals p = rcnn_select_proposals(config_, anchors_, objectness.data() + i * a,
                                                  deltas.data() + i * a * 4, true);
    roi_targets.push_back(rcnn_roi_targets(config_, p.boxes, gt.boxes, gt.classes, rng));
    const RcnnRoiTargets& r = roi_targets.back();
    for (size_t j = 0; j < r.labels.size(); ++j) {
      if (r.labels[j] == 0) continue;
      positive_labels.push_back(r.labels[j]);
      const std::vector<float> mt = rcnn_mask_target(
          gt.masks.data() + r.matched[j] * config_.data.height * config_.data.width,
          config_.data.height, config_.data.width, r.rois[j], m);
      mask_targets.insert(mask_targets.end(), mt.begin(), mt.end());
    }
  }
  // Seeded head outputs for the sampled RoIs and the positives' masks.
  const int64_t q = t.box_pooling.rois;
  const int64_t qp = t.mask_pooling.rois;
  ASSERT_GT(qp, 0);
  EXPECT_EQ(q, static_cast<int64_t>(t.roi_labels.size()));
  EXPECT_EQ(qp, static_cast<int64_t>(positive_labels.size()));
  EXPECT_EQ(t.mask_targets, mask_targets);
  const std::vector<float> class_logits = seeded(static_cast<size_t>(q * k), 3, 1.0);
  const std::vector<float> box_deltas = seeded(static_cast<size_t>(q * 4 * k), 4, 0.5);
  const std::vector<float> mask_logits = seeded(static_cast<size_t>(qp * k * m * m), 5, 1.0);

  // The contract's reductions over the flat arrays.
  double rpn_obj = 0.0;
  for (size_t i = 0; i < t.rpn_sampled.size(); ++i) {
    rpn_obj += bce(objectness[static_cast<size_t>(t.rpn_sampled[i])], t.rpn_labels[i]);
  }
  double rpn_box = 0.0;
  for (size_t i = 0; i < t.rpn_positive.size(); ++i) {
    for (size_t c = 0; c < 4; ++c) {
      rpn_box += smooth_l1(double{deltas[static_cast<size_t>(t.rpn_positive[i] * 4) + c]} -
                           t.rpn_regression[i * 4 + c]);
    }
  }
  double ce = 0.0;
  for (int64_t r = 0; r < q; ++r) {
    const float* z = class_logits.data() + r * k;
    double sum = 0.0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(double{z[j]});
    ce += std::log(sum) - z[t.roi_labels[static_cast<size_t>(r)]];
  }
  double box = 0.0;
  for (size_t i = 0; i < t.box_positive.size(); ++i) {
    for (size_t c = 0; c < 4; ++c) {
      box += smooth_l1(double{box_deltas[static_cast<size_t>(t.box_positive[i] * 4) + c]} -
                       t.box_regression[i * 4 + c]);
    }
  }
  double mask = 0.0;
  for (size_t p = 0; p < t.mask_channel.size(); ++p) {
    for (int64_t i = 0; i < m * m; ++i) {
      mask += bce(mask_logits[static_cast<size_t>(t.mask_channel[p] * m * m + i)],
                  t.mask_targets[p * static_cast<size_t>(m * m) + static_cast<size_t>(i)]);
    }
  }
  const auto rpn_ref = rcnn_rpn_loss(objectness.data(), deltas.data(), a, rpn_targets, rpn_samples);
  const auto box_ref = rcnn_box_loss(class_logits.data(), box_deltas.data(), k, roi_targets);
  const double mask_ref = rcnn_mask_loss(mask_logits.data(), k, m, positive_labels, mask_targets);
  EXPECT_NEAR(rpn_obj / t.rpn_count, rpn_ref[0], 1e-9 * rpn_ref[0]);
  EXPECT_NEAR(rpn_box / t.rpn_count, rpn_ref[1], 1e-9 * rpn_ref[1] + 1e-12);
  EXPECT_NEAR(ce / t.roi_count, box_ref[0], 1e-9 * box_ref[0]);
  EXPECT_NEAR(box / t.roi_count, box_ref[1], 1e-9 * box_ref[1]);
  EXPECT_NEAR(mask / t.mask_count, mask_ref, 1e-9 * mask_ref);
  EXPECT_GT(rpn_box, 0.0);
  // The quotas: every image samples rpn_batch_per_image anchors (tiny has enough negatives).
  EXPECT_EQ(t.rpn_count, static_cast<float>(n * config_.rpn_batch_per_image));
  EXPECT_EQ(t.mask_count, static_cast<float>(qp * m * m));
  // A pure function of its inputs; another step samples differently.
  const RcnnTrainTargets again = rcnn_train_targets(config_, anchors_, table, truth_,
                                                    objectness.data(), deltas.data(), seed, step);
  EXPECT_EQ(again.rpn_sampled, t.rpn_sampled);
  EXPECT_EQ(again.box_pooling.index, t.box_pooling.index);
  const RcnnTrainTargets other = rcnn_train_targets(
      config_, anchors_, table, truth_, objectness.data(), deltas.data(), seed, step + 1);
  EXPECT_NE(other.rpn_sampled, t.rpn_sampled);
}

TEST_F(MaskRcnnStep, WithoutObjectsEveryDivisorStaysAtLeastOne) {
  std::vector<RcnnGroundTruth> empty(2);
  const auto a = static_cast<int64_t>(anchors_.boxes.size());
  const std::vector<float> objectness = seeded(static_cast<size_t>(2 * a), 1, 2.0);
  const std::vector<float> deltas = seeded(static_cast<size_t>(2 * a * 4), 2, 0.1);
  const RcnnTrainTargets t = rcnn_train_targets(config_, anchors_, rcnn_feature_table(config_, 2),
                                                empty, objectness.data(), deltas.data(), 1, 0);
  EXPECT_TRUE(t.rpn_positive.empty());
  EXPECT_TRUE(t.box_positive.empty());
  EXPECT_EQ(t.mask_pooling.rois, 0);
  EXPECT_EQ(t.mask_count, 1.0F);
  EXPECT_EQ(t.rpn_count, static_cast<float>(2 * config_.rpn_batch_per_image));
  EXPECT_TRUE(
      std::all_of(t.roi_labels.begin(), t.roi_labels.end(), [](int64_t l) { return l == 0; }));
}

TEST_F(MaskRcnnStep, InferenceRoundTripsGiveDetectionsMaskChannelsAndPredictions) {
  const int64_t n = spec_.eval_batch_size;
  ASSERT_GE(n, 2);
  const auto a = static_cast<int64_t>(anchors_.boxes.size());
  const int64_t k = config_.num_classes;
  const int64_t m = config_.mask_resolution;
  const std::vector<float> objectness = seeded(static_cast<size_t>(n * a), 6, 2.0);
  const std::vector<float> deltas = seeded(static_cast<size_t>(n * a * 4), 7, 0.1);
  const RcnnFeatureTable table = rcnn_feature_table(config_, n);
  const RcnnInferenceRois rois =
      rcnn_inference_rois(config_, anchors_, table, n, objectness.data(), deltas.data());
  ASSERT_EQ(rois.proposals.size(), static_cast<size_t>(n));
  const int64_t r = rois.box_pooling.rois;
  int64_t proposals = 0;
  for (const auto& p : rois.proposals) proposals += static_cast<int64_t>(p.size());
  EXPECT_EQ(r, proposals);
  EXPECT_LE(static_cast<int64_t>(rois.proposals[0].size()), config_.rpn_post_nms_top_n_test);
  // Logits that favour class 2 strongly for the first image's proposals.
  std::vector<float> class_logits = seeded(static_cast<size_t>(r * k), 8, 1.0);
  for (size_t i = 0; i < rois.proposals[0].size(); ++i) class_logits[i * k + 2] += 6.0F;
  const std::vector<float> box_deltas = seeded(static_cast<size_t>(r * 4 * k), 9, 0.2);
  const RcnnInferenceDetections det =
      rcnn_inference_detections(config_, table, rois, class_logits.data(), box_deltas.data());
  ASSERT_EQ(det.detections.size(), static_cast<size_t>(n));
  ASSERT_FALSE(det.detections[0].empty());
  EXPECT_EQ(det.detections[0][0].label, 2);
  int64_t d = 0;
  for (const auto& x : det.detections) d += static_cast<int64_t>(x.size());
  EXPECT_EQ(det.mask_pooling.rois, d);
  ASSERT_EQ(static_cast<int64_t>(det.mask_channel.size()), d);
  EXPECT_EQ(det.mask_channel[0], det.detections[0][0].label);
  // Per image, rcnn_detect on its own proposals and logits.
  const std::vector<RcnnDetection> second =
      rcnn_detect(config_, rois.proposals[1],
                  class_logits.data() + static_cast<int64_t>(rois.proposals[0].size()) * k,
                  box_deltas.data() + static_cast<int64_t>(rois.proposals[0].size()) * 4 * k);
  ASSERT_EQ(second.size(), det.detections[1].size());
  for (size_t i = 0; i < second.size(); ++i) EXPECT_EQ(second[i].box, det.detections[1][i].box);

  const std::vector<float> mask_logits = seeded(static_cast<size_t>(d * m * m), 10, 2.0);
  const HostTensor pred = rcnn_predictions(config_, det, mask_logits.data());
  const int64_t width = rcnn_prediction_width(config_);
  ASSERT_EQ(pred.shape, (std::vector<int64_t>{n, config_.detections_per_image, width}));
  const RcnnDetection& first = det.detections[0][0];
  EXPECT_EQ(pred.f32[0], static_cast<float>(first.box[0]));
  EXPECT_EQ(pred.f32[4], static_cast<float>(first.score));
  EXPECT_EQ(pred.f32[5], 2.0F);
  EXPECT_FLOAT_EQ(pred.f32[6], 1.0F / (1.0F + std::exp(-mask_logits[0])));
  // The first row past the first image's detections is empty.
  const auto empty_row = static_cast<size_t>(det.detections[0].size()) * width;
  if (det.detections[0].size() < static_cast<size_t>(config_.detections_per_image)) {
    EXPECT_TRUE(std::all_of(pred.f32.begin() + empty_row, pred.f32.begin() + empty_row + width,
                            [](float v) { return v == 0.0F; }));
  }
  // The task scores them (random heads: some AP, far from perfect).
  data_->begin_eval();
  data_->add_eval(data_->metric_inputs(data_->eval_batch(0)), pred);
  for (const auto& [name, value] : data_->quality()) {
    if (name.rfind("map", 0) == 0) {
      EXPECT_GE(value, 0.0) << name;
      EXPECT_LT(value, 0.5) << name;
    }
  }
}

}  // namespace
}  // namespace greenbench::workloads
