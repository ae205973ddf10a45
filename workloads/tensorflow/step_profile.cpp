#include "step_profile.hpp"

#include <algorithm>
#include <cmath>

#include "greenbench/error.hpp"

namespace greenbench::workloads::tf {
namespace {

// The characters of op type names (OpDef names are [A-Za-z0-9_>]; graph functions add . and -).
bool is_type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '>' || c == '-';
}

// a − b, wrapping instead of overflowing on nonsense times from a malformed RunMetadata.
int64_t minus(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

int64_t now_system_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string pass_of_node(std::string_view node_name) {
  while (!node_name.empty()) {
    const size_t slash = node_name.find('/');
    const std::string_view part = node_name.substr(0, slash);
    if (part == "gradients") return "backward";
    if (part == "optimizer") return "optimizer";
    if (slash == std::string_view::npos) break;
    node_name.remove_prefix(slash + 1);
  }
  return "forward";
}

std::string op_type_from_label(std::string_view label, std::string_view node_name) {
  // tensorflow/core/common_runtime/executor.cc (SetTimelineLabel):
  //   "<memory>" + name + " = " + op + "(" + inputs + ")"
  if (node_name.empty()) return "";
  const std::string key = std::string(node_name) + " = ";
  size_t at = label.find(key);
  // The name must start the label or follow the memory prefix's space.
  while (at != std::string_view::npos && at != 0 && label[at - 1] != ' ') {
    at = label.find(key, at + 1);
  }
  if (at == std::string_view::npos) return "";
  const std::string_view rest = label.substr(at + key.size());
  size_t n = 0;
  while (n < rest.size() && is_type_char(rest[n])) ++n;
  if (n == 0 || n >= rest.size() || rest[n] != '(') return "";
  return std::string(rest.substr(0, n));
}

bool is_executor_device(std::string_view device) {
  const size_t at = device.rfind("/device:");
  if (at == std::string_view::npos) return false;
  // "/device:CPU:0" or "/device:GPU:0" and nothing after the index.
  std::string_view tail = device.substr(at + 8);
  const size_t colon = tail.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= tail.size()) return false;
  tail.remove_prefix(colon + 1);
  return std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void StepProfile::start() {
  start_at(now_system_ns());
  steady_origin_ = std::chrono::steady_clock::now();
}

void StepProfile::start_at(int64_t system_ns) {
  origin_ns_ = system_ns;
  steady_origin_.reset();
  ops_.clear();
  spans_.clear();
}

std::string StepProfile::op_type(const NodeExecStats& node) const {
  std::string type = op_type_from_label(node.timeline_label, node.node_name);
  if (type.empty() && graph_op_type_) type = graph_op_type_(node.node_name);
  return type.empty() ? node.node_name : type;
}

void StepProfile::add(const StepStats& stats) {
  for (const DeviceStepStats& device : stats.dev_stats) {
    if (!is_executor_device(device.device)) continue;
    for (const NodeExecStats& node : device.node_stats) {
      const int64_t start_ns = node.op_start_ns();
      const int64_t dur_ns = std::max<int64_t>(0, minus(node.op_end_ns(), start_ns));
      std::string name = op_type(node);
      // Every node the executor ran is kept, its own ones too (_SOURCE runs as a NoOp of some
      // tens of nanoseconds; _Arg/_Retval are the feeds and fetches): each is work of the
      // framework, and none is dropped by a rule that could hide real time.
      std::string pass = pass_of_node(node.node_name);
      const double dur_s = static_cast<double>(dur_ns) * 1e-9;
      OpTime& op = ops_[{name, pass}];
      if (op.calls == 0) {
        op.name = name;
        op.pass = pass;
      }
      op.self_s += dur_s;  // TensorFlow's kernels do not nest: a node's op time is its own
      ++op.calls;
      spans_.push_back(OpSpan{std::move(name), std::move(pass),
                              static_cast<double>(minus(start_ns, origin_ns_)) * 1e-9, dur_s, -1});
    }
  }
}

OpProfile StepProfile::finish() {
  // Spans are wall-clock differences from start(); they equal steady-clock ones unless the wall
  // clock was stepped meanwhile (a slew changes its rate by at most 500 ppm), which is refused.
  if (steady_origin_) {
    const double wall_s = static_cast<double>(minus(now_system_ns(), origin_ns_)) * 1e-9;
    const double steady_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - *steady_origin_).count();
    if (std::abs(wall_s - steady_s) > 1e-3 + 1e-3 * steady_s) {
      ops_.clear();
      spans_.clear();
      throw Error("tensorflow profiler: the wall clock moved by " +
                  std::to_string(wall_s - steady_s) +
                  " s against the steady clock during the profile, so the executor's wall-clock "
                  "op times cannot be placed on the steady clock; profile again");
    }
  }
  OpProfile out;
  out.profiler = kProfiler;
  for (auto& [key, op] : ops_) out.ops.push_back(std::move(op));
  out.spans = std::move(spans_);
  std::stable_sort(out.spans.begin(), out.spans.end(),
                   [](const OpSpan& a, const OpSpan& b) { return a.start_s < b.start_s; });
  ops_.clear();
  spans_.clear();
  return out;
}

}  // namespace greenbench::workloads::tf
