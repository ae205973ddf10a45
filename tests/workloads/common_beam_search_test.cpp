// GNMT's shared beam search against exhaustive search, hand-checked greedy and beam cases, ties,
// and the decoded-tensor contract of predict().
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/beam_search.hpp"
#include "common/data.hpp"
#include "common/models.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

using Prefix = std::vector<int64_t>;
using LogProbFn = std::function<std::vector<float>(int64_t sentence, const Prefix& prefix)>;
using AttentionFn = std::function<std::vector<float>(int64_t sentence, const Prefix& prefix)>;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// A decoder whose outputs depend on the sentence and the whole prefix. It rebuilds each row's
// prefix from the request alone (the parent row's prefix + the fed token), as a worker gathers its
// LSTM states by `parents`: wrong bookkeeping gives wrong log-probabilities and fails the
// comparison with exhaustive search.
class FakeDecoder {
 public:
  FakeDecoder(const BeamSearchConfig& c, int64_t vocab, int64_t source_len, LogProbFn lp,
              AttentionFn attention = {}, int64_t top_k = 0)
      : c_(c),
        vocab_(vocab),
        source_len_(source_len),
        lp_(std::move(lp)),
        attention_(std::move(attention)),
        top_k_(top_k) {}

  BeamStepResult operator()(const BeamStepRequest& req) {
    const size_t rows = req.tokens.size();
    EXPECT_EQ(req.parents.size(), rows);
    EXPECT_EQ(req.sentences.size(), rows);
    EXPECT_TRUE(std::is_sorted(req.sentences.begin(), req.sentences.end()));
    rows_per_step.push_back(static_cast<int64_t>(rows));
    std::vector<Prefix> prefixes(rows);
    std::vector<int64_t> sentences(rows);
    for (size_t r = 0; r < rows; ++r) {
      if (req.step == 0) {
        EXPECT_EQ(req.tokens[r], c_.bos);
        EXPECT_EQ(req.parents[r], req.sentences[r]);
      } else {
        const auto p = static_cast<size_t>(req.parents[r]);
        EXPECT_LT(p, prev_.size());
        EXPECT_EQ(prev_sentences_[p], req.sentences[r]);
        prefixes[r] = prev_[p];
        prefixes[r].push_back(req.tokens[r]);
      }
      sentences[r] = req.sentences[r];
    }
    BeamStepResult out;
    out.width = top_k_ > 0 ? top_k_ : vocab_;
    for (size_t r = 0; r < rows; ++r) {
      const std::vector<float> lp = lp_(sentences[r], prefixes[r]);
      if (top_k_ > 0) {
        // The row's best k by log-probability then token, handed over in reverse order (the
        // search may not rely on their order).
        std::vector<int64_t> order(lp.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return lp[static_cast<size_t>(a)] > lp[static_cast<size_t>(b)];
        });
        order.resize(static_cast<size_t>(top_k_));
        std::reverse(order.begin(), order.end());
        for (int64_t tok : order) {
          out.tokens.push_back(tok);
          out.log_probs.push_back(lp[static_cast<size_t>(tok)]);
        }
      } else {
        out.log_probs.insert(out.log_probs.end(), lp.begin(), lp.end());
      }
      if (attention_) {
        const std::vector<float> a = attention_(sentences[r], prefixes[r]);
        out.attention.insert(out.attention.end(), a.begin(), a.end());
      } else if (c_.cov_penalty_factor != 0.0) {
        out.attention.insert(out.attention.end(), static_cast<size_t>(source_len_), 0.0F);
      }
    }
    prev_ = std::move(prefixes);
    prev_sentences_ = std::move(sentences);
    return out;
  }

  std::vector<int64_t> rows_per_step;

 private:
  BeamSearchConfig c_;
  int64_t vocab_, source_len_;
  LogProbFn lp_;
  AttentionFn attention_;
  int64_t top_k_;
  std::vector<Prefix> prev_;
  std::vector<int64_t> prev_sentences_;
};

uint64_t prefix_tag(uint64_t salt, int64_t sentence, const Prefix& prefix) {
  std::string key = std::to_string(salt) + ":" + std::to_string(sentence) + ":";
  for (int64_t t : prefix) key += std::to_string(t) + ",";
  return stream_tag(key);
}

// Seeded random log-softmax rows; with `force_eos_at` > 0 a prefix of that length can only end.
LogProbFn random_log_probs(uint64_t seed, int64_t vocab, int64_t eos, int64_t force_eos_at = 0) {
  return [=](int64_t sentence, const Prefix& prefix) {
    std::vector<float> lp(static_cast<size_t>(vocab));
    if (force_eos_at > 0 && static_cast<int64_t>(prefix.size()) == force_eos_at) {
      std::fill(lp.begin(), lp.end(), kNegInf);
      lp[static_cast<size_t>(eos)] = 0.0F;
      return lp;
    }
    Rng rng(seed, prefix_tag(1, sentence, prefix));
    std::vector<double> z(lp.size());
    double mx = -1e300;
    for (double& x : z) {
      x = 1.5 * rng.normal();
      mx = std::max(mx, x);
    }
    double sum = 0.0;
    for (double x : z) sum += std::exp(x - mx);
    for (size_t i = 0; i < z.size(); ++i) {
      lp[i] = static_cast<float>(z[i] - mx - std::log(sum));
    }
    return lp;
  };
}

// Random attention over the first `valid` of `source_len` positions (the rest masked: 0).
AttentionFn random_attention(uint64_t seed, int64_t source_len, int64_t valid) {
  return [=](int64_t sentence, const Prefix& prefix) {
    Rng rng(seed, prefix_tag(2, sentence, prefix));
    std::vector<float> a(static_cast<size_t>(source_len), 0.0F);
    double sum = 0.0;
    std::vector<double> w(static_cast<size_t>(valid));
    for (double& x : w) {
      x = std::exp(2.0 * rng.normal());
      sum += x;
    }
    for (int64_t j = 0; j < valid; ++j) a[static_cast<size_t>(j)] = static_cast<float>(w[j] / sum);
    return a;
  };
}

struct Best {
  Prefix tokens;
  double score = -std::numeric_limits<double>::infinity();
  int64_t leaves = 0;
};

// Every sequence: those ending in eos within max_length and those cut at max_length. If all end
// in eos, the best by score / ((c + len)/(c + 1))^α + β·Σ log min(coverage, 1) (len with bos and
// eos); otherwise the best raw score, as the search decides when nothing is pruned.
Best exhaustive(const BeamSearchConfig& c, int64_t sentence, int64_t vocab, int64_t source_len,
                const LogProbFn& lp, const AttentionFn& attention) {
  struct Leaf {
    Prefix tokens;
    double score;
    std::vector<double> coverage;
    bool finished;
  };
  std::vector<Leaf> leaves;
  std::function<void(const Prefix&, double, const std::vector<double>&)> grow =
      [&](const Prefix& p, double score, const std::vector<double>& cov) {
        const std::vector<float> l = lp(sentence, p);
        std::vector<double> next_cov = cov;
        if (attention) {
          const std::vector<float> a = attention(sentence, p);
          for (size_t j = 0; j < next_cov.size(); ++j) next_cov[j] += a[j];
        }
        for (int64_t tok = 0; tok < vocab; ++tok) {
          const float x = l[static_cast<size_t>(tok)];
          if (x == kNegInf) continue;
          Prefix q = p;
          q.push_back(tok);
          const double s = score + static_cast<double>(x);
          if (tok == c.eos) {
            leaves.push_back({q, s, next_cov, true});
          } else if (static_cast<int64_t>(q.size()) == c.max_length) {
            leaves.push_back({q, s, next_cov, false});
          } else {
            grow(q, s, next_cov);
          }
        }
      };
  grow({}, 0.0, std::vector<double>(static_cast<size_t>(source_len), 0.0));
  const bool all_finished =
      std::all_of(leaves.begin(), leaves.end(), [](const Leaf& l) { return l.finished; });
  Best best;
  best.leaves = static_cast<int64_t>(leaves.size());
  for (const Leaf& l : leaves) {
    double s = l.score;
    if (all_finished) {
      const double len = static_cast<double>(l.tokens.size()) + 1.0;
      s /= std::pow((c.len_norm_const + len) / (c.len_norm_const + 1.0), c.len_norm_factor);
      double pen = 0.0;
      for (double x : l.coverage) pen += x > 0.0 ? std::log(std::min(1.0, x)) : 0.0;
      s += c.cov_penalty_factor * pen;
    }
    if (s > best.score) best = {l.tokens, s, best.leaves};
  }
  return best;
}

BeamSearchConfig config(int64_t beam, int64_t max_length, double beta) {
  BeamSearchConfig c;
  c.beam_width = beam;
  c.max_length = max_length;
  c.cov_penalty_factor = beta;
  return c;
}

// top_k > 0: the decoder hands over candidate lists of that width instead of whole rows.
void expect_exhaustive(int64_t vocab, int64_t max_length, int64_t force_eos_at, double beta,
                       uint64_t seed, int64_t top_k = 0) {
  const int64_t sentences = 3;
  const int64_t source_len = 4;
  int64_t leaves = 1;
  for (int64_t i = 0; i < max_length; ++i) leaves *= vocab;
  // A beam as wide as there are sequences prunes nothing: beam search is exact.
  const BeamSearchConfig c = config(leaves, max_length, beta);
  const LogProbFn lp = random_log_probs(seed, vocab, c.eos, force_eos_at);
  const AttentionFn att = random_attention(seed, source_len, 3);
  FakeDecoder dec(c, vocab, source_len, lp, att, top_k);
  const BeamSearchResult r = beam_search(c, sentences, vocab, source_len, std::ref(dec));
  ASSERT_EQ(r.tokens.size(), static_cast<size_t>(sentences));
  for (int64_t b = 0; b < sentences; ++b) {
    const Best best = exhaustive(c, b, vocab, source_len, lp, att);
    ASSERT_LE(best.leaves, leaves);
    EXPECT_EQ(r.tokens[static_cast<size_t>(b)], best.tokens)
        << "seed " << seed << " sentence " << b;
    EXPECT_NEAR(r.scores[static_cast<size_t>(b)], best.score, 1e-12);
  }
}

TEST(BeamSearch, EqualsExhaustiveSearchWhenTheBeamHoldsEverySequence) {
  // Random tables: some sequences are cut at max_length, so raw scores decide (DLE).
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    expect_exhaustive(3, 3, 0, 0.1, seed);
    expect_exhaustive(4, 3, 0, 0.1, seed);
  }
}

TEST(BeamSearch, EqualsExhaustiveSearchWithLengthNormalisationAndCoverage) {
  // Every sequence ends in eos by max_length: normalised scores with the coverage penalty decide.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    expect_exhaustive(3, 3, 2, 0.1, seed);
    expect_exhaustive(4, 4, 3, 1.0, seed);
    expect_exhaustive(5, 3, 2, 0.0, seed);
  }
}

TEST(BeamSearch, TopKRowsEqualWholeRows) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    expect_exhaustive(3, 3, 2, 0.5, seed, /*top_k=*/3);
  }
  // Narrow beams, where pruning happens: the best `beam` candidates per row suffice.
  const int64_t vocab = 9, source_len = 5;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const BeamSearchConfig c = config(3, 7, 0.1);
    const LogProbFn lp = random_log_probs(seed, vocab, c.eos);
    const AttentionFn att = random_attention(seed, source_len, 4);
    FakeDecoder whole(c, vocab, source_len, lp, att);
    FakeDecoder topk(c, vocab, source_len, lp, att, 3);
    const BeamSearchResult a = beam_search(c, 4, vocab, source_len, std::ref(whole));
    const BeamSearchResult b = beam_search(c, 4, vocab, source_len, std::ref(topk));
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.scores, b.scores);
    EXPECT_EQ(whole.rows_per_step, topk.rows_per_step);
  }
}

// Hand-written tables: probabilities per prefix, uniform where not given.
LogProbFn table(std::map<Prefix, std::vector<double>> probs, int64_t vocab) {
  return [probs = std::move(probs), vocab](int64_t, const Prefix& p) {
    std::vector<float> lp(static_cast<size_t>(vocab),
                          static_cast<float>(std::log(1.0 / static_cast<double>(vocab))));
    const auto it = probs.find(p);
    if (it != probs.end()) {
      for (size_t i = 0; i < lp.size(); ++i) {
        lp[i] = it->second[i] > 0.0 ? static_cast<float>(std::log(it->second[i])) : kNegInf;
      }
    }
    return lp;
  };
}

// Tokens 0 pad, 1 bos, 2 eos, 3 a word.
const std::map<Prefix, std::vector<double>> kGardenPath = {
    {{}, {0.4, 0.0, 0.0, 0.6}},      // 3 is the better start ...
    {{3}, {0.3, 0.3, 0.2, 0.2}},     // ... but everything after it is weak (0 ties with 1)
    {{3, 0}, {0.0, 0.0, 1.0, 0.0}},  //
    {{0}, {0.05, 0.05, 0.9, 0.0}},   // 0 then eos: 0.36 in all
};

TEST(BeamSearch, GreedyWithBeamOneTakesTheBestTokenEachStepAndTheLowerIdOnTies) {
  const BeamSearchConfig c = config(1, 5, 0.0);
  FakeDecoder dec(c, 4, 2, table(kGardenPath, 4));
  const BeamSearchResult r = beam_search(c, 1, 4, 2, std::ref(dec));
  // [] → 3 (0.6); [3] → 0 (0.3, tied with 1: the lower id); [3, 0] → eos.
  EXPECT_EQ(r.tokens[0], (Prefix{3, 0, 2}));
  const double raw = static_cast<double>(static_cast<float>(std::log(0.6))) +
                     static_cast<double>(static_cast<float>(std::log(0.3))) + 0.0;
  // Length 4 = bos + 3 tokens (eos included): ((5 + 4)/6)^0.6.
  EXPECT_NEAR(r.scores[0], raw / std::pow(9.0 / 6.0, 0.6), 1e-12);
  EXPECT_EQ(r.steps, 3);
}

TEST(BeamSearch, BeamTwoFindsTheSequenceGreedyMisses) {
  const BeamSearchConfig c = config(2, 5, 0.0);
  FakeDecoder dec(c, 4, 2, table(kGardenPath, 4));
  const BeamSearchResult r = beam_search(c, 1, 4, 2, std::ref(dec));
  // Step 1 keeps [0, eos] (0.36) and [3, 0] (0.18, tied with [3, 1]: the lower id); [0, eos]
  // wins with log 0.36 / (8/6)^0.6 against log 0.18 / (9/6)^0.6.
  EXPECT_EQ(r.tokens[0], (Prefix{0, 2}));
  const double raw = static_cast<double>(static_cast<float>(std::log(0.4))) +
                     static_cast<double>(static_cast<float>(std::log(0.9)));
  EXPECT_NEAR(r.scores[0], raw / std::pow(8.0 / 6.0, 0.6), 1e-12);
  // Rows: 1 (bos), 2, then only [3, 0] is live (the finished hypothesis is not fed).
  EXPECT_EQ(dec.rows_per_step, (std::vector<int64_t>{1, 2, 1}));
}

TEST(BeamSearch, StopsAtMaxLengthAndThenComparesRawScores) {
  // eos (id 2) loses every tie to tokens 0 and 1: every hypothesis is cut at max_length.
  const std::map<Prefix, std::vector<double>> t = {{{}, {0.5, 0.0, 0.0, 0.5}}};
  const BeamSearchConfig c = config(2, 3, 0.1);
  FakeDecoder dec(c, 4, 2, table(t, 4));
  const BeamSearchResult r = beam_search(c, 2, 4, 2, std::ref(dec));
  for (const Prefix& p : r.tokens) EXPECT_EQ(p.size(), 3U);
  // Equal scores everywhere: the lower slot, made of the lower tokens, wins: [0, 0, 0].
  EXPECT_EQ(r.tokens[0], (Prefix{0, 0, 0}));
  EXPECT_EQ(r.tokens[1], (Prefix{0, 0, 0}));
  EXPECT_EQ(r.steps, 3);
}

TEST(BeamSearch, TiesResolveByScoreThenSlotThenTokenEveryTime) {
  // A uniform decoder: every candidate of a step ties. Step 0 keeps tokens 0, 1, eos (slots 0,
  // 1, 2); step 1 ranks the finished [eos] first (one token fewer: the higher score), then fills
  // from slot 0: [0, 0], [0, 1].
  const BeamSearchConfig c = config(3, 2, 0.0);
  std::vector<BeamSearchResult> runs;
  for (int i = 0; i < 3; ++i) {
    FakeDecoder dec(c, 4, 1, table({}, 4));
    runs.push_back(beam_search(c, 2, 4, 1, std::ref(dec)));
  }
  // Not all finished at max_length: raw scores, and [eos] (log ¼) beats [0, 0] (2·log ¼).
  EXPECT_EQ(runs[0].tokens[0], (Prefix{2}));
  for (const BeamSearchResult& r : runs) {
    EXPECT_EQ(r.tokens, runs[0].tokens);
    EXPECT_EQ(r.scores, runs[0].scores);
  }
  // With two slots, step 0 keeps tokens 0 and 1 (eos is beaten by lower ids), and the cut
  // sequences tie: slot 0, token 0 wins.
  const BeamSearchConfig two = config(2, 2, 0.0);
  FakeDecoder dec(two, 4, 1, table({}, 4));
  const BeamSearchResult r = beam_search(two, 1, 4, 1, std::ref(dec));
  EXPECT_EQ(r.tokens[0], (Prefix{0, 0}));
}

TEST(BeamSearch, RejectsMalformedStepResults) {
  const BeamSearchConfig c = config(2, 3, 0.1);
  const auto run = [&](std::function<void(BeamStepResult&)> damage) {
    FakeDecoder dec(c, 4, 2, table({}, 4));
    return beam_search(c, 2, 4, 2, [&](const BeamStepRequest& req) {
      BeamStepResult res = dec(req);
      damage(res);
      return res;
    });
  };
  EXPECT_NO_THROW(run([](BeamStepResult&) {}));
  EXPECT_THROW(run([](BeamStepResult& r) { r.log_probs.pop_back(); }), Error);
  EXPECT_THROW(run([](BeamStepResult& r) { r.width = 3; }), Error);
  EXPECT_THROW(run([](BeamStepResult& r) { r.attention.clear(); }), Error);
  EXPECT_THROW(run([](BeamStepResult& r) { r.log_probs[1] = std::nanf(""); }), Error);
  EXPECT_THROW(run([](BeamStepResult& r) {
                 r.tokens.assign(r.log_probs.size(), 0);
                 r.tokens[0] = 4;  // outside the vocabulary
               }),
               Error);
  EXPECT_THROW((void)beam_search(config(0, 3, 0.0), 1, 4, 2,
                                 [](const BeamStepRequest&) { return BeamStepResult{}; }),
               Error);
}

TEST(BeamSearch, LengthNormalisationAndCoveragePenaltyAreDles) {
  const BeamSearchConfig c = config(5, 10, 0.1);
  EXPECT_DOUBLE_EQ(length_normalisation(c, 1), 1.0);
  EXPECT_DOUBLE_EQ(length_normalisation(c, 7), std::pow(12.0 / 6.0, 0.6));
  // log(min(x, 1)) over attended positions; 0 (never attended) adds nothing.
  EXPECT_DOUBLE_EQ(coverage_penalty({0.5, 2.0, 0.0, 0.25}), std::log(0.5) + std::log(0.25));
}

TEST(BeamSearch, ConfigComesFromTheGnmtPreset) {
  const ModelSpec s = make_model_spec("gnmt", "paper");
  const BeamSearchConfig c = beam_search_config(s.gnmt);
  EXPECT_EQ(c.beam_width, 5);
  EXPECT_EQ(c.max_length, 149);
  EXPECT_EQ(c.len_norm_factor, 0.6);
  EXPECT_EQ(c.len_norm_const, 5.0);
  EXPECT_EQ(c.cov_penalty_factor, 0.1);
  EXPECT_EQ(c.bos, kBosToken);
  EXPECT_EQ(c.eos, kEosToken);
}

TEST(DecodedTensor, RoundTripsAndMarksTheEnd) {
  const std::vector<std::vector<int64_t>> seqs = {{5, 6, 2}, {}, {7, 0, 8}, {9, 9, 9, 9}};
  const HostTensor t = decoded_tensor(seqs, 4);
  EXPECT_EQ(t.dtype, HostTensor::DType::kI64);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{4, 4}));
  // Rows: tokens, eos (generated, or added when there is room), then pad.
  EXPECT_EQ(t.i64, (std::vector<int64_t>{5, 6, 2, 0, 2, 0, 0, 0, 7, 0, 8, 2, 9, 9, 9, 9}));
  // A generated pad (0) inside a sequence is a token; a row without eos is whole.
  EXPECT_EQ(decoded_sequences(t),
            (std::vector<std::vector<int64_t>>{{5, 6}, {}, {7, 0, 8}, {9, 9, 9, 9}}));
  EXPECT_THROW((void)decoded_tensor(seqs, 3), Error);
  HostTensor f;
  f.shape = {1, 2};
  f.f32 = {5.0F, 2.0F};
  EXPECT_THROW((void)decoded_sequences(f), Error);
}

}  // namespace
}  // namespace greenbench::workloads
