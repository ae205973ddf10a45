// Statistics checked against SciPy reference values (tests/stats/data/reference.json, written by
// make_reference.py beside it) and against hand-worked cases.
#include "greenbench/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "greenbench/error.hpp"
#include "stats/detail.hpp"
#include "stats/random.hpp"

namespace greenbench::stats {
namespace {

using nlohmann::json;

const json& reference() {
  static const json data = [] {
    const std::string path =
        std::string(GREENBENCH_SOURCE_DIR) + "/tests/stats/data/reference.json";
    std::ifstream in(path);
    if (!in) {
      throw std::runtime_error("cannot open " + path);
    }
    return json::parse(in);
  }();
  return data;
}

std::vector<double> values(const json& j) { return j.get<std::vector<double>>(); }

// |actual - expected| <= rel * |expected| (or <= abs_floor, for values near zero).
::testing::AssertionResult near_rel(double actual, double expected, double rel,
                                    double abs_floor = 0) {
  const double diff = std::fabs(actual - expected);
  if (diff <= rel * std::fabs(expected) || diff <= abs_floor) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "actual " << actual << " vs expected " << expected
                                       << " (relative error " << diff / std::fabs(expected) << ")";
}

constexpr double kExactTol = 1e-6;

// ---------------------------------------------------------------- SciPy reference cases

TEST(StatsReference, DataIsPresent) {
  const json& r = reference();
  EXPECT_GE(r.at("mannwhitneyu").size(), 20U);
  EXPECT_GE(r.at("wilcoxon").size(), 15U);
  EXPECT_GE(r.at("shapiro").size(), 40U);
  EXPECT_GE(r.at("spearman").size(), 5U);
}

TEST(StatsReference, MannWhitneyExact) {
  for (const json& c : reference().at("mannwhitneyu")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const RankTest t = mann_whitney_u(values(c.at("a")), values(c.at("b")), TestMethod::kExact);
    EXPECT_EQ(t.method, "exact");
    EXPECT_DOUBLE_EQ(t.statistic, c.at("u").get<double>());
    EXPECT_TRUE(near_rel(t.p_value, c.at("p_exact"), kExactTol));
  }
}

TEST(StatsReference, MannWhitneyAsymptotic) {
  for (const json& c : reference().at("mannwhitneyu")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const RankTest t =
        mann_whitney_u(values(c.at("a")), values(c.at("b")), TestMethod::kAsymptotic);
    EXPECT_EQ(t.method, "asymptotic");
    EXPECT_DOUBLE_EQ(t.statistic, c.at("u").get<double>());
    EXPECT_TRUE(near_rel(t.p_value, c.at("p_asymptotic"), kExactTol));
  }
}

TEST(StatsReference, MannWhitneyAsymptoticUsesContinuityCorrection) {
  // The reference also holds SciPy's p without the correction; where the two differ clearly, ours
  // must be the corrected one, so dropping the correction fails this test.
  int distinguishing = 0;
  for (const json& c : reference().at("mannwhitneyu")) {
    const double with = c.at("p_asymptotic");
    const double without = c.at("p_asymptotic_no_continuity");
    if (std::fabs(with - without) < 1e-4 * with) {
      continue;
    }
    ++distinguishing;
    SCOPED_TRACE(c.at("name").get<std::string>());
    const RankTest t =
        mann_whitney_u(values(c.at("a")), values(c.at("b")), TestMethod::kAsymptotic);
    EXPECT_FALSE(near_rel(t.p_value, without, kExactTol));
  }
  EXPECT_GE(distinguishing, 10);
}

TEST(StatsReference, MannWhitneyAutoFollowsTheContract) {
  // Exact when both samples have at most 50 values and there are no ties, else asymptotic.
  int exact = 0;
  int asymptotic = 0;
  for (const json& c : reference().at("mannwhitneyu")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::vector<double> a = values(c.at("a"));
    const std::vector<double> b = values(c.at("b"));
    const bool expect_exact = !c.at("ties").get<bool>() && a.size() <= 50 && b.size() <= 50;
    const RankTest t = mann_whitney_u(a, b);
    EXPECT_EQ(t.method, expect_exact ? "exact" : "asymptotic");
    EXPECT_TRUE(near_rel(t.p_value, c.at(expect_exact ? "p_exact" : "p_asymptotic"), kExactTol));
    ++(expect_exact ? exact : asymptotic);
  }
  EXPECT_GE(exact, 10);
  EXPECT_GE(asymptotic, 5);
}

TEST(StatsReference, WilcoxonExactAndAsymptotic) {
  int exact_cases = 0;
  for (const json& c : reference().at("wilcoxon")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::vector<double> a = values(c.at("a"));
    const std::vector<double> b = values(c.at("b"));
    const RankTest asym = wilcoxon_signed_rank(a, b, TestMethod::kAsymptotic);
    EXPECT_EQ(asym.method, "asymptotic");
    EXPECT_DOUBLE_EQ(asym.statistic, c.at("statistic").get<double>());
    EXPECT_EQ(asym.n, a.size() - c.at("zeros").get<std::size_t>());
    EXPECT_TRUE(near_rel(asym.p_value, c.at("p_asymptotic"), kExactTol));
    if (!c.at("p_exact").is_null()) {
      ++exact_cases;
      const RankTest exact = wilcoxon_signed_rank(a, b, TestMethod::kExact);
      EXPECT_EQ(exact.method, "exact");
      EXPECT_DOUBLE_EQ(exact.statistic, c.at("statistic").get<double>());
      EXPECT_TRUE(near_rel(exact.p_value, c.at("p_exact"), kExactTol));
    }
  }
  EXPECT_GE(exact_cases, 10);
}

TEST(StatsReference, WilcoxonAutoIsExactOnlyWithoutTiesOrZeros) {
  for (const json& c : reference().at("wilcoxon")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::vector<double> a = values(c.at("a"));
    const bool expect_exact = c.at("zeros") == 0 && !c.at("ties").get<bool>() && a.size() <= 50;
    const RankTest t = wilcoxon_signed_rank(a, values(c.at("b")));
    EXPECT_EQ(t.method, expect_exact ? "exact" : "asymptotic");
    EXPECT_TRUE(near_rel(t.p_value, c.at(expect_exact ? "p_exact" : "p_asymptotic"), kExactTol));
  }
}

TEST(StatsReference, ShapiroWilk) {
  // SciPy 1.10 runs AS R94 in single precision (including its normal quantiles), so its W is
  // off by a few 1e-7 for small n and by up to 5e-6 at n = 5000, where 1 - W is only 4e-4; there
  // its p moves by a few percent. W is therefore compared with a tolerance that grows with n, the
  // p-value formula on SciPy's own W to 1e-4 (widened by what rounding W to a float can move
  // it: SciPy's p uses 1 - W before that rounding), and the end-to-end p where W is precise.
  for (const json& c : reference().at("shapiro")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::vector<double> x = values(c.at("x"));
    const double scipy_w = c.at("w");
    const ShapiroWilk s = shapiro_wilk(x);
    EXPECT_TRUE(s.note.empty()) << s.note;
    EXPECT_NEAR(s.w, scipy_w, x.size() <= 100 ? 5e-7 : 1e-5);
    const double float_step = 6e-8;  // one float ulp of W in [0.5, 1)
    const double rounding = std::fabs(detail::shapiro_wilk_p(scipy_w - float_step, x.size()) -
                                      detail::shapiro_wilk_p(scipy_w + float_step, x.size()));
    EXPECT_TRUE(near_rel(detail::shapiro_wilk_p(scipy_w, x.size()), c.at("p"), 1e-4,
                         std::max(1e-8, rounding)));
    if (x.size() <= 100) {
      EXPECT_TRUE(near_rel(s.p_value, c.at("p"), 1e-4, 1e-7));
    }
  }
}

TEST(StatsReference, ShapiroWilkRejectsNonNormalData) {
  // Independent of SciPy: a clearly skewed sample must be flagged, a symmetric one kept.
  std::vector<double> skewed;
  for (int i = 1; i <= 30; ++i) {
    skewed.push_back(std::exp(0.25 * i));
  }
  EXPECT_LT(shapiro_wilk(skewed).p_value, 1e-4);
  EXPECT_GT(shapiro_wilk(std::vector<double>{-1.2, -0.5, 0.1, 0.4, 1.3}).p_value, 0.5);
  EXPECT_GT(shapiro_wilk(std::vector<double>{1, 2, 3}).w, 0.999);
  EXPECT_NEAR(shapiro_wilk(std::vector<double>{1, 2, 3}).p_value, 1.0, 1e-6);
}

TEST(StatsReference, Spearman) {
  for (const json& c : reference().at("spearman")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Correlation r = spearman(values(c.at("x")), values(c.at("y")));
    EXPECT_TRUE(near_rel(r.rho, c.at("rho"), 1e-9));
    if (std::fabs(c.at("rho").get<double>()) > 1 - 1e-12) {
      // SciPy's ρ of a perfect rank correlation can round to 1 - ε, giving a tiny nonzero p.
      EXPECT_LT(r.p_value, 1e-12);
    } else {
      EXPECT_TRUE(near_rel(r.p_value, c.at("p"), kExactTol));
    }
  }
}

TEST(StatsReference, HolmAndBonferroni) {
  for (const json& c : reference().at("multipletests")) {
    const std::vector<double> p = values(c.at("p"));
    const std::vector<double> h = holm(p);
    const std::vector<double> b = bonferroni(p);
    const std::vector<double> want_h = values(c.at("holm"));
    const std::vector<double> want_b = values(c.at("bonferroni"));
    ASSERT_EQ(h.size(), p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      EXPECT_TRUE(near_rel(h[i], want_h[i], 1e-12)) << "holm index " << i;
      EXPECT_TRUE(near_rel(b[i], want_b[i], 1e-12)) << "bonferroni index " << i;
    }
  }
}

TEST(StatsReference, DescriptiveMatchesNumpy) {
  for (const json& c : reference().at("describe")) {
    const Summary s = describe(values(c.at("x")));
    EXPECT_EQ(s.n, c.at("n").get<std::size_t>());
    EXPECT_TRUE(near_rel(s.mean, c.at("mean"), 1e-12));
    EXPECT_TRUE(near_rel(s.median, c.at("median"), 1e-12));
    EXPECT_TRUE(near_rel(s.q1, c.at("q1"), 1e-12));
    EXPECT_TRUE(near_rel(s.q3, c.at("q3"), 1e-12));
    EXPECT_TRUE(near_rel(s.iqr, c.at("q3").get<double>() - c.at("q1").get<double>(), 1e-9, 1e-12));
    EXPECT_EQ(s.min, c.at("min").get<double>());
    EXPECT_EQ(s.max, c.at("max").get<double>());
    if (c.at("sd").is_null()) {
      EXPECT_TRUE(std::isnan(s.sd));
    } else {
      EXPECT_TRUE(near_rel(s.sd, c.at("sd"), 1e-12));
    }
  }
}

// ---------------------------------------------------------------- exact distributions

// Brute force: every way of choosing which of the m + n ranks belong to sample a.
double brute_force_mwu_p(std::size_t m, std::size_t n, double u_observed) {
  const double mid = static_cast<double>(m * n) / 2;
  const double dist = std::fabs(u_observed - mid);
  double extreme = 0;
  double total = 0;
  for (unsigned mask = 0; mask < (1U << (m + n)); ++mask) {
    if (static_cast<std::size_t>(__builtin_popcount(mask)) != m) {
      continue;
    }
    double u = 0;  // pairs (a, b) with a above b: for each a, the b's below it
    std::size_t b_below = 0;
    for (std::size_t pos = 0; pos < m + n; ++pos) {
      if ((mask & (1U << pos)) != 0U) {
        u += static_cast<double>(b_below);
      } else {
        ++b_below;
      }
    }
    total += 1;
    if (std::fabs(u - mid) >= dist) {
      extreme += 1;
    }
  }
  return std::min(1.0, extreme / total);
}

TEST(StatsExact, MannWhitneyMatchesEnumeration) {
  for (std::size_t m = 1; m <= 6; ++m) {
    for (std::size_t n = 1; n <= 6; ++n) {
      // a takes every other rank, then the top ranks: a spread of U values.
      std::vector<double> a;
      std::vector<double> b;
      for (std::size_t i = 0; i < m + n; ++i) {
        ((i % 3 == 0 && a.size() < m) || b.size() == n ? a : b).push_back(static_cast<double>(i));
      }
      const RankTest t = mann_whitney_u(a, b, TestMethod::kExact);
      EXPECT_NEAR(t.p_value, brute_force_mwu_p(m, n, t.statistic), 1e-12) << m << "x" << n;
    }
  }
}

TEST(StatsExact, WilcoxonMatchesEnumeration) {
  // Differences ±1, ±2, ... with signs from a bit pattern; enumerate all 2^n sign choices.
  for (std::size_t n = 1; n <= 10; ++n) {
    const unsigned signs = 0b1011001101U & ((1U << n) - 1);
    std::vector<double> a(n);
    std::vector<double> b(n, 0.0);
    double r_plus = 0;
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = (signs >> i & 1U) != 0U ? static_cast<double>(i + 1) : -static_cast<double>(i + 1);
      if (a[i] > 0) {
        r_plus += static_cast<double>(i + 1);
      }
    }
    const double total_rank = static_cast<double>(n * (n + 1)) / 2;
    double le = 0;
    double ge = 0;
    for (unsigned mask = 0; mask < (1U << n); ++mask) {
      double s = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if ((mask >> i & 1U) != 0U) {
          s += static_cast<double>(i + 1);
        }
      }
      if (s <= r_plus) {
        ++le;
      }
      if (s >= r_plus) {
        ++ge;
      }
    }
    const double all = static_cast<double>(1U << n);
    const double expected = r_plus == std::floor(total_rank / 2) && std::fmod(total_rank, 2) == 0
                                ? 1.0
                                : std::min(1.0, 2 * std::min(le, ge) / all);
    const RankTest t = wilcoxon_signed_rank(a, b, TestMethod::kExact);
    EXPECT_EQ(t.statistic, std::min(r_plus, total_rank - r_plus)) << n;
    EXPECT_NEAR(t.p_value, expected, 1e-12) << n;
  }
}

// ---------------------------------------------------------------- effect sizes

TEST(StatsEffectSize, VarghaDelaneyAndCliffsDelta) {
  const std::vector<double> same = {1, 2, 3};
  EffectSize e = vargha_delaney(same, same);
  EXPECT_DOUBLE_EQ(e.a12, 0.5);
  EXPECT_DOUBLE_EQ(e.cliffs_delta, 0.0);
  EXPECT_EQ(e.magnitude, "negligible");

  e = vargha_delaney(std::vector<double>{4, 5, 6}, std::vector<double>{1, 2, 3});
  EXPECT_DOUBLE_EQ(e.a12, 1.0);
  EXPECT_DOUBLE_EQ(e.cliffs_delta, 1.0);
  EXPECT_EQ(e.magnitude, "large");

  // a = {1,2,3,4} against b = {2}: a > b twice, a = b once, a < b once, out of 4 pairs.
  e = vargha_delaney(std::vector<double>{1, 2, 3, 4}, std::vector<double>{2});
  EXPECT_DOUBLE_EQ(e.a12, 2.5 / 4);
  EXPECT_DOUBLE_EQ(e.cliffs_delta, 0.25);
  EXPECT_EQ(e.magnitude, "small");

  // Swapping the samples mirrors Â12 and δ and keeps the magnitude.
  const EffectSize swapped =
      vargha_delaney(std::vector<double>{2}, std::vector<double>{1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(swapped.a12, 1 - 2.5 / 4);
  EXPECT_DOUBLE_EQ(swapped.cliffs_delta, -0.25);
  EXPECT_EQ(swapped.magnitude, "small");
}

TEST(StatsEffectSize, A12EqualsUOverPairs) {
  const json& c = reference().at("mannwhitneyu").at(0);
  const std::vector<double> a = values(c.at("a"));
  const std::vector<double> b = values(c.at("b"));
  const EffectSize e = vargha_delaney(a, b);
  EXPECT_DOUBLE_EQ(e.a12, c.at("u").get<double>() / static_cast<double>(a.size() * b.size()));
  EXPECT_DOUBLE_EQ(e.cliffs_delta, 2 * e.a12 - 1);
}

TEST(StatsEffectSize, MagnitudeThresholdsAreInclusiveBelow) {
  // One value of a against b = 1..100 gives Â12 = k / 100 exactly, on each threshold.
  std::vector<double> b(100);
  std::iota(b.begin(), b.end(), 1.0);
  auto magnitude_at = [&b](int k) {
    const std::vector<double> a = {k + 0.5};
    return vargha_delaney(a, b);
  };
  EXPECT_EQ(magnitude_at(55).magnitude, "negligible");
  EXPECT_EQ(magnitude_at(56).magnitude, "small");
  EXPECT_EQ(magnitude_at(63).magnitude, "small");
  EXPECT_EQ(magnitude_at(64).magnitude, "medium");
  EXPECT_EQ(magnitude_at(70).magnitude, "medium");
  EXPECT_EQ(magnitude_at(71).magnitude, "large");
  EXPECT_DOUBLE_EQ(magnitude_at(71).a12, 0.71);
  // Below ½ the magnitude is judged on 1 - Â12: 0.44 is as small as 0.56, 0.29 as large as 0.71.
  EXPECT_EQ(magnitude_at(44).magnitude, "small");
  EXPECT_EQ(magnitude_at(45).magnitude, "negligible");
  EXPECT_EQ(magnitude_at(36).magnitude, "medium");
  EXPECT_EQ(magnitude_at(29).magnitude, "large");
  EXPECT_EQ(magnitude_at(30).magnitude, "medium");
  // A tie counts half: 55 below and one equal is 0.555, still negligible.
  EXPECT_EQ(vargha_delaney(std::vector<double>{56}, b).magnitude, "negligible");

  EXPECT_EQ(a12_magnitude(0.5599), "negligible");
  EXPECT_EQ(a12_magnitude(0.56), "small");
  EXPECT_EQ(a12_magnitude(0.64), "medium");
  EXPECT_EQ(a12_magnitude(0.71), "large");
  EXPECT_EQ(a12_magnitude(0.2), "large");
  EXPECT_EQ(a12_magnitude(std::numeric_limits<double>::quiet_NaN()), "");
}

// ---------------------------------------------------------------- bootstrap

std::vector<double> spread(double centre, std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = centre * (1 + 0.05 * std::sin(static_cast<double>(i) * 1.7));
  }
  return v;
}

TEST(StatsBootstrap, ReproducibleAndSeedDependent) {
  const std::vector<double> a = spread(120, 10);
  const std::vector<double> b = spread(100, 10);
  const RatioCi first = bootstrap_median_ratio(a, b, {.seed = 7});
  const RatioCi again = bootstrap_median_ratio(a, b, {.seed = 7});
  EXPECT_EQ(first.low, again.low);
  EXPECT_EQ(first.high, again.high);
  const RatioCi other = bootstrap_median_ratio(a, b, {.seed = 8});
  EXPECT_TRUE(other.low != first.low || other.high != first.high);
  EXPECT_EQ(other.ratio, first.ratio);
}

TEST(StatsBootstrap, PointRatioAndInterval) {
  const std::vector<double> a = spread(120, 10);
  const std::vector<double> b = spread(100, 10);
  const RatioCi r = bootstrap_median_ratio(a, b);
  EXPECT_DOUBLE_EQ(r.ratio, describe(a).median / describe(b).median);
  EXPECT_NEAR(r.ratio, 1.2, 0.01);
  EXPECT_TRUE(r.note.empty());
  EXPECT_LT(r.low, r.ratio);
  EXPECT_GT(r.high, r.ratio);
  // Each median lies within ±5 % of its centre, so no resampled ratio leaves
  // [1.2/1.05, 1.2*1.05/0.95].
  EXPECT_GT(r.low, 1.2 * 0.95 / 1.05);
  EXPECT_LT(r.high, 1.2 * 1.05 / 0.95);
  // A narrower confidence level gives a narrower interval from the same resamples.
  const RatioCi narrow = bootstrap_median_ratio(a, b, {.seed = 1, .confidence = 0.5});
  EXPECT_GE(narrow.low, r.low);
  EXPECT_LE(narrow.high, r.high);
}

TEST(StatsBootstrap, ConstantSamplesGiveADegenerateInterval) {
  const std::vector<double> a = {4, 4, 4};
  const std::vector<double> b = {2, 2, 2, 2};
  const RatioCi r = bootstrap_median_ratio(a, b, {.resamples = 50});
  EXPECT_EQ(r.ratio, 2.0);
  EXPECT_EQ(r.low, 2.0);
  EXPECT_EQ(r.high, 2.0);
}

TEST(StatsBootstrap, ZeroMedianIsNaNWithAReason) {
  const RatioCi r =
      bootstrap_median_ratio(std::vector<double>{1, 2, 3}, std::vector<double>{-1, 0, 1});
  EXPECT_TRUE(std::isnan(r.ratio));
  EXPECT_TRUE(std::isnan(r.low));
  EXPECT_NE(r.note.find("zero"), std::string::npos);
  // A nonzero median whose resamples can hit zero gives the ratio but no interval.
  const RatioCi partial =
      bootstrap_median_ratio(std::vector<double>{1, 2, 3}, std::vector<double>{0, 0, 5, 5, 5});
  EXPECT_DOUBLE_EQ(partial.ratio, 2.0 / 5.0);
  EXPECT_TRUE(std::isnan(partial.low));
  EXPECT_NE(partial.note.find("resample"), std::string::npos);
}

TEST(StatsBootstrap, RejectsBadOptions) {
  const std::vector<double> a = {1, 2};
  EXPECT_THROW(bootstrap_median_ratio(a, a, {.resamples = 0}), Error);
  EXPECT_THROW(bootstrap_median_ratio(a, a, {.confidence = 1.0}), Error);
}

TEST(StatsBootstrap, GeneratorFollowsThePublishedAlgorithm) {
  // Seed 0: splitmix64 fills the state (its first output is the published 0xe220a8397b1dcdaf);
  // the expected xoshiro256** outputs come from an independent Python transcription.
  detail::Xoshiro256 rng(0);
  EXPECT_EQ(rng.next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(rng.next(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(rng.next(), 0x1a5f849d4933e6e0ULL);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 7000; ++i) {
    ++counts[rng.below(7)];
  }
  for (int c : counts) {
    EXPECT_NEAR(c, 1000, 150);
  }
}

// ---------------------------------------------------------------- edge cases

TEST(StatsEdge, EmptyAndSingleValueSamples) {
  const std::vector<double> empty;
  const Summary s0 = describe(empty);
  EXPECT_EQ(s0.n, 0U);
  EXPECT_TRUE(std::isnan(s0.mean));
  EXPECT_TRUE(std::isnan(s0.median));
  EXPECT_TRUE(std::isnan(s0.iqr));

  const std::vector<double> one = {3.5};
  const Summary s1 = describe(one);
  EXPECT_EQ(s1.n, 1U);
  EXPECT_EQ(s1.mean, 3.5);
  EXPECT_EQ(s1.median, 3.5);
  EXPECT_EQ(s1.iqr, 0.0);
  EXPECT_TRUE(std::isnan(s1.sd));

  const RankTest t = mann_whitney_u(empty, one);
  EXPECT_EQ(t.method, "none");
  EXPECT_TRUE(std::isnan(t.p_value));
  EXPECT_TRUE(std::isnan(shapiro_wilk(one).p_value));
  EXPECT_EQ(shapiro_wilk(one).note, "n < 3");

  const Comparison c = compare_samples(empty, one);
  EXPECT_EQ(c.n_a, 0U);
  EXPECT_EQ(c.n_b, 1U);
  EXPECT_TRUE(std::isnan(c.p_value));
  EXPECT_TRUE(std::isnan(c.a12));
  EXPECT_TRUE(std::isnan(c.ratio_median));
  EXPECT_FALSE(c.notes.empty());

  const Comparison singles = compare_samples(one, std::vector<double>{2.0});
  EXPECT_EQ(singles.p_method, "exact");
  EXPECT_EQ(singles.p_value, 1.0);
  EXPECT_EQ(singles.a12, 1.0);
  EXPECT_DOUBLE_EQ(singles.ratio_median, 1.75);
}

TEST(StatsEdge, AllValuesEqual) {
  const std::vector<double> a = {5, 5, 5, 5};
  const Comparison c = compare_samples(a, a);
  // Identical on both sides: reported as such, with no test and no effect.
  EXPECT_TRUE(c.identical);
  EXPECT_EQ(c.p_value, 1.0);
  EXPECT_EQ(c.p_method, "none");
  EXPECT_EQ(c.a12, 0.5);
  EXPECT_EQ(c.cliffs_delta, 0.0);
  EXPECT_EQ(c.magnitude, "identical");
  EXPECT_EQ(mann_whitney_u(a, a).method, "asymptotic");  // the test itself is unchanged
  EXPECT_EQ(c.ratio_median, 1.0);
  EXPECT_TRUE(std::isnan(c.shapiro_p_a));
  EXPECT_EQ(mann_whitney_u(a, a, TestMethod::kExact).p_value, 1.0);

  const RankTest w = wilcoxon_signed_rank(a, a);
  EXPECT_EQ(w.p_value, 1.0);
  EXPECT_EQ(w.n, 0U);
  const CompareOptions paired{.paired = true};
  EXPECT_EQ(compare_samples(a, a, paired).p_value, 1.0);

  EXPECT_TRUE(std::isnan(spearman(a, std::vector<double>{1, 2, 3, 4}).rho));
  EXPECT_EQ(shapiro_wilk(a).note, "all values equal");
}

TEST(StatsEdge, NonFiniteInputThrowsNamingTheProblem) {
  const std::vector<double> good = {1, 2, 3};
  const std::vector<double> bad = {1, 2, std::numeric_limits<double>::quiet_NaN()};
  try {
    compare_samples(good, bad);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("sample b"), std::string::npos) << message;
    EXPECT_NE(message.find("NaN"), std::string::npos) << message;
    EXPECT_NE(message.find("index 2"), std::string::npos) << message;
  }
  const std::vector<double> inf = {std::numeric_limits<double>::infinity()};
  EXPECT_THROW(describe(inf), Error);
  EXPECT_THROW(shapiro_wilk(bad), Error);
  EXPECT_THROW(mann_whitney_u(bad, good), Error);
  EXPECT_THROW(spearman(bad, good), Error);
  EXPECT_THROW(wilcoxon_signed_rank(good, std::vector<double>{1, 2}), Error);
  EXPECT_THROW(spearman(good, std::vector<double>{1, 2}), Error);
  EXPECT_THROW(quantile(good, 1.5), Error);
}

TEST(StatsEdge, AdjustmentSkipsNaNAndStaysMonotone) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> p = {0.01, nan, 0.02, 0.5};
  const std::vector<double> h = holm(p);
  EXPECT_DOUBLE_EQ(h[0], 0.03);
  EXPECT_TRUE(std::isnan(h[1]));
  EXPECT_DOUBLE_EQ(h[2], 0.04);
  EXPECT_DOUBLE_EQ(h[3], 0.5);
  const std::vector<double> b = bonferroni(p);
  EXPECT_DOUBLE_EQ(b[0], 0.03);
  EXPECT_DOUBLE_EQ(b[3], 1.0);
  EXPECT_THROW(holm(std::vector<double>{1.5}), Error);
  EXPECT_TRUE(holm(std::vector<double>{}).empty());
}

TEST(StatsCompare, FillsEveryFieldAndAdjustsTheFamily) {
  const json& cases = reference().at("mannwhitneyu");
  std::vector<Comparison> family;
  for (int i = 0; i < 4; ++i) {
    const json& c = cases.at(i);
    family.push_back(compare_samples(values(c.at("a")), values(c.at("b"))));
    const Comparison& k = family.back();
    EXPECT_EQ(k.test, "mann-whitney-u");
    EXPECT_EQ(k.p_method, "exact");
    EXPECT_DOUBLE_EQ(k.u, c.at("u").get<double>());
    EXPECT_TRUE(near_rel(k.p_value, c.at("p_exact"), kExactTol));
    EXPECT_EQ(k.n_a, 10U);
    EXPECT_DOUBLE_EQ(k.a12, k.u / 100);
    EXPECT_EQ(k.magnitude, a12_magnitude(k.a12));
    EXPECT_DOUBLE_EQ(k.ratio_median, k.median_a / k.median_b);
    EXPECT_LE(k.ratio_ci_low, k.ratio_median);
    EXPECT_GE(k.ratio_ci_high, k.ratio_median);
    EXPECT_FALSE(std::isnan(k.shapiro_p_a));
    EXPECT_TRUE(k.notes.empty());
  }
  holm_adjust(family);
  std::vector<double> p;
  for (const Comparison& k : family) {
    p.push_back(k.p_value);
  }
  const json& want = reference().at("multipletests").at(4);  // the first 8 exact p's
  const std::vector<double> want_p = values(want.at("p"));
  ASSERT_GE(want_p.size(), 4U);
  for (std::size_t i = 0; i < family.size(); ++i) {
    EXPECT_TRUE(near_rel(family[i].p_value, want_p[i], kExactTol));
    EXPECT_GE(family[i].p_holm, family[i].p_value);
    EXPECT_LE(family[i].p_holm, family[i].p_bonferroni);
    EXPECT_DOUBLE_EQ(family[i].p_bonferroni, std::min(1.0, 4 * family[i].p_value));
  }
  EXPECT_EQ(holm(p), [&] {
    std::vector<double> h;
    for (const Comparison& k : family) {
      h.push_back(k.p_holm);
    }
    return h;
  }());
}

TEST(StatsCompare, PairedUsesWilcoxon) {
  const json& c = reference().at("wilcoxon").at(5);  // paired_10, no ties or zeros
  const CompareOptions options{.paired = true};
  const Comparison k = compare_samples(values(c.at("a")), values(c.at("b")), options);
  EXPECT_EQ(k.test, "wilcoxon-signed-rank");
  EXPECT_EQ(k.p_method, "exact");
  EXPECT_DOUBLE_EQ(k.statistic, c.at("statistic").get<double>());
  EXPECT_TRUE(near_rel(k.p_value, c.at("p_exact"), kExactTol));
}

// ---------------------------------------------------------------- small n: what can be shown

TEST(StatsSmallN, MinPValueOfTheExactMannWhitneyTest) {
  EXPECT_NEAR(mann_whitney_min_p(2, 2), 1.0 / 3, 1e-15);  // 2 / C(4, 2)
  EXPECT_NEAR(mann_whitney_min_p(3, 3), 0.1, 1e-15);      // 2 / C(6, 3)
  EXPECT_NEAR(mann_whitney_min_p(5, 5), 2.0 / 252, 1e-15);
  EXPECT_NEAR(mann_whitney_min_p(4, 6), 2.0 / 210, 1e-15);
  EXPECT_EQ(mann_whitney_min_p(1, 1), 1.0);  // 2 / 2, capped
  EXPECT_EQ(mann_whitney_min_p(0, 5), 1.0);
  // Complete separation reaches it: the exact test agrees.
  const std::vector<double> lo = {1, 2, 3, 4, 5};
  const std::vector<double> hi = {6, 7, 8, 9, 10};
  EXPECT_NEAR(mann_whitney_u(lo, hi).p_value, mann_whitney_min_p(5, 5), 1e-12);
  const Comparison c = compare_samples(lo, hi);
  EXPECT_NEAR(c.min_p_value, 2.0 / 252, 1e-15);
  CompareOptions paired;
  paired.paired = true;
  EXPECT_NEAR(compare_samples(lo, hi, paired).min_p_value, 2.0 / 32, 1e-15);  // 2 / 2^5
}

TEST(StatsSmallN, RunsNeededForAHolmFamily) {
  // 5 per side: 2/252 = 0.0079 passes alpha / 6 = 0.0083 but not alpha / 12 = 0.0042.
  EXPECT_EQ(runs_needed_for_significance(1, 0.05), 4U);  // 2/70 = 0.029; 3 per side: 0.1
  EXPECT_EQ(runs_needed_for_significance(6, 0.05), 5U);
  EXPECT_EQ(runs_needed_for_significance(12, 0.05), 6U);  // 2/924 = 0.0022 <= 0.0042
  EXPECT_EQ(runs_needed_for_significance(0, 0.05), 4U);
}

TEST(StatsSmallN, IdenticalValuesAreNotATest) {
  const std::vector<double> same = {0.75, 0.75, 0.75, 0.75};
  const Comparison c = compare_samples(same, same);
  EXPECT_TRUE(c.identical);
  EXPECT_EQ(c.magnitude, "identical");
  EXPECT_EQ(c.p_value, 1.0);
  EXPECT_EQ(c.p_method, "none");
  // Different constants are a difference, not "identical".
  const std::vector<double> other = {0.8, 0.8, 0.8, 0.8};
  EXPECT_FALSE(compare_samples(same, other).identical);
  // Values a rounding error apart are the same measurement.
  const std::vector<double> nudged = {0.75, std::nextafter(0.75, 1.0), 0.75, 0.75};
  EXPECT_TRUE(compare_samples(same, nudged).identical);
}

// ---------------------------------------------------------------- Hodges–Lehmann ratio

TEST(StatsReference, HodgesLehmannRatioAndInterval) {
  const json& cases = reference().at("hodges_lehmann");
  ASSERT_GE(cases.size(), 8U);
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.at("name").get<std::string>());
    const auto a = values(tc.at("a"));
    const auto b = values(tc.at("b"));
    const double conf = tc.at("confidence").get<double>();
    const ShiftRatioCi r = hodges_lehmann_ratio(a, b, conf);
    EXPECT_TRUE(near_rel(r.ratio, tc.at("ratio").get<double>(), 1e-12));
    EXPECT_TRUE(
        near_rel(mann_whitney_min_p(a.size(), b.size()), tc.at("min_p").get<double>(), 1e-12));
    if (tc.at("k").get<int>() == 0) {
      EXPECT_TRUE(std::isnan(r.low));
      EXPECT_TRUE(std::isnan(r.confidence));
      EXPECT_NE(r.note.find("too small"), std::string::npos) << r.note;
      continue;
    }
    EXPECT_TRUE(near_rel(r.low, tc.at("low").get<double>(), 1e-12));
    EXPECT_TRUE(near_rel(r.high, tc.at("high").get<double>(), 1e-12));
    EXPECT_TRUE(near_rel(r.confidence, tc.at("achieved").get<double>(), 1e-9));
    EXPECT_GE(r.confidence, conf);
  }
}

TEST(StatsHodgesLehmann, NeedsPositiveValues) {
  const std::vector<double> a = {1, 2, 0};
  const std::vector<double> b = {1, 2, 3};
  const ShiftRatioCi r = hodges_lehmann_ratio(a, b);
  EXPECT_TRUE(std::isnan(r.ratio));
  EXPECT_NE(r.note.find("zero or negative"), std::string::npos);
  EXPECT_THROW(hodges_lehmann_ratio(b, b, 1.0), Error);
}

}  // namespace
}  // namespace greenbench::stats
