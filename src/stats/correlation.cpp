// Spearman's rank correlation and multiple-comparison adjustment of p-values.
#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "greenbench/error.hpp"
#include "greenbench/stats.hpp"
#include "stats/detail.hpp"

namespace greenbench::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Indices of the non-NaN p-values, checked to lie in [0, 1].
std::vector<std::size_t> family_members(std::span<const double> p) {
  std::vector<std::size_t> members;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (std::isnan(p[i])) {
      continue;
    }
    if (p[i] < 0 || p[i] > 1) {
      throw Error("statistics: p-value at index " + std::to_string(i) +
                  " is outside [0, 1]: " + std::to_string(p[i]));
    }
    members.push_back(i);
  }
  return members;
}

}  // namespace

std::vector<double> bonferroni(std::span<const double> p) {
  const std::vector<std::size_t> members = family_members(p);
  const double m = static_cast<double>(members.size());
  std::vector<double> adjusted(p.size(), kNaN);
  for (std::size_t i : members) {
    adjusted[i] = std::min(1.0, m * p[i]);
  }
  return adjusted;
}

std::vector<double> holm(std::span<const double> p) {
  std::vector<std::size_t> order = family_members(p);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t l, std::size_t r) { return p[l] < p[r]; });
  const std::size_t m = order.size();
  std::vector<double> adjusted(p.size(), kNaN);
  // Step-down: the k-th smallest is multiplied by m - k, then made monotone by a running max.
  double running = 0;
  for (std::size_t k = 0; k < m; ++k) {
    running = std::max(running, static_cast<double>(m - k) * p[order[k]]);
    adjusted[order[k]] = std::min(1.0, running);
  }
  return adjusted;
}

Correlation spearman(std::span<const double> x, std::span<const double> y) {
  detail::check_finite(x, "sample x");
  detail::check_finite(y, "sample y");
  if (x.size() != y.size()) {
    throw Error("statistics: Spearman samples differ in length: x has " + std::to_string(x.size()) +
                " values, y has " + std::to_string(y.size()));
  }
  Correlation c{kNaN, kNaN, x.size(), ""};
  if (x.size() < 2) {
    c.note = "n < 2";
    return c;
  }
  const std::vector<double> rx = detail::average_ranks(x);
  const std::vector<double> ry = detail::average_ranks(y);
  const double n = static_cast<double>(x.size());
  // Both rank vectors have mean (n + 1) / 2 exactly.
  const double mean = (n + 1) / 2;
  double sxy = 0;
  double sxx = 0;
  double syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  if (sxx == 0 || syy == 0) {
    c.note = "a sample is constant";
    return c;
  }
  c.rho = std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
  if (x.size() < 3) {
    c.note = "n < 3: no p-value";
    return c;
  }
  // SciPy's t approximation with n - 2 degrees of freedom.
  const double dof = n - 2;
  const double denom = (c.rho + 1) * (1 - c.rho);
  if (denom <= 0) {
    c.p_value = 0;
    return c;
  }
  const double t = std::fabs(c.rho) * std::sqrt(dof / denom);
  const boost::math::students_t_distribution<double> dist(dof);
  c.p_value = std::min(1.0, 2 * boost::math::cdf(boost::math::complement(dist, t)));
  return c;
}

}  // namespace greenbench::stats
