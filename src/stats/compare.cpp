// One comparison of two samples: every number a results table shows.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "greenbench/stats.hpp"
#include "stats/detail.hpp"

namespace greenbench::stats {

Comparison compare_samples(std::span<const double> a, std::span<const double> b,
                           const CompareOptions& options) {
  // Checked here first so that the message names the sample, not an inner helper's view of it.
  detail::check_finite(a, "sample a");
  detail::check_finite(b, "sample b");
  Comparison c;
  auto note = [&c](const std::string& what, const std::string& why) {
    if (!why.empty()) {
      c.notes.push_back(what + ": " + why);
    }
  };

  const Summary sa = describe(a);
  const Summary sb = describe(b);
  c.n_a = sa.n;
  c.n_b = sb.n;
  c.mean_a = sa.mean;
  c.mean_b = sb.mean;
  c.median_a = sa.median;
  c.median_b = sb.median;
  c.iqr_a = sa.iqr;
  c.iqr_b = sb.iqr;
  c.sd_a = sa.sd;
  c.sd_b = sb.sd;

  const ShapiroWilk swa = shapiro_wilk(a);
  const ShapiroWilk swb = shapiro_wilk(b);
  c.shapiro_p_a = swa.p_value;
  c.shapiro_p_b = swb.p_value;
  note("shapiro a", swa.note);
  note("shapiro b", swb.note);

  const RankTest mw = mann_whitney_u(a, b, options.method, options.exact_max_n);
  c.u = mw.statistic;
  if (options.paired) {
    const RankTest w = wilcoxon_signed_rank(a, b, options.method, options.exact_max_n);
    c.test = "wilcoxon-signed-rank";
    c.statistic = w.statistic;
    c.p_value = w.p_value;
    c.p_method = w.method;
    note("wilcoxon", w.note);
  } else {
    c.test = "mann-whitney-u";
    c.statistic = mw.statistic;
    c.p_value = mw.p_value;
    c.p_method = mw.method;
    note("mann-whitney", mw.note);
  }
  c.p_holm = c.p_value;
  c.p_bonferroni = c.p_value;

  const EffectSize e = vargha_delaney(a, b);
  c.a12 = e.a12;
  c.cliffs_delta = e.cliffs_delta;
  c.magnitude = e.magnitude;
  if (std::isnan(e.a12)) {
    note("a12", "empty sample");
  }

  const RatioCi ratio = bootstrap_median_ratio(a, b, options.bootstrap);
  c.ratio_median = ratio.ratio;
  c.ratio_ci_low = ratio.low;
  c.ratio_ci_high = ratio.high;
  note("ratio", ratio.note);

  const ShiftRatioCi hl = hodges_lehmann_ratio(a, b, options.bootstrap.confidence);
  c.hl_ratio = hl.ratio;
  c.hl_ci_low = hl.low;
  c.hl_ci_high = hl.high;
  c.hl_confidence = hl.confidence;
  note("hodges-lehmann", hl.note);

  c.min_p_value = options.paired ? std::min(1.0, std::ldexp(2.0, -static_cast<int>(c.n_a)))
                                 : mann_whitney_min_p(c.n_a, c.n_b);
  if (c.n_a == 0 || c.n_b == 0) c.min_p_value = 1;

  // The same value in every run on both sides (a deterministic quality metric, say): there is
  // nothing to test and no effect, whatever a rank test's tie handling would make of it.
  if (!a.empty() && !b.empty()) {
    const auto [lo_a, hi_a] = std::minmax_element(a.begin(), a.end());
    const auto [lo_b, hi_b] = std::minmax_element(b.begin(), b.end());
    const double lo = std::min(*lo_a, *lo_b);
    const double hi = std::max(*hi_a, *hi_b);
    const double scale = std::max(std::fabs(lo), std::fabs(hi));
    // Float rounding: values within a few ulps of each other are the same measurement.
    c.identical = hi - lo <= 4 * std::numeric_limits<double>::epsilon() * scale;
  }
  if (c.identical) {
    c.p_value = 1;
    c.p_method = "none";
    c.p_holm = 1;
    c.p_bonferroni = 1;
    c.magnitude = "identical";
    c.a12 = 0.5;
    c.cliffs_delta = 0;
    c.notes.emplace_back("identical: every value on both sides is the same");
  }
  return c;
}

void holm_adjust(std::vector<Comparison>& family) {
  std::vector<double> p;
  p.reserve(family.size());
  for (const Comparison& c : family) {
    p.push_back(c.p_value);
  }
  const std::vector<double> h = holm(p);
  const std::vector<double> b = bonferroni(p);
  for (std::size_t i = 0; i < family.size(); ++i) {
    family[i].p_holm = h[i];
    family[i].p_bonferroni = b[i];
  }
}

}  // namespace greenbench::stats
