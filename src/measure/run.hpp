#pragma once
// Internal entry points of measure_command, with the sources passed in (tests use fakes).
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "greenbench/energy.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/record.hpp"
#include "measure/meter.hpp"

namespace greenbench::measure {

/// Seconds on CLOCK_MONOTONIC, the clock every marker and reading is stamped with.
double monotonic_s();

/// Default grace period between SIGTERM and SIGKILL (MeasureOptions::kill_grace_s).
inline constexpr double kKillGraceS = 5.0;
/// Grace period between SIGTERM and SIGKILL when a stop is requested (MeasureOptions::stop).
inline constexpr double kStopGraceS = 1.0;

/// measure_command with the given sources instead of detect_sources(options.sources).
RunRecord measure_with_sources(const std::vector<std::string>& argv, const MeasureOptions& options,
                               std::vector<std::unique_ptr<EnergySource>> sources);

/// Average power per aggregate key over `seconds` of idling, read every `interval_s`; ends early
/// (averaging what it read) once *stop is set.
std::map<std::string, double> idle_power(Meter* meter, double seconds, double interval_s,
                                         const std::atomic<bool>* stop = nullptr);

/// Whether any of the meter's domains can see idle power (an estimate of a process's own CPU
/// use cannot).
bool measures_idle_power(const Meter& meter);
/// The one line that says why there is no idle power.
std::string no_idle_power_reason(const Meter& meter);

/// Effective sampling interval: options.interval_ms, shortened (with a warning) when a counter
/// could otherwise wrap twice between two readings.
double effective_interval_s(const MeasureOptions& options, const Meter& meter,
                            std::vector<std::string>* warnings);

}  // namespace greenbench::measure
