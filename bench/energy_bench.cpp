// Cost of one read() of the energy sources the sampler calls on every tick.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "energy/sources.hpp"

namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// Two sockets: package, core and dram per socket, as the kernel lays them out.
fs::path make_powercap_tree() {
  std::string pattern = (fs::temp_directory_path() / "greenbench-bench-XXXXXX").string();
  const fs::path root = mkdtemp(pattern.data());
  for (int s = 0; s < 2; ++s) {
    const std::string zone = "intel-rapl:" + std::to_string(s);
    write_file(root / zone / "name", "package-" + std::to_string(s) + "\n");
    write_file(root / zone / "energy_uj", "123456789012\n");
    write_file(root / zone / "max_energy_range_uj", "262143328850\n");
    const char* subs[] = {"core", "dram"};
    for (int m = 0; m < 2; ++m) {
      const std::string sub = zone + ":" + std::to_string(m);
      write_file(root / zone / sub / "name", std::string(subs[m]) + "\n");
      write_file(root / zone / sub / "energy_uj", "23456789012\n");
      write_file(root / zone / sub / "max_energy_range_uj", "65712999613\n");
      fs::create_directory_symlink(zone + "/" + sub, root / sub);
    }
  }
  return root;
}

void BM_PowercapRead(benchmark::State& state) {
  const fs::path root = make_powercap_tree();
  {
    greenbench::energy::RaplPowercapSource source(root.string());
    if (source.domains().size() != 6) state.SkipWithError("fake tree not recognised");
    for (auto _ : state) benchmark::DoNotOptimize(source.read());
    state.counters["domains"] = static_cast<double>(source.domains().size());
  }
  fs::remove_all(root);
}
BENCHMARK(BM_PowercapRead);

void BM_CpuEstimateReadUnattached(benchmark::State& state) {
  greenbench::energy::CpuEstimateSource source;
  for (auto _ : state) benchmark::DoNotOptimize(source.read());
}
BENCHMARK(BM_CpuEstimateReadUnattached);

// Attached to a sleeping child. Arg 1: descendants found through the children files (what the
// source does); arg 0: through a scan of every process in /proc (the fallback).
void BM_CpuEstimateReadAttached(benchmark::State& state) {
  const pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  if (state.range(0) == 1) {
    greenbench::energy::CpuEstimateSource source;
    source.attach(child);
    for (auto _ : state) benchmark::DoNotOptimize(source.read());
  } else {
    greenbench::energy::ProcessTreeCpu tree;
    tree.attach(child, false);
    for (auto _ : state) benchmark::DoNotOptimize(tree.cpu_seconds());
  }
  int processes = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    processes += name.find_first_not_of("0123456789") == std::string::npos ? 1 : 0;
  }
  state.counters["processes"] = processes;
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}
BENCHMARK(BM_CpuEstimateReadAttached)->Arg(1)->Arg(0);

}  // namespace
