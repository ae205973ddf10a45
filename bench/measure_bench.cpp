// What the sampler costs per tick: the meter's own bookkeeping, and a batch read of each real
// backend (powercap on a fake tree of the kernel's layout, the CPU estimate on this process).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "counting_source.hpp"
#include "energy/sources.hpp"
#include "measure/meter.hpp"
#include "measure/session.hpp"

namespace {

using namespace greenbench;

// One sampler tick as the sampler thread does it: a batch read of every source, the
// cumulative-energy update and the power-trace row.
void run_ticks(benchmark::State& state, std::vector<std::unique_ptr<EnergySource>> sources) {
  std::vector<std::string> warnings;
  measure::Meter meter(std::move(sources), &warnings);
  meter.start(0);
  measure::Session session(&meter, &warnings);
  double t = 0;
  for (auto _ : state) {
    t += 0.05;
    meter.sample(t);
    session.tick(t);
  }
  state.SetLabel(std::to_string(meter.domains().size()) + " domains");
}

void BM_SamplerTickBookkeeping(benchmark::State& state) {
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::make_unique<CountingSource>(static_cast<int>(state.range(0))));
  run_ticks(state, std::move(sources));
}
BENCHMARK(BM_SamplerTickBookkeeping)->Arg(2)->Arg(8);

void BM_SamplerMarkerPair(benchmark::State& state) {
  std::vector<std::string> warnings;
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::make_unique<CountingSource>(2));
  measure::Meter meter(std::move(sources), &warnings);
  meter.start(0);
  measure::Session session(&meter, &warnings);
  double t = 0;
  for (auto _ : state) {
    session.feed("begin step\n", t += 0.001);
    session.feed("end step\n", t += 0.001);
  }
}
BENCHMARK(BM_SamplerMarkerPair);

void BM_SamplerTickPowercap(benchmark::State& state) {
  const FakePowercapTree tree("powercap");
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::make_unique<energy::RaplPowercapSource>(tree.root()));
  run_ticks(state, std::move(sources));
}
BENCHMARK(BM_SamplerTickPowercap);

// The estimate attached to this process: its cost grows with the processes it must look at.
void BM_SamplerTickCpuEstimate(benchmark::State& state) {
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::make_unique<energy::CpuEstimateSource>(10, 0));
  sources.back()->attach(getpid());
  run_ticks(state, std::move(sources));
}
BENCHMARK(BM_SamplerTickCpuEstimate);

}  // namespace
