// Van Elteren's stratified rank-sum test: Wilcoxon rank sums within each stratum (here, a Slurm
// node), weighted by 1/(N_k + 1) so that every stratum counts alike, normal approximation.
#include <algorithm>
#include <cmath>

#include "greenbench/error.hpp"
#include "greenbench/stats.hpp"
#include "stats/detail.hpp"

namespace greenbench::stats {

namespace {

// Midranks of the pooled sample a ++ b (1-based), and the tie term Σ (t³ − t).
std::vector<double> midranks(const std::vector<double>& pooled, double* tie_term) {
  const size_t n = pooled.size();
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return pooled[x] < pooled[y]; });
  std::vector<double> rank(n);
  *tie_term = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && pooled[order[j + 1]] == pooled[order[i]]) ++j;
    const double r = (double(i) + double(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    const double t = double(j - i + 1);
    *tie_term += t * t * t - t;
    i = j + 1;
  }
  return rank;
}

}  // namespace

VanElteren van_elteren(const std::vector<std::vector<double>>& a,
                       const std::vector<std::vector<double>>& b) {
  if (a.size() != b.size()) throw Error("van_elteren: a and b need the same strata");
  VanElteren out;
  double t = 0, expected = 0, variance = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    const double n = double(a[k].size()), m = double(b[k].size());
    if (n == 0 || m == 0) continue;  // a stratum with one side only says nothing about a vs b
    detail::check_finite(a[k], "van_elteren a");
    detail::check_finite(b[k], "van_elteren b");
    std::vector<double> pooled = a[k];
    pooled.insert(pooled.end(), b[k].begin(), b[k].end());
    double ties = 0;
    const auto rank = midranks(pooled, &ties);
    double w = 0;
    for (size_t i = 0; i < a[k].size(); ++i) w += rank[i];
    const double total = n + m;
    const double weight = 1 / (total + 1);
    t += weight * w;
    expected += weight * n * (total + 1) / 2;
    variance +=
        weight * weight * (n * m * (total + 1) / 12 - n * m * ties / (12 * total * (total - 1)));
    ++out.strata;
  }
  out.statistic = t;
  if (out.strata == 0 || !(variance > 0)) {
    out.z = NAN;
    out.p_value = NAN;
    return out;
  }
  out.z = (t - expected) / std::sqrt(variance);
  out.p_value = std::erfc(std::fabs(out.z) / std::sqrt(2.0));
  return out;
}

}  // namespace greenbench::stats
