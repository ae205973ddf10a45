// What a step marker costs: in the worker (markers::step, one write() to the marker pipe) and
// in the harness (one line parsed, every source read, the step's energy kept).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "counting_source.hpp"
#include "energy/sources.hpp"
#include "greenbench/markers.hpp"
#include "measure/meter.hpp"
#include "measure/session.hpp"

namespace {

using namespace greenbench;

// A marker pipe with a thread that drains it, as the harness's sampler does; while it exists the
// client's descriptor points at its write end.
class DrainedPipe {
 public:
  DrainedPipe() {
    if (pipe2(fds_, O_CLOEXEC) != 0) std::abort();
    reader_ = std::thread([this] {
      char buf[65536];
      while (read(fds_[0], buf, sizeof buf) > 0) {
      }
    });
    markers::detail::fd() = fds_[1];
  }
  ~DrainedPipe() {
    markers::detail::fd() = -1;
    close(fds_[1]);
    reader_.join();
    close(fds_[0]);
  }

 private:
  int fds_[2] = {-1, -1};
  std::thread reader_;
};

void BM_WorkerStepNotMeasured(benchmark::State& state) {
  markers::detail::fd() = -1;
  int64_t t = 0;
  for (auto _ : state) markers::step(t++);
}
BENCHMARK(BM_WorkerStepNotMeasured);

void BM_WorkerStep(benchmark::State& state) {
  DrainedPipe pipe;
  int64_t t = 0;
  for (auto _ : state) markers::step(t++);
}
BENCHMARK(BM_WorkerStep)->UseRealTime();

// For comparison: a metric line (formats a double, builds a string).
void BM_WorkerMetric(benchmark::State& state) {
  DrainedPipe pipe;
  double v = 0;
  for (auto _ : state) markers::metric("loss", v += 0.25);
}
BENCHMARK(BM_WorkerMetric)->UseRealTime();

// One step line as the harness handles it: parsed, every source read once, the step kept. The
// lines a step marker can arrive at, per second, are the inverse of this time.
void run_step_lines(benchmark::State& state, std::vector<std::unique_ptr<EnergySource>> sources) {
  std::vector<std::string> warnings;
  measure::Meter meter(std::move(sources), &warnings);
  meter.start(0);
  measure::Session session(&meter, &warnings);
  double t = 0;
  session.feed("begin train\n", t += 1e-4);
  char line[40];
  int64_t i = 0;
  for (auto _ : state) {
    const int n = std::snprintf(line, sizeof line, "step %lld\n", static_cast<long long>(i++));
    session.feed(std::string_view(line, static_cast<std::size_t>(n)), t += 1e-4);
  }
  state.SetLabel(std::to_string(meter.domains().size()) + " domains");
}

void BM_HarnessStepLineBookkeeping(benchmark::State& state) {
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::make_unique<CountingSource>(static_cast<int>(state.range(0))));
  run_step_lines(state, std::move(sources));
}
BENCHMARK(BM_HarnessStepLineBookkeeping)->Arg(2)->Arg(8);

void BM_HarnessStepLinePowercap(benchmark::State& state) {
  const FakePowercapTree tree("step-powercap");
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::make_unique<energy::RaplPowercapSource>(tree.root()));
  run_step_lines(state, std::move(sources));
}
BENCHMARK(BM_HarnessStepLinePowercap);

void BM_HarnessStepLineCpuEstimate(benchmark::State& state) {
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::make_unique<energy::CpuEstimateSource>(10, 0));
  sources.back()->attach(getpid());
  run_step_lines(state, std::move(sources));
}
BENCHMARK(BM_HarnessStepLineCpuEstimate);

}  // namespace
