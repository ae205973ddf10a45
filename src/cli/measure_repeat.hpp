#pragma once
// `greenbench measure --runs N`: repeated, interleaved measurement of one or more commands.
#include <string>
#include <vector>

#include "greenbench/measure.hpp"

namespace greenbench::cli {

/// What the command line asked for in repeated mode.
struct RepeatRequest {
  std::vector<std::vector<std::string>> commands;  ///< one argv per command, in order
  int runs = 0;                                    ///< measured runs per command (>= 1)
  int warmup = 0;                                  ///< unmeasured runs per command first
  std::string prepare;                             ///< run by /bin/sh -c before every run
  MeasureOptions options;                          ///< for every run
  bool quiet = false;                              ///< no summary on stderr
  bool status_line = true;                         ///< live status line where stderr is a tty
  bool show_output = false;  ///< the commands use our stdin/stdout/stderr (else /dev/null, and
                             ///< stderr kept for the reason of a failed run)
  std::string export_json, export_csv, export_markdown;  ///< "" = not written; "-" = stdout
};

/// Runs the request and prints the summary; returns the exit status: 0 when every measured run
/// succeeded, 1 when one failed (a line says which), 128+N when stopped by signal N.
int measure_repeated(RepeatRequest request);

}  // namespace greenbench::cli
