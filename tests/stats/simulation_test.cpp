// Seeded simulations of the Hodges–Lehmann interval's coverage and the sequential rule's error
// rates: small versions of the tables bench/stats_bench.cpp prints (BM_Coverage, BM_Sequential).
#include "stats/simulation.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "greenbench/error.hpp"
#include "greenbench/stats.hpp"
#include "greenbench/study.hpp"

namespace greenbench::stats {
namespace {

// Three Monte-Carlo standard errors of a proportion p over `trials`.
double mc_error(double p, std::size_t trials) {
  return 3 * std::sqrt(p * (1 - p) / static_cast<double>(trials));
}

TEST(StatsSimulation, HodgesLehmannIntervalHoldsItsLevel) {
  for (const char* dist : {"lognormal", "skewed"}) {
    for (std::size_t n : {5U, 10U}) {
      const sim::Coverage c = sim::interval_coverage(dist, n, 3000, 20261130 + n, 0);
      SCOPED_TRACE(std::string(dist) + " n=" + std::to_string(n));
      // U is discrete: the achieved level is the smallest one >= 95% (96.8% at 5, 95.7% at 10).
      EXPECT_GE(c.hl_level, 0.95);
      EXPECT_GE(c.hl, c.hl_level - mc_error(c.hl_level, c.trials)) << "coverage " << c.hl;
      EXPECT_LE(c.hl, c.hl_level + mc_error(c.hl_level, c.trials)) << "coverage " << c.hl;
    }
  }
}

TEST(StatsSequential, LookLevelsSumToAlphaAndSkipFutileLooks) {
  SequentialOptions o;
  for (std::size_t family : {1U, 6U, 12U, 24U}) {
    double total = 0;
    for (std::size_t n = o.min_n; n <= o.max_n; ++n) total += sequential_look_alpha(o, family, n);
    EXPECT_NEAR(total, o.alpha, 1e-12) << family;
  }
  // 5 per side cannot pass alpha / 12, so nothing is spent there.
  EXPECT_EQ(sequential_look_alpha(o, 12, 5), 0.0);
  EXPECT_GT(sequential_look_alpha(o, 12, 6), sequential_look_alpha(o, 12, 7));
  EXPECT_EQ(sequential_look_alpha(o, 1, 4), 0.0);   // before the first look
  EXPECT_EQ(sequential_look_alpha(o, 1, 31), 0.0);  // after the last
  o.max_n = 3;
  EXPECT_THROW(sequential_look_alpha(o, 1, 5), Error);
}

TEST(StatsSequential, NullRejectionRateIsAtMostAlpha) {
  SequentialOptions o;
  o.max_n = 15;
  const std::size_t trials = 1500;
  const sim::SequentialResult r = sim::simulate_sequential(o, 4, 0.0, 0.03, 10, trials, 7);
  EXPECT_LE(r.family_rejection, o.alpha + mc_error(o.alpha, trials)) << r.family_rejection;
  EXPECT_LE(r.fixed_family_rejection, o.alpha + mc_error(o.alpha, trials));
}

TEST(StatsSequential, LargeShiftsAreDecidedEarlyAndRightWay) {
  SequentialOptions o;
  o.max_n = 10;
  const sim::SequentialResult r = sim::simulate_sequential(o, 4, 0.20, 0.03, 10, 300, 11);
  EXPECT_GT(r.power, 0.99);
  EXPECT_EQ(r.wrong_direction, 0.0);
  EXPECT_LT(r.mean_runs, 7.0);
  EXPECT_GE(r.power, r.fixed_power - 0.01);
}

TEST(StatsSequential, EquivalenceWhenTheIntervalIsInsideTheMargin) {
  SequentialOptions o;
  o.equivalence_margin = 0.05;
  SequentialFamily rule(o, 1);
  std::vector<std::pair<std::vector<double>, std::vector<double>>> s(1);
  // Alternating values 0.1% apart: the interval hugs 1.
  for (int i = 0; i < 30; ++i) {
    s[0].first.push_back(100 + 0.1 * (i % 5));
    s[0].second.push_back(100 + 0.1 * ((i + 2) % 5) + 0.05);
    if (rule.look(s) == 0) break;
  }
  EXPECT_EQ(rule.decisions()[0].decision, "equivalent");
  EXPECT_GE(rule.decisions()[0].decided_at, o.min_n);
}

TEST(StatsSequential, RejectionsStandAndLooksCountOnce) {
  SequentialOptions o;
  SequentialFamily rule(o, 2);
  std::vector<std::pair<std::vector<double>, std::vector<double>>> s(2);
  for (int i = 0; i < 8; ++i) {
    s[0].first.push_back(10 + 0.01 * i);  // clearly lower: a cheaper
    s[0].second.push_back(20 + 0.01 * i);
    s[1].first.push_back(10 + 0.37 * ((i * 7) % 5));  // no difference
    s[1].second.push_back(10 + 0.37 * ((i * 3) % 5) + 0.01);
    rule.look(s);
  }
  EXPECT_EQ(rule.decisions()[0].decision, "a_cheaper");
  const std::size_t at = rule.decisions()[0].decided_at;
  EXPECT_GE(at, 5U);
  rule.look(s);  // same data again: nothing new
  EXPECT_EQ(rule.decisions()[0].decided_at, at);
  EXPECT_EQ(rule.decisions()[1].decision, "undecided");
  EXPECT_EQ(rule.decisions()[1].looked_at, 8U);
  s.pop_back();
  EXPECT_THROW(rule.look(s), Error);
}

TEST(StatsPlan, RunWarnsWhenRepetitionsCannotReachSignificance) {
  // The default study: 5 models, 2 frameworks, 2 phases, 10 verdicts per phase; 6 repetitions
  // give 2/924 * 10 = 0.022 (5 would give 2/252 * 10 = 0.079: impossible).
  EXPECT_EQ(significance_warning(make_effective(StudySettings{})), "");
  StudySettings s;
  s.models = {"ncf", "resnet50", "transformer_xl"};  // 6 verdicts per phase
  s.repetitions = 5;                                 // 2/252 * 6 = 0.048: possible
  EXPECT_EQ(significance_warning(make_effective(s)), "");
  s.repetitions = 4;  // 2/70 * 6 = 0.17: impossible
  const std::string w = significance_warning(make_effective(s));
  EXPECT_NE(w.find("with 4 repetitions no verdict can be significant"), std::string::npos) << w;
  EXPECT_NE(w.find("use at least 5 repetitions"), std::string::npos) << w;
  s.frameworks = {"pytorch"};  // nothing to compare
  EXPECT_EQ(significance_warning(make_effective(s)), "");
}

}  // namespace
}  // namespace greenbench::stats
