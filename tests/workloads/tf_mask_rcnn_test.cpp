// Mask R-CNN in the TensorFlow worker (MODELS.md, "Mask R-CNN"): the graph's five loss terms equal
// the host references on the graph's own head outputs, its RoI gathers equal roi_align on its own
// FPN maps, the backend trains and predicts through empty sets (no objects, no detections), its
// predictions have the documented layout and pass the task's evaluation, and the built worker
// describes the spec's parameters, is deterministic, and refuses bad input with one line.
// The graph tests need the TensorFlow wheel (GREENBENCH_TEST_TENSORFLOW); the worker tests need
// greenbench-tf.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/mask_rcnn_boxes.hpp"
#include "common/mask_rcnn_step.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "common/weights.hpp"
#include "workloads/worker_run.hpp"
#include "workloads/worker_test.hpp"

#if GREENBENCH_TEST_TENSORFLOW
#include "graph.hpp"
#include "tf_backend.hpp"
#include "workloads/tf_layouts.hpp"
#endif

namespace greenbench::workloads {
namespace {

#if GREENBENCH_TEST_TENSORFLOW

using test::images_nhwc;
using test::to_hwio;

Settings test_settings(const ModelSpec& spec, uint64_t seed) {
  Settings s;
  s.model = spec.model;
  s.scale = spec.scale;
  s.seed = seed;
  s.threads = 2;
  s.numerics = "strict";
  s.batch_size = spec.batch_size;
  s.eval_batch_size = spec.eval_batch_size;
  return s;
}

// Image n's plane of P_k [N, H, W, F] (NHWC) as [F, H, W].
std::vector<float> level_chw(const HostTensor& p, int64_t n) {
  const int64_t h = p.shape[1], w = p.shape[2], f = p.shape[3];
  std::vector<float> out(static_cast<size_t>(f * h * w));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < f; ++c)
        out[(c * h + y) * w + x] = p.f32[((n * h + y) * w + x) * f + c];
  return out;
}

// The largest |gathered − roi_align| over RoIs `rois` of images `image`, relative to the largest
// |roi_align| value: gathered [rois, out², F] against rcnn_roi_align on the fetched P2 … P5.
double gather_error(const MaskRcnnConfig& c, const std::vector<HostTensor>& fpn,
                    const HostTensor& gathered, const std::vector<int64_t>& image,
                    const std::vector<RcnnBox>& rois, int64_t out) {
  const int64_t f = c.fpn_channels, cells = out * out;
  EXPECT_EQ(gathered.shape, (std::vector<int64_t>{static_cast<int64_t>(rois.size()), cells, f}));
  double worst = 0.0, largest = 0.0;
  std::vector<float> ref(static_cast<size_t>(f * cells));
  for (size_t r = 0; r < rois.size(); ++r) {
    const int64_t k = rcnn_roi_level(rois[r], c.canonical_scale, c.canonical_level);
    const HostTensor& p = fpn[static_cast<size_t>(k)];
    const std::vector<float> plane = level_chw(p, image[r]);
    rcnn_roi_align(plane.data(), f, p.shape[1], p.shape[2], rois[r], std::ldexp(1.0, -(k + 2)), out,
                   out, c.sampling_ratio, ref.data());
    for (int64_t ch = 0; ch < f; ++ch)
      for (int64_t cell = 0; cell < cells; ++cell) {
        const double want = ref[ch * cells + cell];
        const double got = gathered.f32[(static_cast<int64_t>(r) * cells + cell) * f + ch];
        worst = std::max(worst, std::abs(got - want));
        largest = std::max(largest, std::abs(want));
      }
  }
  EXPECT_GT(largest, 0.0);
  return worst / largest;
}

// The training pass as the worker runs it (one partial run, the host between its parts), with the
// initial weights as constants: its five loss terms equal the host references computed from its
// own head outputs and the per-image targets, and its RoI features equal roi_align on its own
// FPN maps, at tiny and small.
TEST(TfMaskRcnn, LossAndGathersEqualTheHostReferences) {
  for (const std::string scale : {"tiny", "small"}) {
    SCOPED_TRACE(scale);
    const uint64_t seed = 3;
    const ModelSpec spec = make_model_spec("mask_rcnn", scale);
    const MaskRcnnConfig& c = spec.mask_rcnn;
    const Weights weights = make_initial_weights(spec, seed);
    const Batch batch = make_task_data(spec, seed)->train_batch(1);
    tf::Graph g;
    std::map<std::string, TF_Output> params;
    for (const NamedTensor& w : weights) {
      const HostTensor& h = w.value;
      params[w.name] =
          h.shape.size() == 4
              ? g.constant_f32({h.shape[2], h.shape[3], h.shape[1], h.shape[0]}, to_hwio(h))
              : g.constant_f32(h.shape, h.f32);
    }
    const Settings settings = test_settings(spec, seed);
    tf::ModelBuilder b(g, spec, settings, params, /*pooled_inputs=*/false);
    tf::build_mask_rcnn(b);
    ASSERT_NE(b.mask_rcnn, nullptr);
    const tf::MaskRcnnGraph::Train& t = b.mask_rcnn->train;
    tf::Session session(g, 2, 1, /*grappler=*/false);

    const tf::Tensor images = images_nhwc(batch.get("images"));
    const TF_Output images_in = b.train.inputs.at(0).second;
    std::vector<TF_Output> feeds{
        images_in,    t.rpn_sampled, t.rpn_labels,   t.rpn_positive, t.rpn_regression, t.rpn_count,
        t.box.index,  t.box.weight,  t.roi_labels,   t.box_positive, t.box_regression, t.roi_count,
        t.mask.index, t.mask.weight, t.mask_channel, t.mask_targets, t.mask_count};
    std::vector<TF_Output> second{t.terms[0],    t.terms[1],     t.terms[2],     t.terms[3],
                                  t.terms[4],    b.loss,         t.class_logits, t.box_deltas,
                                  t.mask_logits, t.box.features, t.mask.features};
    second.insert(second.end(), t.fpn.begin(), t.fpn.end());
    std::vector<TF_Output> fetches{t.objectness, t.deltas};
    fetches.insert(fetches.end(), second.begin(), second.end());
    tf::PartialRun run(session, feeds, fetches, {});
    const std::vector<tf::Tensor> rpn =
        run.run({{images_in, images.get()}}, {t.objectness, t.deltas});
    const HostTensor objectness = tf::to_host(rpn[0].get()), deltas = tf::to_host(rpn[1].get());
    const RcnnAnchors anchors = rcnn_anchors(c);
    const auto a = static_cast<int64_t>(anchors.boxes.size());
    const int64_t n = spec.batch_size;
    ASSERT_EQ(objectness.shape, (std::vector<int64_t>{n * a}));
    ASSERT_EQ(deltas.shape, (std::vector<int64_t>{n * a, 4}));

    const std::vector<RcnnGroundTruth> truth = rcnn_ground_truth(c, batch);
    const RcnnTrainTargets targets =
        rcnn_train_targets(c, anchors, rcnn_feature_table(c, n), truth, objectness.f32.data(),
                           deltas.f32.data(), seed, /*step=*/0);
    std::vector<tf::Tensor> keep;
    const std::vector<tf::Tensor> out = run.run(t.feeds(targets, keep), second);
    std::vector<HostTensor> host;
    for (const tf::Tensor& x : out) host.push_back(tf::to_host(x.get()));

    // The host's per-image steps, in rcnn_train_targets' order, for the references.
    std::vector<RcnnRpnTargets> rpn_targets;
    std::vector<RcnnSample> samples;
    std::vector<RcnnRoiTargets> roi_targets;
    std::vector<int64_t> roi_image, positive_image, positive_labels;
    std::vector<RcnnBox> rois, positive_rois;
    for (int64_t i = 0; i < n; ++i) {
      const RcnnGroundTruth& gt = truth[static_cast<size_t>(i)];
      Rng rng = rcnn_sampler_rng(seed, 0, i);
      rpn_targets.push_back(rcnn_rpn_targets(c, anchors, gt.boxes));
      samples.push_back(rcnn_sample(rpn_targets.back().labels, c.rpn_batch_per_image,
                                    c.rpn_positive_fraction, rng));
      const RcnnProposals proposals = rcnn_select_proposals(
          c, anchors, objectness.f32.data() + i * a, deltas.f32.data() + i * a * 4, true);
      roi_targets.push_back(rcnn_roi_targets(c, proposals.boxes, gt.boxes, gt.classes, rng));
      const RcnnRoiTargets& r = roi_targets.back();
      for (size_t j = 0; j < r.rois.size(); ++j) {
        rois.push_back(r.rois[j]);
        roi_image.push_back(i);
        if (r.labels[j] > 0) {
          positive_rois.push_back(r.rois[j]);
          positive_image.push_back(i);
          positive_labels.push_back(r.labels[j]);
        }
      }
    }
    const auto q = static_cast<int64_t>(rois.size());
    const auto qp = static_cast<int64_t>(positive_rois.size());
    const int64_t k = c.num_classes, m = c.mask_resolution;
    ASSERT_GT(qp, 0);
    ASSERT_EQ(host[6].shape, (std::vector<int64_t>{q, k}));
    ASSERT_EQ(host[7].shape, (std::vector<int64_t>{q, 4 * k}));
    ASSERT_EQ(host[8].shape, (std::vector<int64_t>{qp, k, m, m}));
    const std::array<double, 2> rpn_ref =
        rcnn_rpn_loss(objectness.f32.data(), deltas.f32.data(), a, rpn_targets, samples);
    const std::array<double, 2> box_ref =
        rcnn_box_loss(host[6].f32.data(), host[7].f32.data(), k, roi_targets);
    const double mask_ref =
        rcnn_mask_loss(host[8].f32.data(), k, m, positive_labels, targets.mask_targets);
    const double ref[5] = {rpn_ref[0], rpn_ref[1], box_ref[0], box_ref[1], mask_ref};
    const char* names[5] = {"rpn_objectness", "rpn_box", "classifier", "box_reg", "mask"};
    double sum = 0.0;
    for (int i = 0; i < 5; ++i) {
      const double got = host[static_cast<size_t>(i)].f32[0];
      std::printf("[ info ] mask_rcnn %s %s: graph %.8g host %.8g\n", scale.c_str(), names[i], got,
                  ref[i]);
      EXPECT_GT(ref[i], 0.0) << names[i];
      EXPECT_NEAR(got, ref[i], 1e-5 * ref[i]) << names[i];
      sum += ref[i];
    }
    EXPECT_NEAR(host[5].f32[0], sum, 1e-5 * sum);

    std::vector<HostTensor> fpn(host.begin() + 11, host.end());
    ASSERT_EQ(fpn.size(), 4U);
    const double box_err = gather_error(c, fpn, host[9], roi_image, rois, c.box_pool);
    const double mask_err =
        gather_error(c, fpn, host[10], positive_image, positive_rois, c.mask_pool);
    std::printf("[ info ] mask_rcnn %s gathers vs roi_align: box %.3g, mask %.3g of the max\n",
                scale.c_str(), box_err, mask_err);
    EXPECT_LE(box_err, 1e-5);
    EXPECT_LE(mask_err, 1e-5);
  }
}

// A training batch without objects (no RPN positives, no positive RoIs, an empty mask head) and
// weights that detect nothing (no detections, an empty mask stage) run through the backend: the
// loss is finite and its update applied, and the predictions are all zero rows.
TEST(TfMaskRcnn, EmptySetsTrainAndPredict) {
  const uint64_t seed = 5;
  const ModelSpec spec = make_model_spec("mask_rcnn", "tiny");
  const std::unique_ptr<TaskData> data = make_task_data(spec, seed);
  Weights weights = make_initial_weights(spec, seed);
  Settings settings = test_settings(spec, seed);
  settings.phase = "train";
  tf::TfBackend backend;
  backend.build(spec, settings, weights);
  Batch empty = data->train_batch(0);
  for (auto& [name, value] : empty.inputs) {
    if (name == "classes") std::fill(value.i64.begin(), value.i64.end(), -1);
    if (name == "boxes" || name == "masks") std::fill(value.f32.begin(), value.f32.end(), 0.0f);
  }
  const auto prepared = backend.prepare(empty, true);
  const Backend::StepResult step = backend.train_step(*prepared, 0.01f, 1.0f);
  EXPECT_TRUE(std::isfinite(step.loss));
  EXPECT_GT(step.loss, 0.0f);
  const Weights after = backend.weights();
  bool changed = false;
  for (size_t i = 0; i < after.size(); ++i)
    changed = changed || after[i].value.f32 != weights[i].value.f32;
  EXPECT_TRUE(changed);

  // A background bias of 50: every foreground score is below the 0.05 threshold.
  for (NamedTensor& w : weights) {
    if (w.name == "roi_heads.box_predictor.cls_score.bias") w.value.f32[0] = 50.0f;
  }
  backend.build(spec, settings, weights);
  const Batch eval = data->eval_batch(0);
  const HostTensor p = backend.predict(*backend.prepare(eval, false));
  const int64_t n = eval.get("images").shape[0];
  ASSERT_EQ(p.shape, (std::vector<int64_t>{n, spec.mask_rcnn.detections_per_image,
                                           rcnn_prediction_width(spec.mask_rcnn)}));
  EXPECT_TRUE(std::all_of(p.f32.begin(), p.f32.end(), [](float v) { return v == 0.0f; }));
}

// The predictions of the initial weights: [N, 100, 6 + M²], each image's rows by score
// descending, integral labels 1 … K − 1, boxes inside the image, probabilities in [0, 1], all-zero
// rows after the detections; the task's evaluation accepts them.
TEST(TfMaskRcnn, PredictionsHaveTheDocumentedLayout) {
  const uint64_t seed = 2;
  const ModelSpec spec = make_model_spec("mask_rcnn", "tiny");
  const MaskRcnnConfig& c = spec.mask_rcnn;
  const std::unique_ptr<TaskData> data = make_task_data(spec, seed);
  Settings settings = test_settings(spec, seed);
  settings.phase = "infer";
  tf::TfBackend backend;
  backend.build(spec, settings, make_initial_weights(spec, seed));
  const Batch eval = data->eval_batch(0);
  const auto prepared = backend.prepare(eval, false);
  const HostTensor p = backend.predict(*prepared);
  const int64_t n = eval.get("images").shape[0], rows = c.detections_per_image;
  const int64_t width = rcnn_prediction_width(c);
  ASSERT_EQ(p.shape, (std::vector<int64_t>{n, rows, width}));
  int64_t detections = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool ended = false;
    float last = 2.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = p.f32.data() + (i * rows + r) * width;
      if (row[5] == 0.0f) {
        ended = true;
        EXPECT_TRUE(std::all_of(row, row + width, [](float v) { return v == 0.0f; }));
        continue;
      }
      ASSERT_FALSE(ended) << "image " << i << " row " << r << " follows an empty row";
      ++detections;
      EXPECT_LE(row[4], last);
      last = row[4];
      EXPECT_GT(row[4], c.box_score_thresh);
      EXPECT_EQ(row[5], std::round(row[5]));
      EXPECT_GE(row[5], 1.0f);
      EXPECT_LE(row[5], static_cast<float>(c.num_classes - 1));
      EXPECT_GE(row[0], 0.0f);
      EXPECT_GE(row[1], 0.0f);
      EXPECT_LE(row[2], static_cast<float>(c.data.width));
      EXPECT_LE(row[3], static_cast<float>(c.data.height));
      EXPECT_LT(row[0], row[2]);
      EXPECT_LT(row[1], row[3]);
      EXPECT_TRUE(
          std::all_of(row + 6, row + width, [](float v) { return v >= 0.0f && v <= 1.0f; }));
    }
  }
  EXPECT_GT(detections, 0);
  // The same batch again gives the same bytes; head_outputs is predict.
  EXPECT_EQ(backend.predict(*prepared).f32, p.f32);
  EXPECT_EQ(backend.head_outputs(*prepared).f32, p.f32);
  data->begin_eval();
  data->add_eval(data->metric_inputs(eval), p);
  const auto quality = data->quality();
  ASSERT_FALSE(quality.empty());
  for (const auto& [name, value] : quality) EXPECT_TRUE(std::isfinite(value)) << name;
}

#endif  // GREENBENCH_TEST_TENSORFLOW

// The built worker: parameters, determinism, and one-line errors.
class TfMaskRcnnWorker : public test::WorkerTest {
 protected:
  TfMaskRcnnWorker() : WorkerTest("greenbench-tf", "greenbench-tf-mask-rcnn") {}
};

TEST_F(TfMaskRcnnWorker, DescribeCountsTheSpecsParameters) {
  for (const std::string scale : {"tiny", "small", "paper"}) {
    test::expect_describe_matches_spec(
        run({"--model", "mask_rcnn", "--scale", scale, "--describe"}), "tensorflow", "mask_rcnn",
        scale);
  }
}

// Two runs of the same seed give the same losses and the same predictions' quality, to the bit.
TEST_F(TfMaskRcnnWorker, TrainingIsDeterministic) {
  const std::vector<std::string> args = {"--model",        "mask_rcnn", "--scale",   "tiny",
                                         "--phase",        "train",     "--steps",   "3",
                                         "--eval-batches", "1",         "--threads", "2"};
  const test::RunResult first = run(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const test::RunResult second = run(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  for (const char* m : {"loss_first", "loss", "map", "map_mask"}) {
    EXPECT_EQ(first.metrics.at(m), second.metrics.at(m)) << m;
  }
}

// Tiny training against the untrained model: CrossFramework.TrainingLearnsAndCheckpoints…
// (cross_framework_test) trains both workers to the bar.

TEST_F(TfMaskRcnnWorker, BadInputGivesOneLineAndAFailure) {
  auto expect_error = [&](const std::vector<std::string>& args, const std::string& needle) {
    const test::RunResult r = run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_NE(r.exit_code, 0) << joined;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << ": " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << joined << ": " << r.err;
  };
  expect_error({"--model", "mask_rcnn", "--phase", "train", "--scale", "huge"}, "huge");
  // Partial runs take no RunOptions, so the worker cannot trace them.
  expect_error({"--model", "mask_rcnn", "--phase", "train", "--steps", "1", "--profile",
                (dir_ / "p.json").string()},
               "--profile");
}

}  // namespace
}  // namespace greenbench::workloads
