#pragma once
// A reader of the few RunMetadata fields the op profiler uses, written against the protobuf wire
// format (https://protobuf.dev/programming-guides/encoding/) rather than with libprotobuf.
//
// Why not libprotobuf:
// - A libprotobuf of our own next to TensorFlow's: TensorFlow's protobuf runtime and its generated
//   classes (tensorflow::RunMetadata, ...) live inside libtensorflow_framework.so.2, with their
//   own descriptor pool. A second runtime in the process that registers the same
//   tensorflow/core/protobuf/*.proto files again is an ODR violation whose failures (descriptor
//   pool clashes, "File already exists in database" aborts at load, mixed symbol resolution)
//   depend on link and load order.
// - TensorFlow's own copy: the wheel exports those symbols and ships the generated headers, but
//   they are internals outside the C API's compatibility promise. The worker would have to be
//   compiled against the exact protobuf and Abseil headers TensorFlow was built with (inline
//   namespaces and PROTOBUF_VERSION checks), for each wheel (CPU and GPU builds), and the reader
//   could no longer be tested or fuzzed without TensorFlow.
// The profiler needs a dozen scalar fields of one nested message, so a bounds-checked wire reader
// of a few hundred lines is the smaller risk. It is tested on hand-built bytes
// (tests/workloads/tf_run_metadata_test.cpp) and fuzzed (tests/fuzz/fuzz_run_metadata.cpp, with
// a RunMetadata TensorFlow returned as a seed).
//
// Field numbers (tensorflow/core/protobuf/config.proto, tensorflow/core/framework/step_stats.proto,
// checked against the generated headers of the TensorFlow wheel the worker builds against):
//   RunOptions      trace_level = 1 (enum; FULL_TRACE = 3)
//   RunMetadata     step_stats = 1
//   StepStats       dev_stats = 1 (repeated)
//   DeviceStepStats device = 1, node_stats = 2 (repeated)
//   NodeExecStats   node_name = 1, all_start_micros = 2, op_start_rel_micros = 3,
//                   op_end_rel_micros = 4, all_end_rel_micros = 5, timeline_label = 8,
//                   thread_id = 10, all_start_nanos = 13, op_start_rel_nanos = 14,
//                   op_end_rel_nanos = 15, all_end_rel_nanos = 16
// Every other field, of any wire type (groups included), is skipped. Malformed input (a varint
// longer than ten bytes, a length or fixed-width value past the end of its message, a field
// number 0, wire types 6 and 7, an end-group without its start, groups nested over 64 deep, a
// known field with a wire type other than its own, which libprotobuf would skip but TensorFlow
// never writes) throws greenbench::Error; the reader never reads outside the bytes given.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace greenbench::workloads::tf {

/// One node's execution (NodeExecStats). Times are on the wall clock (the system clock of the
/// machine that ran it); *_rel_* are relative to all_start. The nanosecond fields are 0 when the
/// producer only filled the microsecond ones.
struct NodeExecStats {
  std::string node_name;
  int64_t all_start_micros = 0;
  int64_t op_start_rel_micros = 0;
  int64_t op_end_rel_micros = 0;
  int64_t all_end_rel_micros = 0;
  int64_t all_start_nanos = 0;
  int64_t op_start_rel_nanos = 0;
  int64_t op_end_rel_nanos = 0;
  int64_t all_end_rel_nanos = 0;
  std::string timeline_label;  ///< "node = OpType(inputs)" as the executor writes it
  uint32_t thread_id = 0;
  /// The op's start and end in nanoseconds since the epoch: the nanosecond fields where set,
  /// else the microsecond ones.
  [[nodiscard]] int64_t op_start_ns() const;
  [[nodiscard]] int64_t op_end_ns() const;
};

/// The nodes one device ran in one step (DeviceStepStats).
struct DeviceStepStats {
  std::string device;
  std::vector<NodeExecStats> node_stats;
};

/// StepStats: one entry per device (and, with hardware tracing, per GPU stream).
struct StepStats {
  std::vector<DeviceStepStats> dev_stats;
};

/// Decodes the step_stats of a serialised RunMetadata; throws greenbench::Error on malformed
/// input. A message field that occurs twice is merged as protobuf does (repeated fields append,
/// the last scalar wins).
StepStats parse_run_metadata(std::string_view bytes);

/// The serialised RunOptions { trace_level: FULL_TRACE }.
std::string full_trace_run_options();

}  // namespace greenbench::workloads::tf
