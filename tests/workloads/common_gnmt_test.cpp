// GNMT's shared half: spec (parameter list, counts), initial weights, learning-rate schedule and
// the task data (batches, samples, BLEU of decoded sequences).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "common/beam_search.hpp"
#include "common/data.hpp"
#include "common/data_translation.hpp"
#include "common/models.hpp"
#include "common/weights.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

// Parameters of torch.nn.LSTM(in, h): w_ih, w_hh, b_ih, b_hh.
int64_t lstm(int64_t in, int64_t h) { return 4 * h * in + 4 * h * h + 8 * h; }

// DeepLearningExamples' GNMT with a shared embedding, module by module.
int64_t gnmt_count(int64_t v, int64_t h, int64_t layers) {
  const int64_t embedder = v * h;
  const int64_t encoder = 2 * lstm(h, h) + lstm(2 * h, h) + (layers - 2) * lstm(h, h);
  const int64_t attention = 2 * h * h + h + 1 + h;  // linear_q, linear_k, linear_att, scalar, bias
  const int64_t decoder = lstm(h, h) + attention + (layers - 1) * lstm(2 * h, h);
  const int64_t classifier = v * h + v;
  return embedder + encoder + decoder + classifier;
}

TEST(GnmtSpec, ParameterCountsFollowTheFormulaAtEveryScale) {
  for (const std::string& scale : scale_names()) {
    const ModelSpec s = make_model_spec("gnmt", scale);
    const GnmtConfig& c = s.gnmt;
    EXPECT_EQ(c.vocab_size, std::max(source_vocab_size(c.data), target_vocab_size(c.data)));
    EXPECT_EQ(s.trainable_parameter_count(), gnmt_count(c.vocab_size, c.hidden_size, c.num_layers))
        << scale;
  }
  // tiny by hand: V 86, H 64, 4 layers.
  EXPECT_EQ(make_model_spec("gnmt", "tiny").trainable_parameter_count(), 384471);
  // paper: the study's hidden size 32 over DeepLearningExamples' 32,320-token vocabulary.
  const ModelSpec paper = make_model_spec("gnmt", "paper");
  EXPECT_EQ(paper.gnmt.vocab_size, 32320);
  EXPECT_EQ(paper.gnmt.hidden_size, 32);
  EXPECT_EQ(paper.batch_size, 128);
  // At DeepLearningExamples' default hidden size 1024 the formula gives its 160M parameters.
  EXPECT_EQ(gnmt_count(32320, 1024, 4), 160671297);
}

TEST(GnmtSpec, ParametersHaveCanonicalNamesLayoutsAndOrder) {
  const ModelSpec s = make_model_spec("gnmt", "tiny");
  const int64_t h = s.gnmt.hidden_size;
  const int64_t v = s.gnmt.vocab_size;
  const int64_t layers = s.gnmt.num_layers;
  EXPECT_EQ(s.params.size(),
            static_cast<size_t>(1 + 8 + 4 * (layers - 1) + 4 + 5 + 4 * (layers - 1) + 2));
  EXPECT_EQ(s.params.front().name, "embedder.weight");
  EXPECT_EQ(s.params.front().shape, (std::vector<int64_t>{v, h}));
  EXPECT_EQ(s.params[1].name, "encoder.rnn_layers.0.weight_ih_l0");
  EXPECT_EQ(s.params[5].name, "encoder.rnn_layers.0.weight_ih_l0_reverse");
  EXPECT_EQ(s.param("encoder.rnn_layers.0.weight_hh_l0_reverse").shape,
            (std::vector<int64_t>{4 * h, h}));
  EXPECT_EQ(s.param("encoder.rnn_layers.1.weight_ih_l0").shape,
            (std::vector<int64_t>{4 * h, 2 * h}));
  EXPECT_EQ(s.param("encoder.rnn_layers.3.bias_hh_l0").shape, (std::vector<int64_t>{4 * h}));
  EXPECT_EQ(s.param("decoder.att_rnn.rnn.weight_ih_l0").shape, (std::vector<int64_t>{4 * h, h}));
  EXPECT_EQ(s.param("decoder.att_rnn.attn.linear_q.weight").shape, (std::vector<int64_t>{h, h}));
  EXPECT_EQ(s.param("decoder.att_rnn.attn.normalize_scalar").shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(s.param("decoder.rnn_layers.2.weight_ih_l0").shape,
            (std::vector<int64_t>{4 * h, 2 * h}));
  EXPECT_THROW((void)s.param("decoder.rnn_layers.3.weight_ih_l0"), Error);
  EXPECT_EQ(s.params.back().name, "decoder.classifier.classifier.bias");
  EXPECT_EQ(s.params.back().shape, (std::vector<int64_t>{v}));
  std::set<std::string> names;
  for (const ParamSpec& p : s.params) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name;
    EXPECT_TRUE(p.trainable) << p.name;
  }
  EXPECT_EQ(s.optimizer.name, "adam");
}

TEST(GnmtSpec, IsListedForTheWorkersAtEveryScale) {
  const auto& names = model_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "gnmt"), names.end());
  for (const std::string& scale : scale_names()) {
    const ModelSpec s = make_model_spec("gnmt", scale);
    EXPECT_EQ(s.model, "gnmt");
    EXPECT_GE(s.gnmt.beam_width, 1);
    EXPECT_GE(s.gnmt.max_decode_length, s.gnmt.data.max_target_len);
    EXPECT_GT(s.train_steps, 0);
    EXPECT_GT(s.eval_batches, 0);
  }
}

TEST(GnmtWeights, DeterministicUniformWithinInitWeight) {
  const ModelSpec s = make_model_spec("gnmt", "tiny");
  const Weights a = make_initial_weights(s, 7);
  const Weights b = make_initial_weights(s, 7);
  const Weights c = make_initial_weights(s, 8);
  check_weights(s, a, "gnmt weights");
  ASSERT_EQ(a.size(), b.size());
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].value.f32, b[i].value.f32) << a[i].name;
    differs = differs || a[i].value.f32 != c[i].value.f32;
    const std::string& name = a[i].name;
    const std::vector<float>& x = a[i].value.f32;
    const bool zero = name.find("bias_hh") != std::string::npos || name.ends_with("normalize_bias");
    if (zero) {
      for (float v : x) EXPECT_EQ(v, 0.0F) << name;
    } else if (name.ends_with("normalize_scalar")) {
      EXPECT_EQ(x.at(0), static_cast<float>(1.0 / std::sqrt(64.0)));
    } else {
      for (float v : x) {
        EXPECT_GE(v, -0.1F) << name;
        EXPECT_LE(v, 0.1F) << name;
      }
      if (x.size() >= 1000) {  // spread over the whole interval, centred
        const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
        EXPECT_LT(*lo, -0.09F) << name;
        EXPECT_GT(*hi, 0.09F) << name;
        double mean = 0.0;
        for (float v : x) mean += v;
        EXPECT_NEAR(mean / static_cast<double>(x.size()), 0.0, 0.01) << name;
      }
    }
  }
  EXPECT_TRUE(differs);
}

TEST(GnmtSchedule, WarmupStepDecayFollowsDlesWarmupMultiStepLr) {
  LrSchedule s;
  s.kind = "warmup_step_decay";
  s.base_lr = 2e-3;
  s.warmup_steps = 20;
  s.remain_fraction = 0.666;
  s.decay_steps = 4;
  s.decay_factor = 0.5;
  const int64_t total = 400;  // remain = 266, decay interval ⌊134 / 4⌋ = 33
  EXPECT_NEAR(learning_rate_at(s, 0, total), 2e-5, 1e-15);   // base · 0.01
  EXPECT_NEAR(learning_rate_at(s, 10, total), 2e-4, 1e-15);  // base · 0.01^(1/2)
  EXPECT_NEAR(learning_rate_at(s, 20, total), 2e-3, 1e-15);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 21, total), 2e-3);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 265, total), 2e-3);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 266, total), 1e-3);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 298, total), 1e-3);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 299, total), 5e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 365, total), 1.25e-4);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 399, total), 1.25e-4);  // at most 4 decays
  // Warm-up longer than the plateau is cut to it, as DLE does (t ≤ warm-up wins at t = 266).
  s.warmup_steps = 1000;
  EXPECT_NEAR(learning_rate_at(s, 133, total), 2e-4, 1e-15);
  EXPECT_NEAR(learning_rate_at(s, 266, total), 2e-3, 1e-15);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 267, total), 1e-3);
  EXPECT_NEAR(learning_rate_at(s, 0, total), 2e-5, 1e-15);
}

std::vector<std::vector<int64_t>> rows(const HostTensor& t) {
  std::vector<std::vector<int64_t>> out;
  const int64_t w = t.shape.size() > 1 ? t.shape[1] : 1;
  for (int64_t b = 0; b < t.shape[0]; ++b) {
    out.emplace_back(t.i64.begin() + b * w, t.i64.begin() + (b + 1) * w);
  }
  return out;
}

TEST(GnmtTaskData, BatchesComeFromTheTranslationGenerator) {
  const ModelSpec s = make_model_spec("gnmt", "tiny");
  const auto data = make_task_data(s, 3);
  const TranslationLexicon lex = make_translation_lexicon(s.gnmt.data, 3);
  const Batch b1 = data->train_batch(1);
  const Batch ref = make_translation_batch(s.gnmt.data, lex, 3, false, s.batch_size, s.batch_size);
  for (const char* name : {"source", "source_lengths", "target_input", "target_output"}) {
    EXPECT_EQ(b1.get(name).i64, ref.get(name).i64) << name;
    EXPECT_EQ(b1.get(name).shape, ref.get(name).shape) << name;
  }
  EXPECT_EQ(batch_bytes(s, false), batch_bytes(b1));
  const Batch e2 = data->eval_batch(2);
  EXPECT_EQ(e2.get("source").i64, make_translation_batch(s.gnmt.data, lex, 3, true,
                                                         2 * s.eval_batch_size, s.eval_batch_size)
                                      .get("source")
                                      .i64);
  EXPECT_EQ(batch_bytes(s, true), batch_bytes(e2));
  EXPECT_EQ(data->eval_batch_count(), s.eval_batches);
  // Samples: target tokens and their eos.
  int64_t tokens = 0;
  for (const auto& r : translation_references(b1)) tokens += static_cast<int64_t>(r.size()) + 1;
  EXPECT_EQ(data->samples_in(b1), tokens);
  EXPECT_EQ(data->metric_inputs(e2).inputs.size(), 1U);
}

TEST(GnmtTaskData, TrainingSetIsCycledAcrossItsEnd) {
  ModelSpec s = make_model_spec("gnmt", "tiny");
  const int64_t bs = s.batch_size;
  s.train_examples = bs + 5;
  const auto data = make_task_data(s, 3);
  const TranslationLexicon lex = make_translation_lexicon(s.gnmt.data, 3);
  // Step 1 holds sentences B … B + 4, then 0 … B − 6.
  const auto got = rows(data->train_batch(1).get("source"));
  ASSERT_EQ(got.size(), static_cast<size_t>(bs));
  const auto head = rows(make_translation_batch(s.gnmt.data, lex, 3, false, bs, 5).get("source"));
  const auto tail =
      rows(make_translation_batch(s.gnmt.data, lex, 3, false, 0, bs - 5).get("source"));
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(got[i], head[i]);
  for (size_t i = 0; i + 5 < got.size(); ++i) EXPECT_EQ(got[i + 5], tail[i]);
  EXPECT_EQ(data->train_batch(1).get("source_lengths").shape, (std::vector<int64_t>{bs}));
  // The preset's default set is one epoch: step train_steps is step 0 again.
  const ModelSpec d = make_model_spec("gnmt", "tiny");
  const auto dd = make_task_data(d, 3);
  EXPECT_EQ(dd->train_batch(d.train_steps).get("target_output").i64,
            dd->train_batch(0).get("target_output").i64);
}

TEST(GnmtTaskData, BleuOfDecodedSequences) {
  const ModelSpec s = make_model_spec("gnmt", "tiny");
  const auto data = make_task_data(s, 5);
  const int64_t width = s.gnmt.max_decode_length;
  std::vector<Batch> batches;
  for (int64_t i = 0; i < s.eval_batches; ++i) {
    batches.push_back(data->metric_inputs(data->eval_batch(i)));
  }
  // Perfect translations (with the eos, as the search returns them): BLEU 100.
  data->begin_eval();
  for (const Batch& b : batches) {
    std::vector<std::vector<int64_t>> hyp = translation_references(b);
    for (auto& h : hyp) h.push_back(kEosToken);
    data->add_eval(b, decoded_tensor(hyp, width));
  }
  auto q = data->quality();
  ASSERT_EQ(q.size(), 1U);
  EXPECT_EQ(q[0].first, "bleu");
  EXPECT_DOUBLE_EQ(q[0].second, 100.0);
  // Empty translations (eos first): 0.
  data->begin_eval();
  for (const Batch& b : batches) {
    const std::vector<std::vector<int64_t>> hyp(
        static_cast<size_t>(b.get("target_output").shape[0]), std::vector<int64_t>{kEosToken});
    data->add_eval(b, decoded_tensor(hyp, width));
  }
  EXPECT_DOUBLE_EQ(data->quality().at(0).second, 0.0);
  // Each reference without its last token: BLEU between, below 100.
  data->begin_eval();
  for (const Batch& b : batches) {
    std::vector<std::vector<int64_t>> hyp = translation_references(b);
    for (auto& h : hyp) h.pop_back();
    data->add_eval(b, decoded_tensor(hyp, width));
  }
  const double partial = data->quality().at(0).second;
  EXPECT_GT(partial, 10.0);
  EXPECT_LT(partial, 100.0);
  // Nothing added: no quality.
  data->begin_eval();
  EXPECT_TRUE(data->quality().empty());
  // Wrong dtype or row count: an error naming the predictions.
  HostTensor logits;
  logits.shape = {s.eval_batch_size, 4};
  logits.f32.assign(static_cast<size_t>(s.eval_batch_size * 4), 0.0F);
  EXPECT_THROW(data->add_eval(batches[0], logits), Error);
  EXPECT_THROW(data->add_eval(batches[0], decoded_tensor({{4, 2}}, width)), Error);
}

TEST(GnmtTaskData, EveryPresetMakesItsData) {
  for (const std::string& scale : scale_names()) {
    const ModelSpec s = make_model_spec("gnmt", scale);
    const auto data = make_task_data(s, 1);
    const Batch b = data->train_batch(0);
    EXPECT_EQ(b.get("source").shape,
              (std::vector<int64_t>{s.batch_size, s.gnmt.data.max_source_len}));
    EXPECT_EQ(data->eval_batch(s.eval_batches - 1).get("target_output").shape,
              (std::vector<int64_t>{s.eval_batch_size, s.gnmt.data.max_target_len}));
  }
}

}  // namespace
}  // namespace greenbench::workloads
