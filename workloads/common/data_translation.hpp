#pragma once
// Synthetic translation data (GNMT): source sentences from a small seeded probabilistic grammar,
// target sentences by a deterministic transduction with agreement and local reordering
// (MODELS.md, Synthetic data). Self-contained (no models.hpp), so that ModelSpec can embed the
// config.
#include <cstdint>
#include <vector>

#include "common/backend.hpp"

namespace greenbench::workloads {

/// Special tokens of both vocabularies, as GNMT numbers them.
inline constexpr int64_t kPadToken = 0;
inline constexpr int64_t kBosToken = 1;
inline constexpr int64_t kEosToken = 2;
inline constexpr int64_t kUnkToken = 3;  ///< reserved; the grammar never produces it

/// The grammar, the lexicon sizes and the length limits of the translation data.
struct TranslationConfig {
  int64_t nouns = 0;            ///< noun lemmas (each with a singular and a plural source form)
  int64_t adjectives = 0;       ///< adjective lemmas
  int64_t verbs = 0;            ///< verb lemmas (each with a singular and a plural source form)
  int64_t prepositions = 0;     ///< prepositions
  int64_t max_source_len = 0;   ///< source tokens of a sentence plus its eos; also the width S
  int64_t max_target_len = 0;   ///< target tokens plus one (bos or eos); also the width T
  double zipf_exponent = 1.0;   ///< lemma r of a class is drawn ∝ 1 / (r + 1)^zipf_exponent
  double plural_prob = 0.3;     ///< a noun phrase is plural
  double adjective_prob = 0.4;  ///< each of at most two adjectives is added with this probability
  double pp_prob = 0.25;        ///< a noun phrase takes a prepositional phrase (halved per level)
  double clause_prob = 0.2;  ///< a verb takes a subordinate clause "that …" instead of an object
  double intransitive_prob = 0.2;  ///< a verb takes no object
  int64_t max_depth = 2;  ///< nesting limit of prepositional phrases and subordinate clauses
};

/// Source vocabulary size: 4 specials, 3 determiners, prepositions, "that", 2 forms per noun,
/// 1 per adjective, 2 per verb.
[[nodiscard]] int64_t source_vocab_size(const TranslationConfig& config);
/// Target vocabulary size: 4 specials, 12 articles (3 kinds × 2 genders × 2 numbers),
/// prepositions, "that", the plural particle, 2 forms per noun, 4 per adjective, 2 per verb.
[[nodiscard]] int64_t target_vocab_size(const TranslationConfig& config);

/// The seeded lexicon: token ids of every word form, and each noun's target gender and plural.
struct TranslationLexicon {
  // Source ids.
  int64_t src_the = 0, src_a = 0, src_some = 0;  ///< determiners
  int64_t src_that = 0;                          ///< complementiser
  std::vector<int64_t> src_prep;                 ///< [prepositions]
  std::vector<int64_t> src_noun;                 ///< [nouns][2]: singular, plural
  std::vector<int64_t> src_adj;                  ///< [adjectives]
  std::vector<int64_t> src_verb;                 ///< [verbs][2]: singular, plural subject
  // Target ids.
  std::vector<int64_t> tgt_article;  ///< [3 kinds (the, a, some)][2 genders][2 numbers]
  int64_t tgt_that = 0;
  int64_t tgt_plural = 0;             ///< particle after a noun whose plural is analytic
  std::vector<int64_t> tgt_prep;      ///< [prepositions], a seeded permutation of the source's
  std::vector<int64_t> tgt_noun;      ///< [nouns][2]: singular, plural (unused if analytic)
  std::vector<int64_t> tgt_adj;       ///< [adjectives][2 genders][2 numbers]
  std::vector<int64_t> tgt_verb;      ///< [verbs][2]: singular, plural subject
  std::vector<int> noun_gender;       ///< [nouns]: 0 or 1
  std::vector<bool> analytic_plural;  ///< [nouns]: plural = singular form + tgt_plural
  /// Cumulative Zipf weights of the lemmas of each class, for drawing them.
  std::vector<double> noun_cdf, adj_cdf, verb_cdf;
};
/// The lexicon of a seed (stream `translation.lexicon`); throws greenbench::Error on a bad config.
[[nodiscard]] TranslationLexicon make_translation_lexicon(const TranslationConfig& config,
                                                          uint64_t seed);

/// One sentence pair, without bos, eos or padding.
struct SentencePair {
  std::vector<int64_t> source;
  std::vector<int64_t> target;
};
/// Sentence `index` of the training (eval = false) or evaluation set: a pure function of
/// (config, seed, eval, index), drawn from stream `translation.<train|eval>.<index>`.
[[nodiscard]] SentencePair make_sentence_pair(const TranslationConfig& config,
                                              const TranslationLexicon& lexicon, uint64_t seed,
                                              bool eval, int64_t index);

/// Sentences first … first + count − 1 as a batch (row b = sentence first + b):
///   "source"         int64 [B, S]: source tokens, eos, then pad;
///   "source_lengths" int64 [B]: source tokens + 1 (the eos);
///   "target_input"   int64 [B, T]: bos, target tokens, then pad;
///   "target_output"  int64 [B, T]: target tokens, eos, then pad (the labels; 0 = ignored).
[[nodiscard]] Batch make_translation_batch(const TranslationConfig& config,
                                           const TranslationLexicon& lexicon, uint64_t seed,
                                           bool eval, int64_t first, int64_t count);

/// The references of a batch: each row of "target_output" up to its eos.
[[nodiscard]] std::vector<std::vector<int64_t>> translation_references(const Batch& batch);

}  // namespace greenbench::workloads
