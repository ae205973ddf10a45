#pragma once
// A thin C++ layer over the TensorFlow C API (tensorflow/c/c_api.h): owning handles, a fluent
// operation builder and the few graph idioms the models need. Every TensorFlow failure becomes one
// greenbench::Error whose message names the operation and carries TensorFlow's own text.
#include <tensorflow/c/c_api.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/backend.hpp"

namespace greenbench::workloads::tf {

struct StatusDeleter {
  void operator()(TF_Status* s) const { TF_DeleteStatus(s); }
};
struct GraphDeleter {
  void operator()(TF_Graph* g) const { TF_DeleteGraph(g); }
};
struct TensorDeleter {
  void operator()(TF_Tensor* t) const { TF_DeleteTensor(t); }
};
struct OptionsDeleter {
  void operator()(TF_SessionOptions* o) const { TF_DeleteSessionOptions(o); }
};
struct BufferDeleter {
  void operator()(TF_Buffer* b) const { TF_DeleteBuffer(b); }
};

/// An owned TF_Tensor.
using Tensor = std::unique_ptr<TF_Tensor, TensorDeleter>;

/// An owned TF_Status with a check that throws greenbench::Error on failure.
class Status {
 public:
  Status() : s_(TF_NewStatus()) {}
  [[nodiscard]] TF_Status* get() const { return s_.get(); }
  /// Throws "<what>: <TensorFlow message>" (first line only) unless the status is OK.
  void check(std::string_view what) const;

 private:
  std::unique_ptr<TF_Status, StatusDeleter> s_;
};

/// Host tensor -> TF tensor (float32 or int64; int64 can be narrowed to int32 for index inputs).
Tensor to_tf(const HostTensor& host);
/// A float32 TF tensor of the given shape and values.
Tensor to_tf(const std::vector<int64_t>& shape, const std::vector<float>& values);
/// A float32 scalar tensor.
Tensor scalar_tf(float value);
/// TF tensor (float32 or int64/int32) -> host tensor.
HostTensor to_host(const TF_Tensor* t);

class Graph;

/// Collects the inputs and attributes of one operation; finish() adds it to the graph.
class OpBuilder {
 public:
  OpBuilder(Graph& graph, const char* type, const std::string& name);
  OpBuilder(const OpBuilder&) = delete;
  OpBuilder& operator=(const OpBuilder&) = delete;
  OpBuilder& in(TF_Output input);
  OpBuilder& in_list(const std::vector<TF_Output>& inputs);
  OpBuilder& control(TF_Operation* op);
  OpBuilder& attr(const char* name, int64_t value);
  OpBuilder& attr(const char* name, int value) { return attr(name, static_cast<int64_t>(value)); }
  OpBuilder& attr(const char* name, bool value);
  OpBuilder& attr(const char* name, float value);
  OpBuilder& attr(const char* name, TF_DataType value);
  OpBuilder& attr(const char* name, const char* value);
  OpBuilder& attr(const char* name, const std::vector<int64_t>& value);
  OpBuilder& shape(const char* name, const std::vector<int64_t>& dims);
  OpBuilder& tensor(const char* name, TF_Tensor* value);
  TF_Operation* finish();
  /// finish() and its output `index`.
  TF_Output out(int index = 0) { return {finish(), index}; }

 private:
  Graph& graph_;
  std::string type_;
  TF_OperationDescription* desc_;
};

/// A graph with unique op naming and helpers for the operations the models use.
class Graph {
 public:
  Graph() : g_(TF_NewGraph()) {}
  [[nodiscard]] TF_Graph* get() const { return g_.get(); }

  /// Starts an operation named "<scope>/<type>_<n>".
  OpBuilder build(const char* type) { return OpBuilder(*this, type, unique_name(type)); }
  /// A one-output operation with these inputs and no attributes.
  TF_Output op(const char* type, std::initializer_list<TF_Output> inputs);
  /// Names new ops under this prefix (for readable error messages); "" clears it.
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  /// Places every op added from now on on this device ("/device:GPU:0"); "" leaves placement to
  /// TensorFlow (the CPU).
  void set_device(std::string device) { device_ = std::move(device); }
  [[nodiscard]] const std::string& device() const { return device_; }
  std::string unique_name(std::string_view type);

  TF_Output placeholder(TF_DataType dtype, const std::vector<int64_t>& shape,
                        const std::string& name);
  TF_Output scalar(float value);
  TF_Output constant_f32(const std::vector<int64_t>& shape, const std::vector<float>& values);
  TF_Output constant_i32(const std::vector<int32_t>& values);  // a 1-D int32 vector
  /// Pad with zeros; `pairs` holds (before, after) for each axis.
  TF_Output pad(TF_Output x, const std::vector<int32_t>& pairs);
  TF_Output scalar_i32(int32_t value);

  // Arithmetic shorthands (broadcasting as in TensorFlow).
  TF_Output add(TF_Output a, TF_Output b) { return op("AddV2", {a, b}); }
  TF_Output sub(TF_Output a, TF_Output b) { return op("Sub", {a, b}); }
  TF_Output mul(TF_Output a, TF_Output b) { return op("Mul", {a, b}); }
  TF_Output div(TF_Output a, TF_Output b) { return op("RealDiv", {a, b}); }
  TF_Output relu(TF_Output x) { return op("Relu", {x}); }
  TF_Output matmul(TF_Output a, TF_Output b, bool transpose_a = false, bool transpose_b = false);
  TF_Output batch_matmul(TF_Output a, TF_Output b, bool adj_x = false, bool adj_y = false);
  /// Linear layer in the canonical layout: x·Wᵀ (+ b); W is [out, in].
  TF_Output linear(TF_Output x, TF_Output w, const TF_Output* b);
  TF_Output reshape(TF_Output x, const std::vector<int32_t>& shape);
  TF_Output transpose(TF_Output x, const std::vector<int32_t>& perm);
  TF_Output mean(TF_Output x, const std::vector<int32_t>& axes, bool keep_dims = false);
  TF_Output sum(TF_Output x, const std::vector<int32_t>& axes, bool keep_dims = false);
  TF_Output concat(const std::vector<TF_Output>& parts, int axis);
  TF_Output cast(TF_Output x, TF_DataType to);
  TF_Output gather(TF_Output params, TF_Output indices, int axis = 0);
  TF_Output stop_gradient(TF_Output x) { return op("StopGradient", {x}); }
  /// Resource variable: creates VarHandleOp; the initial value is assigned via initializer().
  TF_Output variable(const std::string& name, const std::vector<int64_t>& shape);
  TF_Output read(TF_Output handle);
  TF_Operation* assign(TF_Output handle, TF_Output value, std::vector<TF_Operation*> after = {});
  /// A NoOp that runs after all of these.
  TF_Operation* group(const std::vector<TF_Operation*>& ops, const std::string& name);

  /// Adds d(y)/d(xs) to the graph; unreachable xs yield {nullptr, 0}.
  std::vector<TF_Output> gradients(TF_Output y, const std::vector<TF_Output>& xs);

 private:
  std::unique_ptr<TF_Graph, GraphDeleter> g_;
  std::string scope_;
  std::string device_;
  int64_t counter_ = 0;
};

/// A session on a graph with fixed intra-/inter-op thread counts, with or without Grappler;
/// `soft_placement` lets ops without a kernel on the graph's device run on the CPU.
class Session {
 public:
  Session(Graph& graph, int intra_threads, int inter_threads, bool grappler,
          bool soft_placement = false);
  /// The C API session (partial runs: TF_SessionPRunSetup / TF_SessionPRun).
  [[nodiscard]] TF_Session* get() const { return s_; }
  /// The names of the devices the session can use ("/job:localhost/.../device:GPU:0", ...).
  [[nodiscard]] std::vector<std::string> devices() const;
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  /// One TF_SessionRun: feeds, fetches and target operations. With `run_metadata`, the run is
  /// traced (RunOptions.trace_level = FULL_TRACE) and the serialised RunMetadata it returns is
  /// stored there.
  std::vector<Tensor> run(const std::vector<std::pair<TF_Output, TF_Tensor*>>& feeds,
                          const std::vector<TF_Output>& fetches,
                          const std::vector<TF_Operation*>& targets = {},
                          std::string* run_metadata = nullptr);

 private:
  TF_Session* s_ = nullptr;
};

/// The serialised ConfigProto with intra_op_parallelism_threads (field 2),
/// inter_op_parallelism_threads (field 5) and, unless `grappler`, Grappler's meta optimizer
/// disabled, and allow_soft_placement (field 7) when asked; encoded by hand so no protobuf headers
/// are needed.
std::string session_config_proto(int intra_threads, int inter_threads, bool grappler,
                                 bool soft_placement = false);

}  // namespace greenbench::workloads::tf
