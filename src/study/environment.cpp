// What a study records about the machine it ran on.
#include <sys/utsname.h>
#include <unistd.h>

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

}  // namespace

nlohmann::json capture_environment() {
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
  return env;
}

}  // namespace greenbench
