#pragma once
/// Measuring a command: spawn it, sample the energy sources, attribute energy to its phases.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "greenbench/energy.hpp"
#include "greenbench/record.hpp"

namespace greenbench {

/// How to measure one command.
struct MeasureOptions {
  SourceOptions sources;               ///< which energy sources, where to find them
  int interval_ms = 50;                ///< sampler period; shortened if a counter could wrap twice
  double idle_baseline_s = 0;          ///< measure idle power this long first; 0 = no baseline
  double timeout_s = 0;                ///< 0 = none; else SIGTERM at expiry, SIGKILL 5 s later
  bool forward_signals = true;         ///< forward SIGINT/SIGTERM received by us to the command
  bool keep_trace = true;              ///< keep the power trace in the record
  std::vector<std::string> extra_env;  ///< "KEY=VALUE" added to the command's environment
  std::string working_dir;             ///< "" = ours
  std::string stdout_path;  ///< "" = inherit; else the command's stdout goes to this file
  std::string stderr_path;  ///< "" = inherit; else the command's stderr goes to this file
  /// Called from the measuring thread on each marker line the command writes (for progress).
  std::function<void(const std::string& line)> on_marker;
};

/// Runs argv (execvp, no shell) under measurement and returns its record; never throws for
/// anything the command does (a command that cannot start gives exit_code 127 and a warning).
RunRecord measure_command(const std::vector<std::string>& argv, const MeasureOptions& options);

/// Average power per domain ("cpu_package", "dram", "gpu", "total", per-device ids) over
/// `seconds` of doing nothing, read with the sources options.sources selects.
std::map<std::string, double> measure_idle_power(const MeasureOptions& options, double seconds);

}  // namespace greenbench
