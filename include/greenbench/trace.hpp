#pragma once
/// Perfetto / Chrome trace-event JSON of one measured run: power over time and its phases.
#include <ostream>

#include "greenbench/record.hpp"

namespace greenbench {

/// Writes {"traceEvents":[...]} with a counter track ("ph":"C") of power per domain and a
/// complete event ("ph":"X", microseconds) per phase; opens in ui.perfetto.dev and
/// chrome://tracing.
void write_chrome_trace(const RunRecord& record, std::ostream& out);

}  // namespace greenbench
