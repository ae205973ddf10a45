// SSD300 in the TensorFlow worker (MODELS.md, "SSD300"): the graph's loss equals the host
// reference ssd_image_losses on the same weights and batch, hard-negative mining breaks ties by
// the lower default-box index (checked through the loss's gradient), and the built worker
// describes the spec's parameters, learns, and refuses bad input with one line. The graph tests
// need the TensorFlow wheel (GREENBENCH_TEST_TENSORFLOW); the worker tests need greenbench-tf.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "common/ssd_boxes.hpp"
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

namespace fs = std::filesystem;

#if GREENBENCH_TEST_TENSORFLOW

using test::images_nhwc;
using test::to_hwio;

double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// The training pass of the worker's SSD graph (weights as constants, batch fed) gives the loss
// the host computes from the same pass's head outputs, at tiny and small.
TEST(TfSsd, TrainingLossEqualsTheHostReference) {
  for (const std::string scale : {"tiny", "small"}) {
    SCOPED_TRACE(scale);
    const ModelSpec spec = make_model_spec("ssd", scale);
    const Weights weights = make_initial_weights(spec, 3);
    const Batch batch = make_task_data(spec, 3)->train_batch(1);
    tf::Graph g;
    std::map<std::string, TF_Output> params;
    for (const NamedTensor& w : weights) {
      const HostTensor& h = w.value;
      params[w.name] =
          h.shape.size() == 4
              ? g.constant_f32({h.shape[2], h.shape[3], h.shape[1], h.shape[0]}, to_hwio(h))
              : g.constant_f32(h.shape, h.f32);
    }
    Settings settings;
    settings.model = "ssd";
    settings.scale = scale;
    settings.threads = 2;
    settings.numerics = "strict";
    settings.batch_size = spec.batch_size;
    tf::ModelBuilder b(g, spec, settings, params, /*pooled_inputs=*/false);
    tf::build_ssd(b);
    ASSERT_NE(b.train_logits.oper, nullptr);
    tf::Session session(g, 2, 1, /*grappler=*/false);
    std::vector<tf::Tensor> keep;
    std::vector<std::pair<TF_Output, TF_Tensor*>> feeds;
    for (const auto& [name, placeholder] : b.train.inputs) {
      keep.push_back(name == "images" ? images_nhwc(batch.get(name)) : tf::to_tf(batch.get(name)));
      feeds.emplace_back(placeholder, keep.back().get());
    }
    const std::vector<tf::Tensor> out = session.run(feeds, {b.loss, b.train_logits});
    const double loss = static_cast<const float*>(TF_TensorData(out[0].get()))[0];
    const HostTensor predictions = tf::to_host(out[1].get());
    const int64_t d = spec.ssd.num_default_boxes();
    ASSERT_EQ(predictions.shape,
              (std::vector<int64_t>{spec.batch_size, d, 4 + spec.ssd.num_classes}));
    const double host = mean(ssd_image_losses(spec.ssd, predictions, batch.get("loc_targets"),
                                              batch.get("label_targets")));
    std::printf("[ info ] ssd %s training loss: graph %.7g host %.7g\n", scale.c_str(), loss, host);
    EXPECT_GT(host, 0.0);
    EXPECT_NEAR(loss, host, 1e-4 * host);
  }
}

// Ties in the mining: the conf gradient is non-zero exactly on the boxes the host selects
// (positives and the stably mined negatives), and equals (softmax − onehot)/(P_n·N) there.
TEST(TfSsd, HardNegativeTiesGoToTheLowerBoxIndex) {
  const ModelSpec spec = make_model_spec("ssd", "tiny");
  const SsdConfig& c = spec.ssd;
  const Batch batch = make_task_data(spec, 2)->train_batch(0);
  const HostTensor& loc_t = batch.get("loc_targets");
  const HostTensor& labels = batch.get("label_targets");
  const int64_t n = labels.shape[0], d = c.num_default_boxes(), k = c.num_classes;
  // Image 0: every logit 0 (all boxes tie); others: three logit patterns by box (many ties).
  HostTensor loc{HostTensor::DType::kF32, {n, d, 4}, std::vector<float>(n * d * 4), {}};
  HostTensor conf{HostTensor::DType::kF32, {n, d, k}, std::vector<float>(n * d * k), {}};
  for (int64_t i = 0; i < n * d * 4; ++i) loc.f32[i] = 0.25f * static_cast<float>(i % 9) - 1.0f;
  for (int64_t i = 1; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      for (int64_t y = 0; y < k; ++y)
        conf.f32[(i * d + j) * k + y] = static_cast<float>((j + y + i) % 3);
  tf::Graph g;
  const TF_Output pl = g.placeholder(TF_FLOAT, {-1, d, 4}, "loc");
  const TF_Output pc = g.placeholder(TF_FLOAT, {-1, d, k}, "conf");
  const TF_Output pt = g.placeholder(TF_FLOAT, {-1, d, 4}, "loc_targets");
  const TF_Output py = g.placeholder(TF_INT64, {-1, d}, "label_targets");
  const TF_Output loss = tf::ssd_loss(g, c, pl, pc, pt, py);
  const TF_Output grad = g.gradients(loss, {pc})[0];
  tf::Session session(g, 2, 1, /*grappler=*/false);
  const tf::Tensor tl = tf::to_tf(loc), tc = tf::to_tf(conf), tt = tf::to_tf(loc_t),
                   ty = tf::to_tf(labels);
  const std::vector<tf::Tensor> out =
      session.run({{pl, tl.get()}, {pc, tc.get()}, {pt, tt.get()}, {py, ty.get()}}, {loss, grad});
  HostTensor pred{HostTensor::DType::kF32, {n, d, 4 + k}, std::vector<float>(n * d * (4 + k)), {}};
  for (int64_t r = 0; r < n * d; ++r) {
    std::copy_n(loc.f32.data() + r * 4, 4, pred.f32.data() + r * (4 + k));
    std::copy_n(conf.f32.data() + r * k, k, pred.f32.data() + r * (4 + k) + 4);
  }
  const double host = mean(ssd_image_losses(c, pred, loc_t, labels));
  EXPECT_NEAR(static_cast<const float*>(TF_TensorData(out[0].get()))[0], host, 1e-4 * host);
  const auto* gc = static_cast<const float*>(TF_TensorData(out[1].get()));
  int64_t tied_selected = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* lab = labels.i64.data() + i * d;
    std::vector<double> con(d);
    int64_t positives = 0;
    for (int64_t j = 0; j < d; ++j) {
      const float* z = conf.f32.data() + (i * d + j) * k;
      double mx = z[0], s = 0.0;
      for (int64_t y = 1; y < k; ++y) mx = std::max(mx, static_cast<double>(z[y]));
      for (int64_t y = 0; y < k; ++y) s += std::exp(z[y] - mx);
      con[j] = mx + std::log(s) - z[lab[j]];
      positives += lab[j] > 0 ? 1 : 0;
    }
    ASSERT_GT(positives, 0);
    const std::vector<uint8_t> neg = ssd_hard_negatives(con, lab, c.neg_pos_ratio);
    for (int64_t j = 0; j < d; ++j) {
      const bool selected = lab[j] > 0 || neg[j] != 0;
      const float* z = conf.f32.data() + (i * d + j) * k;
      double mx = z[0], s = 0.0;
      for (int64_t y = 1; y < k; ++y) mx = std::max(mx, static_cast<double>(z[y]));
      for (int64_t y = 0; y < k; ++y) s += std::exp(z[y] - mx);
      for (int64_t y = 0; y < k; ++y) {
        const double p = std::exp(z[y] - mx) / s;
        const double expect =
            selected ? (p - (y == lab[j] ? 1.0 : 0.0)) / static_cast<double>(positives * n) : 0.0;
        ASSERT_NEAR(gc[(i * d + j) * k + y], expect, 1e-6)
            << "image " << i << " box " << j << " class " << y << (selected ? " (selected)" : "");
      }
      if (i == 0 && neg[j] != 0) ++tied_selected;
    }
  }
  // Image 0's negatives all tie; some but not all of them are selected.
  EXPECT_GT(tied_selected, 0);
}

#endif  // GREENBENCH_TEST_TENSORFLOW

// The built worker: parameter count, learning, and one-line errors.
class TfSsdWorker : public test::WorkerTest {
 protected:
  TfSsdWorker() : WorkerTest("greenbench-tf", "greenbench-tf-ssd") {}
};

TEST_F(TfSsdWorker, DescribeCountsTheSpecsParameters) {
  for (const std::string scale : {"tiny", "small", "paper"}) {
    test::expect_describe_matches_spec(run({"--model", "ssd", "--scale", scale, "--describe"}),
                                       "tensorflow", "ssd", scale);
  }
}

// Tiny training more than doubles the untrained model's COCO AP (the same seed's initial
// weights, the same evaluation batches), and its loss falls.
TEST_F(TfSsdWorker, TinyTrainingBeatsTheUntrainedModel) {
  const std::vector<std::string> common = {"--model", "ssd", "--scale", "tiny", "--threads", "2"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), common.begin(), common.end());
    return run(extra);
  };
  const test::RunResult untrained = with({"--phase", "infer"});
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  const test::RunResult trained = with({"--phase", "train"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const double before = untrained.metrics.at("map"), after = trained.metrics.at("map");
  std::printf("[ info ] ssd tiny map: untrained %.4g, trained %.4g; loss %.4g -> %.4g\n", before,
              after, trained.metrics.at("loss_first"), trained.metrics.at("loss"));
  EXPECT_GT(after, 2.0 * before);
  EXPECT_GT(after, 0.0);
  EXPECT_LT(trained.metrics.at("loss"), trained.metrics.at("loss_first"));
  EXPECT_LT(trained.metrics.at("eval_loss"), untrained.metrics.at("eval_loss"));
}

TEST_F(TfSsdWorker, BadInputGivesOneLineAndAFailure) {
  auto expect_error = [&](const std::vector<std::string>& args, const std::string& needle) {
    const test::RunResult r = run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_NE(r.exit_code, 0) << joined;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << ": " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << joined << ": " << r.err;
  };
  expect_error({"--model", "ssd", "--phase", "train", "--scale", "huge"}, "huge");
  const fs::path ckpt = dir_ / "ssd.ckpt";
  const test::RunResult trained = run({"--model", "ssd", "--phase", "train", "--steps", "1",
                                       "--eval-batches", "1", "--checkpoint", ckpt.string()});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  // An SSD checkpoint offered to ResNet-50, a tiny one to small SSD, and a truncated one.
  expect_error({"--model", "resnet50", "--phase", "infer", "--checkpoint", ckpt.string()},
               ckpt.string());
  expect_error(
      {"--model", "ssd", "--scale", "small", "--phase", "infer", "--checkpoint", ckpt.string()},
      ckpt.string());
  std::ifstream in(ckpt, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path cut = dir_ / "cut.ckpt";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_error({"--model", "ssd", "--phase", "infer", "--checkpoint", cut.string()}, cut.string());
}

}  // namespace
}  // namespace greenbench::workloads
