// Language modelling: texts of a seeded sparse Markov chain (MODELS.md, Synthetic data).
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/data.hpp"
#include "common/data_internal.hpp"
#include "common/metrics.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {

using data_detail::i64_tensor;
using data_detail::keep_only;

namespace {

class TextTask : public TaskData {
 public:
  TextTask(const ModelSpec& spec, uint64_t seed)
      : config_(spec.txl),
        batch_(spec.batch_size),
        eval_batch_(spec.eval_batch_size),
        batches_(spec.eval_batches),
        chain_(make_markov_chain(spec.txl.n_token, spec.txl.markov_branching, seed)) {
    train_ = make_columns(batch_, spec.train_steps * config_.tgt_len + 1, seed, "text.train.");
    eval_ = make_columns(eval_batch_, batches_ * config_.eval_tgt_len + 1, seed, "text.eval.");
    bound_ = std::exp(chain_.entropy_rate_nats());
  }

  Batch train_batch(int64_t step) const override {
    return segment(train_, batch_, config_.tgt_len, step);
  }

  int64_t eval_batch_count() const override { return batches_; }

  Batch eval_batch(int64_t index) const override {
    return segment(eval_, eval_batch_, config_.eval_tgt_len, index);
  }

  int64_t samples_in(const Batch& batch) const override { return batch.get("target").numel(); }

  void begin_eval() override { nll_ = 0.0, tokens_ = 0; }

  Batch metric_inputs(Batch batch) const override { return keep_only(std::move(batch), "target"); }

  void add_eval(const Batch& b, const HostTensor& logits) override {
    const auto& target = b.get("target").i64;
    nll_ += sum_cross_entropy(logits.f32, config_.n_token, target);
    tokens_ += static_cast<int64_t>(target.size());
  }

  std::vector<std::pair<std::string, double>> quality() const override {
    if (tokens_ == 0) {
      return {};
    }
    return {{"perplexity", perplexity(nll_, tokens_)},
            {"perplexity_bound", bound_},
            {"eval_loss", nll_ / static_cast<double>(tokens_)}};
  }

 private:
  // Column texts are extended on demand (a longer run reads the same prefix).
  std::vector<std::vector<int64_t>> make_columns(int64_t columns, int64_t length, uint64_t seed,
                                                 const std::string& prefix) const {
    std::vector<std::vector<int64_t>> out;
    for (int64_t b = 0; b < columns; ++b) {
      Rng rng(seed, stream_tag(prefix + std::to_string(b)));
      const auto start = static_cast<int64_t>(rng.below(static_cast<uint64_t>(chain_.vocab)));
      out.push_back(chain_.sample(length, start, rng));
    }
    return out;
  }

  static Batch segment(const std::vector<std::vector<int64_t>>& columns, int64_t batch, int64_t q,
                       int64_t index) {
    std::vector<int64_t> data(static_cast<size_t>(q * batch));
    std::vector<int64_t> target(data.size());
    for (int64_t b = 0; b < batch; ++b) {
      const auto& text = columns[static_cast<size_t>(b)];
      // Steps beyond the generated text wrap around (only when --steps exceeds the preset).
      const auto usable = static_cast<int64_t>(text.size()) - 1;
      for (int64_t i = 0; i < q; ++i) {
        const int64_t pos = (index * q + i) % usable;
        data[static_cast<size_t>(i * batch + b)] = text[static_cast<size_t>(pos)];
        target[static_cast<size_t>(i * batch + b)] = text[static_cast<size_t>(pos + 1)];
      }
    }
    Batch out;
    out.inputs.emplace_back("data", i64_tensor({q, batch}, std::move(data)));
    out.inputs.emplace_back("target", i64_tensor({q, batch}, std::move(target)));
    return out;
  }

  TransformerXlConfig config_;
  int64_t batch_, eval_batch_, batches_;
  MarkovChain chain_;
  std::vector<std::vector<int64_t>> train_, eval_;
  double bound_ = 0.0;
  double nll_ = 0.0;
  int64_t tokens_ = 0;
};

}  // namespace

std::vector<double> MarkovChain::stationary() const {
  const auto n = static_cast<size_t>(vocab);
  std::vector<double> pi(n, 1.0 / static_cast<double>(n));
  std::vector<double> next(n);
  // Work cap: the tiny and small chains converge to 1e-13 long before it; at paper scale
  // (267,735 states) it bounds set-up time, and the bound is then approximate.
  size_t edges = 0;
  for (const auto& row : transitions) edges += row.size();
  const auto max_iter = static_cast<int>(
      std::min<size_t>(100000, std::max<size_t>(200, size_t{2000000000} / (edges + 1))));
  for (int iter = 0; iter < max_iter; ++iter) {
    // The lazy chain (½ stay, ½ move) has the same stationary law and converges even when the
    // chain itself is periodic.
    for (size_t i = 0; i < n; ++i) {
      next[i] = 0.5 * pi[i];
    }
    for (size_t s = 0; s < n; ++s) {
      for (const auto& [t, prob] : transitions[s]) {
        next[static_cast<size_t>(t)] += 0.5 * pi[s] * prob;
      }
    }
    double diff = 0.0;
    for (size_t i = 0; i < n; ++i) {
      diff += std::abs(next[i] - pi[i]);
    }
    pi.swap(next);
    if (diff < 1e-13) {
      break;
    }
  }
  return pi;
}

double MarkovChain::entropy_rate_nats() const {
  const std::vector<double> pi = stationary();
  double h = 0.0;
  for (size_t s = 0; s < transitions.size(); ++s) {
    double hs = 0.0;
    for (const auto& [t, prob] : transitions[s]) {
      if (prob > 0.0) {
        hs -= prob * std::log(prob);
      }
    }
    h += pi[s] * hs;
  }
  return h;
}

std::vector<int64_t> MarkovChain::sample(int64_t length, int64_t start, Rng& rng) const {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(0, length)));
  int64_t state = start;
  for (int64_t i = 0; i < length; ++i) {
    out.push_back(state);
    const double u = rng.uniform();
    const auto& next = transitions[static_cast<size_t>(state)];
    double acc = 0.0;
    int64_t chosen = next.back().first;  // guards against rounding in the cumulative sum
    for (const auto& [t, prob] : next) {
      acc += prob;
      if (u < acc) {
        chosen = t;
        break;
      }
    }
    state = chosen;
  }
  return out;
}

MarkovChain make_markov_chain(int64_t vocab, int64_t branching, uint64_t seed) {
  if (vocab < 2 || branching < 1 || branching > vocab) {
    throw Error("markov chain: branching " + std::to_string(branching) + " does not fit vocab " +
                std::to_string(vocab));
  }
  MarkovChain chain;
  chain.vocab = vocab;
  chain.transitions.resize(static_cast<size_t>(vocab));
  Rng rng(seed, stream_tag("text.chain"));
  // The successors other than the ring's are a partial Fisher-Yates shuffle of the pool of the
  // vocab - 1 other states, in increasing order. Only the positions a swap touched differ from
  // that order, so they are kept in a small map: the same draws and successors as shuffling the
  // whole pool, in O(branching) per state instead of O(vocab) (267,735 states at paper scale).
  const auto pool_size = static_cast<uint64_t>(vocab - 1);
  std::unordered_map<uint64_t, int64_t> moved;
  for (int64_t s = 0; s < vocab; ++s) {
    const int64_t ring = (s + 1) % vocab;
    moved.clear();
    const auto at = [&](uint64_t i) {
      const auto it = moved.find(i);
      if (it != moved.end()) return it->second;
      const auto t = static_cast<int64_t>(i);
      return t < ring ? t : t + 1;
    };
    std::vector<int64_t> succ = {ring};
    for (int64_t k = 0; k + 1 < branching; ++k) {
      const auto uk = static_cast<uint64_t>(k);
      const uint64_t j = uk + rng.below(pool_size - uk);
      const int64_t picked = at(j);
      moved[j] = at(uk);
      moved[uk] = picked;
      succ.push_back(picked);
    }
    std::vector<double> w(succ.size());
    double total = 0.0;
    for (double& x : w) {
      const double u = 1.0 - rng.uniform();
      x = u * u * u;
      total += x;
    }
    auto& row = chain.transitions[static_cast<size_t>(s)];
    for (size_t k = 0; k < succ.size(); ++k) {
      row.emplace_back(succ[k], w[k] / total);
    }
  }
  return chain;
}

std::unique_ptr<TaskData> data_detail::make_text_task(const ModelSpec& spec, uint64_t seed) {
  return std::make_unique<TextTask>(spec, seed);
}

}  // namespace greenbench::workloads
