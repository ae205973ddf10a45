#pragma once
/// Statistics for comparing two frameworks on one model × phase × metric (contract, see DESIGN.md).
///
/// Every function takes plain samples, rejects NaN and infinite values with greenbench::Error, and
/// returns a struct; where a value cannot be computed (empty sample, zero median, constant data) it
/// is NaN and `note` says why, so callers never need to guard against a crash.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace greenbench::stats {

/// Descriptive statistics of one sample; quartiles use numpy's default (linear) interpolation.
struct Summary {
  std::size_t n = 0;
  double mean = 0;    ///< NaN when n == 0
  double median = 0;  ///< NaN when n == 0
  double q1 = 0;      ///< 25th percentile; NaN when n == 0
  double q3 = 0;      ///< 75th percentile; NaN when n == 0
  double iqr = 0;     ///< q3 - q1; NaN when n == 0
  double sd = 0;      ///< sample standard deviation (n - 1); NaN when n < 2
  double min = 0;     ///< NaN when n == 0
  double max = 0;     ///< NaN when n == 0
};

/// How a rank test computes its p-value.
enum class TestMethod {
  kAuto,        ///< exact when small and free of ties (and zeros), else asymptotic
  kExact,       ///< the exact null distribution (ties are ignored, as SciPy does)
  kAsymptotic,  ///< normal approximation with tie correction and continuity correction
};

/// Shapiro–Wilk normality test (Royston 1995, AS R94), defined for 3 <= n <= 5000.
struct ShapiroWilk {
  double w = 0;        ///< NaN when it cannot be computed
  double p_value = 0;  ///< NaN when it cannot be computed
  std::string note;    ///< why it is NaN ("n < 3", "n > 5000", "all values equal"); else empty
};

/// A two-sided rank test result (Mann–Whitney U or Wilcoxon signed-rank).
struct RankTest {
  double statistic = 0;  ///< Mann–Whitney: U of sample a; Wilcoxon: min(R+, R-), as SciPy reports
  double p_value = 0;    ///< two-sided; NaN when it cannot be computed
  std::string method;    ///< "exact" | "asymptotic" | "none" (no test run: empty input, or
                         ///< Wilcoxon with all differences zero, where p_value is 1)
  double z = 0;          ///< the normal score for "asymptotic"; NaN otherwise
  std::size_t n = 0;     ///< Wilcoxon: pairs left after dropping zero differences; else n_a + n_b
  std::string note;      ///< why p_value is NaN or why the method was chosen; may be empty
};

/// Vargha–Delaney Â12 and Cliff's δ of a against b.
struct EffectSize {
  double a12 = 0;           ///< P(a > b) + ½ P(a = b); NaN for an empty sample
  double cliffs_delta = 0;  ///< P(a > b) - P(a < b) = 2·Â12 - 1
  std::string magnitude;    ///< "negligible" | "small" | "medium" | "large" | "" when NaN
};

/// A ratio of medians with its bootstrap percentile confidence interval.
struct RatioCi {
  double ratio = 0;  ///< median(a) / median(b); NaN when it cannot be computed
  double low = 0;    ///< lower bound of the CI; NaN when it cannot be computed
  double high = 0;   ///< upper bound of the CI; NaN when it cannot be computed
  std::string note;  ///< why a value is NaN (empty sample, zero median of b); else empty
};

/// Settings of the seeded bootstrap; the same seed gives the same interval on every platform.
struct BootstrapOptions {
  std::uint64_t seed = 1;
  int resamples = 2000;
  double confidence = 0.95;
};

/// Spearman's rank correlation with SciPy's two-sided t-approximation p-value.
struct Correlation {
  double rho = 0;      ///< NaN when n < 2 or a sample is constant
  double p_value = 0;  ///< NaN when rho is NaN (or n < 3)
  std::size_t n = 0;
  std::string note;  ///< why a value is NaN; else empty
};

/// Settings of compare_samples.
struct CompareOptions {
  TestMethod method = TestMethod::kAuto;
  std::size_t exact_max_n = 50;  ///< kAuto is exact only when both samples have at most this many
  bool paired = false;           ///< use the Wilcoxon signed-rank test (needs n_a == n_b)
  BootstrapOptions bootstrap;
};

/// Everything a results table needs for one comparison of sample a against sample b.
struct Comparison {
  std::size_t n_a = 0, n_b = 0;
  double mean_a = 0, mean_b = 0;
  double median_a = 0, median_b = 0;
  double iqr_a = 0, iqr_b = 0;
  double sd_a = 0, sd_b = 0;
  double shapiro_p_a = 0, shapiro_p_b = 0;  ///< NaN when n < 3 or constant
  std::string test;         ///< "mann-whitney-u" | "wilcoxon-signed-rank" (when paired)
  double u = 0;             ///< Mann–Whitney U of sample a (pairs a > b plus half the ties)
  double statistic = 0;     ///< the statistic of `test` (equals u for Mann–Whitney)
  double p_value = 0;       ///< two-sided, unadjusted
  std::string p_method;     ///< "exact" | "asymptotic" | "none"
  double p_holm = 0;        ///< filled by holm_adjust; equals p_value until then
  double p_bonferroni = 0;  ///< filled by holm_adjust; equals p_value until then
  double a12 = 0;           ///< P(a > b) + ½ P(a = b)
  std::string magnitude;    ///< judged on max(Â12, 1 - Â12); see a12_magnitude
  double cliffs_delta = 0;
  double ratio_median = 0;  ///< median_a / median_b
  double ratio_ci_low = 0, ratio_ci_high = 0;
  std::vector<std::string> notes;  ///< reasons for NaN values, prefixed by what they concern
};

/// Van Elteren's stratified rank-sum test of a against b (two-sided, normal approximation).
struct VanElteren {
  int strata = 0;        ///< strata with values on both sides (the others are left out)
  double statistic = 0;  ///< Σ W_k / (N_k + 1), W_k the rank sum of a in stratum k
  double z = 0;          ///< standardised statistic (tie-corrected variance); NaN if no variance
  double p_value = 0;    ///< two-sided; NaN if no variance
};
/// a[k] and b[k] are the values of stratum k (e.g. a Slurm node); throws Error on NaN/infinity.
VanElteren van_elteren(const std::vector<std::vector<double>>& a,
                       const std::vector<std::vector<double>>& b);

/// Descriptive statistics; throws Error on NaN or infinite values.
Summary describe(std::span<const double> x);

/// Percentile q in [0, 1] with numpy's default linear interpolation; NaN for an empty sample.
double quantile(std::span<const double> x, double q);

/// Shapiro–Wilk W and p-value (AS R94).
ShapiroWilk shapiro_wilk(std::span<const double> x);

/// Two-sided Mann–Whitney U test of a against b, matching scipy.stats.mannwhitneyu.
RankTest mann_whitney_u(std::span<const double> a, std::span<const double> b,
                        TestMethod method = TestMethod::kAuto, std::size_t exact_max_n = 50);

/// Two-sided Wilcoxon signed-rank test of the differences a - b (zeros dropped), matching
/// scipy.stats.wilcoxon(zero_method="wilcox", correction=True); kAuto is exact for at most
/// exact_max_n pairs without ties or zeros. Throws Error when a and b differ in length.
RankTest wilcoxon_signed_rank(std::span<const double> a, std::span<const double> b,
                              TestMethod method = TestMethod::kAuto, std::size_t exact_max_n = 50);

/// Holm step-down adjusted p-values (monotone, capped at 1); NaN entries stay NaN and are not
/// counted in the family.
std::vector<double> holm(std::span<const double> p);

/// Bonferroni adjusted p-values min(1, m·p); NaN entries stay NaN and are not counted.
std::vector<double> bonferroni(std::span<const double> p);

/// Â12, Cliff's δ and the magnitude of a against b.
EffectSize vargha_delaney(std::span<const double> a, std::span<const double> b);

/// The magnitude of an Â12 value, judged on m = max(a12, 1 - a12): "negligible" (m < 0.56),
/// "small" (< 0.64), "medium" (< 0.71), else "large"; "" for NaN.
std::string a12_magnitude(double a12);

/// median(a) / median(b) with a seeded percentile bootstrap CI, resampling a and b independently.
RatioCi bootstrap_median_ratio(std::span<const double> a, std::span<const double> b,
                               const BootstrapOptions& options = {});

/// Spearman's ρ between x and y (average ranks for ties). Throws Error when lengths differ.
Correlation spearman(std::span<const double> x, std::span<const double> y);

/// All statistics of one comparison of a against b.
Comparison compare_samples(std::span<const double> a, std::span<const double> b,
                           const CompareOptions& options = {});

/// Fills p_holm and p_bonferroni of every comparison, treating them as one family.
void holm_adjust(std::vector<Comparison>& family);

}  // namespace greenbench::stats
