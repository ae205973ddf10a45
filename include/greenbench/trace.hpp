#pragma once
/// Perfetto / Chrome trace-event JSON of measured runs: power over time, phases, and extra
/// tracks of spans (a profile's op executions).
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "greenbench/record.hpp"

namespace greenbench {

/// One span of an extra track: a complete event ("ph":"X").
struct TraceSpan {
  std::string name;
  std::string category;  ///< the event's "cat"
  double start_s = 0;    ///< seconds since the run's command started (the record's clock)
  double duration_s = 0;
  std::map<std::string, double> numbers;     ///< args with a number value (e.g. "step")
  std::map<std::string, std::string> texts;  ///< args with a text value (e.g. "pass")
};

/// A named track of spans beside a run's phases.
struct TraceTrack {
  std::string name;
  std::vector<TraceSpan> spans;
};

/// One run of a trace: its record (phases, power samples), the name its process gets in the
/// viewer, and extra tracks.
struct TraceRun {
  const RunRecord* record = nullptr;
  std::string process_name;
  std::string other_prefix;  ///< put before this run's otherData keys ("" = none)
  std::vector<TraceTrack> tracks;
};

/// Writes {"traceEvents":[...]} with a counter track ("ph":"C") of power per domain and a
/// complete event ("ph":"X", microseconds) per phase; opens in ui.perfetto.dev and
/// chrome://tracing.
void write_chrome_trace(const RunRecord& record, std::ostream& out);

/// The same for several runs, one process each (pid 1, 2, … in order), each with its phases
/// (thread 1), its power counters and its extra tracks (threads 2, 3, …).
void write_chrome_trace(const std::vector<TraceRun>& runs, std::ostream& out);

}  // namespace greenbench
