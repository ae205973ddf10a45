// Translation data (GNMT): a seeded transduction grammar (MODELS.md, Synthetic data).
#include "common/data_translation.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/data_internal.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {

using data_detail::i64_tensor;
using data_detail::shuffle;

namespace {

constexpr int kMaxAdjectives = 2;
constexpr int kMaxTries = 1000;
constexpr double kDefiniteProb = 0.6;  // "the" rather than "a" (singular) or "some" (plural)

void require(bool ok, const std::string& field, double value, const std::string& rule) {
  if (!ok) {
    throw Error("translation data: " + field + " = " + std::to_string(value) + " (" + rule + ")");
  }
}

void validate(const TranslationConfig& c) {
  require(c.nouns >= 1, "nouns", static_cast<double>(c.nouns), "at least 1");
  require(c.adjectives >= 1, "adjectives", static_cast<double>(c.adjectives), "at least 1");
  require(c.verbs >= 1, "verbs", static_cast<double>(c.verbs), "at least 1");
  require(c.prepositions >= 1, "prepositions", static_cast<double>(c.prepositions), "at least 1");
  // The shortest sentence, "the N V", has 3 source and up to 4 target tokens.
  require(c.max_source_len >= 4, "max_source_len", static_cast<double>(c.max_source_len),
          "at least 4: 3 tokens and the eos");
  require(c.max_target_len >= 5, "max_target_len", static_cast<double>(c.max_target_len),
          "at least 5: 4 tokens and the bos or eos");
  require(c.max_depth >= 0, "max_depth", static_cast<double>(c.max_depth), "at least 0");
  require(c.zipf_exponent >= 0.0, "zipf_exponent", c.zipf_exponent, "at least 0");
  for (const auto& [name, p] :
       {std::pair{"plural_prob", c.plural_prob}, std::pair{"adjective_prob", c.adjective_prob},
        std::pair{"pp_prob", c.pp_prob}, std::pair{"clause_prob", c.clause_prob},
        std::pair{"intransitive_prob", c.intransitive_prob}}) {
    require(p >= 0.0 && p <= 1.0, name, p, "a probability");
  }
  require(c.clause_prob + c.intransitive_prob <= 1.0, "clause_prob + intransitive_prob",
          c.clause_prob + c.intransitive_prob, "at most 1");
}

// Cumulative Zipf weights 1 / (r + 1)^s, r = 0 … n − 1.
std::vector<double> zipf_cdf(int64_t n, double s) {
  std::vector<double> cdf(static_cast<size_t>(n));
  double acc = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    acc += std::pow(static_cast<double>(r + 1), -s);
    cdf[static_cast<size_t>(r)] = acc;
  }
  return cdf;
}

int64_t draw(const std::vector<double>& cdf, Rng& rng) {
  const double u = rng.uniform() * cdf.back();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
  return std::min<int64_t>(it - cdf.begin(), static_cast<int64_t>(cdf.size()) - 1);
}

std::vector<int64_t> permutation(int64_t n, Rng& rng) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  shuffle(p, rng);
  return p;
}

// Draws one sentence, writing the source and its translation side by side.
class Generator {
 public:
  Generator(const TranslationConfig& c, const TranslationLexicon& lex, Rng& rng)
      : c_(c), lex_(lex), rng_(rng) {}

  SentencePair sentence() {
    SentencePair out;
    clause(0, false, out.source, out.target);
    return out;
  }

 private:
  bool chance(double p) { return rng_.uniform() < p; }

  // A noun phrase; returns its number (0 singular, 1 plural), which the verb agrees with.
  int noun_phrase(int64_t depth, std::vector<int64_t>& src, std::vector<int64_t>& tgt) {
    const int number = chance(c_.plural_prob) ? 1 : 0;
    const int64_t kind = chance(kDefiniteProb) ? 0 : (number == 0 ? 1 : 2);  // the, a, some
    std::vector<int64_t> adjs;
    while (static_cast<int>(adjs.size()) < kMaxAdjectives && chance(c_.adjective_prob)) {
      adjs.push_back(draw(lex_.adj_cdf, rng_));
    }
    const int64_t noun = draw(lex_.noun_cdf, rng_);
    const int64_t gender = lex_.noun_gender[static_cast<size_t>(noun)];
    // Source: determiner, adjectives, noun.
    src.push_back(kind == 0 ? lex_.src_the : (kind == 1 ? lex_.src_a : lex_.src_some));
    for (int64_t a : adjs) src.push_back(lex_.src_adj[static_cast<size_t>(a)]);
    src.push_back(lex_.src_noun[static_cast<size_t>(noun * 2 + number)]);
    // Target: agreeing article, noun (analytic plural: singular form + particle), then the
    // agreeing adjectives in their source order.
    tgt.push_back(lex_.tgt_article[static_cast<size_t>((kind * 2 + gender) * 2 + number)]);
    if (number == 1 && lex_.analytic_plural[static_cast<size_t>(noun)]) {
      tgt.push_back(lex_.tgt_noun[static_cast<size_t>(noun * 2)]);
      tgt.push_back(lex_.tgt_plural);
    } else {
      tgt.push_back(lex_.tgt_noun[static_cast<size_t>(noun * 2 + number)]);
    }
    for (int64_t a : adjs) {
      tgt.push_back(lex_.tgt_adj[static_cast<size_t>((a * 2 + gender) * 2 + number)]);
    }
    // A prepositional phrase, rarer with depth: pp_prob / 2^depth.
    if (depth < c_.max_depth && chance(std::ldexp(c_.pp_prob, -static_cast<int>(depth)))) {
      const auto prep = static_cast<size_t>(rng_.below(static_cast<uint64_t>(c_.prepositions)));
      src.push_back(lex_.src_prep[prep]);
      tgt.push_back(lex_.tgt_prep[prep]);
      noun_phrase(depth + 1, src, tgt);
    }
    return number;
  }

  // Subject and verb phrase. In a subordinate clause the verb goes after its object (verb-final),
  // but before a clause it takes itself.
  void clause(int64_t depth, bool subordinate, std::vector<int64_t>& src,
              std::vector<int64_t>& tgt) {
    const int number = noun_phrase(depth, src, tgt);
    const int64_t verb = draw(lex_.verb_cdf, rng_);
    const int64_t src_verb = lex_.src_verb[static_cast<size_t>(verb * 2 + number)];
    const int64_t tgt_verb = lex_.tgt_verb[static_cast<size_t>(verb * 2 + number)];
    src.push_back(src_verb);
    const double u = rng_.uniform();
    if (u < c_.intransitive_prob) {
      tgt.push_back(tgt_verb);
    } else if (depth < c_.max_depth && u < c_.intransitive_prob + c_.clause_prob) {
      tgt.push_back(tgt_verb);
      src.push_back(lex_.src_that);
      tgt.push_back(lex_.tgt_that);
      clause(depth + 1, true, src, tgt);
    } else {
      if (!subordinate) tgt.push_back(tgt_verb);
      noun_phrase(depth, src, tgt);
      if (subordinate) tgt.push_back(tgt_verb);
    }
  }

  const TranslationConfig& c_;
  const TranslationLexicon& lex_;
  Rng& rng_;
};

}  // namespace

int64_t source_vocab_size(const TranslationConfig& c) {
  return 4 + 3 + c.prepositions + 1 + 2 * c.nouns + c.adjectives + 2 * c.verbs;
}

int64_t target_vocab_size(const TranslationConfig& c) {
  return 4 + 12 + c.prepositions + 2 + 2 * c.nouns + 4 * c.adjectives + 2 * c.verbs;
}

TranslationLexicon make_translation_lexicon(const TranslationConfig& c, uint64_t seed) {
  validate(c);
  TranslationLexicon lex;
  // Source ids: specials, the a some, prepositions, that, nouns (sg, pl), adjectives, verbs.
  lex.src_the = 4, lex.src_a = 5, lex.src_some = 6;
  int64_t next = 7;
  for (int64_t p = 0; p < c.prepositions; ++p) lex.src_prep.push_back(next++);
  lex.src_that = next++;
  for (int64_t i = 0; i < 2 * c.nouns; ++i) lex.src_noun.push_back(next++);
  for (int64_t i = 0; i < c.adjectives; ++i) lex.src_adj.push_back(next++);
  for (int64_t i = 0; i < 2 * c.verbs; ++i) lex.src_verb.push_back(next++);

  Rng rng(seed, stream_tag("translation.lexicon"));
  for (int64_t n = 0; n < c.nouns; ++n) lex.noun_gender.push_back(static_cast<int>(rng.below(2)));
  for (int64_t n = 0; n < c.nouns; ++n) lex.analytic_plural.push_back(rng.below(2) == 1);
  const std::vector<int64_t> preps = permutation(c.prepositions, rng);
  const std::vector<int64_t> nouns = permutation(c.nouns, rng);
  const std::vector<int64_t> adjs = permutation(c.adjectives, rng);
  const std::vector<int64_t> verbs = permutation(c.verbs, rng);
  // Target ids: specials, 12 articles, prepositions, that, the plural particle, nouns (sg, pl),
  // adjectives (4 forms), verbs (sg, pl); the lemmas of a class in a seeded order.
  for (int64_t i = 0; i < 12; ++i) lex.tgt_article.push_back(4 + i);
  const int64_t prep_base = 16;
  for (int64_t p = 0; p < c.prepositions; ++p) {
    lex.tgt_prep.push_back(prep_base + preps[static_cast<size_t>(p)]);
  }
  lex.tgt_that = prep_base + c.prepositions;
  lex.tgt_plural = lex.tgt_that + 1;
  const int64_t noun_base = lex.tgt_plural + 1;
  for (int64_t n = 0; n < c.nouns; ++n) {
    for (int64_t f = 0; f < 2; ++f) lex.tgt_noun.push_back(noun_base + 2 * nouns[n] + f);
  }
  const int64_t adj_base = noun_base + 2 * c.nouns;
  for (int64_t a = 0; a < c.adjectives; ++a) {
    for (int64_t f = 0; f < 4; ++f) lex.tgt_adj.push_back(adj_base + 4 * adjs[a] + f);
  }
  const int64_t verb_base = adj_base + 4 * c.adjectives;
  for (int64_t v = 0; v < c.verbs; ++v) {
    for (int64_t f = 0; f < 2; ++f) lex.tgt_verb.push_back(verb_base + 2 * verbs[v] + f);
  }
  lex.noun_cdf = zipf_cdf(c.nouns, c.zipf_exponent);
  lex.adj_cdf = zipf_cdf(c.adjectives, c.zipf_exponent);
  lex.verb_cdf = zipf_cdf(c.verbs, c.zipf_exponent);
  return lex;
}

SentencePair make_sentence_pair(const TranslationConfig& c, const TranslationLexicon& lex,
                                uint64_t seed, bool eval, int64_t index) {
  Rng rng(seed, stream_tag(std::string(eval ? "translation.eval." : "translation.train.") +
                           std::to_string(index)));
  Generator gen(c, lex, rng);
  // Sentences over the length limits are redrawn from the same stream.
  for (int tries = 0; tries < kMaxTries; ++tries) {
    SentencePair pair = gen.sentence();
    if (static_cast<int64_t>(pair.source.size()) + 1 <= c.max_source_len &&
        static_cast<int64_t>(pair.target.size()) + 1 <= c.max_target_len) {
      return pair;
    }
  }
  throw Error("translation data: no sentence within max_source_len " +
              std::to_string(c.max_source_len) + " and max_target_len " +
              std::to_string(c.max_target_len) + " in " + std::to_string(kMaxTries) +
              " draws (raise the limits or lower pp_prob, clause_prob, adjective_prob)");
}

Batch make_translation_batch(const TranslationConfig& c, const TranslationLexicon& lex,
                             uint64_t seed, bool eval, int64_t first, int64_t count) {
  const int64_t s = c.max_source_len;
  const int64_t t = c.max_target_len;
  std::vector<int64_t> source(static_cast<size_t>(count * s), kPadToken);
  std::vector<int64_t> lengths(static_cast<size_t>(count));
  std::vector<int64_t> target_in(static_cast<size_t>(count * t), kPadToken);
  std::vector<int64_t> target_out(target_in.size(), kPadToken);
  for (int64_t b = 0; b < count; ++b) {
    const SentencePair pair = make_sentence_pair(c, lex, seed, eval, first + b);
    int64_t* src = source.data() + b * s;
    std::copy(pair.source.begin(), pair.source.end(), src);
    src[pair.source.size()] = kEosToken;
    lengths[static_cast<size_t>(b)] = static_cast<int64_t>(pair.source.size()) + 1;
    int64_t* in = target_in.data() + b * t;
    int64_t* out = target_out.data() + b * t;
    in[0] = kBosToken;
    std::copy(pair.target.begin(), pair.target.end(), in + 1);
    std::copy(pair.target.begin(), pair.target.end(), out);
    out[pair.target.size()] = kEosToken;
  }
  Batch batch;
  batch.inputs.emplace_back("source", i64_tensor({count, s}, std::move(source)));
  batch.inputs.emplace_back("source_lengths", i64_tensor({count}, std::move(lengths)));
  batch.inputs.emplace_back("target_input", i64_tensor({count, t}, std::move(target_in)));
  batch.inputs.emplace_back("target_output", i64_tensor({count, t}, std::move(target_out)));
  return batch;
}

std::vector<std::vector<int64_t>> translation_references(const Batch& batch) {
  const HostTensor& out = batch.get("target_output");
  if (out.shape.size() != 2) {
    throw Error("translation references: target_output has " + std::to_string(out.shape.size()) +
                " dimensions, expected 2");
  }
  const int64_t rows = out.shape[0];
  const int64_t t = out.shape[1];
  std::vector<std::vector<int64_t>> refs(static_cast<size_t>(rows));
  for (int64_t b = 0; b < rows; ++b) {
    for (int64_t i = 0; i < t; ++i) {
      const int64_t tok = out.i64[static_cast<size_t>(b * t + i)];
      if (tok == kEosToken || tok == kPadToken) break;
      refs[static_cast<size_t>(b)].push_back(tok);
    }
  }
  return refs;
}

}  // namespace greenbench::workloads
