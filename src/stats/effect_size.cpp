// Effect sizes: Vargha–Delaney Â12, Cliff's δ, and the bootstrap CI of the ratio of medians.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "greenbench/error.hpp"
#include "greenbench/stats.hpp"
#include "stats/detail.hpp"
#include "stats/random.hpp"

namespace greenbench::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Thresholds on max(Â12, 1 - Â12) (Vargha and Delaney 2000).
std::string magnitude_of(double a12_max) {
  if (a12_max < 0.56) {
    return "negligible";
  }
  if (a12_max < 0.64) {
    return "small";
  }
  if (a12_max < 0.71) {
    return "medium";
  }
  return "large";
}

double median_in_place(std::vector<double>& v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) {
    return upper;
  }
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<long>(mid));
  return 0.5 * (lower + upper);
}

}  // namespace

std::string a12_magnitude(double a12) {
  if (std::isnan(a12)) {
    return "";
  }
  return magnitude_of(std::max(a12, 1 - a12));
}

EffectSize vargha_delaney(std::span<const double> a, std::span<const double> b) {
  detail::check_finite(a, "sample a");
  detail::check_finite(b, "sample b");
  if (a.empty() || b.empty()) {
    return EffectSize{kNaN, kNaN, ""};
  }
  std::vector<double> sorted_b(b.begin(), b.end());
  std::sort(sorted_b.begin(), sorted_b.end());
  // Pair counts are integers, kept exact in doubles, so that a value on a threshold (say 16/25)
  // is classified the same as the threshold literal.
  double greater = 0;
  double equal = 0;
  for (double x : a) {
    const auto lo = std::lower_bound(sorted_b.begin(), sorted_b.end(), x);
    const auto hi = std::upper_bound(lo, sorted_b.end(), x);
    greater += static_cast<double>(lo - sorted_b.begin());
    equal += static_cast<double>(hi - lo);
  }
  const double pairs = static_cast<double>(a.size()) * static_cast<double>(b.size());
  const double less = pairs - greater - equal;
  EffectSize e;
  e.a12 = (greater + 0.5 * equal) / pairs;
  e.cliffs_delta = (greater - less) / pairs;
  e.magnitude = magnitude_of((std::max(greater, less) + 0.5 * equal) / pairs);
  return e;
}

RatioCi bootstrap_median_ratio(std::span<const double> a, std::span<const double> b,
                               const BootstrapOptions& options) {
  detail::check_finite(a, "sample a");
  detail::check_finite(b, "sample b");
  if (options.resamples < 1) {
    throw Error("statistics: bootstrap resamples must be at least 1, got " +
                std::to_string(options.resamples));
  }
  if (!(options.confidence > 0 && options.confidence < 1)) {
    throw Error("statistics: bootstrap confidence must lie in (0, 1), got " +
                std::to_string(options.confidence));
  }
  RatioCi r{kNaN, kNaN, kNaN, ""};
  if (a.empty() || b.empty()) {
    r.note = "empty sample";
    return r;
  }
  std::vector<double> work_a(a.begin(), a.end());
  std::vector<double> work_b(b.begin(), b.end());
  const double median_b = median_in_place(work_b);
  if (median_b == 0) {
    r.note = "median of b is zero";
    return r;
  }
  r.ratio = median_in_place(work_a) / median_b;

  detail::Xoshiro256 rng(options.seed);
  std::vector<double> ratios;
  ratios.reserve(static_cast<std::size_t>(options.resamples));
  for (int i = 0; i < options.resamples; ++i) {
    for (auto& v : work_a) {
      v = a[rng.below(a.size())];
    }
    for (auto& v : work_b) {
      v = b[rng.below(b.size())];
    }
    const double denominator = median_in_place(work_b);
    if (denominator == 0) {
      r.note = "median of b is zero in a bootstrap resample";
      return r;
    }
    ratios.push_back(median_in_place(work_a) / denominator);
  }
  std::sort(ratios.begin(), ratios.end());
  const double tail = (1 - options.confidence) / 2;
  r.low = detail::sorted_quantile(ratios, tail);
  r.high = detail::sorted_quantile(ratios, 1 - tail);
  return r;
}

}  // namespace greenbench::stats
