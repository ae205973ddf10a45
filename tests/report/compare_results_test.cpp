// compare_results: pairing, baseline, warm-up exclusion, the Holm family, summary counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "greenbench/error.hpp"
#include "greenbench/report.hpp"
#include "greenbench/stats.hpp"
#include "report/fixture.hpp"

namespace greenbench {
namespace {

using testing::fixture_results;
using testing::FixtureOptions;

const MetricComparison& find(const ComparisonSet& set, const std::string& model,
                             const std::string& phase, const std::string& metric) {
  for (const auto& c : set.comparisons) {
    if (c.model == model && c.phase == phase && c.metric == metric) return c;
  }
  throw std::runtime_error("no comparison " + model + "/" + phase + "/" + metric);
}

TEST(CompareResults, PairsAreAlphabeticalWithoutBaseline) {
  const auto set = compare_results(fixture_results());
  ASSERT_EQ(set.frameworks, (std::vector<std::string>{"pytorch", "tensorflow"}));
  // 2 models x 2 phases x 4 cost metrics + 2 quality metrics (train only).
  EXPECT_EQ(set.comparisons.size(), 18u);
  for (const auto& c : set.comparisons) {
    EXPECT_EQ(c.a, "pytorch");
    EXPECT_EQ(c.b, "tensorflow");
  }
  // Train before infer, metrics in the ICSE tables' column order.
  EXPECT_EQ(set.comparisons.front().phase, "train");
  EXPECT_EQ(set.comparisons.front().metric, "energy_cpu_package");
  EXPECT_EQ(set.comparisons.back().phase, "infer");
}

TEST(CompareResults, BaselineIsTheReferenceAndRatioIsAOverB) {
  const auto rs = fixture_results();
  const auto plain = compare_results(rs);
  const auto based = compare_results(rs, "pytorch");
  const auto& p = find(plain, "ncf", "train", "energy_total");
  const auto& q = find(based, "ncf", "train", "energy_total");
  EXPECT_EQ(q.a, "tensorflow");
  EXPECT_EQ(q.b, "pytorch");
  EXPECT_NEAR(q.stats.ratio_median, q.stats.median_a / q.stats.median_b, 1e-12);
  EXPECT_NEAR(q.stats.ratio_median, 1.0 / p.stats.ratio_median, 1e-12);
  // tensorflow is cheaper on ncf train: the ratio against the pytorch baseline is below 1.
  EXPECT_LT(q.stats.ratio_median, 1.0);
  EXPECT_LE(q.stats.ratio_ci_low, q.stats.ratio_median);
  EXPECT_GE(q.stats.ratio_ci_high, q.stats.ratio_median);
  EXPECT_NEAR(q.stats.a12, 1.0 - p.stats.a12, 1e-12);
  EXPECT_EQ(based.baseline, "pytorch");
}

TEST(CompareResults, WarmupRunsAreLeftOut) {
  const auto set = compare_results(fixture_results());
  // 8 configurations x 1 warm-up run: runs are counted, not the values they store.
  EXPECT_EQ(set.warmup_excluded, 8);
  const auto& c = find(set, "ncf", "train", "energy_cpu_package");
  EXPECT_EQ(c.stats.n_a, 8u);
  EXPECT_EQ(c.stats.n_b, 8u);
  // The warm-up run is 1.9x the base; no measured run is above 1.05x.
  EXPECT_LT(*std::max_element(c.values_a.begin(), c.values_a.end()), 1200 * 1.05);
}

TEST(CompareResults, UsesTheStatisticsOfTheStatsModule) {
  const auto set = compare_results(fixture_results());
  const auto& c = find(set, "resnet50", "train", "duration");
  stats::CompareOptions options;
  options.bootstrap.seed = 7;  // the study's seed
  const auto direct = stats::compare_samples(c.values_a, c.values_b, options);
  EXPECT_DOUBLE_EQ(c.stats.p_value, direct.p_value);
  EXPECT_EQ(c.stats.p_method, "exact");  // 8 + 8 values, no ties
  EXPECT_DOUBLE_EQ(c.stats.u, direct.u);
  EXPECT_DOUBLE_EQ(c.stats.ratio_ci_low, direct.ratio_ci_low);
  EXPECT_DOUBLE_EQ(c.stats.ratio_ci_high, direct.ratio_ci_high);
  EXPECT_EQ(set.bootstrap_seed, 7u);
}

TEST(CompareResults, HolmFamiliesAreVerdictsPerPhaseElseOneMetricAcrossModels) {
  const auto rs = fixture_results();
  const auto set = compare_results(rs);
  // Group the raw p-values as the family rule says and adjust each group by hand: the verdicts
  // (primary energy and duration) of a phase together, every other metric on its own.
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> families;
  for (std::size_t i = 0; i < set.comparisons.size(); ++i) {
    const auto& c = set.comparisons[i];
    families[{c.phase, c.role.empty() ? c.metric : "verdicts"}].push_back(i);
  }
  ASSERT_GT(families.size(), 1u);
  EXPECT_EQ(set.family_count, families.size());
  std::size_t largest = 0;
  for (const auto& [key, members] : families) {
    largest = std::max(largest, members.size());
    std::vector<double> p;
    for (std::size_t i : members) p.push_back(set.comparisons[i].stats.p_value);
    const auto holm = stats::holm(p);
    const auto bonferroni = stats::bonferroni(p);
    for (std::size_t k = 0; k < members.size(); ++k) {
      EXPECT_DOUBLE_EQ(set.comparisons[members[k]].stats.p_holm, holm[k])
          << key.first << key.second;
      EXPECT_DOUBLE_EQ(set.comparisons[members[k]].stats.p_bonferroni, bonferroni[k]);
    }
  }
  // The fixture has two models per phase: a verdict family holds 2 x 2, the others one
  // comparison per model.
  EXPECT_EQ(largest, 4u);
  const auto& c = find(set, "ncf", "train", "energy_total");
  EXPECT_DOUBLE_EQ(c.stats.p_bonferroni, std::min(1.0, 2 * c.stats.p_value));
  // Selecting fewer metrics leaves the remaining families unchanged.
  CompareSettings narrow;
  narrow.metric_pattern = "energy_total";
  narrow.stats.bootstrap.seed = 7;
  const auto small = compare_results(rs, narrow);
  ASSERT_EQ(small.comparisons.size(), 4u);
  EXPECT_DOUBLE_EQ(find(small, "ncf", "train", "energy_total").stats.p_holm, c.stats.p_holm);
}

TEST(CompareResults, MetricPatternsAreCommaSeparatedGlobs) {
  CompareSettings s;
  s.metric_pattern = "energy_*,duration";
  const auto set = compare_results(fixture_results(), s);
  EXPECT_EQ(set.comparisons.size(), 16u);
  for (const auto& c : set.comparisons) EXPECT_TRUE(c.cost) << c.metric;
  s.metric_pattern = "nothing_matches";
  EXPECT_TRUE(compare_results(fixture_results(), s).comparisons.empty());
}

TEST(CompareResults, EstimatedValuesAreFlaggedPerFramework) {
  const auto set = compare_results(fixture_results());
  const auto& pkg = find(set, "ncf", "train", "energy_cpu_package");
  EXPECT_FALSE(pkg.estimated_a);
  EXPECT_TRUE(pkg.estimated_b);
  const auto& dram = find(set, "ncf", "train", "energy_dram");
  EXPECT_FALSE(dram.estimated_a || dram.estimated_b);
}

const VerdictCount* verdict_count(const ComparisonSet& set, const std::string& phase,
                                  const std::string& metric) {
  for (const auto& v : set.summary) {
    if (v.phase == phase && v.metric == metric) return &v;
  }
  return nullptr;
}

TEST(CompareResults, VerdictsCountEachEffectOnce) {
  // tensorflow's package energy (and so its total) is estimated; DRAM is measured on both sides,
  // so DRAM is the primary energy metric; package and total are shown, never counted.
  const auto set = compare_results(fixture_results());
  for (const auto& c : set.comparisons) {
    if (c.metric == "energy_dram") EXPECT_EQ(c.role, "energy") << c.model << c.phase;
    if (c.metric == "duration") EXPECT_EQ(c.role, "duration");
    if (c.metric == "energy_total" || c.metric == "energy_cpu_package" || !c.cost) {
      EXPECT_EQ(c.role, "");
      EXPECT_EQ(c.verdict, "");
    }
  }
  const auto* energy = verdict_count(set, "train", "energy");
  ASSERT_NE(energy, nullptr);
  // ncf: tensorflow about 17% cheaper; resnet50: pytorch about 17% cheaper.
  EXPECT_EQ(energy->a_cheaper, 1);
  EXPECT_EQ(energy->b_cheaper, 1);
  EXPECT_EQ(energy->not_significant + energy->not_comparable, 0);
  const auto* infer_time = verdict_count(set, "infer", "duration");
  ASSERT_NE(infer_time, nullptr);
  EXPECT_EQ(infer_time->a_cheaper + infer_time->b_cheaper + infer_time->not_significant, 2);
  EXPECT_EQ(set.summary.size(), 4U);  // 2 phases x {energy, duration}
}

TEST(CompareResults, PrimaryIsTheTotalWhenEveryPartIsMeasured) {
  FixtureOptions opt;
  opt.cpu_estimated_tf = false;
  const auto set = compare_results(fixture_results(opt));
  EXPECT_EQ(find(set, "ncf", "train", "energy_total").role, "energy");
  EXPECT_EQ(find(set, "ncf", "train", "energy_dram").role, "");
}

TEST(CompareResults, EstimatedEnergyGetsNoCheaperVerdict) {
  // Measured against estimated: not comparable, whatever the test says.
  auto rs = fixture_results();
  for (auto& o : rs.observations) {
    if (o.framework == "tensorflow" && o.metric.rfind("energy_", 0) == 0) o.quality = "estimated";
  }
  auto set = compare_results(rs);
  const auto& c = find(set, "ncf", "train", "energy_total");
  EXPECT_EQ(c.role, "energy");
  EXPECT_EQ(c.verdict, "not_comparable");
  EXPECT_NE(c.sentence.find("not comparable"), std::string::npos) << c.sentence;
  EXPECT_EQ(c.sentence.find("cheaper"), std::string::npos) << c.sentence;
  EXPECT_EQ(verdict_count(set, "train", "energy")->not_comparable, 2);
  EXPECT_EQ(verdict_count(set, "train", "energy")->a_cheaper, 0);
  // Estimated on both sides: "estimated only", still no verdict.
  for (auto& o : rs.observations) {
    if (o.metric.rfind("energy_", 0) == 0) o.quality = "estimated";
  }
  set = compare_results(rs);
  EXPECT_EQ(find(set, "ncf", "train", "energy_total").verdict, "estimated_only");
  EXPECT_NE(find(set, "ncf", "train", "energy_total").sentence.find("estimated only"),
            std::string::npos);
  EXPECT_EQ(verdict_count(set, "train", "energy")->b_cheaper, 0);
  // Duration is unaffected.
  EXPECT_EQ(find(set, "ncf", "train", "duration").verdict, "b_cheaper");
}

TEST(CompareResults, ADifferenceBelowTheResolutionIsNoEffect) {
  FixtureOptions opt;
  opt.cpu_estimated_tf = false;  // energy measured on both sides: a verdict
  auto rs = fixture_results(opt);
  auto set = compare_results(rs);
  const MetricComparison before = find(set, "ncf", "train", "energy_total");
  ASSERT_TRUE(before.verdict == "a_cheaper" || before.verdict == "b_cheaper") << before.verdict;
  const double gap = std::abs(before.stats.median_a - before.stats.median_b);
  const int cheaper_before = verdict_count(set, "train", "energy")->a_cheaper +
                             verdict_count(set, "train", "energy")->b_cheaper;

  // A resolution just above the gap on one side: within resolution, not cheaper.
  for (auto& o : rs.observations) {
    if (o.model == "ncf" && o.phase == "train" && o.metric == "energy_total") {
      o.resolution = o.framework == "pytorch" ? gap * 1.01 : gap * 0.1;
    }
  }
  set = compare_results(rs);
  const auto& c = find(set, "ncf", "train", "energy_total");
  EXPECT_DOUBLE_EQ(c.resolution, gap * 1.01);
  EXPECT_EQ(c.verdict, "within_resolution");
  EXPECT_NE(c.sentence.find("within resolution"), std::string::npos) << c.sentence;
  EXPECT_EQ(c.sentence.find("cheaper"), std::string::npos) << c.sentence;
  const auto* count = verdict_count(set, "train", "energy");
  EXPECT_EQ(count->a_cheaper + count->b_cheaper, cheaper_before - 1);
  const auto json = comparison_json(set);
  bool found = false;
  for (const auto& j : json["comparisons"]) {
    if (j["model"] == "ncf" && j["phase"] == "train" && j["metric"] == "energy_total") {
      found = true;
      EXPECT_EQ(j["verdict"], "within_resolution");
      EXPECT_DOUBLE_EQ(j["energy_resolution_j"].get<double>(), gap * 1.01);
    }
  }
  EXPECT_TRUE(found);

  // The sequential replay may find the gap significant, but never calls it cheaper either.
  CompareSettings sequential;
  sequential.sequential = true;
  sequential.sequential_options.max_n = 0;  // last stored run
  const ComparisonSet replay_set = compare_results(rs, sequential);
  const auto& replayed = find(replay_set, "ncf", "train", "energy_total");
  EXPECT_EQ(replayed.verdict, "within_resolution");
  EXPECT_NE(replayed.decision, "a_cheaper");
  EXPECT_NE(replayed.decision, "b_cheaper");
  auto plain = rs;
  for (auto& o : plain.observations) o.resolution = 0;
  // (Control: without the resolution the same data is decided cheaper by the replay.)
  const ComparisonSet plain_set = compare_results(plain, sequential);
  const auto& decided = find(plain_set, "ncf", "train", "energy_total");
  EXPECT_TRUE(decided.decision == "a_cheaper" || decided.decision == "b_cheaper")
      << decided.decision;

  // Below the gap: the verdict stands.
  for (auto& o : rs.observations) {
    if (o.model == "ncf" && o.phase == "train" && o.metric == "energy_total") {
      o.resolution = gap * 0.99;
    }
  }
  EXPECT_EQ(find(compare_results(rs), "ncf", "train", "energy_total").verdict, before.verdict);
}

TEST(CompareResults, VerdictsAreOneHolmFamilyPerPhase) {
  const auto set = compare_results(fixture_results());
  std::vector<double> p;
  std::vector<const MetricComparison*> members;
  for (const auto& c : set.comparisons) {
    if (c.phase != "train" || c.role.empty()) continue;
    p.push_back(c.stats.p_value);
    members.push_back(&c);
  }
  ASSERT_EQ(p.size(), 4U);  // 2 models x {primary energy, duration}
  const auto h = stats::holm(p);
  for (std::size_t i = 0; i < members.size(); ++i) {
    EXPECT_DOUBLE_EQ(members[i]->stats.p_holm, h[i]) << members[i]->metric;
  }
}

TEST(CompareResults, VerdictSentenceLeadsWithTheRatio) {
  const auto set = compare_results(fixture_results());
  const auto& c = find(set, "ncf", "train", "duration");
  // pytorch takes about 1.23x the time of tensorflow.
  EXPECT_EQ(c.sentence.rfind("ncf, duration: pytorch takes 1.2", 0), 0U) << c.sentence;
  EXPECT_NE(c.sentence.find("× ["), std::string::npos);
  EXPECT_NE(c.sentence.find("Â12 1.00 large): tensorflow cheaper"), std::string::npos)
      << c.sentence;
  EXPECT_GE(c.stats.hl_confidence, 0.95);
  EXPECT_LE(c.stats.hl_ci_low, c.stats.hl_ratio);
}

TEST(CompareResults, SaysWhenNoVerdictCanBeSignificant) {
  auto rs = fixture_results();
  std::erase_if(rs.observations, [](const Observation& o) { return o.run > 3; });
  const auto set = compare_results(rs);
  ASSERT_EQ(set.small_n_lines.size(), 2U);  // train and infer
  // 3 runs per side: smallest p 0.1; Holm needs 0.05 / 4; 6 per side reach 2/924.
  EXPECT_NE(set.small_n_lines[0].find("no verdict can be significant with 3 runs per side"),
            std::string::npos)
      << set.small_n_lines[0];
  EXPECT_NE(set.small_n_lines[0].find("5 runs per side are needed"), std::string::npos)
      << set.small_n_lines[0];
  for (const auto& c : set.comparisons) EXPECT_NEAR(c.stats.min_p_value, 0.1, 1e-12);
  EXPECT_TRUE(compare_results(fixture_results()).small_n_lines.empty());
}

TEST(CompareResults, SequentialReplayDecidesInRunOrder) {
  CompareSettings s;
  s.sequential = true;
  s.sequential_options.max_n = 0;  // last stored run
  const auto set = compare_results(fixture_results(), s);
  EXPECT_TRUE(set.sequential);
  EXPECT_EQ(set.sequential_options.max_n, 8U);
  for (const auto& c : set.comparisons) {
    if (c.role.empty()) {
      EXPECT_EQ(c.decision, "");
      continue;
    }
    EXPECT_TRUE(c.decision == "a_cheaper" || c.decision == "b_cheaper" ||
                c.decision == "equivalent" || c.decision == "undecided")
        << c.decision;
    if (c.decision != "undecided") {
      EXPECT_GE(c.decided_at, 5U);
      EXPECT_LE(c.decided_at, 8U);
    }
    // A sequential "cheaper" never contradicts the fixed analysis of all runs.
    if (c.decision == "a_cheaper") EXPECT_NE(c.verdict, "b_cheaper");
    if (c.decision == "b_cheaper") EXPECT_NE(c.verdict, "a_cheaper");
  }
  EXPECT_EQ(find(set, "ncf", "train", "duration").decision, "b_cheaper");
  const auto j = comparison_json(set);
  EXPECT_TRUE(j["comparisons"][0].contains("decision"));
  EXPECT_TRUE(j["comparisons"][0].contains("decided_at"));
}

TEST(CompareResults, SpearmanPairsEnergyAndDurationOfTheSameRun) {
  const auto set = compare_results(fixture_results());
  ASSERT_EQ(set.correlations.size(), 8u);  // 2 models x 2 phases x 2 frameworks
  for (const auto& r : set.correlations) {
    EXPECT_EQ(r.energy_metric, "energy_total");
    EXPECT_EQ(r.rho.n, 8u);
    // Duration follows energy within 1%, so the ranks mostly agree.
    EXPECT_GT(r.rho.rho, 0.8) << r.model << " " << r.phase << " " << r.framework;
  }
}

TEST(CompareResults, FewerThanTwoFrameworksIsAnError) {
  FixtureOptions opt;
  opt.single_framework = true;
  try {
    compare_results(fixture_results(opt));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least two frameworks"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("pytorch"), std::string::npos);
  }
}

TEST(CompareResults, UnknownBaselineIsAnError) {
  try {
    compare_results(fixture_results(), "jax");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'jax'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("pytorch, tensorflow"), std::string::npos);
  }
}

TEST(CompareResults, ThreeFrameworksAgainstABaseline) {
  auto rs = fixture_results();
  for (auto o : std::vector<Observation>(rs.observations)) {
    if (o.framework != "tensorflow") continue;
    o.framework = "jax";
    o.value *= 1.3;
    rs.observations.push_back(o);
  }
  const auto set = compare_results(rs, "pytorch");
  for (const auto& c : set.comparisons) EXPECT_EQ(c.b, "pytorch");
  EXPECT_EQ(set.comparisons.size(), 36u);
  const auto all_pairs = compare_results(rs);
  EXPECT_EQ(all_pairs.comparisons.size(), 54u);
}

TEST(CompareResults, CostMetrics) {
  EXPECT_TRUE(is_cost_metric("energy_total"));
  EXPECT_TRUE(is_cost_metric("energy_cpu_package"));
  EXPECT_TRUE(is_cost_metric("duration"));
  EXPECT_FALSE(is_cost_metric("accuracy_top1"));
  EXPECT_FALSE(is_cost_metric("samples_per_s"));
  EXPECT_FALSE(is_cost_metric("perplexity"));
}

TEST(CompareResults, JsonHasTheContractFields) {
  const auto set = compare_results(fixture_results());
  const auto j = comparison_json(set);
  ASSERT_TRUE(j.contains("comparisons"));
  ASSERT_TRUE(j.contains("summary"));
  ASSERT_EQ(j["comparisons"].size(), 18u);
  for (const char* key :
       {"model",        "phase",        "metric",       "a",        "b",         "n_a",
        "n_b",          "mean_a",       "mean_b",       "median_a", "median_b",  "u",
        "p_value",      "p_method",     "p_holm",       "a12",      "magnitude", "cliffs_delta",
        "ratio_median", "ratio_ci_low", "ratio_ci_high"}) {
    EXPECT_TRUE(j["comparisons"][0].contains(key)) << key;
  }
  const auto method = j["comparisons"][0]["p_method"].get<std::string>();
  EXPECT_TRUE(method == "exact" || method == "asymptotic") << method;
  EXPECT_EQ(j["settings"]["family_count"], set.family_count);
  ASSERT_TRUE(j["summary"].is_array());
  ASSERT_EQ(j["summary"].size(), set.summary.size());
  for (const char* key : {"phase", "metric", "a", "b", "a_cheaper", "b_cheaper", "not_significant",
                          "not_comparable"}) {
    EXPECT_TRUE(j["summary"][0].contains(key)) << key;
  }
  EXPECT_TRUE(j["comparisons"][0].contains("min_p_value"));
  EXPECT_FALSE(j["comparisons"][0].contains("decision"));  // only with --sequential
}

}  // namespace
}  // namespace greenbench
