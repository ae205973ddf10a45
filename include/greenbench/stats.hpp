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

/// The Hodges–Lehmann estimate of a / b on the log scale with its distribution-free interval.
struct ShiftRatioCi {
  double ratio = 0;       ///< exp(median of log a_i - log b_j over all pairs); NaN when not defined
  double low = 0;         ///< exp of the interval's ends, from inverting the exact Mann–Whitney
  double high = 0;        ///< test; NaN when the samples are too small for the level asked
  double confidence = 0;  ///< the level achieved, >= the one asked (U is discrete); NaN when none
  std::string note;       ///< why a value is NaN (empty sample, value <= 0, samples too small)
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
  double ratio_median = 0;                     ///< median_a / median_b
  double ratio_ci_low = 0, ratio_ci_high = 0;  ///< bootstrap percentile interval of ratio_median
  double hl_ratio = 0;  ///< Hodges–Lehmann ratio a / b (shift of log values); NaN if undefined
  double hl_ci_low = 0,
         hl_ci_high = 0;     ///< its interval from inverting the exact Mann–Whitney test
  double hl_confidence = 0;  ///< the level that interval achieves (>= 0.95)
  double min_p_value = 0;    ///< smallest p the test could give at n_a, n_b (2 / C(n_a + n_b, n_a))
  bool identical = false;    ///< every value on both sides is the same: no test, no effect
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

/// The smallest two-sided p-value of the exact Mann–Whitney test at these sizes,
/// 2 / C(n_a + n_b, n_a) capped at 1 (1 when a sample is empty); the Wilcoxon signed-rank
/// analogue for paired samples is 2 / 2^n.
double mann_whitney_min_p(std::size_t n_a, std::size_t n_b);

/// The smallest number of runs per side n (equal sizes) at which the exact Mann–Whitney test can
/// reach p <= alpha / family, i.e. the first family member of a Holm family can be significant;
/// 0 when no n up to 1000 can.
std::size_t runs_needed_for_significance(std::size_t family, double alpha);

/// Hodges–Lehmann estimate of the ratio a / b (the shift of log a against log b) with the
/// distribution-free interval from inverting the exact two-sided Mann–Whitney test at the
/// smallest achievable level >= confidence. Needs positive values.
ShiftRatioCi hodges_lehmann_ratio(std::span<const double> a, std::span<const double> b,
                                  double confidence = 0.95);

/// Spearman's ρ between x and y (average ranks for ties). Throws Error when lengths differ.
Correlation spearman(std::span<const double> x, std::span<const double> y);

/// All statistics of one comparison of a against b.
Comparison compare_samples(std::span<const double> a, std::span<const double> b,
                           const CompareOptions& options = {});

/// Fills p_holm and p_bonferroni of every comparison, treating them as one family.
void holm_adjust(std::vector<Comparison>& family);

/// Settings of a group-sequential comparison (the study keys of `repetitions = "auto"`).
struct SequentialOptions {
  std::size_t min_n = 5;             ///< first look: runs per side
  std::size_t max_n = 30;            ///< last look: runs per side
  double alpha = 0.05;               ///< family-wise type-I error over every look and comparison
  double equivalence_margin = 0.02;  ///< equivalent when the ratio's interval is in 1 ± margin
};

/// The level spent at the look with n runs per side in a Holm family of `family` comparisons.
/// Weighted Bonferroni over the looks n = min_n..max_n: a look where even complete separation
/// could not pass Holm's first step (min p · family > alpha) gets nothing; the k-th of the others
/// gets a share proportional to k^-1.5, so that early looks, where large effects are decided,
/// get most while late looks keep enough for small effects.
/// The levels sum to alpha (or to 0 when every look is futile). Throws Error on bad options.
double sequential_look_alpha(const SequentialOptions& options, std::size_t family, std::size_t n);

/// Where one comparison of a sequential family stands.
struct SequentialDecision {
  std::string decision = "undecided";  ///< "a_cheaper" | "b_cheaper" | "equivalent" | "undecided"
  std::size_t decided_at = 0;          ///< runs per side at the deciding look; 0 while undecided
  std::size_t looked_at = 0;           ///< runs per side at the last look
  double p_sequential = 1;  ///< min over looks of p · alpha / alpha_look: a p-value valid across
                            ///< looks (Bonferroni over the looks, weighted by the spending)
};

/// The sequential decision rule over one Holm family. At each look, each undecided comparison's
/// exact Mann–Whitney p is turned into p_sequential; Holm over the family's p_sequential at alpha
/// decides "a_cheaper"/"b_cheaper" (by the side Â12 points to). Because p_sequential only falls,
/// every rejection made at a look is also made by Holm on the final values, so the family-wise
/// error over all looks stays <= alpha. A comparison is "equivalent" when its Hodges–Lehmann
/// interval at level 1 - alpha_look lies within 1 ± margin (the intervals of all looks together
/// miss the true ratio with probability <= alpha).
class SequentialFamily {
 public:
  /// A family of `size` comparisons; throws Error on bad options.
  SequentialFamily(const SequentialOptions& options, std::size_t size);
  /// One look. samples[i] holds comparison i's values of a and b in run order; the first
  /// n = min(n_a, n_b) of each are used, and a comparison is looked at only when n is new, at
  /// least min_n and at most max_n. Returns the number of undecided comparisons.
  std::size_t look(const std::vector<std::pair<std::vector<double>, std::vector<double>>>& samples);
  /// The state of every comparison, in the order given.
  const std::vector<SequentialDecision>& decisions() const { return decisions_; }
  /// The options in effect.
  const SequentialOptions& options() const { return options_; }

 private:
  SequentialOptions options_;
  std::vector<SequentialDecision> decisions_;
  std::vector<int> direction_;  // per comparison at its last look: -1 a lower, +1 b lower
};

}  // namespace greenbench::stats
