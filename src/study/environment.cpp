// What a study records about the machine it ran on.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "greenbench/study.hpp"
#include "greenbench/version.hpp"

namespace greenbench {

namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  // x86 says "model name"; some ARM kernels only give "Hardware" or "CPU part".
  for (const char* key : {"model name", "Hardware", "cpu model"}) {
    in.clear();
    in.seekg(0);
    while (std::getline(in, line)) {
      if (line.rfind(key, 0) != 0) continue;
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const auto start = line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "unknown";
}

// Only what NVML gave: a field it does not give is left out, never guessed.
nlohmann::json gpu_json(const GpuInfo& g) {
  nlohmann::json j;
  j["id"] = g.id;
  if (!g.name.empty()) j["name"] = g.name;
  if (!g.uuid.empty()) j["uuid"] = g.uuid;
  // Whether its energy is a counter reading or integrated power samples.
  j["energy_counter"] = g.energy_counter;
  j["energy_read_as"] = g.energy_counter ? "energy counter" : "power samples";
  if (g.power_sample_interval_s) j["power_sample_interval_s"] = *g.power_sample_interval_s;
  if (g.power_limit_w) j["power_limit_w"] = *g.power_limit_w;
  if (g.power_limit_default_w) j["power_limit_default_w"] = *g.power_limit_default_w;
  if (g.sm_clock_mhz) j["sm_clock_mhz"] = *g.sm_clock_mhz;
  if (g.sm_clock_max_mhz) j["sm_clock_max_mhz"] = *g.sm_clock_max_mhz;
  if (g.mem_clock_mhz) j["mem_clock_mhz"] = *g.mem_clock_mhz;
  if (g.mem_clock_max_mhz) j["mem_clock_max_mhz"] = *g.mem_clock_max_mhz;
  if (g.persistence_mode) j["persistence_mode"] = *g.persistence_mode;
  if (!g.compute_capability.empty()) j["compute_capability"] = g.compute_capability;
  return j;
}

}  // namespace

nlohmann::json capture_environment() {
  return capture_environment(SourceOptions::from_environment());
}

nlohmann::json capture_environment(const SourceOptions& sources) {
  nlohmann::json env;
  env["cpu_model"] = cpu_model();
  env["cpu_cores_online"] = sysconf(_SC_NPROCESSORS_ONLN);
  const std::string governor = first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  env["cpu_governor"] = governor.empty() ? nlohmann::json(nullptr) : nlohmann::json(governor);
  utsname u{};
  if (uname(&u) == 0) {
    env["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.version;
    env["machine"] = u.machine;
    env["hostname"] = u.nodename;
  }
  env["greenbench_version"] = kVersion;
  env["greenbench_git_revision"] = kGitRevision;
  env["framework_versions"] = nlohmann::json::object();
  env["sources"] = nlohmann::json::array();
  // The GPUs NVML measures (none recorded where NVML is not used or finds none).
  const bool nvml_used = sources.only.empty() || std::find(sources.only.begin(), sources.only.end(),
                                                           "nvml") != sources.only.end();
  if (nvml_used) {
    const GpuReport gpus = describe_gpus(sources.nvml_lib);
    if (!gpus.gpus.empty()) {
      if (!gpus.driver_version.empty()) env["gpu_driver_version"] = gpus.driver_version;
      if (!gpus.cuda_version.empty()) env["gpu_cuda_version"] = gpus.cuda_version;
      env["gpus"] = nlohmann::json::array();
      for (const auto& g : gpus.gpus) env["gpus"].push_back(gpu_json(g));
    }
  }
  return env;
}

}  // namespace greenbench
