#pragma once
// Helpers shared by the statistics sources; not part of the public API.
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace greenbench::stats::detail {

// Throws Error naming `what` and the index of the first NaN or infinite value.
void check_finite(std::span<const double> x, std::string_view what);

// 1-based ranks with ties given their average rank (scipy.stats.rankdata's "average").
std::vector<double> average_ranks(std::span<const double> x);

// Sum of t^3 - t over groups of t equal values; the tie term of rank-test variances.
double tie_term(std::span<const double> values);

// Upper tail of the standard normal distribution; exact at ±infinity.
double normal_sf(double z);

// Linear-interpolation percentile of an already sorted, non-empty sample (numpy's default).
double sorted_quantile(std::span<const double> sorted, double q);

// P(U = u) for u = 0..min(k, m n): the exact null distribution of U, cut at k.
std::vector<double> mann_whitney_pmf(std::size_t m, std::size_t n, std::size_t k);

// P(U <= k) for the Mann–Whitney U of a sample of m against a sample of n under H0, no ties.
double mann_whitney_cdf(std::size_t m, std::size_t n, std::size_t k);

// Royston's p-value of a Shapiro–Wilk W for a sample of n (3 <= n <= 5000).
double shapiro_wilk_p(double w, std::size_t n);

}  // namespace greenbench::stats::detail
