#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "common/data.hpp"
#include "common/data_translation.hpp"
#include "common/metrics.hpp"
#include "common/models.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

TEST(Rng, SplitmixMatchesTheReferenceOutput) {
  // First output of Vigna's splitmix64 seeded with 0.
  EXPECT_EQ(splitmix64(0), 0xe220a8397b1dcdafULL);
}

TEST(Rng, StreamsAreReproducibleAndIndependent) {
  Rng a(42, 7), b(42, 7), c(42, 8), d(43, 7);
  int same_c = 0, same_d = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    same_c += x == c.next();
    same_d += x == d.next();
  }
  EXPECT_EQ(same_c, 0);
  EXPECT_EQ(same_d, 0);
}

TEST(Rng, DistributionsHaveTheirMoments) {
  Rng rng(1, stream_tag("moments"));
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  std::vector<int> bins(7, 0);
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = rng.normal();
    sn += z;
    sn2 += z * z;
    const uint64_t k = rng.below(7);
    ASSERT_LT(k, 7U);
    ++bins[k];
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
  for (int b : bins) EXPECT_NEAR(b, n / 7.0, 5 * std::sqrt(n / 7.0));
}

TEST(MarkovChain, EntropyRateOfAHandComputableChain) {
  // 0 → {0: ½, 1: ½}, 1 → {0: 1}: π = (2/3, 1/3), H = 2/3 · ln 2.
  MarkovChain chain;
  chain.vocab = 2;
  chain.transitions = {{{0, 0.5}, {1, 0.5}}, {{0, 1.0}}};
  const std::vector<double> pi = chain.stationary();
  EXPECT_NEAR(pi[0], 2.0 / 3.0, 1e-9);
  EXPECT_NEAR(pi[1], 1.0 / 3.0, 1e-9);
  EXPECT_NEAR(chain.entropy_rate_nats(), 2.0 / 3.0 * std::log(2.0), 1e-9);
}

TEST(MarkovChain, PeriodicChainStillHasItsStationaryLaw) {
  // 0 → 1 → 2 → 0 deterministically: π uniform, entropy 0.
  MarkovChain chain;
  chain.vocab = 3;
  chain.transitions = {{{1, 1.0}}, {{2, 1.0}}, {{0, 1.0}}};
  for (double p : chain.stationary()) EXPECT_NEAR(p, 1.0 / 3.0, 1e-9);
  EXPECT_NEAR(chain.entropy_rate_nats(), 0.0, 1e-12);
  Rng rng(1);
  EXPECT_EQ(chain.sample(5, 2, rng), (std::vector<int64_t>{2, 0, 1, 2, 0}));
}

TEST(MarkovChain, SeededChainIsSparseNormalisedAndMatchesItsSamples) {
  const MarkovChain chain = make_markov_chain(64, 4, 5);
  ASSERT_EQ(chain.transitions.size(), 64U);
  for (int64_t s = 0; s < 64; ++s) {
    const auto& row = chain.transitions[static_cast<size_t>(s)];
    ASSERT_EQ(row.size(), 4U);
    double total = 0;
    std::set<int64_t> succ;
    for (const auto& [t, p] : row) {
      total += p;
      succ.insert(t);
    }
    EXPECT_NEAR(total, 1.0, 1e-12);
    EXPECT_EQ(succ.size(), 4U);
    EXPECT_TRUE(succ.count((s + 1) % 64)) << "ring successor keeps the chain irreducible";
  }
  // The empirical per-token NLL of a long sample converges to the entropy rate, and every step
  // is an allowed transition.
  Rng rng(9, stream_tag("test"));
  const std::vector<int64_t> text = chain.sample(200000, 0, rng);
  double nll = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    double p = 0;
    for (const auto& [t, q] : chain.transitions[static_cast<size_t>(text[i])]) {
      if (t == text[i + 1]) p = q;
    }
    ASSERT_GT(p, 0.0);
    nll -= std::log(p);
  }
  const double h = chain.entropy_rate_nats();
  EXPECT_GT(h, 0.1);
  EXPECT_LT(h, std::log(4.0));
  EXPECT_NEAR(nll / static_cast<double>(text.size() - 1), h, 0.02 * h);
  EXPECT_EQ(make_markov_chain(64, 4, 5).transitions, chain.transitions);
  EXPECT_NE(make_markov_chain(64, 4, 6).transitions, chain.transitions);
}

// The chain's successors as first defined: a partial Fisher-Yates shuffle of the whole pool of
// the other states. make_markov_chain keeps only the swapped positions; it must pick the same.
std::vector<std::vector<int64_t>> successors_by_full_shuffle(int64_t vocab, int64_t branching,
                                                             uint64_t seed) {
  Rng rng(seed, stream_tag("text.chain"));
  std::vector<std::vector<int64_t>> out;
  for (int64_t s = 0; s < vocab; ++s) {
    const int64_t ring = (s + 1) % vocab;
    std::vector<int64_t> pool;
    for (int64_t t = 0; t < vocab; ++t) {
      if (t != ring) pool.push_back(t);
    }
    std::vector<int64_t> succ = {ring};
    for (int64_t k = 0; k + 1 < branching; ++k) {
      const auto j = static_cast<size_t>(k) + rng.below(pool.size() - static_cast<size_t>(k));
      std::swap(pool[static_cast<size_t>(k)], pool[j]);
      succ.push_back(pool[static_cast<size_t>(k)]);
    }
    for (int64_t k = 0; k < branching; ++k) rng.uniform();  // the row's weights
    out.push_back(succ);
  }
  return out;
}

TEST(MarkovChain, SparseShuffleDrawsTheSameSuccessorsAsTheFullOne) {
  for (const auto& [vocab, branching, seed] : std::vector<std::tuple<int64_t, int64_t, uint64_t>>{
           {2, 2, 1}, {5, 5, 3}, {64, 4, 5}, {300, 17, 7}, {1000, 64, 11}}) {
    const MarkovChain chain = make_markov_chain(vocab, branching, seed);
    const auto expected = successors_by_full_shuffle(vocab, branching, seed);
    for (int64_t s = 0; s < vocab; ++s) {
      std::vector<int64_t> got;
      for (const auto& [t, p] : chain.transitions[static_cast<size_t>(s)]) got.push_back(t);
      ASSERT_EQ(got, expected[static_cast<size_t>(s)])
          << "vocab " << vocab << " branching " << branching << " state " << s;
    }
  }
}

TEST(NcfData, ThreadsDoNotChangeTheData) {
  const NcfConfig c = make_model_spec("ncf", "small").ncf;
  const NcfData one = make_ncf_data(c, 3, 1);
  for (int threads : {2, 3, 7}) {
    const NcfData more = make_ncf_data(c, 3, threads);
    EXPECT_EQ(more.train_users, one.train_users) << threads << " threads";
    EXPECT_EQ(more.train_items, one.train_items) << threads << " threads";
    EXPECT_EQ(more.train_labels, one.train_labels) << threads << " threads";
    EXPECT_EQ(more.eval_users, one.eval_users) << threads << " threads";
    EXPECT_EQ(more.eval_items, one.eval_items) << threads << " threads";
  }
}

TEST(NcfData, ProtocolHoldsAndIsDeterministic) {
  const NcfConfig c = make_model_spec("ncf", "tiny").ncf;
  const NcfData d = make_ncf_data(c, 1);
  const int64_t group = 1 + c.eval_negatives;
  const int64_t per_user = (c.positives_per_user - 1) * (1 + c.negatives_per_positive);
  ASSERT_EQ(static_cast<int64_t>(d.train_users.size()), c.num_users * per_user);
  ASSERT_EQ(static_cast<int64_t>(d.eval_items.size()), c.num_users * group);
  std::map<int64_t, std::set<int64_t>> positives;
  int64_t ones = 0;
  for (size_t i = 0; i < d.train_users.size(); ++i) {
    ASSERT_GE(d.train_items[i], 0);
    ASSERT_LT(d.train_items[i], c.num_items);
    if (d.train_labels[i] == 1.0F) {
      positives[d.train_users[i]].insert(d.train_items[i]);
      ++ones;
    }
  }
  EXPECT_EQ(ones, c.num_users * (c.positives_per_user - 1));
  for (int64_t u = 0; u < c.num_users; ++u) {
    const auto first = static_cast<size_t>(u * group);
    std::set<int64_t> seen;
    for (int64_t j = 0; j < group; ++j) {
      EXPECT_EQ(d.eval_users[first + j], u);
      seen.insert(d.eval_items[first + j]);
      if (j > 0) {
        EXPECT_FALSE(positives[u].count(d.eval_items[first + j])) << "negative is a positive";
      }
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), group) << "eval items repeat for user " << u;
    EXPECT_FALSE(positives[u].count(d.eval_items[first])) << "held-out positive leaked";
  }
  const NcfData again = make_ncf_data(c, 1);
  EXPECT_EQ(again.train_items, d.train_items);
  EXPECT_EQ(again.eval_items, d.eval_items);
  EXPECT_NE(make_ncf_data(c, 2).train_items, d.train_items);
}

TEST(NcfData, IsLearnable) {
  // Even the crudest model, popularity in the training positives, ranks held-out positives well
  // above chance (10/101): the data carries a signal a recommender can learn.
  const NcfConfig c = make_model_spec("ncf", "tiny").ncf;
  const NcfData d = make_ncf_data(c, 1);
  std::vector<float> popularity(static_cast<size_t>(c.num_items), 0.0F);
  for (size_t i = 0; i < d.train_items.size(); ++i) {
    popularity[static_cast<size_t>(d.train_items[i])] += d.train_labels[i];
  }
  std::vector<float> scores;
  for (int64_t item : d.eval_items) scores.push_back(popularity[static_cast<size_t>(item)]);
  const double hit_rate = static_cast<double>(count_hits_at_k(scores, 1 + c.eval_negatives, 10)) /
                          static_cast<double>(c.num_users);
  EXPECT_GT(hit_rate, 2.0 * 10.0 / 101.0);
}

TEST(ImageData, IsDeterministicAndLearnable) {
  const ResNetConfig c = make_model_spec("resnet50", "tiny").resnet;
  const std::vector<float> templates = make_class_templates(c, 1);
  const ImageData a = make_images(c, templates, 200, 1, stream_tag("x"));
  const ImageData b = make_images(c, templates, 200, 1, stream_tag("x"));
  const ImageData other = make_images(c, templates, 200, 1, stream_tag("y"));
  EXPECT_EQ(a.images, b.images);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_NE(a.images, other.images);
  const int64_t pixels = c.channels * c.image_size * c.image_size;
  ASSERT_EQ(static_cast<int64_t>(a.images.size()), 200 * pixels);
  std::set<int64_t> classes(a.labels.begin(), a.labels.end());
  EXPECT_EQ(static_cast<int64_t>(classes.size()), c.num_classes);
  // A matched filter (correlation with each unshifted template) beats chance by far, although
  // shifts and noise keep it from being perfect.
  std::vector<float> logits;
  for (int64_t n = 0; n < 200; ++n) {
    for (int64_t k = 0; k < c.num_classes; ++k) {
      double dot = 0;
      for (int64_t p = 0; p < pixels; ++p)
        dot += a.images[n * pixels + p] * templates[k * pixels + p];
      logits.push_back(static_cast<float>(dot));
    }
  }
  const int64_t correct = count_top_k_correct(logits, c.num_classes, a.labels, 1);
  EXPECT_GT(correct, 200 * 3 / c.num_classes);
}

TEST(TaskData, BatchesHaveTheDocumentedInputsAndAreReproducible) {
  for (const std::string& model : model_names()) {
    SCOPED_TRACE(model);
    const ModelSpec spec = make_model_spec(model, "tiny");
    const auto a = make_task_data(spec, 1);
    const auto b = make_task_data(spec, 1);
    const auto c = make_task_data(spec, 2);
    const Batch t0 = a->train_batch(0);
    const Batch t0_again = b->train_batch(0);
    ASSERT_EQ(t0.inputs.size(), t0_again.inputs.size());
    bool differs = false;
    for (size_t i = 0; i < t0.inputs.size(); ++i) {
      EXPECT_EQ(t0.inputs[i].first, t0_again.inputs[i].first);
      EXPECT_EQ(t0.inputs[i].second.f32, t0_again.inputs[i].second.f32);
      EXPECT_EQ(t0.inputs[i].second.i64, t0_again.inputs[i].second.i64);
      // Kept by value: a reference into the temporary Batch would dangle (ASan, make sanitize).
      const HostTensor other = c->train_batch(0).inputs[i].second;
      differs =
          differs || other.f32 != t0.inputs[i].second.f32 || other.i64 != t0.inputs[i].second.i64;
    }
    EXPECT_TRUE(differs) << "seed does not change the data";
    EXPECT_EQ(a->eval_batch_count(), spec.eval_batches);
    if (model == "ncf") {
      EXPECT_EQ(t0.get("users").shape, (std::vector<int64_t>{spec.batch_size}));
      EXPECT_EQ(t0.get("labels").dtype, HostTensor::DType::kF32);
      EXPECT_EQ(a->eval_batch(0).get("items").numel(), spec.eval_batch_size);
    } else if (model == "resnet50") {
      const int64_t s = spec.resnet.image_size;
      EXPECT_EQ(t0.get("images").shape, (std::vector<int64_t>{spec.batch_size, 3, s, s}));
      EXPECT_EQ(a->samples_in(t0), spec.batch_size);
    } else if (model == "ssd") {
      const int64_t s = spec.ssd.image_size, d = spec.ssd.num_default_boxes();
      EXPECT_EQ(t0.get("images").shape, (std::vector<int64_t>{spec.batch_size, 3, s, s}));
      EXPECT_EQ(t0.get("loc_targets").shape, (std::vector<int64_t>{spec.batch_size, d, 4}));
      EXPECT_EQ(t0.get("label_targets").shape, (std::vector<int64_t>{spec.batch_size, d}));
      EXPECT_EQ(a->samples_in(t0), spec.batch_size);
    } else if (model == "gnmt") {
      const int64_t b = spec.batch_size, s = spec.gnmt.data.max_source_len,
                    t = spec.gnmt.data.max_target_len;
      EXPECT_EQ(t0.get("source").shape, (std::vector<int64_t>{b, s}));
      EXPECT_EQ(t0.get("source_lengths").shape, (std::vector<int64_t>{b}));
      EXPECT_EQ(t0.get("target_input").shape, (std::vector<int64_t>{b, t}));
      EXPECT_EQ(t0.get("target_output").shape, (std::vector<int64_t>{b, t}));
      // Teacher forcing: the decoder's input is its output shifted right behind a bos.
      const auto& in = t0.get("target_input").i64;
      const auto& out = t0.get("target_output").i64;
      for (int64_t r = 0; r < b; ++r) {
        EXPECT_EQ(in[r * t], kBosToken);
        for (int64_t i = 1; i < t; ++i) {
          if (out[r * t + i] != kPadToken) EXPECT_EQ(in[r * t + i], out[r * t + i - 1]);
        }
      }
      int64_t labels = 0;
      for (int64_t tok : out) labels += tok != kPadToken ? 1 : 0;
      EXPECT_EQ(a->samples_in(t0), labels);
    } else if (model == "mask_rcnn") {
      const MaskRcnnConfig& c = spec.mask_rcnn;
      const int64_t n = spec.batch_size, m = c.data.max_objects;
      EXPECT_EQ(t0.get("images").shape,
                (std::vector<int64_t>{n, c.channels, c.data.height, c.data.width}));
      EXPECT_EQ(t0.get("boxes").shape, (std::vector<int64_t>{n, m, 4}));
      EXPECT_EQ(t0.get("classes").shape, (std::vector<int64_t>{n, m}));
      EXPECT_EQ(t0.get("masks").shape, (std::vector<int64_t>{n, m, c.data.height, c.data.width}));
      EXPECT_EQ(a->samples_in(t0), n);
    } else {
      const Batch t1 = a->train_batch(1);
      const int64_t q = spec.txl.tgt_len;
      EXPECT_EQ(t0.get("data").shape, (std::vector<int64_t>{q, spec.batch_size}));
      // Columns are contiguous texts: target is data shifted by one, and segment 1 continues
      // segment 0.
      const auto& d0 = t0.get("data").i64;
      const auto& g0 = t0.get("target").i64;
      for (int64_t b = 0; b < spec.batch_size; ++b) {
        for (int64_t i = 0; i + 1 < q; ++i)
          EXPECT_EQ(g0[i * spec.batch_size + b], d0[(i + 1) * spec.batch_size + b]);
        EXPECT_EQ(g0[(q - 1) * spec.batch_size + b], t1.get("data").i64[b]);
      }
      EXPECT_EQ(a->samples_in(t0), q * spec.batch_size);
    }
  }
}

TEST(TaskData, QualityOfPerfectAndUniformPredictions) {
  const ModelSpec spec = make_model_spec("transformer_xl", "tiny");
  auto data = make_task_data(spec, 1);
  data->begin_eval();
  for (int64_t i = 0; i < data->eval_batch_count(); ++i) {
    HostTensor logits;
    logits.shape = {spec.txl.eval_tgt_len, spec.eval_batch_size, spec.txl.n_token};
    logits.f32.assign(static_cast<size_t>(logits.numel()), 0.0F);
    data->add_eval(data->eval_batch(i), logits);
  }
  std::map<std::string, double> q;
  for (const auto& [k, v] : data->quality()) q[k] = v;
  EXPECT_NEAR(q.at("perplexity"), static_cast<double>(spec.txl.n_token), 1e-6);
  EXPECT_GT(q.at("perplexity_bound"), 1.0);
  EXPECT_LT(q.at("perplexity_bound"), 4.0);  // at most `branching` successors
}

// FNV-1a 64 over a batch: each input's name, dtype, shape and raw element bytes, in order.
void fnv1a(uint64_t& h, const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
}

void hash_batch(uint64_t& h, const Batch& batch) {
  for (const auto& [name, t] : batch.inputs) {
    fnv1a(h, name.data(), name.size());
    const auto dtype = static_cast<int32_t>(t.dtype);
    fnv1a(h, &dtype, sizeof dtype);
    fnv1a(h, t.shape.data(), t.shape.size() * sizeof(int64_t));
    fnv1a(h, t.f32.data(), t.f32.size() * sizeof(float));
    fnv1a(h, t.i64.data(), t.i64.size() * sizeof(int64_t));
  }
}

TEST(TaskData, BytesOfEveryTinyAndSmallBatchAreUnchanged) {
  // Hashes of every training and evaluation batch of the presets (seed 1), recorded from the
  // generators before data.cpp was split into one file per task family. A change here changes
  // the data every result so far was measured on: it needs a new data version, not a new hash.
  const std::map<std::pair<std::string, std::string>, uint64_t> expected = {
      {{"ncf", "tiny"}, 0xc867efcc21a51686ULL},
      {{"ncf", "small"}, 0x7bdcbf01066f8994ULL},
      {{"resnet50", "tiny"}, 0x5fda30d70c886810ULL},
      {{"resnet50", "small"}, 0x276b30b474b600feULL},
      {{"transformer_xl", "tiny"}, 0x2c48a377bd47bc0aULL},
      {{"transformer_xl", "small"}, 0x4f40b443b70b572aULL},
  };
  for (const auto& [key, want] : expected) {
    const auto& [model, scale] = key;
    const ModelSpec spec = make_model_spec(model, scale);
    const auto data = make_task_data(spec, 1, 2);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int64_t step = 0; step < spec.train_steps; ++step) hash_batch(h, data->train_batch(step));
    for (int64_t i = 0; i < data->eval_batch_count(); ++i) hash_batch(h, data->eval_batch(i));
    EXPECT_EQ(h, want) << model << " " << scale << ": 0x" << std::hex << h;
  }
}

}  // namespace
}  // namespace greenbench::workloads
