// Seeded Monte-Carlo checks of the intervals and the sequential rule.
#include "stats/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "greenbench/error.hpp"
#include "greenbench/random.hpp"

namespace greenbench::stats::sim {
namespace {

class Draw {
 public:
  explicit Draw(std::uint64_t seed) : rng_(seed) {}
  double uniform() {  // in (0, 1)
    return (static_cast<double>(rng_.next() >> 11) + 0.5) * 0x1.0p-53;
  }
  double normal() {  // Box–Muller; one of the pair is enough here
    return std::sqrt(-2 * std::log(uniform())) * std::cos(2 * std::numbers::pi * uniform());
  }
  double from(const std::string& distribution) {
    if (distribution == "lognormal") return std::exp(0.3 * normal());
    if (distribution == "skewed") return 1 - std::log(uniform());  // 1 + Exp(1)
    throw Error("simulation: unknown distribution '" + distribution + "'");
  }

 private:
  greenbench::Xoshiro256 rng_;
};

// Log-normal noise with coefficient of variation cv and median 1.
double noise(Draw& d, double cv) { return std::exp(std::sqrt(std::log1p(cv * cv)) * d.normal()); }

}  // namespace

Coverage interval_coverage(const std::string& distribution, std::size_t n, std::size_t trials,
                           std::uint64_t seed, int bootstrap_resamples) {
  constexpr double kRatio = 1.25;
  Draw d(seed);
  Coverage c;
  c.trials = trials;
  std::size_t hl_hits = 0, boot_hits = 0;
  std::vector<double> a(n), b(n);
  for (std::size_t t = 0; t < trials; ++t) {
    for (auto& x : a) x = kRatio * d.from(distribution);
    for (auto& x : b) x = d.from(distribution);
    const ShiftRatioCi hl = hodges_lehmann_ratio(a, b, 0.95);
    c.hl_level = hl.confidence;
    if (hl.low <= kRatio && kRatio <= hl.high) ++hl_hits;
    if (bootstrap_resamples > 0) {
      BootstrapOptions o;
      o.seed = seed + t;
      o.resamples = bootstrap_resamples;
      const RatioCi r = bootstrap_median_ratio(a, b, o);
      if (r.low <= kRatio && kRatio <= r.high) ++boot_hits;
    }
  }
  c.hl = static_cast<double>(hl_hits) / static_cast<double>(trials);
  c.bootstrap = bootstrap_resamples > 0
                    ? static_cast<double>(boot_hits) / static_cast<double>(trials)
                    : std::numeric_limits<double>::quiet_NaN();
  return c;
}

SequentialResult simulate_sequential(const SequentialOptions& options, std::size_t family,
                                     double shift, double cv, std::size_t fixed_n,
                                     std::size_t trials, std::uint64_t seed) {
  Draw d(seed);
  SequentialResult r;
  r.trials = trials;
  const std::size_t runs = std::max(options.max_n, fixed_n);
  std::size_t any_rejection = 0, fixed_any = 0, right = 0, wrong = 0, equivalent = 0;
  std::size_t fixed_right = 0;
  double runs_used = 0;
  std::vector<std::pair<std::vector<double>, std::vector<double>>> all(family);
  std::vector<std::pair<std::vector<double>, std::vector<double>>> seen(family);
  for (std::size_t t = 0; t < trials; ++t) {
    for (auto& [a, b] : all) {
      a.resize(runs);
      b.resize(runs);
      for (auto& x : a) x = (1 + shift) * noise(d, cv);
      for (auto& x : b) x = noise(d, cv);
    }
    SequentialFamily rule(options, family);
    for (std::size_t n = options.min_n; n <= options.max_n; ++n) {
      for (std::size_t i = 0; i < family; ++i) {
        seen[i].first.assign(all[i].first.begin(), all[i].first.begin() + static_cast<long>(n));
        seen[i].second.assign(all[i].second.begin(), all[i].second.begin() + static_cast<long>(n));
      }
      if (rule.look(seen) == 0) break;
    }
    bool rejected = false;
    for (const auto& dec : rule.decisions()) {
      const bool sig = dec.decision == "a_cheaper" || dec.decision == "b_cheaper";
      rejected = rejected || sig;
      // a has the larger values when shift > 0: b is cheaper.
      if (sig && shift != 0) ((dec.decision == "b_cheaper") == (shift > 0) ? right : wrong) += 1;
      if (dec.decision == "equivalent") ++equivalent;
      runs_used +=
          static_cast<double>(dec.decision == "undecided" ? options.max_n : dec.decided_at);
    }
    if (rejected) ++any_rejection;
    std::vector<double> p(family);
    std::vector<double> a12(family);
    for (std::size_t i = 0; i < family; ++i) {
      const std::span<const double> a(all[i].first.data(), fixed_n);
      const std::span<const double> b(all[i].second.data(), fixed_n);
      p[i] = mann_whitney_u(a, b).p_value;
      a12[i] = vargha_delaney(a, b).a12;
    }
    const std::vector<double> h = holm(p);
    bool fixed_rejected = false;
    for (std::size_t i = 0; i < family; ++i) {
      if (h[i] >= options.alpha) continue;
      fixed_rejected = true;
      if (shift != 0 && (a12[i] > 0.5) == (shift > 0)) ++fixed_right;
    }
    if (fixed_rejected) ++fixed_any;
  }
  const double comparisons = static_cast<double>(trials * family);
  r.family_rejection = static_cast<double>(any_rejection) / static_cast<double>(trials);
  r.fixed_family_rejection = static_cast<double>(fixed_any) / static_cast<double>(trials);
  r.power = static_cast<double>(right) / comparisons;
  r.wrong_direction = static_cast<double>(wrong) / comparisons;
  r.equivalent = static_cast<double>(equivalent) / comparisons;
  r.fixed_power = static_cast<double>(fixed_right) / comparisons;
  r.mean_runs = runs_used / comparisons;
  return r;
}

StudyResult simulate_icse_study(const SequentialOptions& options, double cv, std::size_t trials,
                                std::uint64_t seed) {
  // PAPER.md's means (PyTorch / TensorFlow): energy_total = package + DRAM + GPU, and time.
  struct Truth {
    double energy_a, energy_b, time_a, time_b;
  };
  const std::vector<std::vector<Truth>> phases = {
      {{552603, 394855, 5901, 2710},
       {273686, 414103, 1431, 2495},
       {418050, 1202085, 2515, 7805},
       {643792, 506696, 3472, 2826},
       {459304, 367652, 2438, 2028},
       {1066549, 328680, 5667, 2072}},
      {{23526, 14335, 159, 113},
       {39090, 85463, 208, 509},
       {5016, 14036, 31, 96},
       {151154, 87699, 776, 603},
       {185299, 201636, 963, 1337},
       {64582, 101976, 408, 717}},
  };
  Draw d(seed);
  StudyResult r;
  r.trials = trials;
  const std::size_t runs = options.max_n;
  double config_runs = 0, configs = 0, agree = 0, contradict = 0, fixed_sig = 0, comparisons = 0;
  for (std::size_t t = 0; t < trials; ++t) {
    for (const auto& phase : phases) {
      // Family: energy and duration of each model; a run's energy and time share its noise.
      const std::size_t family = 2 * phase.size();
      std::vector<std::pair<std::vector<double>, std::vector<double>>> all(family);
      for (std::size_t m = 0; m < phase.size(); ++m) {
        for (int side = 0; side < 2; ++side) {
          auto& energy = side == 0 ? all[2 * m].first : all[2 * m].second;
          auto& time = side == 0 ? all[2 * m + 1].first : all[2 * m + 1].second;
          for (std::size_t k = 0; k < runs; ++k) {
            const double shared = noise(d, cv);
            const double power = noise(d, cv / 2);
            time.push_back((side == 0 ? phase[m].time_a : phase[m].time_b) * shared);
            energy.push_back((side == 0 ? phase[m].energy_a : phase[m].energy_b) * shared * power);
          }
        }
      }
      SequentialFamily rule(options, family);
      std::vector<std::pair<std::vector<double>, std::vector<double>>> seen(family);
      for (std::size_t n = options.min_n; n <= options.max_n; ++n) {
        for (std::size_t i = 0; i < family; ++i) {
          seen[i].first.assign(all[i].first.begin(), all[i].first.begin() + static_cast<long>(n));
          seen[i].second.assign(all[i].second.begin(),
                                all[i].second.begin() + static_cast<long>(n));
        }
        if (rule.look(seen) == 0) break;
      }
      std::vector<double> p(family), a12(family);
      for (std::size_t i = 0; i < family; ++i) {
        p[i] = mann_whitney_u(all[i].first, all[i].second).p_value;
        a12[i] = vargha_delaney(all[i].first, all[i].second).a12;
      }
      const std::vector<double> h = holm(p);
      const auto& dec = rule.decisions();
      for (std::size_t i = 0; i < family; ++i) {
        std::string fixed = "undecided";
        if (h[i] < options.alpha) fixed = a12[i] < 0.5 ? "a_cheaper" : "b_cheaper";
        comparisons += 1;
        if (fixed != "undecided") fixed_sig += 1;
        if (dec[i].decision == fixed) agree += 1;
        const bool opposite = (dec[i].decision == "a_cheaper" && fixed == "b_cheaper") ||
                              (dec[i].decision == "b_cheaper" && fixed == "a_cheaper");
        if (opposite) contradict += 1;
      }
      // A configuration (model × framework) runs until both of its comparisons are decided.
      for (std::size_t m = 0; m < phase.size(); ++m) {
        std::size_t used = 0;
        for (std::size_t i : {2 * m, 2 * m + 1}) {
          used = std::max(used, dec[i].decision == "undecided" ? options.max_n : dec[i].decided_at);
        }
        config_runs += 2.0 * static_cast<double>(used);
        configs += 2;
      }
    }
  }
  r.mean_runs = config_runs / configs;
  r.agreement = agree / comparisons;
  r.contradictions = contradict / comparisons;
  r.fixed_significant = fixed_sig / comparisons;
  return r;
}

}  // namespace greenbench::stats::sim
