// GNMT's beam search (MODELS.md, "Beam search"): DeepLearningExamples' SequenceGenerator with
// deterministic ties and per-hypothesis coverage.
#include "common/beam_search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

struct Hypothesis {
  std::vector<int64_t> tokens;   // decoded tokens, the eos included once finished
  double score = 0.0;            // Σ log-probabilities of the tokens
  std::vector<double> coverage;  // Σ over its steps of the attention weights [source_len]
  bool finished = false;
  int64_t row = -1;  // its row in the current request (live hypotheses only)
};

struct Candidate {
  double score;
  int64_t slot;   // the parent's position in its sentence's beam
  int64_t token;  // the token appended (a finished parent: none)
};

// Higher score first, then the lower parent slot, then the lower token id.
bool better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.slot != b.slot) return a.slot < b.slot;
  return a.token < b.token;
}

// Keeps the best `k` candidates seen, sorted best first.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { best_.reserve(k + 1); }
  void offer(const Candidate& c) {
    if (best_.size() == k_ && !better(c, best_.back())) return;
    best_.insert(std::upper_bound(best_.begin(), best_.end(), c, better), c);
    if (best_.size() > k_) best_.pop_back();
  }
  [[nodiscard]] const std::vector<Candidate>& best() const { return best_; }

 private:
  size_t k_;
  std::vector<Candidate> best_;
};

void fail(const std::string& what) { throw Error("beam search: " + what); }

// The index of the winner among a finished sentence's hypotheses: all finished: the best
// normalised score with the coverage penalty; otherwise (max_length reached) the best raw score,
// as DeepLearningExamples. Ties: the lower slot.
size_t pick(const BeamSearchConfig& c, std::vector<Hypothesis>& beam) {
  const bool all_finished =
      std::all_of(beam.begin(), beam.end(), [](const Hypothesis& h) { return h.finished; });
  if (all_finished) {
    for (Hypothesis& h : beam) {
      h.score /= length_normalisation(c, static_cast<int64_t>(h.tokens.size()) + 1);
      if (c.cov_penalty_factor != 0.0)
        h.score += c.cov_penalty_factor * coverage_penalty(h.coverage);
    }
  }
  size_t best = 0;
  for (size_t i = 1; i < beam.size(); ++i) {
    if (beam[i].score > beam[best].score) best = i;
  }
  return best;
}

}  // namespace

BeamSearchConfig beam_search_config(const GnmtConfig& g) {
  BeamSearchConfig c;
  c.beam_width = g.beam_width;
  c.max_length = g.max_decode_length;
  c.len_norm_factor = g.len_norm_factor;
  c.len_norm_const = g.len_norm_const;
  c.cov_penalty_factor = g.cov_penalty_factor;
  return c;
}

double length_normalisation(const BeamSearchConfig& c, int64_t length) {
  return std::pow((c.len_norm_const + static_cast<double>(length)) / (c.len_norm_const + 1.0),
                  c.len_norm_factor);
}

double coverage_penalty(const std::vector<double>& coverage) {
  double p = 0.0;
  for (double x : coverage) {
    // DeepLearningExamples: log(clamp(x, 0, 1)) with log 0 = −inf replaced by 0, so positions
    // never attended (padding) add nothing.
    if (x > 0.0) p += std::log(std::min(x, 1.0));
  }
  return p;
}

BeamSearchResult beam_search(const BeamSearchConfig& c, int64_t sentences, int64_t vocab,
                             int64_t source_len, const BeamStepFn& step) {
  if (c.beam_width < 1) fail("beam_width = " + std::to_string(c.beam_width) + " (at least 1)");
  if (c.max_length < 1) fail("max_length = " + std::to_string(c.max_length) + " (at least 1)");
  if (sentences < 0 || vocab < 1 || source_len < 0) {
    fail("bad sizes: sentences " + std::to_string(sentences) + ", vocab " + std::to_string(vocab) +
         ", source_len " + std::to_string(source_len));
  }
  const bool coverage = c.cov_penalty_factor != 0.0;
  const auto k = static_cast<size_t>(c.beam_width);
  const auto n = static_cast<size_t>(sentences);
  const auto s_len = static_cast<size_t>(source_len);

  std::vector<std::vector<Hypothesis>> beams(n);
  std::vector<bool> done(n, false);
  BeamSearchResult out;
  out.tokens.resize(n);
  out.scores.assign(n, 0.0);
  for (size_t b = 0; b < n; ++b) {
    Hypothesis h;
    h.coverage.assign(coverage ? s_len : 0, 0.0);
    beams[b].push_back(std::move(h));
  }
  const auto finish = [&](size_t b) {
    const size_t best = pick(c, beams[b]);
    out.tokens[b] = std::move(beams[b][best].tokens);
    out.scores[b] = beams[b][best].score;
    done[b] = true;
    beams[b].clear();
  };

  for (int64_t t = 0; t < c.max_length; ++t) {
    BeamStepRequest req;
    req.step = t;
    for (size_t b = 0; b < n; ++b) {
      if (done[b]) continue;
      for (Hypothesis& h : beams[b]) {
        if (h.finished) continue;
        const int64_t row = static_cast<int64_t>(req.tokens.size());
        req.tokens.push_back(h.tokens.empty() ? c.bos : h.tokens.back());
        req.parents.push_back(t == 0 ? static_cast<int64_t>(b) : h.row);
        req.sentences.push_back(static_cast<int64_t>(b));
        h.row = row;
      }
    }
    const auto rows = static_cast<int64_t>(req.tokens.size());
    if (rows == 0) break;
    const BeamStepResult res = step(req);
    ++out.steps;
    const bool full = res.tokens.empty();
    const int64_t width = res.width;
    if (width < 1 || (full && width != vocab) ||
        res.log_probs.size() != static_cast<size_t>(rows * width) ||
        (!full && res.tokens.size() != res.log_probs.size())) {
      fail("step " + std::to_string(t) + " returned " + std::to_string(res.log_probs.size()) +
           " log-probabilities of width " + std::to_string(width) + " and " +
           std::to_string(res.tokens.size()) + " tokens for " + std::to_string(rows) +
           " rows of vocabulary " + std::to_string(vocab));
    }
    if (coverage && res.attention.size() != static_cast<size_t>(rows) * s_len) {
      fail("step " + std::to_string(t) + " returned " + std::to_string(res.attention.size()) +
           " attention weights, expected " + std::to_string(rows) + " × " +
           std::to_string(source_len) + " (cov_penalty_factor is not 0)");
    }

    for (size_t b = 0; b < n; ++b) {
      if (done[b]) continue;
      std::vector<Hypothesis>& beam = beams[b];
      TopK top(k);
      for (size_t slot = 0; slot < beam.size(); ++slot) {
        const Hypothesis& h = beam[slot];
        const auto islot = static_cast<int64_t>(slot);
        if (h.finished) {
          top.offer({h.score, islot, c.eos});  // carried on unchanged
          continue;
        }
        // The row's own best k first (a row gives at most k survivors), then the merge.
        TopK row_top(k);
        const size_t base = static_cast<size_t>(h.row * width);
        for (int64_t j = 0; j < width; ++j) {
          const float lp = res.log_probs[base + static_cast<size_t>(j)];
          const int64_t token = full ? j : res.tokens[base + static_cast<size_t>(j)];
          if (std::isnan(lp) || lp == std::numeric_limits<float>::infinity()) {
            fail("step " + std::to_string(t) + ", row " + std::to_string(h.row) + ", token " +
                 std::to_string(token) + ": log-probability " + std::to_string(lp));
          }
          if (token < 0 || token >= vocab) {
            fail("step " + std::to_string(t) + ", row " + std::to_string(h.row) + ": token " +
                 std::to_string(token) + " outside the vocabulary of " + std::to_string(vocab));
          }
          if (lp == -std::numeric_limits<float>::infinity()) continue;  // probability 0
          row_top.offer({h.score + static_cast<double>(lp), islot, token});
        }
        for (const Candidate& cand : row_top.best()) top.offer(cand);
      }
      if (top.best().empty()) {  // every continuation has probability 0
        finish(b);
        continue;
      }
      std::vector<Hypothesis> next;
      next.reserve(top.best().size());
      for (const Candidate& cand : top.best()) {
        const Hypothesis& parent = beam[static_cast<size_t>(cand.slot)];
        if (parent.finished) {
          next.push_back(parent);
          continue;
        }
        Hypothesis h;
        h.tokens = parent.tokens;
        h.tokens.push_back(cand.token);
        h.score = cand.score;
        h.coverage = parent.coverage;
        if (coverage) {
          const float* a = res.attention.data() + static_cast<size_t>(parent.row) * s_len;
          for (size_t j = 0; j < s_len; ++j) h.coverage[j] += static_cast<double>(a[j]);
        }
        h.finished = cand.token == c.eos;
        h.row = parent.row;
        next.push_back(std::move(h));
      }
      beam = std::move(next);
      const bool all_finished =
          std::all_of(beam.begin(), beam.end(), [](const Hypothesis& h) { return h.finished; });
      if (all_finished || t + 1 == c.max_length) finish(b);
    }
  }
  for (size_t b = 0; b < n; ++b) {
    if (!done[b]) finish(b);  // only when max_length steps could not all run (no rows left)
  }
  return out;
}

HostTensor decoded_tensor(const std::vector<std::vector<int64_t>>& tokens, int64_t width,
                          int64_t eos) {
  if (width < 1) throw Error("decoded tensor: width " + std::to_string(width) + " (at least 1)");
  HostTensor t;
  t.dtype = HostTensor::DType::kI64;
  t.shape = {static_cast<int64_t>(tokens.size()), width};
  t.i64.assign(tokens.size() * static_cast<size_t>(width), kPadToken);
  for (size_t b = 0; b < tokens.size(); ++b) {
    const std::vector<int64_t>& seq = tokens[b];
    if (static_cast<int64_t>(seq.size()) > width) {
      throw Error("decoded tensor: sentence " + std::to_string(b) + " has " +
                  std::to_string(seq.size()) + " tokens, more than the width " +
                  std::to_string(width));
    }
    int64_t* row = t.i64.data() + b * static_cast<size_t>(width);
    std::copy(seq.begin(), seq.end(), row);
    const bool has_eos = std::find(seq.begin(), seq.end(), eos) != seq.end();
    if (!has_eos && static_cast<int64_t>(seq.size()) < width) row[seq.size()] = eos;
  }
  return t;
}

std::vector<std::vector<int64_t>> decoded_sequences(const HostTensor& decoded, int64_t eos) {
  if (decoded.dtype != HostTensor::DType::kI64 || decoded.shape.size() != 2 ||
      decoded.i64.size() != static_cast<size_t>(decoded.numel())) {
    throw Error("gnmt predictions: expected int64 token ids [batch, max_decode_length] (" +
                std::to_string(decoded.shape.size()) + " dimensions, " +
                (decoded.dtype == HostTensor::DType::kI64 ? "int64" : "float32") + ")");
  }
  const int64_t rows = decoded.shape[0];
  const int64_t width = decoded.shape[1];
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(rows));
  for (int64_t b = 0; b < rows; ++b) {
    const int64_t* row = decoded.i64.data() + b * width;
    const int64_t* end = std::find(row, row + width, eos);
    out[static_cast<size_t>(b)].assign(row, end);
  }
  return out;
}

}  // namespace greenbench::workloads
