#pragma once
// Why a machine has no readable CPU energy counter, in plain words, with what to do about it.
#include <sys/types.h>

#include <string>
#include <vector>

namespace greenbench::energy {

/// One cause found on this machine: a short id (for JSON), what it means, and the way out.
struct CounterDiagnosis {
  std::string cause;        // no-rapl-zones, root-only, no-perf-pmu, perf-paranoid
  std::string explanation;  // one sentence
  std::string fix;          // one sentence
};

/// The causes found by looking at the powercap tree, the perf PMU and perf_event_paranoid as the
/// user `euid` sees them. Empty where nothing explains it (then the per-source reasons do).
std::vector<CounterDiagnosis> diagnose_cpu_counters(const std::string& powercap_root,
                                                    const std::string& perf_root,
                                                    const std::string& paranoid_path, uid_t euid);

/// The CPU estimate's model in words, and its known bias.
std::string cpu_estimate_model_text(double watts_per_core, double idle_watts);
extern const char* const kCpuEstimateBias;

}  // namespace greenbench::energy
