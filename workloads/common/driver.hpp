#pragma once
// The worker driver shared by greenbench-torch and greenbench-tf: arguments, settings, data,
// initial weights, checkpoints, phase markers and metrics. A worker's main is one line:
//   int main(int argc, char** argv) { MyBackend b; return run_worker(argc, argv, b); }
#include <stdexcept>
#include <string>
#include <vector>

#include "common/backend.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"

namespace greenbench::workloads {

/// Parses worker arguments (argv[0] excluded) into Settings with the preset's effective values;
/// throws greenbench::Error naming the bad flag or value. `--help` sets describe=false and returns
/// with help=true.
struct ParsedArgs {
  Settings settings;
  bool help = false;
};
[[nodiscard]] ParsedArgs parse_worker_args(const std::vector<std::string>& args);

/// Usage text of a worker program.
[[nodiscard]] std::string worker_usage(const std::string& program);

/// Runs a worker: parses arguments, then describes, trains or infers with `backend`. Returns the
/// process exit status (0 ok, 2 bad arguments or unavailable device, 1 other failure); errors are
/// printed as one line on stderr.
int run_worker(int argc, char** argv, Backend& backend);

/// Thrown by a backend's build() when the requested device is not available (exit status 2).
struct DeviceUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace greenbench::workloads
