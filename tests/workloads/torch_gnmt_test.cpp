// GNMT v2 in the LibTorch worker (MODELS.md, "GNMT v2"): the training loss against a host
// computation of the label-smoothed loss on the worker's own logits, the pad row and the gradient
// clipping, the decoder steps of the beam search against teacher-forced decoding, and the worker
// binary's parameter count, decoded output, logits dump, training and one-line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/beam_search.hpp"
#include "common/data.hpp"
#include "common/data_translation.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "common/weights.hpp"
#include "torch/torch_backend.hpp"
#include "workloads/worker_run.hpp"
#include "workloads/worker_test.hpp"

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;

Settings gnmt_settings(const std::string& scale) {
  Settings s;
  s.model = "gnmt";
  s.scale = scale;
  s.threads = 2;
  return s;
}

// MODELS.md's loss on host logits [B, T, V], in double: (1/B) Σ over non-pad labels of
// (1 − ε)·(−lp[y]) + ε·mean_k(−lp[k]).
double host_loss(const HostTensor& logits, const HostTensor& target, double eps) {
  const int64_t b = logits.shape[0], t = logits.shape[1], v = logits.shape[2];
  double sum = 0.0;
  for (int64_t i = 0; i < b * t; ++i) {
    const int64_t y = target.i64[static_cast<size_t>(i)];
    if (y == kPadToken) continue;
    const float* z = logits.f32.data() + i * v;
    const double mx = *std::max_element(z, z + v);
    double se = 0.0, mean_z = 0.0;
    for (int64_t k = 0; k < v; ++k) {
      se += std::exp(static_cast<double>(z[k]) - mx);
      mean_z += static_cast<double>(z[k]) / static_cast<double>(v);
    }
    const double lse = mx + std::log(se);
    sum += (1.0 - eps) * (lse - z[y]) + eps * (lse - mean_z);
  }
  return sum / static_cast<double>(b);
}

// The first step's loss (before its update) equals MODELS.md's loss computed on the host from the
// backend's own training-mode logits; the inference-mode head outputs are the same logits (no
// dropout).
TEST(TorchGnmt, TrainingLossEqualsTheHostLabelSmoothedLoss) {
  for (const std::string scale : {"tiny", "small"}) {
    SCOPED_TRACE(scale);
    const ModelSpec spec = make_model_spec("gnmt", scale);
    const Settings settings = gnmt_settings(scale);
    const Weights initial = make_initial_weights(spec, settings.seed);
    const auto task = make_task_data(spec, settings.seed);
    const Batch batch = task->train_batch(0);
    const HostTensor& target = batch.get("target_output");
    const int64_t b = target.shape[0], t = target.shape[1];

    TorchBackend reference;
    reference.build(spec, settings, initial);
    const auto prepared = reference.prepare(batch, true);
    const HostTensor logits = reference.forward_host(*prepared, true);
    ASSERT_EQ(logits.shape, (std::vector<int64_t>{b, t, spec.gnmt.vocab_size}));
    const HostTensor head = reference.head_outputs(*prepared);
    ASSERT_EQ(head.shape, logits.shape);
    for (size_t i = 0; i < logits.f32.size(); ++i) {
      ASSERT_NEAR(head.f32[i], logits.f32[i], 1e-5f) << "element " << i;
    }
    const double host = host_loss(logits, target, spec.gnmt.label_smoothing);

    TorchBackend worker;
    worker.build(spec, settings, initial);
    const Backend::StepResult step = worker.train_step(*worker.prepare(batch, true), 1e-3f, 1.0f);
    std::printf("[ info ] gnmt %s first loss: backend %.7g, host %.7g\n", scale.c_str(), step.loss,
                host);
    EXPECT_GT(host, 10.0);  // about (target tokens per sentence)·ln V at the start
    EXPECT_NEAR(step.loss, host, 1e-5 * host);
  }
}

// With SGD (no momentum yet on the first step, lr 1) a step moves each weight by its gradient:
// clipped to a global norm of 0.01 it is the unclipped step times 0.01 / (N + 1e-6), N the
// unclipped step's global norm. The embedding's pad row moves in neither.
TEST(TorchGnmt, GradientsAreClippedByTheirGlobalNormAndThePadRowGetsNone) {
  ModelSpec spec = make_model_spec("gnmt", "tiny");
  spec.optimizer = OptimizerSpec{};
  spec.optimizer.name = "sgd";
  spec.optimizer.momentum = 0.9;
  const Settings settings = gnmt_settings("tiny");
  const Weights initial = make_initial_weights(spec, settings.seed);
  const Batch batch = make_task_data(spec, settings.seed)->train_batch(0);
  const auto step_with_clip = [&](double clip) {
    ModelSpec s = spec;
    s.gnmt.grad_clip_norm = clip;
    TorchBackend backend;
    backend.build(s, settings, initial);
    (void)backend.train_step(*backend.prepare(batch, true), 1.0f, 1.0f);
    std::vector<std::vector<double>> delta;
    const Weights after = backend.weights();
    for (size_t i = 0; i < after.size(); ++i) {
      std::vector<double> d(after[i].value.f32.size());
      for (size_t j = 0; j < d.size(); ++j) {
        d[j] = static_cast<double>(initial[i].value.f32[j]) - after[i].value.f32[j];
      }
      delta.push_back(std::move(d));
    }
    return delta;
  };
  const auto free = step_with_clip(0.0);
  const auto clipped = step_with_clip(0.01);
  ASSERT_EQ(initial[0].name, "embedder.weight");
  const auto h = static_cast<size_t>(spec.gnmt.hidden_size);
  for (size_t j = 0; j < h; ++j) {
    EXPECT_EQ(free[0][j], 0.0) << "pad row, column " << j;
    EXPECT_EQ(clipped[0][j], 0.0) << "pad row, column " << j;
  }
  double norm2 = 0.0;
  for (const auto& d : free) {
    for (double x : d) norm2 += x * x;
  }
  const double norm = std::sqrt(norm2);
  const double factor = 0.01 / (norm + 1e-6);
  std::printf("[ info ] gnmt tiny first gradient's global norm %.6g\n", norm);
  ASSERT_LT(factor, 0.5);  // the clipping matters
  double worst = 0.0;
  for (size_t i = 0; i < free.size(); ++i) {
    for (size_t j = 0; j < free[i].size(); ++j) {
      // Each delta is a difference of float32 weights near 0.1: a few 1e-9 of rounding.
      const double expected = factor * free[i][j];
      worst = std::max(worst, std::abs(clipped[i][j] - expected));
      ASSERT_NEAR(clipped[i][j], expected, 3e-8 + 1e-5 * std::abs(expected))
          << initial[i].name << " element " << j;
    }
  }
  std::printf("[ info ] largest deviation from the clipped step %.3g\n", worst);
}

// bf16 and fp16 run the LSTMs written out (matmuls in 16 bits, the cell in float32) where fp32
// runs at::lstm: their logits follow fp32's within 16-bit rounding carried through 8 LSTMs
// (measured: bf16 7%, fp16 0.6% of max|logit|; a cell with its i and f gates swapped: 74%), and
// are not fp32's.
TEST(TorchGnmt, MixedPrecisionLogitsFollowFp32) {
  const ModelSpec spec = make_model_spec("gnmt", "tiny");
  Weights initial = make_initial_weights(spec, 1);
  // Larger LSTM and classifier weights than the initial U(±0.1), so that the LSTMs' gates and
  // states shape the logits (at the initial scale a cell with its gates swapped passes).
  for (NamedTensor& w : initial) {
    if (w.name.find("_l0") != std::string::npos || w.name.find("classifier") != std::string::npos) {
      for (float& x : w.value.f32) x *= 5.0f;
    }
  }
  const Batch batch = make_task_data(spec, 1)->eval_batch(0);
  const auto logits = [&](const std::string& precision) {
    Settings s = gnmt_settings("tiny");
    s.precision = precision;
    TorchBackend backend;
    backend.build(spec, s, initial);
    return backend.head_outputs(*backend.prepare(batch, false));
  };
  const HostTensor fp32 = logits("fp32");
  float max_abs = 0.0f;
  for (float x : fp32.f32) max_abs = std::max(max_abs, std::abs(x));
  for (const auto& [precision, tolerance] :
       std::vector<std::pair<std::string, float>>{{"bf16", 0.2f}, {"fp16", 1.0f / 32.0f}}) {
    const HostTensor mixed = logits(precision);
    ASSERT_EQ(mixed.shape, fp32.shape);
    float worst = 0.0f;
    for (size_t i = 0; i < fp32.f32.size(); ++i) {
      worst = std::max(worst, std::abs(mixed.f32[i] - fp32.f32[i]));
    }
    std::printf("[ info ] gnmt tiny %s logits: max |Δ| %.3g of max |logit| %.3g\n",
                precision.c_str(), worst, max_abs);
    EXPECT_LT(worst, tolerance * max_abs) << precision;
    EXPECT_GT(worst, 1e-5f * max_abs) << precision;
  }
}

// clip_grad_norm on hand-made gradients: norms 3 and 4 (global 5) clipped to 1, and left alone
// under a larger bound.
TEST(TorchGnmt, ClipGradNormFollowsClipGradNorm) {
  std::vector<at::Tensor> g = {at::full({1}, 3.0f), at::Tensor(), at::full({4}, 2.0f)};
  const at::Tensor n = clip_grad_norm(g, 1.0);
  EXPECT_NEAR(n.item<double>(), 5.0, 1e-6);
  EXPECT_NEAR(g[0].item<double>(), 3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(g[2][3].item<double>(), 2.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_FALSE(g[1].defined());
  (void)clip_grad_norm(g, 100.0);
  EXPECT_NEAR(g[0].item<double>(), 3.0 / (5.0 + 1e-6), 1e-6);
}

// The decoded tokens equal those of the shared search fed whole log-softmax rows of the
// teacher-forced decoder (the prefix of each row run through forward() from scratch): the
// one-step decoder, its states gathered by parent, the gathered encoder outputs and the top-K
// rows compute what the teacher-forced model computes. β = 0 (the reference has no attention);
// the classifier is scaled up so that candidates lie far apart compared with rounding.
TEST(TorchGnmt, BeamSearchDecodesAsTheTeacherForcedDecoder) {
  ModelSpec spec = make_model_spec("gnmt", "tiny");
  spec.gnmt.cov_penalty_factor = 0.0;
  const Settings settings = gnmt_settings("tiny");
  Weights initial = make_initial_weights(spec, settings.seed);
  for (NamedTensor& w : initial) {
    if (w.name.rfind("decoder.classifier.", 0) == 0) {
      for (float& x : w.value.f32) x *= 30.0f;
    }
  }
  TorchBackend backend;
  backend.build(spec, settings, initial);
  const Batch batch = make_task_data(spec, settings.seed)->eval_batch(0);
  const HostTensor decoded = backend.predict(*backend.prepare(batch, false));
  const GnmtConfig& g = spec.gnmt;
  const int64_t b = batch.get("source").shape[0], s = batch.get("source").shape[1];
  ASSERT_EQ(decoded.dtype, HostTensor::DType::kI64);
  ASSERT_EQ(decoded.shape, (std::vector<int64_t>{b, g.max_decode_length}));

  // Reference: whole rows from teacher-forced forward passes over each row's prefix.
  std::vector<std::vector<int64_t>> prefix;  // per row of the previous step: bos + tokens
  const HostTensor& source = batch.get("source");
  const HostTensor& lengths = batch.get("source_lengths");
  const BeamStepFn reference = [&](const BeamStepRequest& req) {
    const auto rows = static_cast<int64_t>(req.tokens.size());
    std::vector<std::vector<int64_t>> next(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      const auto ur = static_cast<size_t>(r);
      if (req.step > 0) next[ur] = prefix[static_cast<size_t>(req.parents[ur])];
      next[ur].push_back(req.tokens[ur]);
    }
    prefix = next;
    const int64_t t = req.step + 1;
    Batch rb;
    HostTensor src, len, tin, tout;
    src.dtype = len.dtype = tin.dtype = tout.dtype = HostTensor::DType::kI64;
    src.shape = {rows, s};
    len.shape = {rows};
    tin.shape = tout.shape = {rows, t};
    for (int64_t r = 0; r < rows; ++r) {
      const auto sent = static_cast<size_t>(req.sentences[static_cast<size_t>(r)]);
      src.i64.insert(src.i64.end(), source.i64.begin() + static_cast<int64_t>(sent) * s,
                     source.i64.begin() + static_cast<int64_t>(sent + 1) * s);
      len.i64.push_back(lengths.i64[sent]);
      const auto& p = prefix[static_cast<size_t>(r)];
      tin.i64.insert(tin.i64.end(), p.begin(), p.end());
    }
    tout.i64.assign(tin.i64.size(), kEosToken);
    rb.inputs = {
        {"source", src}, {"source_lengths", len}, {"target_input", tin}, {"target_output", tout}};
    const HostTensor logits = backend.forward_host(*backend.prepare(rb, false), false);
    const int64_t v = logits.shape[2];
    BeamStepResult out;
    out.width = v;
    for (int64_t r = 0; r < rows; ++r) {
      const float* z = logits.f32.data() + ((r + 1) * t - 1) * v;
      const double mx = *std::max_element(z, z + v);
      double se = 0.0;
      for (int64_t k = 0; k < v; ++k) se += std::exp(static_cast<double>(z[k]) - mx);
      for (int64_t k = 0; k < v; ++k) {
        out.log_probs.push_back(static_cast<float>(z[k] - mx - std::log(se)));
      }
    }
    return out;
  };
  const BeamSearchResult expected =
      beam_search(beam_search_config(g), b, g.vocab_size, s, reference);
  const HostTensor want = decoded_tensor(expected.tokens, g.max_decode_length);
  int64_t differing = 0;
  for (int64_t i = 0; i < b; ++i) {
    const auto first = decoded.i64.begin() + i * g.max_decode_length;
    const auto wfirst = want.i64.begin() + i * g.max_decode_length;
    if (!std::equal(first, first + g.max_decode_length, wfirst)) ++differing;
  }
  EXPECT_EQ(differing, 0) << "sentences decoded differently from the teacher-forced reference";
  // The decoded rows are tokens of the vocabulary, pads only after the eos.
  for (int64_t i = 0; i < b; ++i) {
    bool ended = false;
    for (int64_t j = 0; j < g.max_decode_length; ++j) {
      const int64_t tok = decoded.i64[static_cast<size_t>(i * g.max_decode_length + j)];
      ASSERT_GE(tok, 0);
      ASSERT_LT(tok, g.vocab_size);
      if (ended) ASSERT_EQ(tok, kPadToken) << "row " << i << " position " << j;
      ended = ended || tok == kEosToken;
    }
  }
  std::printf("[ info ] gnmt tiny beam search: %lld sentences, %lld steps\n",
              static_cast<long long>(b), static_cast<long long>(expected.steps));
}

class TorchGnmtWorker : public test::WorkerTest {
 protected:
  TorchGnmtWorker() : WorkerTest("greenbench-torch", "greenbench-torch-gnmt") {}
};

TEST_F(TorchGnmtWorker, DescribeCountsTheSpecsParameters) {
  for (const std::string scale : {"tiny", "small", "paper"}) {
    test::expect_describe_matches_spec(run({"--model", "gnmt", "--scale", scale, "--describe"}),
                                       "pytorch", "gnmt", scale);
  }
}

// One tiny training run (the preset's 400 steps) shared by the checks that need it: BLEU more
// than doubles the untrained model's, the loss falls, the checkpoint evaluates to the same BLEU,
// and --dump-logits writes the first evaluation batch's teacher-forced logits, B·T·V floats,
// equal to the backend's head outputs.
TEST_F(TorchGnmtWorker, TinyTrainingBeatsTheUntrainedModel) {
  const ModelSpec spec = make_model_spec("gnmt", "tiny");
  const GnmtConfig& g = spec.gnmt;
  const fs::path logits = dir_ / "untrained.logits";
  const test::RunResult untrained = run(
      {"--model", "gnmt", "--phase", "infer", "--threads", "1", "--dump-logits", logits.string()});
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  const auto count =
      static_cast<size_t>(spec.eval_batch_size * g.data.max_target_len * g.vocab_size);
  ASSERT_EQ(fs::file_size(logits), sizeof(float) * count);
  {
    std::vector<float> dumped(count);
    std::ifstream in(logits, std::ios::binary);
    in.read(reinterpret_cast<char*>(dumped.data()), static_cast<std::streamsize>(count * 4));
    const Settings settings = gnmt_settings("tiny");
    TorchBackend backend;
    backend.build(spec, settings, make_initial_weights(spec, settings.seed));
    const Batch first = make_task_data(spec, settings.seed)->eval_batch(0);
    const HostTensor head = backend.head_outputs(*backend.prepare(first, false));
    ASSERT_EQ(head.f32.size(), count);
    for (size_t i = 0; i < count; ++i) ASSERT_NEAR(dumped[i], head.f32[i], 1e-5f) << i;
  }

  const fs::path ckpt = dir_ / "gnmt.ckpt";
  const test::RunResult trained =
      run({"--model", "gnmt", "--phase", "train", "--threads", "1", "--checkpoint", ckpt.string()});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const double before = untrained.metrics.at("bleu"), after = trained.metrics.at("bleu");
  std::printf(
      "[ info ] gnmt tiny bleu: untrained %.4g, trained %.4g; loss %.4g -> %.4g; train %.3g s, "
      "%.4g samples/s\n",
      before, after, trained.metrics.at("loss_first"), trained.metrics.at("loss"),
      trained.metrics.count("train_s") ? trained.metrics.at("train_s") : -1.0,
      trained.metrics.at("samples_per_s"));
  EXPECT_LT(trained.metrics.at("loss"), trained.metrics.at("loss_first"));
  EXPECT_GT(after, 2.0 * before);
  EXPECT_GT(after, 10.0);

  const test::RunResult reloaded =
      run({"--model", "gnmt", "--phase", "infer", "--threads", "1", "--checkpoint", ckpt.string()});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err;
  EXPECT_EQ(reloaded.metrics.at("bleu"), after);
}

TEST_F(TorchGnmtWorker, BadInputGivesOneLineErrors) {
  const auto expect_error = [&](const std::vector<std::string>& args, const std::string& needle) {
    const test::RunResult r = run(args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  expect_error({"--model", "gnmt", "--phase", "train", "--scale", "nonsense"}, "nonsense");
  expect_error({"--model", "gnmt", "--phase", "train", "--batch-size", "0"}, "--batch-size");
  // An NCF checkpoint offered to GNMT.
  const fs::path ckpt = dir_ / "ncf.ckpt";
  const test::RunResult r = run({"--model", "ncf", "--phase", "train", "--steps", "1",
                                 "--eval-batches", "1", "--checkpoint", ckpt.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_error({"--model", "gnmt", "--phase", "infer", "--checkpoint", ckpt.string()},
               ckpt.string());
}

}  // namespace
}  // namespace greenbench::workloads
