// Shapiro–Wilk W test with Royston's approximations (Royston 1992; algorithm AS R94, 1995).
#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <vector>

#include "greenbench/stats.hpp"
#include "stats/detail.hpp"

namespace greenbench::stats {
namespace {

// c[0] + c[1] x + c[2] x^2 + ...
double poly(std::span<const double> c, double x) {
  double r = 0;
  for (auto it = c.rbegin(); it != c.rend(); ++it) {
    r = r * x + *it;
  }
  return r;
}

// Coefficients a_1..a_n (antisymmetric, a_i = -a_{n+1-i}) of the W statistic.
std::vector<double> sw_coefficients(std::size_t n) {
  std::vector<double> a(n, 0.0);
  if (n == 3) {
    a[2] = std::sqrt(0.5);
    a[0] = -a[2];
    return a;
  }
  const boost::math::normal_distribution<double> normal;
  const double dn = static_cast<double>(n);
  std::vector<double> m(n);
  for (std::size_t i = 0; i < n; ++i) {
    m[i] = boost::math::quantile(normal, (static_cast<double>(i + 1) - 0.375) / (dn + 0.25));
  }
  double summ2 = 0;
  for (double v : m) {
    summ2 += v * v;
  }
  const double ssumm2 = std::sqrt(summ2);
  const double u = 1.0 / std::sqrt(dn);
  // Royston's polynomial corrections to the two most extreme coefficients.
  static constexpr double kC1[] = {0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056};
  static constexpr double kC2[] = {0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633};
  const double an = m[n - 1] / ssumm2 + poly(kC1, u);
  std::size_t fixed = 1;
  double phi = 0;
  double an1 = 0;
  if (n > 5) {
    an1 = m[n - 2] / ssumm2 + poly(kC2, u);
    phi = (summ2 - 2 * m[n - 1] * m[n - 1] - 2 * m[n - 2] * m[n - 2]) /
          (1 - 2 * an * an - 2 * an1 * an1);
    fixed = 2;
  } else {
    phi = (summ2 - 2 * m[n - 1] * m[n - 1]) / (1 - 2 * an * an);
  }
  const double scale = std::sqrt(phi);
  for (std::size_t i = fixed; i < n - fixed; ++i) {
    a[i] = m[i] / scale;
  }
  a[n - 1] = an;
  a[0] = -an;
  if (fixed == 2) {
    a[n - 2] = an1;
    a[1] = -an1;
  }
  return a;
}

}  // namespace

// Upper-tail probability of W under normality.
double detail::shapiro_wilk_p(double w, std::size_t n) {
  if (n == 3) {
    // Exact distribution for n = 3: 6/pi (asin(sqrt(W)) - asin(sqrt(3/4))).
    const double p =
        6.0 / std::numbers::pi * (std::asin(std::sqrt(w)) - std::asin(std::sqrt(0.75)));
    return std::clamp(p, 0.0, 1.0);
  }
  const double dn = static_cast<double>(n);
  double y = std::log(1 - w);
  double mu = 0;
  double sigma = 0;
  if (n <= 11) {
    static constexpr double kGamma[] = {-2.273, 0.459};
    static constexpr double kMu[] = {0.5440, -0.39978, 0.025054, -6.714e-4};
    static constexpr double kSigma[] = {1.3822, -0.77857, 0.062767, -0.0020322};
    const double gamma = poly(kGamma, dn);
    if (y >= gamma) {
      return 1e-99;  // W so small the approximation would leave its domain
    }
    y = -std::log(gamma - y);
    mu = poly(kMu, dn);
    sigma = std::exp(poly(kSigma, dn));
  } else {
    static constexpr double kMu[] = {-1.5861, -0.31082, -0.083751, 0.0038915};
    static constexpr double kSigma[] = {-0.4803, -0.082676, 0.0030302};
    const double ln = std::log(dn);
    mu = poly(kMu, ln);
    sigma = std::exp(poly(kSigma, ln));
  }
  return detail::normal_sf((y - mu) / sigma);
}

ShapiroWilk shapiro_wilk(std::span<const double> x) {
  detail::check_finite(x, "sample");
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  ShapiroWilk r{kNaN, kNaN, ""};
  const std::size_t n = x.size();
  if (n < 3) {
    r.note = "n < 3";
    return r;
  }
  if (n > 5000) {
    r.note = "n > 5000";
    return r;
  }
  std::vector<double> sorted(x.begin(), x.end());
  std::sort(sorted.begin(), sorted.end());
  if (sorted.front() == sorted.back()) {
    r.note = "all values equal";
    return r;
  }
  const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(n);
  double ss = 0;
  for (double v : sorted) {
    ss += (v - mean) * (v - mean);
  }
  const std::vector<double> a = sw_coefficients(n);
  double num = 0;
  for (std::size_t i = 0; i < n; ++i) {
    num += a[i] * (sorted[i] - mean);
  }
  r.w = std::min(1.0, num * num / ss);
  r.p_value = detail::shapiro_wilk_p(r.w, n);
  return r;
}

}  // namespace greenbench::stats
