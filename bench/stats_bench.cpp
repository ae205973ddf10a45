// Cost of the statistics behind one results-table row; the bootstrap dominates.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "greenbench/stats.hpp"
#include "stats/simulation.hpp"

namespace {

std::vector<double> sample(std::size_t n, double centre, double phase) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = centre + 5 * std::sin(static_cast<double>(i) * 2.3 + phase);
  }
  return v;
}

void BM_CompareSamples(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<double> a = sample(n, 100, 0.0);
  const std::vector<double> b = sample(n, 102, 1.0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(greenbench::stats::compare_samples(a, b));
  }
}
BENCHMARK(BM_CompareSamples)->Arg(10)->Arg(50)->Arg(200)->Unit(benchmark::kMicrosecond);

void BM_MannWhitneyExact(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<double> a = sample(n, 100, 0.0);
  const std::vector<double> b = sample(n, 102, 1.0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        greenbench::stats::mann_whitney_u(a, b, greenbench::stats::TestMethod::kExact));
  }
}
BENCHMARK(BM_MannWhitneyExact)->Arg(10)->Arg(50)->Unit(benchmark::kMicrosecond);

void BM_ShapiroWilk(benchmark::State& state) {
  const std::vector<double> x = sample(static_cast<std::size_t>(state.range(0)), 100, 0.0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(greenbench::stats::shapiro_wilk(x));
  }
}
BENCHMARK(BM_ShapiroWilk)->Arg(10)->Arg(5000)->Unit(benchmark::kMicrosecond);

}  // namespace

// The simulations behind the statistics' claims, run once each (counters carry the results):
//   greenbench-bench --benchmark_filter='Coverage|Sequential|IcseStudy'
// Coverage of the Hodges–Lehmann and bootstrap 95% intervals of a ratio, 4000 trials.
void BM_Coverage(benchmark::State& state) {
  const char* dist = state.range(0) == 0 ? "lognormal" : "skewed";
  const auto n = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    const auto c = greenbench::stats::sim::interval_coverage(dist, n, 4000, 20261130 + n, 2000);
    state.counters["hl_coverage"] = c.hl;
    state.counters["hl_level"] = c.hl_level;
    state.counters["bootstrap_coverage"] = c.bootstrap;
  }
  state.SetLabel(dist);
}
BENCHMARK(BM_Coverage)->ArgsProduct({{0, 1}, {5, 10}})->Iterations(1)->Unit(benchmark::kSecond);

// Type-I error and power of the sequential rule (min 5, max 30 runs, alpha 0.05, family of 6
// comparisons, log-normal noise of 3%) against a fixed design of 10 runs; shift in per mille.
void BM_Sequential(benchmark::State& state) {
  greenbench::stats::SequentialOptions o;
  const double shift = static_cast<double>(state.range(0)) / 1000;
  for (auto _ : state) {
    const auto r = greenbench::stats::sim::simulate_sequential(o, 6, shift, 0.03, 10, 2000, 2026);
    state.counters["family_rejection"] = r.family_rejection;
    state.counters["power"] = r.power;
    state.counters["wrong_direction"] = r.wrong_direction;
    state.counters["equivalent"] = r.equivalent;
    state.counters["mean_runs"] = r.mean_runs;
    state.counters["fixed10_power"] = r.fixed_power;
    state.counters["fixed10_family_rejection"] = r.fixed_family_rejection;
  }
}
BENCHMARK(BM_Sequential)
    ->Arg(0)
    ->Arg(20)
    ->Arg(50)
    ->Arg(200)
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

// The ICSE study's primary comparisons (PAPER.md means, 3% noise), sequential with at most 10
// runs against the full 10-run analysis.
void BM_IcseStudy(benchmark::State& state) {
  greenbench::stats::SequentialOptions o;
  o.max_n = 10;
  for (auto _ : state) {
    const auto r = greenbench::stats::sim::simulate_icse_study(o, 0.03, 500, 48);
    state.counters["mean_runs"] = r.mean_runs;
    state.counters["agreement"] = r.agreement;
    state.counters["contradictions"] = r.contradictions;
    state.counters["fixed10_significant"] = r.fixed_significant;
  }
}
BENCHMARK(BM_IcseStudy)->Iterations(1)->Unit(benchmark::kSecond);
