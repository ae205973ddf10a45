// Descriptive statistics and the helpers every test shares (ranks, ties, percentiles).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "greenbench/error.hpp"
#include "greenbench/stats.hpp"
#include "stats/detail.hpp"

namespace greenbench::stats {

namespace detail {

void check_finite(std::span<const double> x, std::string_view what) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      throw Error("statistics: " + std::string(what) + " has " +
                  (std::isnan(x[i]) ? "NaN" : "an infinite value") + " at index " +
                  std::to_string(i));
    }
  }
}

std::vector<double> average_ranks(std::span<const double> x) {
  std::vector<std::size_t> order(x.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t l, std::size_t r) { return x[l] < x[r]; });
  std::vector<double> ranks(x.size());
  std::size_t i = 0;
  while (i < order.size()) {
    std::size_t j = i + 1;
    while (j < order.size() && x[order[j]] == x[order[i]]) {
      ++j;
    }
    // Positions i..j-1 hold equal values; each gets the mean of ranks i+1..j.
    const double rank = 0.5 * static_cast<double>(i + 1 + j);
    for (std::size_t k = i; k < j; ++k) {
      ranks[order[k]] = rank;
    }
    i = j;
  }
  return ranks;
}

double tie_term(std::span<const double> values) {
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  double term = 0;
  std::size_t i = 0;
  while (i < sorted.size()) {
    std::size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) {
      ++j;
    }
    const double t = static_cast<double>(j - i);
    term += t * t * t - t;
    i = j;
  }
  return term;
}

double normal_sf(double z) {
  if (std::isinf(z)) {
    return z > 0 ? 0.0 : 1.0;
  }
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

double sorted_quantile(std::span<const double> sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) {
    return sorted.back();
  }
  const double t = h - static_cast<double>(lo);
  const double a = sorted[lo];
  const double b = sorted[lo + 1];
  // numpy interpolates from the nearer end, which keeps the result inside [a, b].
  return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t);
}

}  // namespace detail

double quantile(std::span<const double> x, double q) {
  detail::check_finite(x, "sample");
  if (!(q >= 0 && q <= 1)) {
    throw Error("statistics: quantile q must lie in [0, 1], got " + std::to_string(q));
  }
  if (x.empty()) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::vector<double> sorted(x.begin(), x.end());
  std::sort(sorted.begin(), sorted.end());
  return detail::sorted_quantile(sorted, q);
}

Summary describe(std::span<const double> x) {
  detail::check_finite(x, "sample");
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  Summary s;
  s.n = x.size();
  if (x.empty()) {
    s.mean = s.median = s.q1 = s.q3 = s.iqr = s.sd = s.min = s.max = kNaN;
    return s;
  }
  std::vector<double> sorted(x.begin(), x.end());
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(sorted.size());
  s.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / n;
  // numpy's median averages the two middle values; the 0.5 percentile can differ by one ulp.
  const std::size_t mid = sorted.size() / 2;
  s.median = sorted.size() % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  s.q1 = detail::sorted_quantile(sorted, 0.25);
  s.q3 = detail::sorted_quantile(sorted, 0.75);
  s.iqr = s.q3 - s.q1;
  s.min = sorted.front();
  s.max = sorted.back();
  if (sorted.size() < 2) {
    s.sd = kNaN;
  } else {
    // Two passes: subtracting the mean first keeps the variance accurate for large offsets.
    double ss = 0;
    for (double v : sorted) {
      ss += (v - s.mean) * (v - s.mean);
    }
    s.sd = std::sqrt(ss / (n - 1));
  }
  return s;
}

}  // namespace greenbench::stats
