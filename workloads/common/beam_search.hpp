#pragma once
// The beam search of GNMT, shared by both workers (MODELS.md, "GNMT v2", "Beam search"). The
// worker runs one decoder step in its framework and hands the log-probabilities back on the host;
// every search decision (which hypotheses survive, ties, lengths, penalties) is made here, so the
// two workers decide alike on equal scores.
#include <cstdint>
#include <functional>
#include <vector>

#include "common/backend.hpp"
#include "common/data_translation.hpp"
#include "common/models.hpp"

namespace greenbench::workloads {

/// The constants of the search (GnmtConfig holds the preset's).
struct BeamSearchConfig {
  int64_t beam_width = 1;           ///< K hypotheses kept per sentence
  int64_t max_length = 1;           ///< decoded tokens per sentence at most, eos included
  double len_norm_factor = 0.6;     ///< α of the length normalisation
  double len_norm_const = 5.0;      ///< c of the length normalisation
  double cov_penalty_factor = 0.1;  ///< β of the coverage penalty (0: attention not needed)
  int64_t bos = kBosToken;          ///< fed at the first step
  int64_t eos = kEosToken;          ///< ends a hypothesis
};

/// The search of a GNMT spec (beam width, length normalisation, coverage, max_decode_length).
[[nodiscard]] BeamSearchConfig beam_search_config(const GnmtConfig& config);

/// What the search asks the decoder for at one step: one row per live hypothesis, grouped by
/// sentence (increasing), best hypothesis first within a sentence.
struct BeamStepRequest {
  int64_t step = 0;                ///< 0-based decoder step
  std::vector<int64_t> tokens;     ///< [R] the token to feed (bos at step 0)
  std::vector<int64_t> parents;    ///< [R] the row of the previous step whose decoder state this
                                   ///< row continues; at step 0 the sentence (initial state)
  std::vector<int64_t> sentences;  ///< [R] the sentence (batch row) of each row
};

/// What the decoder returns for a request: per row either the whole log-softmax (tokens empty,
/// width = vocab, column = token) or its best `width` candidates (tokens given; they must be the
/// row's best by log-probability, then lower token id, and width ≥ beam_width, for the search to
/// equal the one on whole rows). Attention is needed when cov_penalty_factor is not 0.
struct BeamStepResult {
  int64_t width = 0;             ///< candidates per row
  std::vector<float> log_probs;  ///< [R, width]
  std::vector<int64_t> tokens;   ///< [R, width] the token of each candidate, or empty
  std::vector<float> attention;  ///< [R, source_len] the step's attention weights, or empty
};

/// The decoder step a worker plugs in.
using BeamStepFn = std::function<BeamStepResult(const BeamStepRequest&)>;

/// The outcome of a search over a batch of sentences.
struct BeamSearchResult {
  std::vector<std::vector<int64_t>> tokens;  ///< per sentence: decoded tokens, with the eos if any
  std::vector<double> scores;                ///< per sentence: the score it won with
  int64_t steps = 0;                         ///< decoder steps called
};

/// Beam search over `sentences` sentences with a decoder of `vocab` tokens and attention over
/// `source_len` source positions; throws greenbench::Error on a malformed step result.
[[nodiscard]] BeamSearchResult beam_search(const BeamSearchConfig& config, int64_t sentences,
                                           int64_t vocab, int64_t source_len,
                                           const BeamStepFn& step);

/// The length normalisation ((c + length) / (c + 1))^α, length counting the bos and the eos.
[[nodiscard]] double length_normalisation(const BeamSearchConfig& config, int64_t length);

/// The coverage penalty Σ_j log(min(coverage_j, 1)) over positions with coverage > 0 (before β).
[[nodiscard]] double coverage_penalty(const std::vector<double>& coverage);

/// Decoded sequences as GNMT's predict() returns them: int64 [B, width], row b = its tokens, the
/// eos (when generated, or when the row has room), then pad (0). Throws when one is too long.
[[nodiscard]] HostTensor decoded_tensor(const std::vector<std::vector<int64_t>>& tokens,
                                        int64_t width, int64_t eos = kEosToken);

/// The hypotheses of a decoded tensor: each row's tokens before its first eos (the whole row when
/// it has none). Throws unless the tensor is int64 [B, width].
[[nodiscard]] std::vector<std::vector<int64_t>> decoded_sequences(const HostTensor& decoded,
                                                                  int64_t eos = kEosToken);

}  // namespace greenbench::workloads
