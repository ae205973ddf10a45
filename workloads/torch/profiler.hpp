#pragma once
// The LibTorch worker's op profiler (workloads/common/MODELS.md, "Profiling"): a RecordFunction
// callback that times every ATen operator the profiling thread runs, with self times, passes
// and spans. Kept apart from main.cpp so that tests can drive it on plain at:: ops.
#include <memory>

#include "common/backend.hpp"

namespace greenbench::workloads {

struct OpTape;  // profiler.cpp

/// The RecordFunction user scope whose ops form the optimizer pass (the scope is not an op).
inline constexpr const char* kOptimizerScope = "greenbench::optimizer";

/// Records, between start() and stop(), every ATen operator that the thread which called start()
/// runs: its wall time less that of the operators nested in it, and its pass. Autograd nodes are
/// scopes (their operators are "backward"), as is kOptimizerScope ("optimizer"); everything else
/// is "forward". One recorder may record at a time in a process.
class OpRecorder {
 public:
  OpRecorder();
  ~OpRecorder();
  OpRecorder(const OpRecorder&) = delete;
  OpRecorder& operator=(const OpRecorder&) = delete;

  /// Starts recording on the calling thread; throws greenbench::Error when a recorder already
  /// records. Span times count from this call.
  void start();
  /// Stops recording and returns the ops (by self time, largest first) and every op's span.
  /// Throws greenbench::Error when not recording or when called on another thread.
  OpProfile stop();
  /// Whether start() was called and stop() not yet.
  [[nodiscard]] bool recording() const;

 private:
  std::unique_ptr<OpTape> tape_;
};

}  // namespace greenbench::workloads
