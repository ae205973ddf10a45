// Mask R-CNN in the LibTorch worker (MODELS.md, "Mask R-CNN"): the five loss terms of a training
// pass against the shared host references, the RoI gather against the host's RoIAlign on the
// worker's own FPN maps, determinism, empty proposal and detection sets, and the worker binary's
// parameter list, predictions and one-line errors.
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/mask_rcnn_boxes.hpp"
#include "common/mask_rcnn_step.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "common/weights.hpp"
#include "torch/torch_backend.hpp"
#include "workloads/worker_run.hpp"
#include "workloads/worker_test.hpp"

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;

std::vector<float> host(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

Settings settings_for(const std::string& scale) {
  Settings s;
  s.model = "mask_rcnn";
  s.scale = scale;
  s.threads = 2;
  return s;
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

// The five loss terms of the first training pass at the initial weights equal the host's
// references (torchvision's compute_loss, fastrcnn_loss, maskrcnn_loss in double) on the pass's
// own head outputs and targets; the step's loss is their sum.
TEST(TorchMaskRcnn, LossTermsEqualTheHostReference) {
  for (const std::string scale : {"tiny", "small"}) {
    SCOPED_TRACE(scale);
    const ModelSpec spec = make_model_spec("mask_rcnn", scale);
    const MaskRcnnConfig& c = spec.mask_rcnn;
    const Settings settings = settings_for(scale);
    const Weights initial = make_initial_weights(spec, settings.seed);
    const Batch batch = make_task_data(spec, settings.seed)->train_batch(0);

    TorchBackend backend;
    backend.build(spec, settings, initial);
    const auto prepared = backend.prepare(batch, true);
    auto& model = dynamic_cast<MaskRcnnModel&>(backend.model());
    MaskRcnnTrainPass pass;
    {
      c10::NoGradGuard no_grad;
      pass = model.train_pass(static_cast<const TorchBatch&>(*prepared), 0);
    }
    const RcnnTrainTargets& t = pass.targets;
    const int64_t n = batch.get("images").shape[0], k = c.num_classes, m = c.mask_resolution;
    const int64_t anchors = pass.objectness.size(0) / n;
    ASSERT_EQ(anchors, static_cast<int64_t>(rcnn_anchors(c).boxes.size()));
    // Every term has something to compare.
    ASSERT_FALSE(t.rpn_positive.empty());
    ASSERT_FALSE(t.box_positive.empty());
    ASSERT_FALSE(t.mask_channel.empty());
    ASSERT_EQ(pass.class_logits.sizes(), (at::IntArrayRef{t.box_pooling.rois, k}));
    ASSERT_EQ(pass.mask_logits.sizes(), (at::IntArrayRef{t.mask_pooling.rois, k, m, m}));

    // The flat targets back into the reference's per-image form.
    std::vector<RcnnRpnTargets> rpn(static_cast<size_t>(n));
    std::vector<RcnnSample> samples(static_cast<size_t>(n));
    for (RcnnRpnTargets& r : rpn) {
      r.labels.assign(static_cast<size_t>(anchors), -1);
      r.regression.assign(static_cast<size_t>(anchors * 4), 0.0f);
    }
    for (size_t i = 0; i < t.rpn_sampled.size(); ++i) {
      const int64_t img = t.rpn_sampled[i] / anchors, a = t.rpn_sampled[i] % anchors;
      const bool positive = t.rpn_labels[i] == 1.0f;
      rpn[static_cast<size_t>(img)].labels[static_cast<size_t>(a)] = positive ? 1 : 0;
      (positive ? samples[static_cast<size_t>(img)].positive
                : samples[static_cast<size_t>(img)].negative)
          .push_back(a);
    }
    for (size_t i = 0; i < t.rpn_positive.size(); ++i) {
      const int64_t img = t.rpn_positive[i] / anchors, a = t.rpn_positive[i] % anchors;
      ASSERT_EQ(rpn[static_cast<size_t>(img)].labels[static_cast<size_t>(a)], 1);
      std::copy_n(&t.rpn_regression[4 * i], 4,
                  &rpn[static_cast<size_t>(img)].regression[static_cast<size_t>(4 * a)]);
    }
    const auto rpn_ref = rcnn_rpn_loss(host(pass.objectness).data(), host(pass.deltas).data(),
                                       anchors, rpn, samples);
    const auto q = static_cast<size_t>(t.box_pooling.rois);
    RcnnRoiTargets rois;
    rois.rois.assign(q, RcnnBox{0, 0, 1, 1});
    rois.labels = t.roi_labels;
    rois.matched.assign(q, 0);
    rois.regression.assign(4 * q, 0.0f);
    for (size_t i = 0; i < t.box_positive.size(); ++i) {
      const int64_t r = t.box_positive[i] / k;
      ASSERT_EQ(t.box_positive[i] % k, t.roi_labels[static_cast<size_t>(r)]);
      std::copy_n(&t.box_regression[4 * i], 4, &rois.regression[static_cast<size_t>(4 * r)]);
    }
    const auto box_ref =
        rcnn_box_loss(host(pass.class_logits).data(), host(pass.box_deltas).data(), k, {rois});
    std::vector<int64_t> mask_labels;
    for (int64_t ch : t.mask_channel) mask_labels.push_back(ch % k);
    const double mask_ref =
        rcnn_mask_loss(host(pass.mask_logits).data(), k, m, mask_labels, t.mask_targets);

    const std::vector<double> ref = {rpn_ref[0], rpn_ref[1], box_ref[0], box_ref[1], mask_ref};
    const char* names[] = {"rpn_objectness", "rpn_box", "classifier", "box_reg", "mask"};
    ASSERT_EQ(pass.losses.size(), 5u);
    double total = 0;
    for (size_t i = 0; i < 5; ++i) {
      const double got = pass.losses[i].item<double>();
      std::printf("[ info ] mask_rcnn %s %s: worker %.9g, host %.9g\n", scale.c_str(), names[i],
                  got, ref[i]);
      EXPECT_GT(ref[i], 0.0) << names[i];
      EXPECT_LE(rel(got, ref[i]), 1e-5) << names[i];
      total += ref[i];
    }

    // A fresh backend's first step (same step number, so the same samples) returns their sum.
    TorchBackend worker;
    worker.build(spec, settings, initial);
    const Backend::StepResult step = worker.train_step(*worker.prepare(batch, true), 0.01f, 1.0f);
    EXPECT_LE(rel(step.loss, total), 1e-5);
    EXPECT_NE(worker.weights()[0].value.f32, initial[0].value.f32);
  }
}

// RoI features by the worker's gather equal the host's RoIAlign (torchvision's roi_align) on the
// worker's own P2 … P5, for boxes on every level, across the border, outside and below a pixel.
TEST(TorchMaskRcnn, GatheredRoiFeaturesEqualRoiAlign) {
  const ModelSpec spec = make_model_spec("mask_rcnn", "tiny");
  const MaskRcnnConfig& c = spec.mask_rcnn;
  const Settings settings = settings_for("tiny");
  const Batch batch = make_task_data(spec, settings.seed)->train_batch(0);
  TorchBackend backend;
  backend.build(spec, settings, make_initial_weights(spec, settings.seed));
  const auto prepared = backend.prepare(batch, true);
  c10::NoGradGuard no_grad;
  const MaskRcnnTrainPass pass = dynamic_cast<MaskRcnnModel&>(backend.model())
                                     .train_pass(static_cast<const TorchBatch&>(*prepared), 0);
  const int64_t n = batch.get("images").shape[0];
  const at::Tensor table = mask_rcnn_pooling_table(pass.features);
  const RcnnFeatureTable layout = rcnn_feature_table(c, n);
  ASSERT_EQ(table.size(0), layout.rows);

  const std::vector<RcnnBox> boxes = {{2, 3, 30, 40}, {-5, -5, 20, 12},     {50, 40, 70, 70},
                                      {0, 0, 64, 64}, {10, 10, 10.5, 10.7}, {12, 20, 21, 27},
                                      {40, 1, 63, 9}, {70, 70, 90, 90},     {5.5, 30.25, 60, 62}};
  std::vector<int64_t> image;
  std::set<int64_t> levels;
  for (size_t i = 0; i < boxes.size(); ++i) {
    image.push_back(static_cast<int64_t>(i) % n);
    levels.insert(rcnn_roi_level(boxes[i], c.canonical_scale, c.canonical_level));
  }
  EXPECT_GE(levels.size(), 3u);
  for (const int64_t out : {c.box_pool, c.mask_pool}) {
    SCOPED_TRACE(out);
    const RcnnPooling pooling = rcnn_pooling(c, layout, image, boxes, out);
    const std::vector<float> got = host(mask_rcnn_gather(table, pooling));  // [R, cells, F]
    const int64_t f = c.fpn_channels, cells = out * out;
    ASSERT_EQ(static_cast<int64_t>(got.size()), pooling.rois * cells * f);
    double worst = 0, largest = 0;
    for (size_t r = 0; r < boxes.size(); ++r) {
      const int64_t level = rcnn_roi_level(boxes[r], c.canonical_scale, c.canonical_level);
      const at::Tensor map = pass.features[static_cast<size_t>(level)][image[r]].contiguous();
      std::vector<float> ref(static_cast<size_t>(f * cells));
      rcnn_roi_align(map.data_ptr<float>(), f, map.size(1), map.size(2), boxes[r],
                     std::ldexp(1.0, -static_cast<int>(level + 2)), out, out, c.sampling_ratio,
                     ref.data());
      for (int64_t ch = 0; ch < f; ++ch) {
        for (int64_t cell = 0; cell < cells; ++cell) {
          const double a =
              got[static_cast<size_t>((static_cast<int64_t>(r) * cells + cell) * f + ch)];
          const double b = ref[static_cast<size_t>(ch * cells + cell)];
          worst = std::max(worst, std::abs(a - b));
          largest = std::max(largest, std::abs(b));
        }
      }
    }
    std::printf("[ info ] gather vs roi_align (%lldx%lld): max |diff| %.3g of max %.3g\n",
                static_cast<long long>(out), static_cast<long long>(out), worst, largest);
    EXPECT_GT(largest, 0.0);
    EXPECT_LE(worst, 1e-5 * largest);
  }
}

// Two workers on the same seed, weights and batches train to the same losses and weights.
TEST(TorchMaskRcnn, TrainingIsDeterministic) {
  const ModelSpec spec = make_model_spec("mask_rcnn", "tiny");
  const Settings settings = settings_for("tiny");
  const Weights initial = make_initial_weights(spec, settings.seed);
  const auto task = make_task_data(spec, settings.seed);
  std::vector<std::vector<float>> losses(2);
  std::vector<Weights> after(2);
  for (size_t run = 0; run < 2; ++run) {
    TorchBackend backend;
    backend.build(spec, settings, initial);
    for (int64_t step = 0; step < 3; ++step) {
      losses[run].push_back(
          backend.train_step(*backend.prepare(task->train_batch(step), true), 0.02f, 1.0f).loss);
    }
    after[run] = backend.weights();
  }
  EXPECT_EQ(losses[0], losses[1]);
  ASSERT_EQ(after[0].size(), after[1].size());
  for (size_t i = 0; i < after[0].size(); ++i) {
    EXPECT_EQ(after[0][i].value.f32, after[1][i].value.f32) << after[0][i].name;
  }
  EXPECT_NE(losses[0][0], losses[0][2]);
}

// No proposals (every RPN box shrunk to nothing) and no detections (background certain) give
// all-zero prediction rows of the documented shape; training without proposals still runs on
// the ground-truth RoIs.
TEST(TorchMaskRcnn, EmptyProposalAndDetectionSetsGiveZeroRows) {
  const ModelSpec spec = make_model_spec("mask_rcnn", "tiny");
  const MaskRcnnConfig& c = spec.mask_rcnn;
  const Settings settings = settings_for("tiny");
  const auto task = make_task_data(spec, settings.seed);
  const Batch eval = task->eval_batch(0);
  const int64_t n = eval.get("images").shape[0];
  const auto set = [&](Weights& w, const std::string& name, int64_t from, int64_t step,
                       float value) {
    for (NamedTensor& t : w) {
      if (t.name != name) continue;
      for (auto i = static_cast<size_t>(from); i < t.value.f32.size();
           i += static_cast<size_t>(step)) {
        t.value.f32[i] = value;
      }
    }
  };
  for (const std::string what : {"no proposals", "no detections"}) {
    SCOPED_TRACE(what);
    Weights w = make_initial_weights(spec, settings.seed);
    if (what == "no proposals") {
      // exp(−60) of every anchor's side: each proposal is below rpn_min_size.
      set(w, "rpn.head.bbox_pred.bias", 2, 4, -60.0f);
      set(w, "rpn.head.bbox_pred.bias", 3, 4, -60.0f);
    } else {
      set(w, "roi_heads.box_predictor.cls_score.bias", 0, c.num_classes, 60.0f);
    }
    TorchBackend backend;
    backend.build(spec, settings, w);
    const HostTensor p = backend.predict(*backend.prepare(eval, false));
    EXPECT_EQ(p.shape, (std::vector<int64_t>{n, c.detections_per_image, rcnn_prediction_width(c)}));
    EXPECT_TRUE(std::all_of(p.f32.begin(), p.f32.end(), [](float v) { return v == 0.0f; }));
    const Backend::StepResult step =
        backend.train_step(*backend.prepare(task->train_batch(0), true), 0.01f, 1.0f);
    EXPECT_TRUE(std::isfinite(step.loss));
    EXPECT_GT(step.loss, 0.0f);
  }
}

// bf16 and fp16 (convolutions and linear layers in the 16-bit type, gathers, losses and host
// steps in float32) train: the first step's loss is finite and near fp32's (its targets follow
// the 16-bit RPN outputs, so they need not be identical), and the update is applied.
TEST(TorchMaskRcnn, MixedPrecisionFirstLossIsNearFp32) {
  const ModelSpec spec = make_model_spec("mask_rcnn", "tiny");
  const Weights initial = make_initial_weights(spec, 1);
  const Batch batch = make_task_data(spec, 1)->train_batch(0);
  std::vector<float> loss;
  for (const std::string precision : {"fp32", "bf16", "fp16"}) {
    Settings settings = settings_for("tiny");
    settings.precision = precision;
    TorchBackend backend;
    backend.build(spec, settings, initial);
    const Backend::StepResult step = backend.train_step(*backend.prepare(batch, true), 0.02f,
                                                        precision == "fp16" ? 1024.0f : 1.0f);
    std::printf("[ info ] mask_rcnn tiny first loss %s: %.6g\n", precision.c_str(), step.loss);
    EXPECT_TRUE(step.applied) << precision;
    loss.push_back(step.loss);
  }
  for (size_t i = 1; i < loss.size(); ++i) {
    EXPECT_TRUE(std::isfinite(loss[i]));
    EXPECT_NE(loss[i], loss[0]);  // the 16-bit path is taken
    EXPECT_LE(rel(loss[i], loss[0]), 0.05);
  }
}

// FrozenBatchNorm2d (the paper preset's backbone) is the same function in training and inference
// and leaves the statistics alone; batch norm with batch statistics is not (tiny, with seeded
// non-trivial statistics so that the two could not agree by accident).
TEST(TorchMaskRcnn, FrozenBatchNormIgnoresTheMode) {
  ModelSpec spec = make_model_spec("mask_rcnn", "tiny");
  const Settings settings = settings_for("tiny");
  Weights initial = make_initial_weights(spec, settings.seed);
  Rng rng(7);
  for (NamedTensor& t : initial) {
    const bool mean = t.name.find("running_mean") != std::string::npos;
    const bool var = t.name.find("running_var") != std::string::npos;
    for (float& v : t.value.f32) {
      if (mean) v = static_cast<float>(rng.uniform() - 0.5);
      if (var) v = static_cast<float>(0.5 + rng.uniform());
    }
  }
  const Batch batch = make_task_data(spec, settings.seed)->eval_batch(0);
  for (const bool frozen : {true, false}) {
    SCOPED_TRACE(frozen);
    spec.mask_rcnn.frozen_bn = frozen;
    TorchBackend backend;
    backend.build(spec, settings, initial);
    const auto prepared = backend.prepare(batch, false);
    const HostTensor inference = backend.predict(*prepared);
    const HostTensor training = backend.forward_host(*prepared, true);
    ASSERT_EQ(inference.shape, training.shape);
    const Weights after = backend.weights();
    bool stats_kept = true;
    for (size_t i = 0; i < after.size(); ++i) {
      if (after[i].name.find("running_") != std::string::npos) {
        stats_kept = stats_kept && after[i].value.f32 == initial[i].value.f32;
      }
    }
    EXPECT_EQ(inference.f32 == training.f32, frozen);
    EXPECT_EQ(stats_kept, frozen);
  }
}

class TorchMaskRcnnWorker : public test::WorkerTest {
 protected:
  TorchMaskRcnnWorker() : WorkerTest("greenbench-torch", "greenbench-torch-mask-rcnn") {}
};

TEST_F(TorchMaskRcnnWorker, DescribeListsTheSpecsParameters) {
  for (const std::string scale : {"tiny", "small", "paper"}) {
    test::expect_describe_matches_spec(
        run({"--model", "mask_rcnn", "--scale", scale, "--describe"}), "pytorch", "mask_rcnn",
        scale);
  }
}

// The untrained model's predictions have the documented shape, rows by descending score and
// zero rows after the detections. (Tiny training against the untrained model is
// CrossFramework.TrainingLearnsAndCheckpoints… in cross_framework_test, for both workers.)
TEST_F(TorchMaskRcnnWorker, PredictionsHaveTheDocumentedLayout) {
  const ModelSpec spec = make_model_spec("mask_rcnn", "tiny");
  const MaskRcnnConfig& c = spec.mask_rcnn;
  const fs::path logits = dir_ / "untrained.logits";
  const test::RunResult untrained = run({"--model", "mask_rcnn", "--phase", "infer", "--threads",
                                         "2", "--dump-logits", logits.string()});
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  const int64_t width = rcnn_prediction_width(c), rows = c.detections_per_image;
  const std::string bytes = test::read_file(logits);
  ASSERT_EQ(bytes.size(), sizeof(float) * static_cast<size_t>(spec.eval_batch_size * rows * width));
  std::vector<float> p(bytes.size() / sizeof(float));
  std::memcpy(p.data(), bytes.data(), bytes.size());
  int64_t detections = 0;
  for (int64_t img = 0; img < spec.eval_batch_size; ++img) {
    bool ended = false;
    float last = 2.0f;
    for (int64_t d = 0; d < rows; ++d) {
      const float* row = &p[static_cast<size_t>((img * rows + d) * width)];
      if (row[5] == 0.0f) {
        ended = true;
        EXPECT_TRUE(std::all_of(row, row + width, [](float v) { return v == 0.0f; }));
        continue;
      }
      EXPECT_FALSE(ended) << "a detection after an empty row";
      EXPECT_LE(row[4], last);
      last = row[4];
      EXPECT_GE(row[5], 1.0f);
      EXPECT_LE(row[5], static_cast<float>(c.num_classes - 1));
      EXPECT_LE(row[0], row[2]);
      EXPECT_LE(row[1], row[3]);
      EXPECT_TRUE(std::all_of(row + 6, row + width, [](float v) { return v >= 0 && v <= 1; }));
      ++detections;
    }
  }
  EXPECT_GT(detections, 0);
}

TEST_F(TorchMaskRcnnWorker, BadInputGivesOneLineErrors) {
  const auto expect_error = [&](const std::vector<std::string>& args, const std::string& needle) {
    const test::RunResult r = run(args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  expect_error({"--model", "mask_rcnn", "--phase", "train", "--scale", "huge"}, "huge");
  expect_error({"--model", "mask_rcnn", "--phase", "train", "--batch-size", "0"}, "--batch-size");
  // An SSD checkpoint offered to Mask R-CNN (a ResNet-50 backbone too, other names and model).
  const fs::path ckpt = dir_ / "ssd.ckpt";
  const test::RunResult r = run({"--model", "ssd", "--phase", "train", "--steps", "1",
                                 "--eval-batches", "1", "--checkpoint", ckpt.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_error({"--model", "mask_rcnn", "--phase", "infer", "--checkpoint", ckpt.string()},
               ckpt.string());
}

}  // namespace
}  // namespace greenbench::workloads
