// Van Elteren's stratified rank-sum test against an independent implementation
// (tests/stats/data/van_elteren_reference.py, which wrote van_elteren.json) and a hand-worked
// case; and compare_results blocking on Slurm nodes and keeping different hardware apart.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "greenbench/error.hpp"
#include "greenbench/report.hpp"
#include "greenbench/stats.hpp"

namespace greenbench {
namespace {

using nlohmann::json;

TEST(VanElteren, MatchesTheIndependentReference) {
  std::ifstream in(std::string(GREENBENCH_SOURCE_DIR) + "/tests/stats/data/van_elteren.json");
  ASSERT_TRUE(in);
  const json cases = json::parse(in);
  ASSERT_GE(cases.size(), 6u);
  for (const auto& c : cases) {
    std::vector<std::vector<double>> a, b;
    for (const auto& s : c["strata"]) {
      a.push_back(s[0].get<std::vector<double>>());
      b.push_back(s[1].get<std::vector<double>>());
    }
    const auto v = stats::van_elteren(a, b);
    const auto& e = c["expected"];
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_EQ(v.strata, e["strata"].get<int>());
    EXPECT_NEAR(v.statistic, e["statistic"].get<double>(), 1e-12);
    if (e["z"].is_null()) {
      EXPECT_TRUE(std::isnan(v.z));
      EXPECT_TRUE(std::isnan(v.p_value));
    } else {
      EXPECT_NEAR(v.z, e["z"].get<double>(), 1e-10);
      EXPECT_NEAR(v.p_value, e["p_value"].get<double>(), 1e-12);
    }
  }
}

TEST(VanElteren, HandWorkedOneStratumIsMannWhitneyWithoutContinuityCorrection) {
  // a = {1, 2}, b = {3, 4}: W = 3, E = 5, Var = 2*2*5/12 = 5/3, z = -2/sqrt(5/3).
  const auto v = stats::van_elteren({{1, 2}}, {{3, 4}});
  EXPECT_NEAR(v.z, -2 / std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_NEAR(v.p_value, std::erfc(2 / std::sqrt(5.0 / 3.0) / std::sqrt(2.0)), 1e-12);
  EXPECT_THROW(stats::van_elteren({{1}}, {}), Error);
  EXPECT_THROW(stats::van_elteren({{NAN, 1}}, {{2, 3}}), Error);
}

Observation obs(const std::string& framework, int run, double value, const std::string& node,
                const std::string& hardware) {
  Observation o;
  o.model = "m";
  o.framework = framework;
  o.phase = "train";
  o.run = run;
  o.run_id = run * 10 + (framework == "a" ? 1 : 2);
  o.metric = "duration";
  o.value = value;
  o.unit = "s";
  o.node = node;
  o.hardware = hardware;
  return o;
}

TEST(NodesInCompare, RunsOnTwoNodesAreBlockedOnTheNode) {
  ResultSet rs;
  rs.path = "test";
  // Node n2 is 10 s slower than n1; within each node, a is faster than b.
  const double a1[] = {10.1, 10.3, 10.2, 10.4}, b1[] = {10.5, 10.6, 10.45, 10.7};
  const double a2[] = {20.1, 20.0, 20.2}, b2[] = {20.3, 20.5, 20.25};
  int run = 1;
  for (double v : a1) rs.observations.push_back(obs("a", run++, v, "n1", "cpu X"));
  for (double v : a2) rs.observations.push_back(obs("a", run++, v, "n2", "cpu X"));
  run = 1;
  for (double v : b1) rs.observations.push_back(obs("b", run++, v, "n1", "cpu X"));
  for (double v : b2) rs.observations.push_back(obs("b", run++, v, "n2", "cpu X"));
  const ComparisonSet set = compare_results(rs);
  ASSERT_EQ(set.comparisons.size(), 1u);
  const auto& c = set.comparisons[0];
  EXPECT_EQ(c.stats.test, "van-elteren");
  // The same values as the reference's "node offset" case.
  EXPECT_NEAR(c.stats.p_value, 0.0024327759176454612, 1e-12);
  EXPECT_EQ(set.node_runs.at("n1"), 8);
  EXPECT_EQ(set.node_runs.at("n2"), 6);
  EXPECT_NE(set.node_method.find("van Elteren"), std::string::npos);
  const json j = comparison_json(set);
  EXPECT_EQ(j["settings"]["nodes"]["runs"]["n2"], 6);
  EXPECT_EQ(j["comparisons"][0]["test"], "van-elteren");
}

TEST(NodesInCompare, OneNodeKeepsMannWhitney) {
  ResultSet rs;
  rs.path = "test";
  for (int i = 1; i <= 4; ++i) {
    rs.observations.push_back(obs("a", i, i, "n1", "cpu X"));
    rs.observations.push_back(obs("b", i, i + 10, "n1", "cpu X"));
  }
  const ComparisonSet set = compare_results(rs);
  ASSERT_EQ(set.comparisons.size(), 1u);
  EXPECT_NE(set.comparisons[0].stats.test, "van-elteren");
  EXPECT_EQ(set.node_method, "single node");
}

TEST(NodesInCompare, DifferentHardwareIsNeverPooled) {
  ResultSet rs;
  rs.path = "test";
  for (int i = 1; i <= 3; ++i) {
    rs.observations.push_back(obs("a", i, i, "n1", "cpu X"));
    rs.observations.push_back(obs("b", i, i + 10, "n1", "cpu X"));
    rs.observations.push_back(obs("a", i + 3, i, "g1", "cpu X + H100"));
    rs.observations.push_back(obs("b", i + 3, i + 10, "g1", "cpu X + H100"));
  }
  const ComparisonSet set = compare_results(rs);
  ASSERT_EQ(set.comparisons.size(), 2u);
  EXPECT_EQ(set.comparisons[0].model, "m @ cpu X");
  EXPECT_EQ(set.comparisons[1].model, "m @ cpu X + H100");
  for (const auto& c : set.comparisons) {
    EXPECT_EQ(c.stats.n_a, 3u);
    EXPECT_NE(c.stats.test, "van-elteren");  // one node per hardware here
  }
  EXPECT_NE(set.node_method.find("different hardware compared separately"), std::string::npos);
}

}  // namespace
}  // namespace greenbench
