// Each check looks at the files the kernel gives, so a fake tree in a test reproduces it.
#include "energy/diagnosis.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace greenbench::energy {

namespace fs = std::filesystem;

const char* const kCpuEstimateBias =
    "every CPU second counts as a busy core at full power, so a framework whose threads "
    "spin-wait (OpenMP or oneDNN workers polling for work) is charged for the spinning as if it "
    "computed, and a framework that spins two threads looks about two cores' worth of watts "
    "more expensive than one that sleeps; frequency, vector width and memory traffic are not "
    "seen at all";

std::string cpu_estimate_model_text(double watts_per_core, double idle_watts) {
  char text[200];
  std::snprintf(text, sizeof text,
                "energy = %g W per busy core x CPU seconds of the measured processes + %g W idle "
                "x elapsed seconds",
                watts_per_core, idle_watts);
  return text;
}

std::vector<CounterDiagnosis> diagnose_cpu_counters(const std::string& powercap_root,
                                                    const std::string& perf_root,
                                                    const std::string& paranoid_path, uid_t euid) {
  std::vector<CounterDiagnosis> out;
  std::error_code ec;

  // powercap: RAPL zones named intel-rapl:N (AMD CPUs use the same driver and names).
  std::vector<fs::path> energy_files;
  for (const auto& entry : fs::directory_iterator(powercap_root, ec)) {
    if (entry.path().filename().string().rfind("intel-rapl", 0) != 0) continue;
    const fs::path file = entry.path() / "energy_uj";
    if (fs::exists(file, ec)) energy_files.push_back(file);
  }
  if (energy_files.empty()) {
    out.push_back({"no-rapl-zones",
                   "the kernel shows no RAPL zones (no " + powercap_root +
                       "/intel-rapl*): this is a virtual machine or container that does not "
                       "pass RAPL through, a CPU without RAPL (not Intel or AMD, e.g. ARM), or "
                       "the intel_rapl_msr module is not loaded",
                   "run on bare metal, or ask the hypervisor's admin to expose RAPL (e.g. "
                   "perf/MSR passthrough); on an Intel or AMD machine try 'sudo modprobe "
                   "intel_rapl_msr'"});
  } else if (euid != 0) {
    bool root_only = false;
    for (const auto& file : energy_files) {
      struct stat st {};
      if (::stat(file.c_str(), &st) != 0) continue;
      const bool other = (st.st_mode & S_IROTH) != 0;
      const bool group = (st.st_mode & S_IRGRP) != 0;
      const bool owner = (st.st_mode & S_IRUSR) != 0 && st.st_uid == euid;
      if (!other && !group && !owner) root_only = true;
    }
    if (root_only) {
      out.push_back({"root-only",
                     "the RAPL zones are there but readable by root only (Linux >= 5.10 made "
                     "energy_uj mode 0400 because of CVE-2020-8694)",
                     "run greenbench as root, or let a group read them with a udev rule "
                     "(SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chgrp -R power "
                     "/sys%p\", RUN+=\"/bin/chmod -R g+r /sys%p\") and join that group; "
                     "'greenbench sources' prints the whole recipe under rapl-powercap. Do not "
                     "make them world-readable (CVE-2020-8694)"});
    }
  }

  // perf: the 'power' PMU gives the same counters through perf_event_open.
  if (!fs::exists(fs::path(perf_root) / "power" / "type", ec)) {
    out.push_back({"no-perf-pmu",
                   "perf has no RAPL 'power' PMU (no " + perf_root +
                       "/power): the same causes as a missing powercap tree",
                   "the same fixes: bare metal, or a hypervisor that exposes RAPL"});
  } else if (euid != 0) {
    std::ifstream in(paranoid_path);
    int level = 0;
    if (in >> level && level > 0) {
      out.push_back({"perf-paranoid",
                     "perf_event_paranoid is " + std::to_string(level) +
                         ": system-wide perf events (RAPL is one) need it at 0 or below, or "
                         "the CAP_PERFMON capability",
                     "'sudo sysctl kernel.perf_event_paranoid=0' (until reboot), or 'sudo setcap "
                     "cap_perfmon+ep $(command -v greenbench)'"});
    }
  }
  return out;
}

}  // namespace greenbench::energy
