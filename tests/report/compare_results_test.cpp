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
  // 8 configurations x 1 warm-up run x (4 cost metrics) + 4 warm-up quality values.
  EXPECT_EQ(set.warmup_excluded, 8 * 4 + 4);
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

TEST(CompareResults, HolmFamilyIsOneMetricInOnePhaseAcrossModels) {
  const auto rs = fixture_results();
  const auto set = compare_results(rs);
  // Group the raw p-values as the family rule says and adjust each group by hand.
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> families;
  for (std::size_t i = 0; i < set.comparisons.size(); ++i) {
    families[{set.comparisons[i].phase, set.comparisons[i].metric}].push_back(i);
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
  // The fixture has two models per phase: each family holds one comparison per model, so the
  // Bonferroni factor is 2, not the number of all comparisons.
  EXPECT_EQ(largest, 2u);
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

TEST(CompareResults, VerdictsOnEstimatedEnergySaySo) {
  const auto set = compare_results(fixture_results());
  bool any_estimated = false;
  for (std::size_t i = 0; i < set.summary.size(); ++i) {
    const bool marked = set.summary_lines[i].find("estimated, not measured") != std::string::npos;
    EXPECT_EQ(marked, set.summary[i].estimated) << set.summary_lines[i];
    if (set.summary[i].kind == "duration") EXPECT_FALSE(set.summary[i].estimated);
    any_estimated = any_estimated || set.summary[i].estimated;
  }
  // The fixture's tensorflow package energy is estimated, so the cost verdicts must say so.
  EXPECT_TRUE(any_estimated);
}

TEST(CompareResults, SummaryCountsSignificantLowerCosts) {
  const auto set = compare_results(fixture_results());
  const SummaryCount* train_energy = nullptr;
  const SummaryCount* infer_cost = nullptr;
  for (const auto& s : set.summary) {
    if (s.phase == "train" && s.kind == "energy") train_energy = &s;
    if (s.phase == "infer" && s.kind == "cost") infer_cost = &s;
  }
  ASSERT_NE(train_energy, nullptr);
  ASSERT_NE(infer_cost, nullptr);
  // ncf: tensorflow about 17% cheaper, resnet50: pytorch about 17% cheaper, both with eight
  // non-overlapping runs each.
  EXPECT_EQ(train_energy->comparisons, 2);
  EXPECT_EQ(train_energy->a_cheaper, 1);
  EXPECT_EQ(train_energy->b_cheaper, 1);
  EXPECT_EQ(train_energy->a_cheaper_large, 1);
  EXPECT_EQ(train_energy->b_cheaper_large, 1);
  EXPECT_EQ(infer_cost->comparisons, 8);
  EXPECT_EQ(infer_cost->a_cheaper + infer_cost->b_cheaper + infer_cost->not_significant, 8);
  // ncf infer has the same base values in both frameworks.
  EXPECT_GE(infer_cost->not_significant, 4);
  ASSERT_FALSE(set.summary_lines.empty());
  EXPECT_NE(set.summary_lines.front().find("train, pytorch vs tensorflow"), std::string::npos);
  EXPECT_NE(
      set.summary_lines.front().find(
          "energy (one metric per model: energy_total, else package): pytorch cheaper in 1 of 2 "
          "comparisons (1 with a large effect), tensorflow in 1 (1 large), 0 not significant"),
      std::string::npos)
      << set.summary_lines.front();
}

TEST(CompareResults, EnergyVerdictFallsBackToThePackageWithoutATotal) {
  auto rs = fixture_results();
  std::erase_if(rs.observations, [](const Observation& o) { return o.metric == "energy_total"; });
  const auto set = compare_results(rs);
  for (const auto& r : set.correlations) EXPECT_EQ(r.energy_metric, "energy_cpu_package");
  int energy_counts = 0;
  for (const auto& s : set.summary) {
    if (s.kind != "energy") continue;
    ++energy_counts;
    EXPECT_EQ(s.comparisons, 2) << s.phase;  // one per model, not one per domain
  }
  EXPECT_EQ(energy_counts, 2);
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
  EXPECT_EQ(j["summary"]["family_count"], set.family_count);
}

}  // namespace
}  // namespace greenbench
