#include "common/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "greenbench/error.hpp"

namespace greenbench::workloads {

int64_t count_hits_at_k(std::span<const float> scores, int64_t group_size, int64_t k) {
  if (group_size <= 0 || scores.size() % static_cast<size_t>(group_size) != 0) {
    throw Error("hit rate: " + std::to_string(scores.size()) + " scores are not whole groups of " +
                std::to_string(group_size));
  }
  int64_t hits = 0;
  for (size_t start = 0; start < scores.size(); start += static_cast<size_t>(group_size)) {
    const float positive = scores[start];
    int64_t at_least = 0;
    for (int64_t j = 1; j < group_size; ++j) {
      // A NaN score never ranks the positive well: it counts as beating it.
      const float s = scores[start + static_cast<size_t>(j)];
      if (!(s < positive)) {
        ++at_least;
      }
    }
    if (at_least < k) {
      ++hits;
    }
  }
  return hits;
}

int64_t count_top_k_correct(std::span<const float> logits, int64_t classes,
                            std::span<const int64_t> labels, int64_t k) {
  if (classes <= 0 || logits.size() != labels.size() * static_cast<size_t>(classes)) {
    throw Error("top-k: " + std::to_string(logits.size()) + " logits do not match " +
                std::to_string(labels.size()) + " labels × " + std::to_string(classes) +
                " classes");
  }
  int64_t correct = 0;
  for (size_t row = 0; row < labels.size(); ++row) {
    const int64_t label = labels[row];
    if (label < 0 || label >= classes) {
      throw Error("top-k: label " + std::to_string(label) + " outside [0, " +
                  std::to_string(classes) + ")");
    }
    const float* z = logits.data() + row * static_cast<size_t>(classes);
    int64_t at_least = 0;
    for (int64_t c = 0; c < classes; ++c) {
      if (c != label && !(z[c] < z[label])) {
        ++at_least;
      }
    }
    if (at_least < k) {
      ++correct;
    }
  }
  return correct;
}

double sum_cross_entropy(std::span<const float> logits, int64_t classes,
                         std::span<const int64_t> targets) {
  if (classes <= 0 || logits.size() != targets.size() * static_cast<size_t>(classes)) {
    throw Error("cross entropy: " + std::to_string(logits.size()) + " logits do not match " +
                std::to_string(targets.size()) + " targets × " + std::to_string(classes) +
                " classes");
  }
  double total = 0.0;
  for (size_t row = 0; row < targets.size(); ++row) {
    const float* z = logits.data() + row * static_cast<size_t>(classes);
    double max = z[0];
    for (int64_t c = 1; c < classes; ++c) {
      max = std::max(max, static_cast<double>(z[c]));
    }
    double sum = 0.0;
    for (int64_t c = 0; c < classes; ++c) {
      sum += std::exp(static_cast<double>(z[c]) - max);
    }
    const int64_t t = targets[row];
    if (t < 0 || t >= classes) {
      throw Error("cross entropy: target " + std::to_string(t) + " outside [0, " +
                  std::to_string(classes) + ")");
    }
    total += max + std::log(sum) - static_cast<double>(z[t]);
  }
  return total;
}

double sum_binary_cross_entropy(std::span<const float> logits, std::span<const float> labels) {
  if (logits.size() != labels.size()) {
    throw Error("binary cross entropy: " + std::to_string(logits.size()) + " logits for " +
                std::to_string(labels.size()) + " labels");
  }
  double total = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const double z = logits[i];
    const double y = labels[i];
    total += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
  }
  return total;
}

double perplexity(double total_nll, int64_t tokens) {
  if (tokens <= 0) {
    throw Error("perplexity: no tokens");
  }
  return std::exp(total_nll / static_cast<double>(tokens));
}

}  // namespace greenbench::workloads
