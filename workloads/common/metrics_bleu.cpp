#include "common/metrics_bleu.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

using NgramCounts = std::map<std::vector<int64_t>, int64_t>;

// Every n-gram of orders 1..4 with its count (an n-gram's order is its length).
NgramCounts count_ngrams(std::span<const int64_t> tokens) {
  NgramCounts counts;
  for (size_t n = 1; n <= kBleuMaxOrder; ++n) {
    for (size_t i = 0; i + n <= tokens.size(); ++i) {
      ++counts[std::vector<int64_t>(tokens.begin() + static_cast<std::ptrdiff_t>(i),
                                    tokens.begin() + static_cast<std::ptrdiff_t>(i + n))];
    }
  }
  return counts;
}

// sacrebleu.utils.my_log: log with log(0) floored to −9999999999.
double floored_log(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

}  // namespace

void BleuStats::add(std::span<const int64_t> hypothesis, std::span<const int64_t> reference) {
  const NgramCounts hyp = count_ngrams(hypothesis);
  const NgramCounts ref = count_ngrams(reference);
  for (const auto& [ngram, count] : hyp) {
    const size_t order = ngram.size() - 1;
    totals[order] += count;
    if (const auto it = ref.find(ngram); it != ref.end()) {
      matches[order] += std::min(count, it->second);
    }
  }
  hypothesis_length += static_cast<int64_t>(hypothesis.size());
  reference_length += static_cast<int64_t>(reference.size());
}

BleuStats& BleuStats::operator+=(const BleuStats& other) {
  hypothesis_length += other.hypothesis_length;
  reference_length += other.reference_length;
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    matches[n] += other.matches[n];
    totals[n] += other.totals[n];
  }
  return *this;
}

// Follows sacrebleu.metrics.bleu.BLEU.compute_bleu (2.x) with smooth_method 'exp' and
// effective_order False, operation for operation, so that the doubles agree.
BleuScore bleu_score(const BleuStats& stats) {
  if (stats.hypothesis_length < 0 || stats.reference_length < 0) {
    throw Error("bleu: negative corpus length (hypothesis " +
                std::to_string(stats.hypothesis_length) + ", reference " +
                std::to_string(stats.reference_length) + ")");
  }
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    if (stats.matches[n] < 0 || stats.matches[n] > stats.totals[n]) {
      throw Error("bleu: " + std::to_string(stats.matches[n]) + " matched " +
                  std::to_string(n + 1) + "-grams of " + std::to_string(stats.totals[n]));
    }
  }
  BleuScore out;
  out.brevity_penalty = 1.0;
  if (stats.hypothesis_length < stats.reference_length) {
    out.brevity_penalty = stats.hypothesis_length > 0
                              ? std::exp(1.0 - static_cast<double>(stats.reference_length) /
                                                   static_cast<double>(stats.hypothesis_length))
                              : 0.0;
  }
  // Without a single match sacreBLEU stops early: score 0, all precisions 0 (its issue #141).
  if (std::all_of(stats.matches.begin(), stats.matches.end(), [](int64_t m) { return m == 0; })) {
    return out;
  }
  double smooth = 1.0;
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    const auto total = static_cast<double>(stats.totals[n]);
    // No n-grams of this order (hypotheses shorter than n): this and every higher precision stay
    // 0, whose floored log makes the score 0.
    if (stats.totals[n] == 0) {
      break;
    }
    if (stats.matches[n] == 0) {
      smooth *= 2.0;
      out.precisions[n] = 100.0 / (smooth * total);
    } else {
      out.precisions[n] = 100.0 * static_cast<double>(stats.matches[n]) / total;
    }
  }
  double log_sum = 0.0;
  for (const double p : out.precisions) {
    log_sum += floored_log(p);
  }
  out.score = out.brevity_penalty * std::exp(log_sum / kBleuMaxOrder);
  return out;
}

double corpus_bleu(const BleuStats& stats) { return bleu_score(stats).score; }

}  // namespace greenbench::workloads
