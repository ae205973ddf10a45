// GNMT v2 in the TensorFlow worker (MODELS.md, "GNMT v2"): the graph's loss equals the host's
// label-smoothed loss on the graph's own logits, greedy decoding through the decoder-step subgraph
// follows the teacher-forced logits, TopKV2 puts the lower index first on ties, gradients are
// clipped by their global norm and never reach the embedding's pad row, and the built worker
// describes the spec's parameters, learns (BLEU), dumps its head outputs and refuses bad input
// with one line. The graph tests need the TensorFlow wheel (GREENBENCH_TEST_TENSORFLOW); the
// worker tests need greenbench-tf.
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

#include "common/beam_search.hpp"
#include "common/data.hpp"
#include "common/data_translation.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "common/weights.hpp"
#include "workloads/worker_run.hpp"
#include "workloads/worker_test.hpp"

#if GREENBENCH_TEST_TENSORFLOW
#include "graph.hpp"
#include "tf_backend.hpp"
#endif

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;

#if GREENBENCH_TEST_TENSORFLOW

Settings strict_settings(const ModelSpec& spec) {
  Settings s;
  s.model = "gnmt";
  s.scale = spec.scale;
  s.threads = 2;
  s.numerics = "strict";
  s.batch_size = spec.batch_size;
  s.eval_batch_size = spec.eval_batch_size;
  return s;
}

// The model's graph on constant weights (as tf_ssd_test builds SSD's).
struct GnmtGraph {
  GnmtGraph(const ModelSpec& spec, const Weights& weights) : settings(strict_settings(spec)) {
    for (const NamedTensor& w : weights) {
      params[w.name] = g.constant_f32(w.value.shape, w.value.f32);
      order.push_back(w.name);
    }
    builder = std::make_unique<tf::ModelBuilder>(g, spec, settings, params, false);
    tf::build_gnmt(*builder);
    session = std::make_unique<tf::Session>(g, 2, 1, /*grappler=*/false);
  }
  // Runs the fetches with the named inputs of a pass fed from `batch`.
  std::vector<tf::Tensor> run(const tf::ModelBuilder::Inputs& in, const Batch& batch,
                              const std::vector<TF_Output>& fetches) {
    std::vector<tf::Tensor> keep;
    tf::ModelBuilder::Feeds feeds;
    for (const auto& [name, placeholder] : in.inputs) {
      keep.push_back(tf::to_tf(batch.get(name)));
      feeds.emplace_back(placeholder, keep.back().get());
    }
    return session->run(feeds, fetches);
  }
  HostTensor predict(const Batch& batch) {
    std::vector<tf::Tensor> keep;
    tf::ModelBuilder::Feeds feeds;
    for (const auto& [name, placeholder] : builder->infer.inputs) {
      keep.push_back(tf::to_tf(batch.get(name)));
      feeds.emplace_back(placeholder, keep.back().get());
    }
    return builder->predict(
        feeds, [&](const tf::ModelBuilder::Feeds& f, const std::vector<TF_Output>& fetches) {
          return session->run(f, fetches);
        });
  }

  tf::Graph g;
  Settings settings;
  std::map<std::string, TF_Output> params;
  std::vector<std::string> order;
  std::unique_ptr<tf::ModelBuilder> builder;
  std::unique_ptr<tf::Session> session;
};

// MODELS.md's loss in double: Σ over non-pad labels of (1−ε)·(−lp[y]) + ε·mean_k(−lp[k]), / B.
double host_loss(const HostTensor& logits, const HostTensor& target_output, double eps) {
  const int64_t b = logits.shape[0], t = logits.shape[1], v = logits.shape[2];
  double total = 0.0;
  for (int64_t r = 0; r < b * t; ++r) {
    const int64_t y = target_output.i64[r];
    if (y == kPadToken) continue;
    const float* z = logits.f32.data() + r * v;
    double mx = z[0];
    for (int64_t k = 1; k < v; ++k) mx = std::max(mx, static_cast<double>(z[k]));
    double s = 0.0;
    for (int64_t k = 0; k < v; ++k) s += std::exp(z[k] - mx);
    const double lse = mx + std::log(s);
    double mean_nlp = 0.0;
    for (int64_t k = 0; k < v; ++k) mean_nlp += lse - z[k];
    mean_nlp /= static_cast<double>(v);
    total += (1.0 - eps) * (lse - z[y]) + eps * mean_nlp;
  }
  return total / static_cast<double>(b);
}

double max_abs(const std::vector<float>& v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

// The training pass's loss is MODELS.md's label-smoothed loss of its own logits [B, T, V], and
// the inference pass's teacher-forced logits (head_outputs) equal them on the same batch.
TEST(TfGnmt, TrainingLossEqualsTheHostComputation) {
  for (const std::string scale : {"tiny", "small"}) {
    SCOPED_TRACE(scale);
    const ModelSpec spec = make_model_spec("gnmt", scale);
    GnmtGraph net(spec, make_initial_weights(spec, 3));
    const Batch batch = make_task_data(spec, 3)->train_batch(1);
    auto& b = *net.builder;
    const std::vector<tf::Tensor> out = net.run(b.train, batch, {b.loss, b.train_logits});
    const double loss = static_cast<const float*>(TF_TensorData(out[0].get()))[0];
    const HostTensor logits = tf::to_host(out[1].get());
    const GnmtConfig& c = spec.gnmt;
    ASSERT_EQ(logits.shape,
              (std::vector<int64_t>{spec.batch_size, c.data.max_target_len, c.vocab_size}));
    const double host = host_loss(logits, batch.get("target_output"), c.label_smoothing);
    std::printf("[ info ] gnmt %s training loss: graph %.8g host %.8g\n", scale.c_str(), loss,
                host);
    EXPECT_GT(host, 0.0);
    EXPECT_NEAR(loss, host, 1e-5 * host);
    const HostTensor head = tf::to_host(net.run(b.infer, batch, {b.logits})[0].get());
    ASSERT_EQ(head.shape, logits.shape);
    const double tol = 1e-5 * max_abs(logits.f32);
    for (size_t i = 0; i < head.f32.size(); ++i) ASSERT_NEAR(head.f32[i], logits.f32[i], tol) << i;
  }
}

// TopKV2 (sorted) ranks equal values by the lower index first, which the beam search's top-k
// rows rely on.
TEST(TfGnmt, TopKPutsTheLowerIndexFirstOnTies) {
  tf::Graph g;
  const TF_Output x = g.placeholder(TF_FLOAT, {-1, 6}, "x");
  TF_Operation* top = g.build("TopKV2").in(x).in(g.scalar_i32(4)).attr("sorted", true).finish();
  tf::Session session(g, 1, 1, /*grappler=*/false);
  const tf::Tensor in = tf::to_tf({2, 6}, {1, 3, 3, 2, 3, 3, 0, 0, 0, 0, 0, 0});
  const std::vector<tf::Tensor> out = session.run({{x, in.get()}}, {{top, 1}});
  EXPECT_EQ(tf::to_host(out[0].get()).i64, (std::vector<int64_t>{1, 2, 4, 5, 0, 1, 2, 3}));
}

// predict() returns int64 [B, max_decode_length]; with beam width 1 (greedy search) every
// decoded token is the best token of the teacher-forced logits of the decoded prefix, so the
// decoder-step subgraph (states gathered by parent, encoder outputs by sentence) computes the
// same decoder as the training graph.
TEST(TfGnmt, GreedyDecodingFollowsTheTeacherForcedLogits) {
  ModelSpec spec = make_model_spec("gnmt", "tiny");
  const Weights weights = make_initial_weights(spec, 4);
  const Batch batch = make_task_data(spec, 4)->eval_batch(0);
  const GnmtConfig& c = spec.gnmt;
  const int64_t n = spec.eval_batch_size, t_len = c.data.max_target_len, v = c.vocab_size;
  {
    GnmtGraph beam(spec, weights);
    const HostTensor decoded = beam.predict(batch);
    EXPECT_EQ(decoded.dtype, HostTensor::DType::kI64);
    EXPECT_EQ(decoded.shape, (std::vector<int64_t>{n, c.max_decode_length}));
    for (int64_t tok : decoded.i64) {
      EXPECT_GE(tok, 0);
      EXPECT_LT(tok, v);
    }
  }
  spec.gnmt.beam_width = 1;
  GnmtGraph greedy(spec, weights);
  const HostTensor decoded = greedy.predict(batch);
  ASSERT_EQ(decoded.shape, (std::vector<int64_t>{n, c.max_decode_length}));
  // Feed [bos, decoded…] as the teacher-forced input.
  Batch forced = batch;
  HostTensor input{HostTensor::DType::kI64, {n, t_len}, {}, std::vector<int64_t>(n * t_len, 0)};
  for (int64_t b = 0; b < n; ++b) {
    input.i64[b * t_len] = kBosToken;
    for (int64_t t = 1; t < t_len && t - 1 < c.max_decode_length; ++t) {
      input.i64[b * t_len + t] = decoded.i64[b * c.max_decode_length + t - 1];
    }
  }
  for (auto& [name, value] : forced.inputs) {
    if (name == "target_input") value = input;
  }
  auto& m = *greedy.builder;
  const HostTensor logits = tf::to_host(greedy.run(m.infer, forced, {m.logits})[0].get());
  const double tol = 1e-5 * max_abs(logits.f32);
  int64_t checked = 0;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t t = 0; t < std::min(t_len, c.max_decode_length); ++t) {
      const int64_t tok = decoded.i64[b * c.max_decode_length + t];
      const float* z = logits.f32.data() + (b * t_len + t) * v;
      const float best = *std::max_element(z, z + v);
      ASSERT_GE(z[tok], best - tol) << "sentence " << b << " step " << t;
      ++checked;
      if (tok == kEosToken) break;
    }
  }
  EXPECT_GT(checked, n);
}

// One SGD step of the backend (lr 0.1) moves every parameter by −lr·min(1, clip/(N + 1e-6))·g, N
// the global norm of the gradients g (computed here by the same graph's TF_AddGradients), and
// leaves the embedding's pad row alone.
TEST(TfGnmt, ClipsGradientsByTheGlobalNorm) {
  ModelSpec spec = make_model_spec("gnmt", "tiny");
  spec.optimizer = {"sgd", 0.9, 0.999, 1e-8, 0.0, 0.0};
  const Weights initial = make_initial_weights(spec, 5);
  const Batch batch = make_task_data(spec, 5)->train_batch(0);
  GnmtGraph net(spec, initial);
  std::vector<TF_Output> xs;
  for (const std::string& name : net.order) xs.push_back(net.params.at(name));
  const std::vector<TF_Output> grads = net.g.gradients(net.builder->loss, xs);
  net.session = std::make_unique<tf::Session>(net.g, 2, 1, /*grappler=*/false);
  const std::vector<tf::Tensor> out = net.run(net.builder->train, batch, grads);
  std::vector<HostTensor> g;
  double sq = 0.0;
  for (const tf::Tensor& t : out) {
    g.push_back(tf::to_host(t.get()));
    double s = 0.0;
    for (float x : g.back().f32) s += static_cast<double>(x) * x;
    sq += s;
  }
  const double norm = std::sqrt(sq);
  Weights after;
  std::printf("[ info ] gnmt tiny gradient norm %.6g\n", norm);
  // Clipping to a fifth of the norm, and the preset's clip (above the norm: coefficient 1).
  for (const double clip : {0.2 * norm, spec.gnmt.grad_clip_norm}) {
    SCOPED_TRACE(clip);
    ModelSpec clipped = spec;
    clipped.gnmt.grad_clip_norm = clip;
    const double coef = std::min(1.0, clip / (norm + 1e-6));
    tf::TfBackend backend;
    backend.build(clipped, strict_settings(clipped), initial);
    const auto prepared = backend.prepare(batch, true);
    const float lr = 0.1f;
    backend.train_step(*prepared, lr, 1.0f);
    after = backend.weights();
    ASSERT_EQ(after.size(), initial.size());
    for (size_t i = 0; i < after.size(); ++i) {
      SCOPED_TRACE(after[i].name);
      const std::vector<float>& p0 = initial[i].value.f32;
      const std::vector<float>& p1 = after[i].value.f32;
      for (size_t j = 0; j < p0.size(); ++j) {
        const double expect = p0[j] - lr * coef * g[i].f32[j];
        ASSERT_NEAR(p1[j], expect, 1e-7 + 1e-4 * std::fabs(expect - p0[j])) << j;
      }
    }
  }
  // Row 0 (pad) of embedder.weight: no gradient, unchanged.
  ASSERT_EQ(after[0].name, "embedder.weight");
  const int64_t h = spec.gnmt.hidden_size;
  for (int64_t j = 0; j < h; ++j) {
    EXPECT_EQ(g[0].f32[j], 0.0f) << j;
    EXPECT_EQ(after[0].value.f32[j], initial[0].value.f32[j]) << j;
  }
}

#endif  // GREENBENCH_TEST_TENSORFLOW

// The built worker. Only TinyTrainingBeatsTheUntrainedModel trains for the preset's 400 steps
// (ctest runs every test in its own process, so a run shared through the suite would repeat).
class TfGnmtWorker : public test::WorkerTest {
 protected:
  TfGnmtWorker() : WorkerTest("greenbench-tf", "greenbench-tf-gnmt") {}
};

TEST_F(TfGnmtWorker, DescribeCountsTheSpecsParameters) {
  for (const std::string scale : {"tiny", "small", "paper"}) {
    test::expect_describe_matches_spec(run({"--model", "gnmt", "--scale", scale, "--describe"}),
                                       "tensorflow", "gnmt", scale);
  }
}

// Tiny training more than doubles the untrained model's BLEU (the same seed's initial weights,
// the same evaluation sentences), and its loss falls; the checkpoint gives the same BLEU again.
TEST_F(TfGnmtWorker, TinyTrainingBeatsTheUntrainedModel) {
  const std::vector<std::string> common = {"--model", "gnmt", "--scale", "tiny", "--threads", "2"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), common.begin(), common.end());
    return run(extra);
  };
  const std::string ckpt = (dir_ / "tiny.ckpt").string();
  const test::RunResult trained = with({"--phase", "train", "--checkpoint", ckpt});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const test::RunResult untrained = with({"--phase", "infer"});
  ASSERT_EQ(untrained.exit_code, 0) << untrained.err;
  const double before = untrained.metrics.at("bleu"), after = trained.metrics.at("bleu");
  std::printf("[ info ] gnmt tiny bleu: untrained %.4g, trained %.4g; loss %.4g -> %.4g\n", before,
              after, trained.metrics.at("loss_first"), trained.metrics.at("loss"));
  EXPECT_GT(after, 2.0 * before);
  EXPECT_GT(after, 10.0);
  EXPECT_LT(trained.metrics.at("loss"), trained.metrics.at("loss_first"));
  const test::RunResult again = with({"--phase", "infer", "--checkpoint", ckpt});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.metrics.at("bleu"), after);
}

// --dump-logits writes the teacher-forced logits of the first evaluation batch: B·T·V floats,
// finite, and not all equal.
TEST_F(TfGnmtWorker, DumpLogitsWritesTheTeacherForcedLogits) {
  const fs::path out = dir_ / "logits.bin";
  const test::RunResult r = run({"--model", "gnmt", "--scale", "tiny", "--phase", "infer",
                                 "--eval-batches", "1", "--dump-logits", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ModelSpec spec = make_model_spec("gnmt", "tiny");
  const int64_t count = spec.eval_batch_size * spec.gnmt.data.max_target_len * spec.gnmt.vocab_size;
  ASSERT_EQ(fs::file_size(out), static_cast<uintmax_t>(count) * sizeof(float));
  std::ifstream in(out, std::ios::binary);
  std::vector<float> v(static_cast<size_t>(count));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(float)));
  EXPECT_TRUE(std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }));
  EXPECT_NE(*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
}

// Batches pooled in a variable (the GPU path) train and decode exactly as fed batches.
TEST_F(TfGnmtWorker, PooledInputsGiveTheSameResults) {
  const std::vector<std::string> args = {"--model",        "gnmt",  "--scale", "tiny",
                                         "--phase",        "train", "--steps", "3",
                                         "--eval-batches", "1"};
  const test::RunResult fed = run(args);
  const test::RunResult pooled = run(args, "GREENBENCH_TF_POOLED_INPUTS=1");
  ASSERT_EQ(fed.exit_code, 0) << fed.err;
  ASSERT_EQ(pooled.exit_code, 0) << pooled.err;
  for (const char* m : {"loss_first", "loss", "bleu"}) {
    EXPECT_EQ(fed.metrics.at(m), pooled.metrics.at(m)) << m;
  }
}

TEST_F(TfGnmtWorker, BadInputGivesOneLineAndAFailure) {
  auto expect_error = [&](const std::vector<std::string>& args, const std::string& needle) {
    const test::RunResult r = run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_NE(r.exit_code, 0) << joined;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << ": " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << joined << ": " << r.err;
  };
  expect_error({"--model", "gnmt", "--phase", "train", "--scale", "huge"}, "huge");
  const std::string ckpt = (dir_ / "gnmt.ckpt").string();
  const test::RunResult trained = run({"--model", "gnmt", "--phase", "train", "--steps", "1",
                                       "--eval-batches", "1", "--checkpoint", ckpt});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  // A gnmt checkpoint offered to NCF, a tiny one to small gnmt, and a truncated one.
  expect_error({"--model", "ncf", "--phase", "infer", "--checkpoint", ckpt}, ckpt);
  expect_error({"--model", "gnmt", "--scale", "small", "--phase", "infer", "--checkpoint", ckpt},
               ckpt);
  std::ifstream in(ckpt, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path cut = dir_ / "cut.ckpt";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_error({"--model", "gnmt", "--phase", "infer", "--checkpoint", cut.string()}, cut.string());
}

}  // namespace
}  // namespace greenbench::workloads
