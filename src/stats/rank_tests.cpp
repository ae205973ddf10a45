// Two-sided Mann–Whitney U and Wilcoxon signed-rank tests, with the conventions of SciPy 1.10
// (scipy.stats.mannwhitneyu, scipy.stats.wilcoxon with zero_method="wilcox", correction=True).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <string>

#include "greenbench/error.hpp"
#include "greenbench/stats.hpp"
#include "stats/detail.hpp"

namespace greenbench::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Beyond this many pairs the exact U distribution costs seconds; the normal approximation is
// then indistinguishable anyway.
constexpr std::size_t kMaxExactPairs = 40000;

bool has_ties(std::span<const double> values) {
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

}  // namespace

// Works with probabilities rather than counts so that no binomial coefficient can overflow: the
// largest of the m + n values belongs to the first sample with probability m / (m + n) and then
// adds n to U.
std::vector<double> detail::mann_whitney_pmf(std::size_t m, std::size_t n, std::size_t k) {
  // Only U <= k matters, so every distribution is cut at k.
  auto size = [k](std::size_t i, std::size_t j) { return std::min(i * j, k) + 1; };
  std::vector<std::vector<double>> prev(n + 1);
  std::vector<std::vector<double>> cur(n + 1);
  for (std::size_t j = 0; j <= n; ++j) {
    prev[j].assign(1, 1.0);  // i = 0: U = 0 surely
  }
  for (std::size_t i = 1; i <= m; ++i) {
    cur[0].assign(1, 1.0);
    for (std::size_t j = 1; j <= n; ++j) {
      std::vector<double>& f = cur[j];
      f.assign(size(i, j), 0.0);
      const double p_first = static_cast<double>(i) / static_cast<double>(i + j);
      const std::vector<double>& from_first = prev[j];      // (i-1, j), shifted by j
      const std::vector<double>& from_second = cur[j - 1];  // (i, j-1)
      for (std::size_t u = 0; u < f.size(); ++u) {
        double v = 0;
        if (u >= j && u - j < from_first.size()) {
          v += p_first * from_first[u - j];
        }
        if (u < from_second.size()) {
          v += (1 - p_first) * from_second[u];
        }
        f[u] = v;
      }
    }
    std::swap(prev, cur);
  }
  return prev[n];
}

double detail::mann_whitney_cdf(std::size_t m, std::size_t n, std::size_t k) {
  if (k >= m * n) return 1;
  // The lower half of the distribution, cumulated, once per (m, n): sequential looks and
  // simulations ask for the same sizes many thousands of times. The upper half follows from the
  // symmetry P(U <= k) = 1 - P(U <= m n - k - 1).
  static std::mutex mutex;
  static std::map<std::pair<std::size_t, std::size_t>, std::vector<double>> cache;
  const std::size_t half = m * n / 2;
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find({m, n});
  if (it == cache.end()) {
    std::vector<double> cdf = mann_whitney_pmf(m, n, half);
    for (std::size_t u = 1; u < cdf.size(); ++u) cdf[u] += cdf[u - 1];
    it = cache.emplace(std::make_pair(m, n), std::move(cdf)).first;
  }
  if (k <= half) return it->second[k];
  return 1 - it->second[m * n - k - 1];
}

namespace {

// Distribution of R+ for n signed ranks 1..n under H0: each rank is positive with probability ½.
std::vector<double> signed_rank_pmf(std::size_t n) {
  std::vector<double> pmf(n * (n + 1) / 2 + 1, 0.0);
  pmf[0] = 1.0;
  std::size_t top = 0;
  for (std::size_t r = 1; r <= n; ++r) {
    top += r;
    for (std::size_t s = top; s >= r; --s) {
      pmf[s] = 0.5 * (pmf[s] + pmf[s - r]);
    }
    for (std::size_t s = std::min(r, top + 1); s-- > 0;) {
      pmf[s] *= 0.5;
    }
  }
  return pmf;
}

}  // namespace

RankTest mann_whitney_u(std::span<const double> a, std::span<const double> b, TestMethod method,
                        std::size_t exact_max_n) {
  detail::check_finite(a, "sample a");
  detail::check_finite(b, "sample b");
  RankTest r{kNaN, kNaN, "none", kNaN, a.size() + b.size(), ""};
  if (a.empty() || b.empty()) {
    r.note = "empty sample";
    return r;
  }
  std::vector<double> all(a.begin(), a.end());
  all.insert(all.end(), b.begin(), b.end());
  const std::vector<double> ranks = detail::average_ranks(all);
  const double n1 = static_cast<double>(a.size());
  const double n2 = static_cast<double>(b.size());
  const double r1 =
      std::accumulate(ranks.begin(), ranks.begin() + static_cast<long>(a.size()), 0.0);
  const double u1 = r1 - n1 * (n1 + 1) / 2;
  r.statistic = u1;
  // The two-sided p-value is twice the upper tail of the larger of U1 and U2 = n1 n2 - U1.
  const double u = std::max(u1, n1 * n2 - u1);
  const bool ties = has_ties(all);

  bool exact = false;
  if (method == TestMethod::kExact) {
    exact = true;
    if (ties) {
      r.note = "exact distribution ignores ties";
    }
  } else if (method == TestMethod::kAuto) {
    exact = !ties && a.size() <= exact_max_n && b.size() <= exact_max_n;
    if (ties) {
      r.note = "ties: normal approximation";
    } else if (!exact) {
      r.note = "more than " + std::to_string(exact_max_n) + " values: normal approximation";
    }
  }
  if (exact && a.size() * b.size() > kMaxExactPairs) {
    exact = false;
    r.note = "n_a * n_b > " + std::to_string(kMaxExactPairs) + ": normal approximation";
  }

  if (exact) {
    // P(U >= u) = P(U <= n1 n2 - u) by symmetry; like SciPy, a tied (half-integer) u is floored.
    const auto u_int = static_cast<std::size_t>(std::floor(u));
    const std::size_t k = a.size() * b.size() - u_int;
    r.method = "exact";
    r.p_value = std::min(1.0, 2 * detail::mann_whitney_cdf(a.size(), b.size(), k));
    return r;
  }
  const double n = n1 + n2;
  const double var = n1 * n2 / 12 * ((n + 1) - detail::tie_term(all) / (n * (n - 1)));
  r.method = "asymptotic";
  if (!(var > 0)) {
    // Every value is tied: no ordering evidence at all.
    r.z = 0;
    r.p_value = 1;
    r.note = "all values equal";
    return r;
  }
  // Continuity correction: u >= n1 n2 / 2 always, so moving it towards the mean means - 0.5.
  r.z = (u - n1 * n2 / 2 - 0.5) / std::sqrt(var);
  r.p_value = std::min(1.0, 2 * detail::normal_sf(r.z));
  return r;
}

RankTest wilcoxon_signed_rank(std::span<const double> a, std::span<const double> b,
                              TestMethod method, std::size_t exact_max_n) {
  detail::check_finite(a, "sample a");
  detail::check_finite(b, "sample b");
  if (a.size() != b.size()) {
    throw Error("statistics: paired samples differ in length: a has " + std::to_string(a.size()) +
                " values, b has " + std::to_string(b.size()));
  }
  RankTest r{kNaN, kNaN, "none", kNaN, 0, ""};
  if (a.empty()) {
    r.note = "empty sample";
    return r;
  }
  std::vector<double> d;
  d.reserve(a.size());
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = a[i] - b[i];
    if (diff == 0) {
      ++zeros;
    } else {
      d.push_back(diff);
    }
  }
  r.n = d.size();
  if (d.empty()) {
    r.statistic = 0;
    r.p_value = 1;
    r.note = "all differences are zero";
    return r;
  }
  std::vector<double> abs_d(d.size());
  std::transform(d.begin(), d.end(), abs_d.begin(), [](double v) { return std::fabs(v); });
  const std::vector<double> ranks = detail::average_ranks(abs_d);
  double r_plus = 0;
  double r_minus = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    (d[i] > 0 ? r_plus : r_minus) += ranks[i];
  }
  r.statistic = std::min(r_plus, r_minus);
  const bool ties = has_ties(abs_d);

  bool exact = false;
  if (zeros > 0 && method != TestMethod::kAsymptotic) {
    r.note = "zero differences dropped: normal approximation";
  } else if (method == TestMethod::kExact) {
    exact = true;
    if (ties) {
      r.note = "exact distribution ignores ties";
    }
  } else if (method == TestMethod::kAuto) {
    exact = !ties && d.size() <= exact_max_n;
    if (ties) {
      r.note = "ties: normal approximation";
    } else if (!exact) {
      r.note = "more than " + std::to_string(exact_max_n) + " pairs: normal approximation";
    }
  }

  const double n = static_cast<double>(d.size());
  if (exact) {
    const std::vector<double> pmf = signed_rank_pmf(d.size());
    // Like SciPy, a tied (half-integer) R+ is truncated.
    const auto rp = static_cast<std::size_t>(r_plus);
    r.method = "exact";
    if (rp == (pmf.size() - 1) / 2) {
      r.p_value = 1;
    } else {
      double lower = 0;
      double upper = 0;
      for (std::size_t s = 0; s < pmf.size(); ++s) {
        if (s <= rp) {
          lower += pmf[s];
        }
        if (s >= rp) {
          upper += pmf[s];
        }
      }
      r.p_value = std::min(1.0, 2 * std::min(lower, upper));
    }
    return r;
  }
  const double mean = n * (n + 1) / 4;
  const double var = (n * (n + 1) * (2 * n + 1) - 0.5 * detail::tie_term(ranks)) / 24;
  // Continuity correction towards the mean; T = min(R+, R-) never exceeds it.
  const double correction = r.statistic < mean ? -0.5 : (r.statistic > mean ? 0.5 : 0.0);
  r.method = "asymptotic";
  r.z = (r.statistic - mean - correction) / std::sqrt(var);
  r.p_value = std::min(1.0, 2 * detail::normal_sf(std::fabs(r.z)));
  return r;
}

}  // namespace greenbench::stats
