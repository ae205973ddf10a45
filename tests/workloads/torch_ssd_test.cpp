// SSD300 in the LibTorch worker (MODELS.md, "SSD300"): the backend's training loss against the
// shared host reference ssd_image_losses on the same weights and batch, the hard-negative tie
// rule, and the worker binary's parameter count, training and one-line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "common/ssd_boxes.hpp"
#include "common/weights.hpp"
#include "torch/torch_backend.hpp"
#include "workloads/worker_run.hpp"
#include "workloads/worker_test.hpp"

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

at::Tensor to_tensor(const HostTensor& h) {
  if (h.dtype == HostTensor::DType::kF32) {
    return at::from_blob(const_cast<float*>(h.f32.data()), h.shape, at::kFloat).clone();
  }
  return at::from_blob(const_cast<int64_t*>(h.i64.data()), h.shape, at::kLong).clone();
}

HostTensor to_host(const at::Tensor& t) {
  const at::Tensor c = t.detach().contiguous();
  HostTensor h;
  h.shape.assign(c.sizes().begin(), c.sizes().end());
  h.f32.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return h;
}

// The first training step's loss (computed by the backend in training mode, before its update)
// equals the host reference on the same training-mode predictions, at both presets that run on
// two cores in seconds.
TEST(TorchSsd, FirstTrainingLossEqualsTheHostReference) {
  for (const std::string scale : {"tiny", "small"}) {
    SCOPED_TRACE(scale);
    const ModelSpec spec = make_model_spec("ssd", scale);
    Settings settings;
    settings.model = "ssd";
    settings.scale = scale;
    settings.threads = 2;
    const Weights initial = make_initial_weights(spec, settings.seed);
    const auto task = make_task_data(spec, settings.seed);
    const Batch batch = task->train_batch(0);

    // Training-mode predictions (batch statistics) of the initial weights.
    TorchBackend reference;
    reference.build(spec, settings, initial);
    const HostTensor predictions = reference.forward_host(*reference.prepare(batch, true), true);
    const int64_t n = batch.get("images").shape[0];
    ASSERT_EQ(predictions.shape,
              (std::vector<int64_t>{n, spec.ssd.num_default_boxes(), 4 + spec.ssd.num_classes}));
    const double host = mean(ssd_image_losses(spec.ssd, predictions, batch.get("loc_targets"),
                                              batch.get("label_targets")));

    // A fresh backend's first step on the same weights and batch.
    TorchBackend worker;
    worker.build(spec, settings, initial);
    const auto prepared = worker.prepare(batch, true);
    const Backend::StepResult step = worker.train_step(*prepared, 0.01f, 1.0f);
    std::printf("[ info ] ssd %s first loss: backend %.7g, host reference %.7g\n", scale.c_str(),
                step.loss, host);
    EXPECT_GT(host, 0.0);
    EXPECT_NEAR(step.loss, host, 1e-4 * host);
    // The step changed the weights (the loss has a gradient) and the next loss is another one.
    const Weights after = worker.weights();
    EXPECT_NE(after[0].value.f32, initial[0].value.f32);
  }
}

// On random predictions and targets with positives and many negatives, the LibTorch loss equals
// the host reference per batch, including images without positives (loss 0).
TEST(TorchSsd, LossMatchesTheHostReferenceOnRandomPredictions) {
  const ModelSpec spec = make_model_spec("ssd", "tiny");
  const SsdConfig& c = spec.ssd;
  const int64_t n = 3, d = c.num_default_boxes(), k = c.num_classes;
  at::manual_seed(5);
  const at::Tensor pred = at::randn({n, d, 4 + k}) * 3.0;
  const at::Tensor loc = at::randn({n, d, 4});
  at::Tensor labels = at::randint(0, k, {n, d}, at::kLong);
  labels.masked_fill_(at::rand({n, d}) < 0.9, 0);  // mostly background
  labels[2].fill_(0);                              // an image without positives
  const double host = mean(ssd_image_losses(c, to_host(pred), to_host(loc), [&] {
    HostTensor h;
    h.dtype = HostTensor::DType::kI64;
    h.shape = {n, d};
    h.i64.assign(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + n * d);
    return h;
  }()));
  const double torch = ssd_loss(c, pred, loc, labels).item<double>();
  EXPECT_NEAR(torch, host, 1e-5 * host);
}

// With equal losses on every negative (all logits equal), the hard negatives are the 3·P
// negatives of lowest default-box index: exactly those (and the positives) get a gradient.
TEST(TorchSsd, TiedNegativesSelectTheLowestDefaultBoxIndices) {
  const ModelSpec spec = make_model_spec("ssd", "tiny");
  const SsdConfig& c = spec.ssd;
  const int64_t d = c.num_default_boxes(), k = c.num_classes;
  at::Tensor pred = at::zeros({1, d, 4 + k}).requires_grad_(true);
  const at::Tensor loc = at::zeros({1, d, 4});
  at::Tensor labels = at::zeros({1, d}, at::kLong);
  // Two positives among the first boxes: 6 hard negatives, the lowest-index ones.
  labels[0][1] = 2;
  labels[0][4] = 1;
  const at::Tensor loss = ssd_loss(c, pred, loc, labels);
  EXPECT_NEAR(loss.item<double>(), 8.0 * std::log(static_cast<double>(k)) / 2.0, 1e-6);
  loss.backward();
  const at::Tensor g = pred.grad().narrow(2, 4, k).abs().sum(2)[0];
  std::vector<int64_t> with_gradient;
  for (int64_t i = 0; i < d; ++i) {
    if (g[i].item<float>() > 0.0f) with_gradient.push_back(i);
  }
  EXPECT_EQ(with_gradient, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

class TorchSsdWorker : public test::WorkerTest {
 protected:
  TorchSsdWorker() : WorkerTest("greenbench-torch", "greenbench-torch-ssd") {}
};

TEST_F(TorchSsdWorker, DescribeCountsTheSpecsParameters) {
  for (const std::string scale : {"tiny", "small", "paper"}) {
    test::expect_describe_matches_spec(run({"--model", "ssd", "--scale", scale, "--describe"}),
                                       "pytorch", "ssd", scale);
  }
}

// Tiny training more than doubles the untrained model's COCO box AP (the untrained run evaluates
// the seed's initial weights), and the first evaluation batch's predictions have the documented
// shape [N, D, 4 + K].
TEST_F(TorchSsdWorker, TinyTrainingBeatsTheUntrainedModel) {
  const ModelSpec spec = make_model_spec("ssd", "tiny");
  const fs::path logits = dir_ / "untrained.logits";
  const test::RunResult untrained = run(
      {"--model", "ssd", "--phase", "infer", "--threads", "2", "--dump-logits", logits.string()});
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  EXPECT_EQ(
      fs::file_size(logits),
      sizeof(float) * static_cast<size_t>(spec.eval_batch_size * spec.ssd.num_default_boxes() *
                                          (4 + spec.ssd.num_classes)));
  const test::RunResult trained = run({"--model", "ssd", "--phase", "train", "--threads", "2"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const double before = untrained.metrics.at("map"), after = trained.metrics.at("map");
  std::printf("[ info ] ssd tiny map: untrained %.3g, trained %.3g; loss %.4g -> %.4g\n", before,
              after, trained.metrics.at("loss_first"), trained.metrics.at("loss"));
  EXPECT_LT(trained.metrics.at("loss"), trained.metrics.at("loss_first"));
  EXPECT_GT(after, 2.0 * before);
  EXPECT_GT(after, 0.0);
}

TEST_F(TorchSsdWorker, BadInputGivesOneLineErrors) {
  const auto expect_error = [&](const std::vector<std::string>& args, const std::string& needle) {
    const test::RunResult r = run(args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  expect_error({"--model", "ssd", "--phase", "train", "--scale", "huge"}, "huge");
  expect_error({"--model", "ssd", "--phase", "fly"}, "fly");
  expect_error({"--model", "ssd", "--phase", "train", "--batch-size", "0"}, "--batch-size");
  // A ResNet-50 checkpoint offered to SSD (same backbone names, other model).
  const fs::path ckpt = dir_ / "resnet.ckpt";
  const test::RunResult r = run({"--model", "resnet50", "--phase", "train", "--steps", "1",
                                 "--eval-batches", "1", "--checkpoint", ckpt.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_error({"--model", "ssd", "--phase", "infer", "--checkpoint", ckpt.string()},
               ckpt.string());
}

}  // namespace
}  // namespace greenbench::workloads
