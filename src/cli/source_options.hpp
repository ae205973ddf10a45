#pragma once
// The energy-source options shared by `greenbench sources` and `greenbench measure`.
#include <cstddef>

#include "cli/commands.hpp"
#include "greenbench/energy.hpp"

namespace greenbench::cli {

/// Help text for the options parse_source_option() accepts, one per line, indented by two.
extern const char* const kSourceOptionsHelp;

/// If args[i] is a source option (--powercap-root DIR, --perf-root DIR, --nvml-lib PATH,
/// --cpu-watts-per-core W, --cpu-idle-watts W, --source NAME[,NAME]; also as --opt=VALUE),
/// stores it in `options`, leaves `i` on the last argument it used and returns true; returns
/// false for any other argument. Throws Error when the value is missing or invalid.
bool parse_source_option(const Args& args, std::size_t& i, SourceOptions& options);

/// Throws Error, before anything is measured, when a source asked for by name (--source, or a
/// study's `sources`) cannot be read here: one line naming the source, why, and the fix.
/// A source that is readable but left unused (perf where powercap reads every RAPL domain, the
/// CPU estimate where a CPU counter is readable) is not an error.
void check_requested_sources(const SourceOptions& options);

}  // namespace greenbench::cli
