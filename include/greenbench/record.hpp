#pragma once
/// The record of one measured run, as `greenbench measure --json` writes it (contract).
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace greenbench {

/// A source used in the measurement.
struct SourceRecord {
  std::string name;
  std::string quality;  ///< "measured" | "estimated"
  std::vector<std::string> domains;
  std::string parameters;  ///< the power model of an estimate; empty for counters
};

/// One phase: the whole process ("run") or a marker phase.
struct PhaseRecord {
  std::string name;
  double start_s = 0;  ///< seconds since the command started
  double end_s = 0;
  double duration_s = 0;
  std::map<std::string, double> energy_j;  ///< domain (and "total", "cpu_package:0"…) -> J
  /// domain -> "measured" | "estimated" | "failed"; a failed domain (its source stopped being
  /// readable during the phase) has no entry in energy_j, nor has any sum containing it.
  std::map<std::string, std::string> quality;
  /// energy_j minus idle power × duration, per domain with an idle power; only with a baseline.
  std::map<std::string, double> energy_above_idle_j;
  /// Per energy key: the smallest difference the value can resolve (contract
  /// `energy_resolution_j`): both boundary readings' steps, the sources' update interval × the
  /// phase's power, and float rounding.
  std::map<std::string, double> energy_resolution_j;
  bool closed_at_exit = false;  ///< left open by the command, closed by us
};

/// A `metric` marker line.
struct MetricRecord {
  std::string name;
  double value = 0;  ///< as the command wrote it: NaN and ±infinity are kept
  std::string unit;
  std::string phase;  ///< innermost open phase when it arrived ("run" if none)
};

/// A `step` marker line: the energy of one training step or inference batch, read from the
/// counters when the line arrived (the previous step line of the same phase, or the phase's
/// begin, being its start). Every source is read at every step line, as at a begin or end: a
/// value is as measured (or estimated) as the phase's.
struct StepRecord {
  std::string phase;  ///< innermost open phase when it arrived ("run" if none)
  int64_t index = 0;  ///< as the command wrote it (the last line's, where count > 1)
  /// Step lines it covers: 1, except in a phase with more than 10 000 of them, whose records
  /// after the first merge runs of consecutive steps (sums of their time and energy).
  int64_t count = 1;
  double t_s = 0;         ///< seconds since the command started, at the end of the step
  double duration_s = 0;  ///< since the previous step line of the phase, or the phase's begin
  std::map<std::string, double> energy_j;      ///< domain key -> J, as PhaseRecord::energy_j
  std::map<std::string, std::string> quality;  ///< as PhaseRecord::quality
  /// As PhaseRecord::energy_resolution_j, over this step: for a step shorter than a source's
  /// update interval (a power-sampled GPU, the CPU estimate's clock tick) it can exceed the value.
  std::map<std::string, double> energy_resolution_j;
};

/// One row of the power trace: average power per domain over the interval ending at t_s.
struct PowerSample {
  double t_s = 0;
  std::vector<double> power_w;  ///< parallel to RunRecord::trace_domains
};

/// Everything one measured run produced.
struct RunRecord {
  std::vector<std::string> command;
  int exit_code = 0;  ///< the command's exit status; 128+N when killed by signal N; 127 not started
  int term_signal = 0;  ///< the signal that killed it, 0 if it exited
  bool timed_out = false;
  double duration_s = 0;
  std::vector<SourceRecord> sources;
  std::vector<PhaseRecord> phases;  ///< "run" first, then marker phases in order of beginning
  std::vector<MetricRecord> metrics;
  std::map<std::string, double> idle_power_w;
  std::vector<std::string> warnings;
  std::map<std::string, std::string> info;  ///< `info` marker lines
  std::vector<StepRecord> steps;            ///< `step` marker lines, in order
  std::vector<std::string> trace_domains;
  std::vector<PowerSample> trace;
};

/// The step energies of one phase in brief (what `greenbench measure` prints per phase).
struct StepSummary {
  std::string phase;
  std::string key;        ///< the energy key summarised: "total" where the steps have it
  std::string quality;    ///< of that key over the phase's steps: "estimated" if any step's was
  std::size_t steps = 0;  ///< step lines with a value for the key (records × their count)
  double first_j = 0;     ///< the first step's energy
  double median_j = 0;    ///< median over its records of the energy per step (energy / count)
  /// Median of the records' energy_resolution_j per step for the key; NaN where none is known.
  /// A step energy below it is not resolved (steps shorter than the sources update).
  double median_resolution_j = 0;
  /// Median of the last tenth of the records over the median of the first tenth (a tenth being
  /// at least one record; per step, as median_j); NaN with fewer than two records or a first
  /// tenth of 0 J.
  double drift = 0;
};

/// One summary per phase with step records, in order of the phase's first step; the key is
/// "total" where the steps have it, else the first key in the steps' energy.
std::vector<StepSummary> summarize_steps(const RunRecord& record);

/// Sets the record's idle power (W per domain key) and each phase's energy_above_idle_j:
/// energy − idle power × duration, for every key with both a value and an idle power.
void set_idle_power(RunRecord* record, const std::map<std::string, double>& idle_power_w);

/// Why a record cannot be used as a measurement although the command succeeded: an energy value
/// of quality "failed" (a source stopped being readable), or a metric that is NaN or infinite.
/// Names the source, domain and time, or the metric; nothing when the record is valid.
std::optional<std::string> invalid_reason(const RunRecord& record);

/// The contract JSON of a record (trace left out unless with_trace). Non-finite metric values
/// are written as the strings "nan", "inf" and "-inf" (JSON has no such numbers), a power sample
/// without a value as null.
nlohmann::json to_json(const RunRecord& record, bool with_trace = false);
/// Parses what to_json wrote; throws Error naming the field that is wrong.
RunRecord run_record_from_json(const nlohmann::json& j);

}  // namespace greenbench
