// Cost of the statistics behind one results-table row; the bootstrap dominates.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "greenbench/stats.hpp"

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
