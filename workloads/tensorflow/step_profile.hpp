#pragma once
// Turns the StepStats of traced session runs into the worker's OpProfile (MODELS.md, Profiling):
// op type and pass per node, self time per (op type, pass), and one span per kernel execution on
// the steady clock of the worker. Free of the TensorFlow C API so it is tested on hand-built stats.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/backend.hpp"
#include "run_metadata.hpp"

namespace greenbench::workloads::tf {

/// "backward" for a node under the `gradients/` name scope (TF_AddGradientsWithPrefix), "optimizer"
/// under `optimizer/` (TfBackend::build_optimizer), "forward" otherwise. The first path component
/// that is one of the two decides, so nodes Grappler renames with a prefix of its own
/// ("ConstantFolding/gradients/...") keep their pass.
std::string pass_of_node(std::string_view node_name);

/// The op type in an executor timeline label "node = OpType(inputs)" (after an optional memory
/// prefix); "" when the label is not of that form or names another node.
std::string op_type_from_label(std::string_view label, std::string_view node_name);

/// Whether StepStats of this device hold the executor's per-node stats of a compute device
/// ("/job:localhost/replica:0/task:0/device:CPU:0", "/device:GPU:0"), rather than a hardware
/// tracer's per-stream or memcpy view of the same work ("/device:GPU:0/stream:all", ".../memcpy").
bool is_executor_device(std::string_view device);

/// Collects traced runs between start() and finish().
class StepProfile {
 public:
  /// The profiler's description in OpProfile::profiler.
  static constexpr const char* kProfiler = "TensorFlow RunMetadata step_stats (FULL_TRACE)";

  /// `graph_op_type(node_name)` gives the op type of a node of the session's graph, "" for one
  /// the graph does not hold (a node Grappler or the oneDNN rewrite created).
  explicit StepProfile(std::function<std::string(const std::string&)> graph_op_type)
      : graph_op_type_(std::move(graph_op_type)) {}

  /// Starts a profile now: span times count from this moment. The executor stamps nodes with
  /// the wall clock (system_clock, CLOCK_REALTIME); the moment is taken on both clocks, and
  /// finish() throws greenbench::Error if the wall clock was stepped against the steady one
  /// meanwhile (by more than 1 ms + 0.1%), since spans are then misplaced.
  void start();
  /// Starts a profile whose origin is the wall-clock time `system_ns` (nanoseconds since the
  /// epoch), with span times left on the wall clock (for tests).
  void start_at(int64_t system_ns);
  /// Adds the StepStats of one traced run. Only the executor's per-node stats of each device
  /// are used (is_executor_device): a hardware tracer's per-stream stats of a GPU describe the
  /// same nodes again, so adding them would count kernels twice.
  void add(const StepStats& stats);
  /// The ops, aggregated by (op type, pass), and every span, in order of start.
  OpProfile finish();

  /// The op type of a node: the executed type of its timeline label (which shows what oneDNN and
  /// Grappler rewrote it into, e.g. _MklNativeConv2D, _FusedConv2D), else its type in the graph,
  /// else the node name itself.
  [[nodiscard]] std::string op_type(const NodeExecStats& node) const;

 private:
  std::function<std::string(const std::string&)> graph_op_type_;
  int64_t origin_ns_ = 0;  ///< wall clock at start(), ns since the epoch
  std::optional<std::chrono::steady_clock::time_point> steady_origin_;  ///< unset after start_at
  std::map<std::pair<std::string, std::string>, OpTime> ops_;
  std::vector<OpSpan> spans_;
};

}  // namespace greenbench::workloads::tf
