#pragma once
// Corpus BLEU-4 on token ids, as sacreBLEU's corpus_bleu computes it (MODELS.md, "Metrics").
#include <array>
#include <cstdint>
#include <span>

namespace greenbench::workloads {

/// Highest n-gram order of BLEU-4.
inline constexpr int kBleuMaxOrder = 4;

/// Sufficient statistics of corpus BLEU, summed over sentences (one reference per sentence).
struct BleuStats {
  int64_t hypothesis_length = 0;                 ///< tokens of all hypotheses
  int64_t reference_length = 0;                  ///< tokens of all references
  std::array<int64_t, kBleuMaxOrder> matches{};  ///< clipped n-gram matches, n = 1..4
  std::array<int64_t, kBleuMaxOrder> totals{};   ///< hypothesis n-grams, n = 1..4

  /// Adds one sentence pair: each hypothesis n-gram counts at most as often as in the reference.
  void add(std::span<const int64_t> hypothesis, std::span<const int64_t> reference);
  /// Adds another batch's statistics.
  BleuStats& operator+=(const BleuStats& other);
};

/// Corpus BLEU with its parts, as sacreBLEU's BLEUScore reports them.
struct BleuScore {
  double score = 0.0;                              ///< BLEU, 0–100
  std::array<double, kBleuMaxOrder> precisions{};  ///< smoothed n-gram precisions, 0–100
  double brevity_penalty = 0.0;                    ///< exp(1 − ref/hyp) when hyp < ref, else 1
};

/// sacreBLEU's corpus BLEU: 'exp' smoothing, no effective order, 0 when no unigram matches.
[[nodiscard]] BleuScore bleu_score(const BleuStats& stats);

/// bleu_score(stats).score: corpus BLEU-4, 0–100.
[[nodiscard]] double corpus_bleu(const BleuStats& stats);

}  // namespace greenbench::workloads
