#pragma once
/// Measuring a command: spawn it, sample the energy sources, attribute energy to its phases.
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "greenbench/energy.hpp"
#include "greenbench/record.hpp"

namespace greenbench {

/// What a running measurement shows on a live status line (MeasureOptions::on_status).
struct LiveStatus {
  double elapsed_s = 0;           ///< since the command started
  std::string phase = "run";      ///< innermost open marker phase; "run" when none is open
  std::vector<std::string> keys;  ///< "total", then domain sums ("cpu_package", "gpu", ...)
  std::vector<double> power_w;    ///< parallel to keys: mean power since the previous status
  std::vector<bool> estimated;    ///< parallel to keys: the value comes from a model
};

/// How to measure one command.
struct MeasureOptions {
  SourceOptions sources;               ///< which energy sources, where to find them
  int interval_ms = 50;                ///< sampler period; shortened if a counter could wrap twice
  double idle_baseline_s = 0;          ///< measure idle power this long first; 0 = no baseline
  double timeout_s = 0;                ///< 0 = none; else SIGTERM at expiry, SIGKILL 5 s later
  double kill_grace_s = 5;             ///< from SIGTERM to SIGKILL (timeout, leftovers)
  bool forward_signals = true;         ///< forward SIGINT/SIGTERM received by us to the command
  bool keep_trace = true;              ///< keep the power trace in the record
  std::vector<std::string> extra_env;  ///< "KEY=VALUE" added to the command's environment
  std::string working_dir;             ///< "" = ours
  std::string stdin_path;   ///< "" = inherit (and lend the terminal); else read from this file
  std::string stdout_path;  ///< "" = inherit; else the command's stdout goes to this file
  std::string stderr_path;  ///< "" = inherit; else the command's stderr goes to this file
  /// Set (e.g. by a SIGINT handler) to end the command early: SIGTERM to its process group,
  /// SIGKILL 1 s later; an idle baseline in progress ends at once. Null = never.
  const std::atomic<bool>* stop = nullptr;
  /// Marks every process of the run in its environment as GREENBENCH_RUN_ID; "" = a fresh id.
  std::string run_id;
  /// Called from the measuring thread on each marker line the command writes (for progress).
  std::function<void(const std::string& line)> on_marker;
  /// Called from the measuring thread about every status_interval_s while the command runs (for
  /// a live status line); never called when empty.
  std::function<void(const LiveStatus& status)> on_status;
  double status_interval_s = 0.25;  ///< period of on_status
};

/// Runs argv (execvp, no shell) under measurement and returns its record; never throws for
/// anything the command does (a command that cannot start gives exit_code 127 and a warning).
/// Every process the command starts ends with it: when the command exits, what it left running
/// gets SIGTERM, then SIGKILL after kill_grace_s (the record warns how many); if we die, a
/// watchdog process kills the run's processes. While it runs, this process is a child subreaper.
RunRecord measure_command(const std::vector<std::string>& argv, const MeasureOptions& options);

/// Average power per domain ("cpu_package", "dram", "gpu", "total", per-device ids) over
/// `seconds` of doing nothing, read with the sources options.sources selects. Empty, at once,
/// when those sources cannot see idle power (only the CPU estimate); ends early on options.stop.
std::map<std::string, double> measure_idle_power(const MeasureOptions& options, double seconds);

/// Whether the sources options.sources selects can measure idle power at all (not when only the
/// CPU estimate, which sees nothing but the measured command's own CPU time, is readable).
bool idle_power_measurable(const MeasureOptions& options);

/// SIGKILLs every process whose environment carries GREENBENCH_RUN_ID=run_id (left behind by a
/// greenbench that was killed together with its watchdog); returns how many it found.
int kill_leftover_processes(const std::string& run_id);

}  // namespace greenbench
