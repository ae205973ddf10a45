// What small samples can and cannot show: the exact Mann–Whitney test's smallest p-value, the
// runs a Holm family needs, and the Hodges–Lehmann ratio with its distribution-free interval.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "greenbench/error.hpp"
#include "greenbench/stats.hpp"
#include "stats/detail.hpp"

namespace greenbench::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The order statistic k (1-based) of the m n pairwise differences that bounds the interval, and
// the level it achieves: the largest k with 2 P(U <= k - 1) <= 1 - confidence. 0 when even k = 1
// misses the level. Cached: simulations ask for the same sizes thousands of times.
std::pair<std::size_t, double> hl_order(std::size_t m, std::size_t n, double confidence) {
  static std::mutex mutex;
  static std::map<std::tuple<std::size_t, std::size_t, double>, std::pair<std::size_t, double>>
      cache;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(m, n, confidence);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const std::vector<double> pmf = detail::mann_whitney_pmf(m, n, m * n / 2);
  const double tail = (1 - confidence) / 2;
  std::size_t k = 0;
  double cdf = 0;       // P(U <= k - 1) for the candidate k + 1
  double achieved = 0;  // 1 - 2 P(U <= k - 1) of the chosen k
  // A tiny slack keeps levels that are exactly attainable (e.g. 0.05 at some n) from being
  // lost to rounding in the summed probabilities.
  for (std::size_t u = 0; u < pmf.size(); ++u) {
    cdf += pmf[u];
    if (cdf > tail * (1 + 1e-12)) break;
    k = u + 1;
    achieved = 1 - 2 * cdf;
  }
  return cache[key] = {k, k == 0 ? kNaN : achieved};
}

}  // namespace

double mann_whitney_min_p(std::size_t n_a, std::size_t n_b) {
  if (n_a == 0 || n_b == 0) return 1;
  // C(n_a + n_b, n_a) as a running product of ratios, in doubles: no overflow, relative error
  // of a few ulps.
  const std::size_t k = std::min(n_a, n_b);
  const std::size_t other = std::max(n_a, n_b);
  double c = 1;
  for (std::size_t i = 1; i <= k; ++i) {
    c = c * static_cast<double>(other + i) / static_cast<double>(i);
  }
  return std::min(1.0, 2 / c);
}

std::size_t runs_needed_for_significance(std::size_t family, double alpha) {
  if (family == 0) family = 1;
  for (std::size_t n = 1; n <= 1000; ++n) {
    if (mann_whitney_min_p(n, n) <= alpha / static_cast<double>(family)) return n;
  }
  return 0;
}

ShiftRatioCi hodges_lehmann_ratio(std::span<const double> a, std::span<const double> b,
                                  double confidence) {
  detail::check_finite(a, "sample a");
  detail::check_finite(b, "sample b");
  if (!(confidence > 0 && confidence < 1)) {
    throw Error("statistics: Hodges–Lehmann confidence must lie in (0, 1), got " +
                std::to_string(confidence));
  }
  ShiftRatioCi r{kNaN, kNaN, kNaN, kNaN, ""};
  if (a.empty() || b.empty()) {
    r.note = "empty sample";
    return r;
  }
  auto positive = [](std::span<const double> x) {
    return std::all_of(x.begin(), x.end(), [](double v) { return v > 0; });
  };
  if (!positive(a) || !positive(b)) {
    r.note = "a value is zero or negative: no ratio of logs";
    return r;
  }
  std::vector<double> d;
  d.reserve(a.size() * b.size());
  for (double x : a) {
    for (double y : b) d.push_back(std::log(x) - std::log(y));
  }
  std::sort(d.begin(), d.end());
  r.ratio = std::exp(detail::sorted_quantile(d, 0.5));
  const auto [k, achieved] = hl_order(a.size(), b.size(), confidence);
  if (k == 0) {
    r.note = "samples too small for a " + std::to_string(static_cast<int>(confidence * 100)) +
             "% interval (smallest p " + std::to_string(mann_whitney_min_p(a.size(), b.size())) +
             ")";
    return r;
  }
  r.low = std::exp(d[k - 1]);
  r.high = std::exp(d[d.size() - k]);
  r.confidence = achieved;
  return r;
}

}  // namespace greenbench::stats
