#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/data_translation.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

TranslationConfig tiny_config() {
  TranslationConfig c;
  c.nouns = 16;
  c.adjectives = 8;
  c.verbs = 8;
  c.prepositions = 4;
  c.max_source_len = 24;
  c.max_target_len = 32;
  return c;
}

// A config that nests deeply, so that every rule is exercised often.
TranslationConfig busy_config() {
  TranslationConfig c = tiny_config();
  c.max_source_len = 60;
  c.max_target_len = 80;
  c.plural_prob = 0.5;
  c.adjective_prob = 0.6;
  c.pp_prob = 0.6;
  c.clause_prob = 0.45;
  c.intransitive_prob = 0.25;
  c.max_depth = 3;
  return c;
}

// The transduction as MODELS.md states it, written independently of the generator: parse the
// source (determiner, adjectives, noun, optional "prep NP"; subject, verb, then the end, "that"
// and a clause, or an object) and write the target.
class Reference {
 public:
  explicit Reference(const TranslationLexicon& lex) : lex_(lex) {}

  std::vector<int64_t> translate(const std::vector<int64_t>& src) {
    src_ = &src;
    pos_ = 0;
    std::vector<int64_t> out;
    clause(false, out);
    EXPECT_EQ(pos_, src.size()) << "source not fully parsed";
    return out;
  }

  int64_t verb_final_clauses = 0, analytic_plurals = 0, swapped_adjectives = 0;

 private:
  int64_t peek() const { return pos_ < src_->size() ? (*src_)[pos_] : -1; }
  int64_t take() {
    EXPECT_LT(pos_, src_->size()) << "source ends early";
    return pos_ < src_->size() ? (*src_)[pos_++] : -1;
  }
  static int64_t find(const std::vector<int64_t>& ids, int64_t tok) {
    const auto it = std::find(ids.begin(), ids.end(), tok);
    return it == ids.end() ? -1 : it - ids.begin();
  }

  int noun_phrase(std::vector<int64_t>& out) {
    const int64_t det = take();
    const int kind = det == lex_.src_the ? 0 : (det == lex_.src_a ? 1 : 2);
    EXPECT_TRUE(det == lex_.src_the || det == lex_.src_a || det == lex_.src_some) << det;
    std::vector<int64_t> adjs;
    for (int64_t a = find(lex_.src_adj, peek()); a >= 0; a = find(lex_.src_adj, peek())) {
      adjs.push_back(a);
      take();
    }
    const int64_t form = find(lex_.src_noun, take());
    EXPECT_GE(form, 0) << "expected a noun";
    const int64_t noun = form / 2;
    const int number = static_cast<int>(form % 2);
    EXPECT_TRUE(kind == 0 || kind == 1 + number) << "a with a plural or some with a singular";
    const int g = lex_.noun_gender[noun];
    out.push_back(lex_.tgt_article[(kind * 2 + g) * 2 + number]);
    if (number == 1 && lex_.analytic_plural[noun]) {
      out.push_back(lex_.tgt_noun[noun * 2]);
      out.push_back(lex_.tgt_plural);
      ++analytic_plurals;
    } else {
      out.push_back(lex_.tgt_noun[noun * 2 + number]);
    }
    for (int64_t a : adjs) out.push_back(lex_.tgt_adj[(a * 2 + g) * 2 + number]);
    swapped_adjectives += static_cast<int64_t>(adjs.size());
    const int64_t prep = find(lex_.src_prep, peek());
    if (prep >= 0) {
      take();
      out.push_back(lex_.tgt_prep[prep]);
      noun_phrase(out);
    }
    return number;
  }

  void clause(bool subordinate, std::vector<int64_t>& out) {
    const int number = noun_phrase(out);
    const int64_t form = find(lex_.src_verb, take());
    EXPECT_GE(form, 0) << "expected a verb";
    EXPECT_EQ(form % 2, number) << "verb does not agree with its subject";
    const int64_t verb = lex_.tgt_verb[form];
    if (peek() == -1) {
      out.push_back(verb);
    } else if (peek() == lex_.src_that) {
      take();
      out.push_back(verb);
      out.push_back(lex_.tgt_that);
      clause(true, out);
    } else {
      if (!subordinate) out.push_back(verb);
      noun_phrase(out);
      if (subordinate) {
        out.push_back(verb);
        ++verb_final_clauses;
      }
    }
  }

  const TranslationLexicon& lex_;
  const std::vector<int64_t>* src_ = nullptr;
  size_t pos_ = 0;
};

TEST(TranslationData, LexiconIsAPartitionOfBothVocabularies) {
  const TranslationConfig c = tiny_config();
  const TranslationLexicon lex = make_translation_lexicon(c, 1);
  std::vector<int64_t> src = {lex.src_the, lex.src_a, lex.src_some, lex.src_that};
  for (const auto* v : {&lex.src_prep, &lex.src_noun, &lex.src_adj, &lex.src_verb}) {
    src.insert(src.end(), v->begin(), v->end());
  }
  std::vector<int64_t> tgt = {lex.tgt_that, lex.tgt_plural};
  for (const auto* v :
       {&lex.tgt_article, &lex.tgt_prep, &lex.tgt_noun, &lex.tgt_adj, &lex.tgt_verb}) {
    tgt.insert(tgt.end(), v->begin(), v->end());
  }
  // Every id from 4 up is one word form, exactly once.
  std::sort(src.begin(), src.end());
  std::sort(tgt.begin(), tgt.end());
  ASSERT_EQ(static_cast<int64_t>(src.size()), source_vocab_size(c) - 4);
  ASSERT_EQ(static_cast<int64_t>(tgt.size()), target_vocab_size(c) - 4);
  for (size_t i = 0; i < src.size(); ++i) EXPECT_EQ(src[i], static_cast<int64_t>(i) + 4);
  for (size_t i = 0; i < tgt.size(); ++i) EXPECT_EQ(tgt[i], static_cast<int64_t>(i) + 4);
  // Both genders and both plural kinds occur; the seed changes the lexicon.
  EXPECT_EQ(std::set<int>(lex.noun_gender.begin(), lex.noun_gender.end()).size(), 2U);
  EXPECT_EQ(std::set<bool>(lex.analytic_plural.begin(), lex.analytic_plural.end()).size(), 2U);
  const TranslationLexicon other = make_translation_lexicon(c, 2);
  EXPECT_NE(other.tgt_noun, lex.tgt_noun);
  EXPECT_EQ(make_translation_lexicon(c, 1).tgt_noun, lex.tgt_noun);
}

TEST(TranslationData, TargetsFollowTheDocumentedMapping) {
  for (const TranslationConfig& c : {tiny_config(), busy_config()}) {
    const TranslationLexicon lex = make_translation_lexicon(c, 7);
    Reference ref(lex);
    for (int64_t i = 0; i < 3000; ++i) {
      const SentencePair pair = make_sentence_pair(c, lex, 7, i % 2 == 1, i);
      ASSERT_EQ(ref.translate(pair.source), pair.target) << "sentence " << i;
    }
    // Every rule was exercised.
    EXPECT_GT(ref.verb_final_clauses, 0);
    EXPECT_GT(ref.analytic_plurals, 0);
    EXPECT_GT(ref.swapped_adjectives, 0);
  }
}

TEST(TranslationData, SentencesAreWithinTheLimitsAndVocabularies) {
  const TranslationConfig c = busy_config();
  const TranslationLexicon lex = make_translation_lexicon(c, 3);
  std::map<int64_t, int64_t> noun_counts;
  size_t longest = 0;
  for (int64_t i = 0; i < 3000; ++i) {
    const SentencePair pair = make_sentence_pair(c, lex, 3, false, i);
    ASSERT_GE(pair.source.size(), 3U);
    ASSERT_LE(static_cast<int64_t>(pair.source.size()) + 1, c.max_source_len);
    ASSERT_LE(static_cast<int64_t>(pair.target.size()) + 1, c.max_target_len);
    ASSERT_GE(pair.target.size(), pair.source.size());
    longest = std::max(longest, pair.source.size());
    for (int64_t t : pair.source) {
      ASSERT_GE(t, 4);
      ASSERT_LT(t, source_vocab_size(c));
      const auto it = std::find(lex.src_noun.begin(), lex.src_noun.end(), t);
      if (it != lex.src_noun.end()) ++noun_counts[(it - lex.src_noun.begin()) / 2];
    }
    for (int64_t t : pair.target) {
      ASSERT_GE(t, 4);
      ASSERT_LT(t, target_vocab_size(c));
    }
  }
  // Sentences use the room they have, and lemmas follow the Zipf law: rank 0 is the most common.
  EXPECT_GT(static_cast<int64_t>(longest) + 1, c.max_source_len / 2);
  EXPECT_EQ(static_cast<int64_t>(noun_counts.size()), c.nouns);
  EXPECT_GT(noun_counts[0], 3 * noun_counts[c.nouns - 1]);
}

TEST(TranslationData, IsAPureFunctionOfSeedAndIndex) {
  const TranslationConfig c = tiny_config();
  const TranslationLexicon lex = make_translation_lexicon(c, 5);
  const SentencePair a = make_sentence_pair(c, lex, 5, false, 42);
  const SentencePair b = make_sentence_pair(c, lex, 5, false, 42);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.target, b.target);
  int same_index = 0, same_split = 0;
  for (int64_t i = 0; i < 50; ++i) {
    same_index += make_sentence_pair(c, lex, 5, false, i).source == a.source;
    same_split += make_sentence_pair(c, lex, 5, true, i).source ==
                  make_sentence_pair(c, lex, 5, false, i).source;
  }
  EXPECT_LT(same_index, 10) << "different indices give (mostly) different sentences";
  EXPECT_LT(same_split, 10) << "evaluation sentences are not the training sentences";
  // A batch is its sentences: batch [first, first + count) equals the same rows of a larger one.
  const Batch small = make_translation_batch(c, lex, 5, false, 10, 4);
  const Batch large = make_translation_batch(c, lex, 5, false, 8, 8);
  const auto& s = small.get("source").i64;
  const auto& l = large.get("source").i64;
  EXPECT_TRUE(std::equal(s.begin(), s.end(), l.begin() + 2 * c.max_source_len));
}

TEST(TranslationData, BatchLayout) {
  const TranslationConfig c = tiny_config();
  const TranslationLexicon lex = make_translation_lexicon(c, 1);
  const int64_t n = 16;
  const Batch batch = make_translation_batch(c, lex, 1, true, 100, n);
  const int64_t s = c.max_source_len, t = c.max_target_len;
  EXPECT_EQ(batch.get("source").shape, (std::vector<int64_t>{n, s}));
  EXPECT_EQ(batch.get("source_lengths").shape, (std::vector<int64_t>{n}));
  EXPECT_EQ(batch.get("target_input").shape, (std::vector<int64_t>{n, t}));
  EXPECT_EQ(batch.get("target_output").shape, (std::vector<int64_t>{n, t}));
  const auto refs = translation_references(batch);
  ASSERT_EQ(static_cast<int64_t>(refs.size()), n);
  for (int64_t b = 0; b < n; ++b) {
    const SentencePair pair = make_sentence_pair(c, lex, 1, true, 100 + b);
    const auto len = static_cast<int64_t>(pair.source.size());
    EXPECT_EQ(batch.get("source_lengths").i64[b], len + 1);
    std::vector<int64_t> src(s, kPadToken), in(t, kPadToken), out(t, kPadToken);
    std::copy(pair.source.begin(), pair.source.end(), src.begin());
    src[len] = kEosToken;
    in[0] = kBosToken;
    std::copy(pair.target.begin(), pair.target.end(), in.begin() + 1);
    std::copy(pair.target.begin(), pair.target.end(), out.begin());
    out[pair.target.size()] = kEosToken;
    const auto row = [&](const char* name, int64_t width) {
      const auto& v = batch.get(name).i64;
      return std::vector<int64_t>(v.begin() + b * width, v.begin() + (b + 1) * width);
    };
    EXPECT_EQ(row("source", s), src);
    EXPECT_EQ(row("target_input", t), in);
    EXPECT_EQ(row("target_output", t), out);
    EXPECT_EQ(refs[b], pair.target);
  }
}

TEST(TranslationData, BadConfigsNameTheField) {
  TranslationConfig c = tiny_config();
  c.nouns = 0;
  try {
    (void)make_translation_lexicon(c, 1);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nouns"), std::string::npos) << e.what();
  }
  c = tiny_config();
  c.pp_prob = 1.5;
  EXPECT_THROW((void)make_translation_lexicon(c, 1), Error);
  // Limits no sentence can meet: every sentence has at least three source tokens.
  c = busy_config();
  c.max_source_len = 4;
  c.clause_prob = 1.0 - c.intransitive_prob;
  c.adjective_prob = 1.0;
  const TranslationLexicon lex = make_translation_lexicon(c, 1);
  EXPECT_THROW((void)make_sentence_pair(c, lex, 1, false, 0), Error);
}

TEST(TranslationData, GenerationRateAtPaperScale) {
  // GNMT's study configuration: a ~32k-token vocabulary, sentences up to 50 tokens, batch 128.
  TranslationConfig c;
  c.nouns = 8000;
  c.adjectives = 2000;
  c.verbs = 3000;
  c.prepositions = 40;
  c.max_source_len = 50;
  c.max_target_len = 50;
  const auto t0 = std::chrono::steady_clock::now();
  const TranslationLexicon lex = make_translation_lexicon(c, 1);
  const auto t1 = std::chrono::steady_clock::now();
  const int batches = 20;
  int64_t tokens = 0;
  for (int i = 0; i < batches; ++i) {
    const Batch b = make_translation_batch(c, lex, 1, false, int64_t{128} * i, 128);
    for (int64_t len : b.get("source_lengths").i64) tokens += len;
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double lex_s = std::chrono::duration<double>(t1 - t0).count();
  const double gen_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf(
      "translation, vocab %lld/%lld: lexicon %.3f s; %.0f sentences/s, %.1f source tokens "
      "per sentence\n",
      static_cast<long long>(source_vocab_size(c)), static_cast<long long>(target_vocab_size(c)),
      lex_s, batches * 128 / gen_s, static_cast<double>(tokens) / (batches * 128));
  EXPECT_GT(tokens, 0);
}

}  // namespace
}  // namespace greenbench::workloads
