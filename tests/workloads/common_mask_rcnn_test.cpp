// Mask R-CNN's shared half (MODELS.md, "Mask R-CNN"): the spec and its parameter counts per preset,
// initial weights, the data batches, the deterministic sampler, and the task's box and mask AP.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/mask_rcnn_boxes.hpp"
#include "common/models.hpp"
#include "common/weights.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

struct Counts {
  int64_t total = 0;      // every tensor (state dict), buffers included
  int64_t buffers = 0;    // batch-norm running statistics, FrozenBatchNorm's four tensors
  int64_t trainable = 0;  // optimised scalars
};

// The counts from the architecture's formula (MODELS.md), independent of the parameter list.
Counts formula_counts(const MaskRcnnConfig& c) {
  Counts n;
  const int64_t frozen_stages = 5 - c.trainable_backbone_layers;
  const auto conv = [&](int64_t numel, bool frozen) {
    n.total += numel;
    if (!frozen) n.trainable += numel;
  };
  const auto bn = [&](int64_t ch, bool frozen) {
    n.total += 4 * ch;
    n.buffers += (c.frozen_bn ? 4 : 2) * ch;
    if (!frozen && !c.frozen_bn) n.trainable += 2 * ch;
  };
  const int64_t w = c.base_width;
  conv(w * c.channels * 49, frozen_stages >= 1);
  bn(w, frozen_stages >= 1);
  int64_t in = w;
  std::vector<int64_t> outs;
  for (int64_t s = 0; s < 4; ++s) {
    const int64_t ws = w << s;
    const bool frozen = s + 2 <= frozen_stages;
    for (int64_t b = 0; b < c.blocks[static_cast<size_t>(s)]; ++b) {
      conv(in * ws + 9 * ws * ws + ws * 4 * ws, frozen);
      bn(ws, frozen);
      bn(ws, frozen);
      bn(4 * ws, frozen);
      if (b == 0) {
        conv(in * 4 * ws, frozen);
        bn(4 * ws, frozen);
      }
      in = 4 * ws;
    }
    outs.push_back(in);
  }
  const int64_t f = c.fpn_channels;
  const int64_t a = static_cast<int64_t>(c.aspect_ratios.size());
  const int64_t k = c.num_classes;
  const int64_t r = c.representation_size;
  int64_t heads = 0;
  for (int64_t o : outs) heads += o * f + f + 9 * f * f + f;  // FPN
  heads += 9 * f * f + f + a * f + a + 4 * a * f + 4 * a;     // RPN head
  heads += f * c.box_pool * c.box_pool * r + r + r * r + r;   // TwoMLPHead
  heads += k * r + k + 4 * k * r + 4 * k;                     // predictor
  int64_t d = f;
  for (int64_t l : c.mask_layers) {
    heads += d * l * 9 + l;
    d = l;
  }
  heads += d * d * 4 + d + k * d + k;  // deconv, 1×1 logits
  n.total += heads;
  n.trainable += heads;
  return n;
}

TEST(MaskRcnnSpec, IsAWorkerModel) {
  const auto& names = model_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "mask_rcnn"), names.end());
  EXPECT_EQ(make_model_spec("mask_rcnn", "tiny").model, "mask_rcnn");
}

TEST(MaskRcnnSpec, ParameterCountsFollowTheFormulaInEveryPreset) {
  for (const std::string& scale : scale_names()) {
    const ModelSpec s = make_model_spec("mask_rcnn", scale);
    const Counts want = formula_counts(s.mask_rcnn);
    int64_t total = 0;
    for (const ParamSpec& p : s.params) total += p.numel();
    EXPECT_EQ(total, want.total) << scale;
    EXPECT_EQ(s.trainable_parameter_count(), want.trainable) << scale;
  }
}

TEST(MaskRcnnSpec, PaperCountsAreTorchvisions) {
  // torchvision 0.29.2: maskrcnn_resnet50_fpn's layout with FrozenBatchNorm2d and
  // trainable_backbone_layers 3, 91 classes (mask_rcnn_reference.py): the state dict holds
  // 44,507,633 values; its parameters (frozen BN's tensors are buffers) 44,401,393, of which
  // 44,178,993 require gradients (conv1 and layer1 are frozen).
  const ModelSpec s = make_model_spec("mask_rcnn", "paper");
  const Counts n = formula_counts(s.mask_rcnn);
  EXPECT_EQ(n.total, 44507633);
  EXPECT_EQ(n.total - n.buffers, 44401393);
  EXPECT_EQ(s.trainable_parameter_count(), 44178993);
}

TEST(MaskRcnnSpec, PresetsFollowTheStudyAndShrink) {
  const ModelSpec paper = make_model_spec("mask_rcnn", "paper");
  const MaskRcnnConfig& c = paper.mask_rcnn;
  EXPECT_EQ(paper.batch_size, 4);
  EXPECT_EQ(paper.train_steps, 1000);
  EXPECT_EQ(paper.eval_batch_size, 1);
  EXPECT_EQ(c.data.height, 800);
  EXPECT_EQ(c.data.width, 1088);
  EXPECT_TRUE(c.frozen_bn);
  const std::vector<std::array<int64_t, 2>> want = {
      {200, 272}, {100, 136}, {50, 68}, {25, 34}, {13, 17}};
  EXPECT_EQ(c.feature_sizes(), want);
  const ModelSpec tiny = make_model_spec("mask_rcnn", "tiny");
  EXPECT_FALSE(tiny.mask_rcnn.frozen_bn);
  EXPECT_TRUE(tiny.mask_rcnn.data.with_masks);
  EXPECT_EQ(tiny.mask_rcnn.data.num_classes, tiny.mask_rcnn.num_classes - 1);
  const std::vector<std::array<int64_t, 2>> tiny_sizes = {{16, 16}, {8, 8}, {4, 4}, {2, 2}, {1, 1}};
  EXPECT_EQ(tiny.mask_rcnn.feature_sizes(), tiny_sizes);
  EXPECT_EQ(rcnn_anchors(tiny.mask_rcnn).boxes.size(), size_t{(256 + 64 + 16 + 4 + 1) * 3});
  EXPECT_LT(tiny.trainable_parameter_count(), paper.trainable_parameter_count() / 50);
  EXPECT_EQ(tiny.param("roi_heads.mask_predictor.conv5_mask.weight").shape,
            (std::vector<int64_t>{32, 32, 2, 2}));
  EXPECT_THROW((void)make_model_spec("mask_rcnn", "huge"), Error);
}

TEST(MaskRcnnWeights, InitialWeightsMatchTheSpecAndItsInitRules) {
  const ModelSpec s = make_model_spec("mask_rcnn", "small");
  const Weights w = make_initial_weights(s, 7);
  EXPECT_NO_THROW(check_weights(s, w, "mask_rcnn"));
  EXPECT_EQ(trainable_count(w), s.trainable_parameter_count());
  std::map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : w) by_name[t.name] = &t;
  const auto stats = [&](const std::string& name) {
    const std::vector<float>& v = by_name.at(name)->value.f32;
    double mean = 0.0;
    double sq = 0.0;
    double top = 0.0;
    for (float x : v) {
      mean += x;
      sq += double{x} * x;
      top = std::max(top, std::abs(double{x}));
    }
    mean /= static_cast<double>(v.size());
    return std::array<double, 3>{mean, std::sqrt(sq / static_cast<double>(v.size()) - mean * mean),
                                 top};
  };
  // RPN: N(0, 0.01²)
  EXPECT_NEAR(stats("rpn.head.conv.0.0.weight")[1], 0.01, 0.0005);
  // FPN: U(±sqrt(3/fan_in)), fan_in 9·64
  const double fpn_bound = std::sqrt(3.0 / (9.0 * 64.0));
  EXPECT_LE(stats("backbone.fpn.layer_blocks.0.0.weight")[2], fpn_bound);
  EXPECT_NEAR(stats("backbone.fpn.layer_blocks.0.0.weight")[1], fpn_bound / std::sqrt(3.0), 0.003);
  // Mask logits: kaiming fan_out std sqrt(2/K); deconv bias U(±1/sqrt(4·in)).
  EXPECT_NEAR(stats("roi_heads.mask_predictor.mask_fcn_logits.weight")[1], std::sqrt(2.0 / 13.0),
              0.03);
  EXPECT_LE(stats("roi_heads.mask_predictor.conv5_mask.bias")[2], 1.0 / std::sqrt(4.0 * 64.0));
  EXPECT_GT(stats("roi_heads.mask_predictor.conv5_mask.bias")[2], 0.0);
  EXPECT_EQ(stats("backbone.body.bn1.running_var")[0], 1.0);
  EXPECT_EQ(stats("rpn.head.bbox_pred.bias")[2], 0.0);
  // Same seed, same weights; another seed, other weights.
  const Weights again = make_initial_weights(s, 7);
  const Weights other = make_initial_weights(s, 8);
  EXPECT_EQ(again[0].value.f32, w[0].value.f32);
  EXPECT_NE(other[0].value.f32, w[0].value.f32);
}

TEST(MaskRcnnData, BatchesCarryMasksThatMatchTheirBoxes) {
  const ModelSpec s = make_model_spec("mask_rcnn", "tiny");
  const auto task = make_task_data(s, 3);
  const Batch b = task->train_batch(1);
  const DetectionConfig& d = s.mask_rcnn.data;
  const int64_t m = d.max_objects;
  EXPECT_EQ(b.get("images").shape, (std::vector<int64_t>{s.batch_size, 3, d.height, d.width}));
  EXPECT_EQ(b.get("masks").shape, (std::vector<int64_t>{s.batch_size, m, d.height, d.width}));
  EXPECT_EQ(batch_bytes(s, false), batch_bytes(b));
  EXPECT_EQ(batch_bytes(s, true), batch_bytes(task->eval_batch(0)));
  EXPECT_EQ(task->samples_in(b), s.batch_size);
  const HostTensor& boxes = b.get("boxes");
  const HostTensor& classes = b.get("classes");
  const HostTensor& masks = b.get("masks");
  int64_t objects = 0;
  for (int64_t i = 0; i < s.batch_size * m; ++i) {
    const float* mask = masks.f32.data() + i * d.height * d.width;
    if (classes.i64[static_cast<size_t>(i)] < 0) {
      EXPECT_TRUE(std::all_of(mask, mask + d.height * d.width, [](float v) { return v == 0.0F; }));
      continue;
    }
    ++objects;
    int64_t x1 = d.width, y1 = d.height, x2 = 0, y2 = 0;
    for (int64_t y = 0; y < d.height; ++y) {
      for (int64_t x = 0; x < d.width; ++x) {
        if (mask[y * d.width + x] > 0.5F) {
          x1 = std::min(x1, x), y1 = std::min(y1, y), x2 = std::max(x2, x + 1),
          y2 = std::max(y2, y + 1);
        }
      }
    }
    const float* q = boxes.f32.data() + i * 4;
    EXPECT_EQ(q[0], x1);
    EXPECT_EQ(q[1], y1);
    EXPECT_EQ(q[2], x2);
    EXPECT_EQ(q[3], y2);
  }
  EXPECT_GE(objects, s.batch_size);
  EXPECT_EQ(task->metric_inputs(task->eval_batch(0)).inputs.size(), size_t{3});
}

// Predictions [N, D, 6 + M²] for an evaluation batch: each ground-truth object as a detection
// (box, score, label given) with mask probabilities `mask_of(image, object)`.
template <typename MaskOf>
HostTensor predictions_for(const ModelSpec& s, const Batch& b, int64_t label_shift,
                           MaskOf mask_of) {
  const MaskRcnnConfig& c = s.mask_rcnn;
  const HostTensor& boxes = b.get("boxes");
  const HostTensor& classes = b.get("classes");
  const int64_t n = classes.shape[0];
  const int64_t m = classes.shape[1];
  const int64_t width = rcnn_prediction_width(c);
  HostTensor p;
  p.dtype = HostTensor::DType::kF32;
  p.shape = {n, c.detections_per_image, width};
  p.f32.assign(static_cast<size_t>(n * c.detections_per_image * width), 0.0F);
  for (int64_t i = 0; i < n; ++i) {
    int64_t row = 0;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t y = classes.i64[static_cast<size_t>(i * m + j)];
      if (y < 0) continue;
      float* r = p.f32.data() + (i * c.detections_per_image + row++) * width;
      std::copy_n(boxes.f32.data() + (i * m + j) * 4, 4, r);
      r[4] = 0.9F;
      r[5] = static_cast<float>((y - 1 + label_shift) % (c.num_classes - 1) + 1);
      const std::vector<float> mask = mask_of(i, j);
      std::copy(mask.begin(), mask.end(), r + 6);
    }
  }
  return p;
}

std::map<std::string, double> evaluate(TaskData& task, const Batch& b, const HostTensor& p) {
  task.begin_eval();
  task.add_eval(task.metric_inputs(b), p);
  std::map<std::string, double> q;
  for (const auto& [name, v] : task.quality()) q[name] = v;
  return q;
}

TEST(MaskRcnnTask, BoxAndMaskApOnPerfectWrongAndEmptyPredictions) {
  const ModelSpec s = make_model_spec("mask_rcnn", "tiny");
  const MaskRcnnConfig& c = s.mask_rcnn;
  const auto task = make_task_data(s, 5);
  const Batch b = task->eval_batch(0);
  const HostTensor& boxes = b.get("boxes");
  const HostTensor& masks = b.get("masks");
  const int64_t m = c.data.max_objects;
  const int64_t res = c.mask_resolution;
  const int64_t plane = c.data.height * c.data.width;
  // The model's ideal mask output: the mask target of its own ground-truth box.
  const auto ideal = [&](int64_t i, int64_t j) {
    const float* q = boxes.f32.data() + (i * m + j) * 4;
    return rcnn_mask_target(masks.f32.data() + (i * m + j) * plane, c.data.height, c.data.width,
                            {q[0], q[1], q[2], q[3]}, res);
  };
  const auto blank = [&](int64_t, int64_t) { return std::vector<float>(res * res, 0.0F); };

  const auto perfect = evaluate(*task, b, predictions_for(s, b, 0, ideal));
  EXPECT_EQ(perfect.at("map"), 1.0);
  EXPECT_GT(perfect.at("map_mask"), 0.6);  // 28×28 masks pasted back lose some edge pixels
  EXPECT_LE(perfect.at("map_mask"), 1.0);
  EXPECT_EQ(perfect.count("eval_loss"), size_t{0});

  const auto no_masks = evaluate(*task, b, predictions_for(s, b, 0, blank));
  EXPECT_EQ(no_masks.at("map"), 1.0);
  EXPECT_EQ(no_masks.at("map_mask"), 0.0);

  const auto wrong = evaluate(*task, b, predictions_for(s, b, 1, ideal));
  EXPECT_EQ(wrong.at("map"), 0.0);
  EXPECT_EQ(wrong.at("map_mask"), 0.0);

  HostTensor empty = predictions_for(s, b, 0, ideal);
  std::fill(empty.f32.begin(), empty.f32.end(), 0.0F);
  const auto none = evaluate(*task, b, empty);
  EXPECT_EQ(none.at("map"), 0.0);
  EXPECT_EQ(none.at("map_mask"), 0.0);
}

TEST(MaskRcnnTask, RefusesMalformedPredictions) {
  const ModelSpec s = make_model_spec("mask_rcnn", "tiny");
  const auto task = make_task_data(s, 5);
  const Batch b = task->metric_inputs(task->eval_batch(0));
  HostTensor p = predictions_for(s, b, 0, [&](int64_t, int64_t) {
    return std::vector<float>(static_cast<size_t>(28 * 28), 1.0F);
  });
  task->begin_eval();
  HostTensor short_rows = p;
  short_rows.shape[2] -= 1;
  short_rows.f32.resize(short_rows.f32.size() - static_cast<size_t>(p.shape[0] * p.shape[1]));
  EXPECT_THROW(task->add_eval(b, short_rows), Error);
  HostTensor bad_label = p;
  bad_label.f32[5] = 2.5F;
  EXPECT_THROW(task->add_eval(b, bad_label), Error);
  bad_label.f32[5] = static_cast<float>(s.mask_rcnn.num_classes);
  EXPECT_THROW(task->add_eval(b, bad_label), Error);
  HostTensor nan_box = p;
  nan_box.f32[0] = std::nanf("");
  EXPECT_THROW(task->add_eval(b, nan_box), Error);
}

TEST(MaskRcnnSampler, TakesTheQuotaFromTheRightSetsInAscendingOrder) {
  std::vector<int64_t> labels(300, 0);
  for (size_t i = 0; i < labels.size(); i += 7) labels[i] = 1 + static_cast<int64_t>(i % 3);
  for (size_t i = 3; i < labels.size(); i += 11) labels[i] = -1;
  int64_t pos = 0, neg = 0;
  for (int64_t l : labels) pos += l >= 1, neg += l == 0;
  Rng rng = rcnn_sampler_rng(1, 0, 0);
  const RcnnSample s = rcnn_sample(labels, 64, 0.25, rng);
  EXPECT_EQ(s.positive.size(), size_t{16});
  EXPECT_EQ(s.negative.size(), size_t{48});
  EXPECT_TRUE(std::is_sorted(s.positive.begin(), s.positive.end()));
  EXPECT_TRUE(std::is_sorted(s.negative.begin(), s.negative.end()));
  EXPECT_EQ(std::set<int64_t>(s.positive.begin(), s.positive.end()).size(), s.positive.size());
  EXPECT_EQ(std::set<int64_t>(s.negative.begin(), s.negative.end()).size(), s.negative.size());
  for (int64_t i : s.positive) EXPECT_GE(labels[static_cast<size_t>(i)], 1);
  for (int64_t i : s.negative) EXPECT_EQ(labels[static_cast<size_t>(i)], 0);
  // Few positives: all of them, and the negatives fill the batch.
  Rng rng2 = rcnn_sampler_rng(1, 0, 0);
  const RcnnSample big = rcnn_sample(labels, 256, 0.5, rng2);
  EXPECT_EQ(static_cast<int64_t>(big.positive.size()), pos);
  EXPECT_EQ(static_cast<int64_t>(big.negative.size()), std::min<int64_t>(256 - pos, neg));
  // More than everything: everything.
  Rng rng3 = rcnn_sampler_rng(1, 0, 0);
  const RcnnSample all = rcnn_sample(labels, 1000, 0.25, rng3);
  EXPECT_EQ(static_cast<int64_t>(all.positive.size() + all.negative.size()), pos + neg);
}

TEST(MaskRcnnSampler, IsAPureFunctionOfSeedStepAndImageAndUniform) {
  std::vector<int64_t> labels(40, 0);
  for (size_t i = 0; i < 10; ++i) labels[i * 4] = 1;
  const auto draw = [&](uint64_t seed, int64_t step, int64_t image) {
    Rng rng = rcnn_sampler_rng(seed, step, image);
    return rcnn_sample(labels, 8, 0.5, rng).positive;
  };
  EXPECT_EQ(draw(3, 5, 1), draw(3, 5, 1));
  EXPECT_NE(draw(3, 5, 1), draw(3, 5, 2));
  EXPECT_NE(draw(3, 5, 1), draw(3, 6, 1));
  EXPECT_NE(draw(3, 5, 1), draw(4, 5, 1));
  // Each of the 10 positives is taken in 4 of 10 draws on average: over 4000 draws each count
  // lies near 1600 (binomial sd ≈ 31).
  std::map<int64_t, int64_t> count;
  for (int64_t t = 0; t < 4000; ++t) {
    for (int64_t i : draw(9, t, 0)) ++count[i];
  }
  ASSERT_EQ(count.size(), size_t{10});
  for (const auto& [index, times] : count) EXPECT_NEAR(times, 1600, 160) << index;
}

TEST(MaskRcnnBoxes, TiesGoToTheLowerIndexAndNmsSuppressesOnlyAboveTheThreshold) {
  const std::vector<RcnnBox> boxes = {
      {0, 0, 10, 10}, {0, 0, 10, 10}, {0, 0, 10, 15}, {20, 20, 30, 30}};
  // boxes 0 and 1 equal scores: 0 first, 1 suppressed (IoU 1); box 2 has IoU 100/150 = 2/3.
  EXPECT_EQ(rcnn_nms(boxes, {0.5, 0.5, 0.4, 0.1}, 0.7), (std::vector<int64_t>{0, 2, 3}));
  EXPECT_EQ(rcnn_nms(boxes, {0.5, 0.5, 0.4, 0.1}, 2.0 / 3.0 - 1e-9), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(rcnn_nms(boxes, {0.5, 0.6, 0.4, 0.1}, 0.7), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_THROW((void)rcnn_match({}, 0, 3, 0.7, 0.3, true), Error);
}

TEST(MaskRcnnBoxes, ProposalsWithEqualLogitsComeInAnchorOrder) {
  const MaskRcnnConfig c = make_model_spec("mask_rcnn", "tiny").mask_rcnn;
  const RcnnAnchors anchors = rcnn_anchors(c);
  const std::vector<float> logits(anchors.boxes.size(), 0.5F);
  const std::vector<float> deltas(anchors.boxes.size() * 4, 0.0F);
  const RcnnProposals p = rcnn_select_proposals(c, anchors, logits.data(), deltas.data(), false);
  ASSERT_FALSE(p.anchor.empty());
  EXPECT_LE(static_cast<int64_t>(p.anchor.size()), c.rpn_post_nms_top_n_test);
  EXPECT_TRUE(std::is_sorted(p.anchor.begin(), p.anchor.end()));
  EXPECT_EQ(p.anchor[0], 0);  // the first anchor of P2, clipped to the image, survives
  // P2's candidates are its first pre_nms_top_n_test anchors only.
  for (size_t i = 0; i < p.anchor.size(); ++i) {
    if (p.levels[i] == 0) EXPECT_LT(p.anchor[i], c.rpn_pre_nms_top_n_test);
    EXPECT_NEAR(p.scores[i], 1.0 / (1.0 + std::exp(-0.5)), 1e-12);
  }
}

TEST(MaskRcnnBoxes, RoiTargetsSampleTheQuotaAndKeepGroundTruthAsCandidates) {
  MaskRcnnConfig c = make_model_spec("mask_rcnn", "tiny").mask_rcnn;
  c.box_batch_per_image = 16;
  std::vector<RcnnBox> proposals;
  for (int i = 0; i < 60; ++i) {
    const double x = i % 8 * 7.0;
    const double y = i / 8 * 7.0;
    proposals.push_back({x, y, x + 18.0, y + 18.0});
  }
  const std::vector<RcnnBox> gt = {{10, 10, 30, 26}, {40, 40, 60, 60}};
  Rng rng(1, 1);
  const RcnnRoiTargets t = rcnn_roi_targets(c, proposals, gt, {2, 3}, rng);
  ASSERT_EQ(t.rois.size(), size_t{16});
  int64_t positives = 0;
  for (size_t i = 0; i < t.rois.size(); ++i) {
    if (t.labels[i] > 0) {
      ++positives;
      EXPECT_EQ(t.labels[i], t.matched[i] == 0 ? 2 : 3);
      EXPECT_GE(rcnn_iou(t.rois[i], gt[static_cast<size_t>(t.matched[i])]), 0.5);
    } else {
      EXPECT_EQ(t.labels[i], 0);
    }
  }
  EXPECT_EQ(positives, 4);  // ⌊16 · 0.25⌋, there being more positives (the gt boxes at least)
  // Without ground truth everything is background, targets 0.
  Rng rng2(1, 1);
  const RcnnRoiTargets bg = rcnn_roi_targets(c, proposals, {}, {}, rng2);
  EXPECT_EQ(bg.rois.size(), size_t{16});
  for (int64_t l : bg.labels) EXPECT_EQ(l, 0);
  for (float v : bg.regression) EXPECT_EQ(v, 0.0F);
}

}  // namespace
}  // namespace greenbench::workloads
