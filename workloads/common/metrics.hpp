#pragma once
// Quality metrics shared by both workers, on host logits.
#include <cstdint>
#include <span>

namespace greenbench::workloads {

/// Hits among `groups` rows of `group_size` scores whose first entry is the positive: a hit when
/// fewer than k other entries score >= the positive (ties count against the model).
[[nodiscard]] int64_t count_hits_at_k(std::span<const float> scores, int64_t group_size, int64_t k);

/// Rows of `logits` ([labels.size(), classes]) whose label is among the k largest logits (ties
/// count against the model: the label's rank is the number of other logits >= its logit).
[[nodiscard]] int64_t count_top_k_correct(std::span<const float> logits, int64_t classes,
                                          std::span<const int64_t> labels, int64_t k);

/// Summed cross entropy (nats) of rows of logits ([targets.size(), classes]) against targets,
/// computed in double with log-sum-exp.
[[nodiscard]] double sum_cross_entropy(std::span<const float> logits, int64_t classes,
                                       std::span<const int64_t> targets);

/// Summed binary cross entropy with logits (nats) against 0/1 labels, computed in double.
[[nodiscard]] double sum_binary_cross_entropy(std::span<const float> logits,
                                              std::span<const float> labels);

/// exp(total_nll / tokens).
[[nodiscard]] double perplexity(double total_nll, int64_t tokens);

}  // namespace greenbench::workloads
