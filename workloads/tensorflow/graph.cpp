#include "graph.hpp"

#include <cstring>

#include "greenbench/error.hpp"
#include "run_metadata.hpp"

namespace greenbench::workloads::tf {
namespace {

std::string first_line(const char* text) {
  std::string s(text == nullptr ? "" : text);
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor allocate(TF_DataType dtype, const std::vector<int64_t>& shape, size_t element_size) {
  const auto n = static_cast<size_t>(element_count(shape));
  Tensor t(
      TF_AllocateTensor(dtype, shape.data(), static_cast<int>(shape.size()), n * element_size));
  if (!t) throw Error("tensorflow: cannot allocate a tensor of " + std::to_string(n) + " elements");
  return t;
}

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

}  // namespace

void Status::check(std::string_view what) const {
  if (TF_GetCode(s_.get()) != TF_OK) {
    throw Error("tensorflow: " + std::string(what) + ": " + first_line(TF_Message(s_.get())));
  }
}

Tensor to_tf(const HostTensor& host) {
  if (host.dtype == HostTensor::DType::kF32) return to_tf(host.shape, host.f32);
  Tensor t = allocate(TF_INT64, host.shape, sizeof(int64_t));
  if (host.i64.size() != static_cast<size_t>(element_count(host.shape))) {
    throw Error("tensorflow: int64 host tensor has " + std::to_string(host.i64.size()) +
                " values for its shape");
  }
  std::memcpy(TF_TensorData(t.get()), host.i64.data(), host.i64.size() * sizeof(int64_t));
  return t;
}

Tensor to_tf(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  if (values.size() != static_cast<size_t>(element_count(shape))) {
    throw Error("tensorflow: float host tensor has " + std::to_string(values.size()) +
                " values for its shape");
  }
  Tensor t = allocate(TF_FLOAT, shape, sizeof(float));
  std::memcpy(TF_TensorData(t.get()), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor scalar_tf(float value) { return to_tf({}, {value}); }

HostTensor to_host(const TF_Tensor* t) {
  HostTensor h;
  const int rank = TF_NumDims(t);
  for (int i = 0; i < rank; ++i) h.shape.push_back(TF_Dim(t, i));
  const auto n = static_cast<size_t>(TF_TensorElementCount(t));
  const void* data = TF_TensorData(t);
  switch (TF_TensorType(t)) {
    case TF_FLOAT:
      h.dtype = HostTensor::DType::kF32;
      h.f32.resize(n);
      if (n > 0) std::memcpy(h.f32.data(), data, n * sizeof(float));
      break;
    case TF_INT64:
      h.dtype = HostTensor::DType::kI64;
      h.i64.resize(n);
      if (n > 0) std::memcpy(h.i64.data(), data, n * sizeof(int64_t));
      break;
    case TF_INT32: {
      h.dtype = HostTensor::DType::kI64;
      const auto* p = static_cast<const int32_t*>(data);
      h.i64.assign(p, p + n);
      break;
    }
    default:
      throw Error("tensorflow: cannot convert a tensor of dtype " +
                  std::to_string(static_cast<int>(TF_TensorType(t))) + " to the host");
  }
  return h;
}

OpBuilder::OpBuilder(Graph& graph, const char* type, const std::string& name)
    : graph_(graph), type_(type), desc_(TF_NewOperation(graph.get(), type, name.c_str())) {
  if (!graph.device().empty()) TF_SetDevice(desc_, graph.device().c_str());
}

OpBuilder& OpBuilder::in(TF_Output input) {
  if (input.oper == nullptr) throw Error("tensorflow: " + type_ + ": missing input");
  TF_AddInput(desc_, input);
  return *this;
}

OpBuilder& OpBuilder::in_list(const std::vector<TF_Output>& inputs) {
  TF_AddInputList(desc_, inputs.data(), static_cast<int>(inputs.size()));
  return *this;
}

OpBuilder& OpBuilder::control(TF_Operation* op) {
  TF_AddControlInput(desc_, op);
  return *this;
}

OpBuilder& OpBuilder::attr(const char* name, int64_t value) {
  TF_SetAttrInt(desc_, name, value);
  return *this;
}
OpBuilder& OpBuilder::attr(const char* name, bool value) {
  TF_SetAttrBool(desc_, name, static_cast<unsigned char>(value));
  return *this;
}
OpBuilder& OpBuilder::attr(const char* name, float value) {
  TF_SetAttrFloat(desc_, name, value);
  return *this;
}
OpBuilder& OpBuilder::attr(const char* name, TF_DataType value) {
  TF_SetAttrType(desc_, name, value);
  return *this;
}
OpBuilder& OpBuilder::attr(const char* name, const char* value) {
  TF_SetAttrString(desc_, name, value, std::strlen(value));
  return *this;
}
OpBuilder& OpBuilder::attr(const char* name, const std::vector<int64_t>& value) {
  TF_SetAttrIntList(desc_, name, value.data(), static_cast<int>(value.size()));
  return *this;
}
OpBuilder& OpBuilder::shape(const char* name, const std::vector<int64_t>& dims) {
  TF_SetAttrShape(desc_, name, dims.data(), static_cast<int>(dims.size()));
  return *this;
}
OpBuilder& OpBuilder::tensor(const char* name, TF_Tensor* value) {
  Status s;
  TF_SetAttrTensor(desc_, name, value, s.get());
  s.check(type_ + " attribute " + name);
  return *this;
}

TF_Operation* OpBuilder::finish() {
  Status s;
  TF_Operation* op = TF_FinishOperation(desc_, s.get());
  desc_ = nullptr;
  s.check("building " + type_);
  return op;
}

std::string Graph::unique_name(std::string_view type) {
  std::string name;
  if (!scope_.empty()) {
    name += scope_;
    name += '/';
  }
  name += type;
  name += '_';
  name += std::to_string(counter_++);
  return name;
}

TF_Output Graph::op(const char* type, std::initializer_list<TF_Output> inputs) {
  OpBuilder b = build(type);
  for (const TF_Output& i : inputs) b.in(i);
  return b.out();
}

TF_Output Graph::placeholder(TF_DataType dtype, const std::vector<int64_t>& shape,
                             const std::string& name) {
  OpBuilder b(*this, "Placeholder", name);
  b.attr("dtype", dtype).shape("shape", shape);
  return b.out();
}

TF_Output Graph::scalar(float value) { return constant_f32({}, {value}); }

TF_Output Graph::constant_f32(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  Tensor t = to_tf(shape, values);
  return build("Const").attr("dtype", TF_FLOAT).tensor("value", t.get()).out();
}

TF_Output Graph::constant_i32(const std::vector<int32_t>& values) {
  const std::vector<int64_t> shape{static_cast<int64_t>(values.size())};
  Tensor t = allocate(TF_INT32, shape, sizeof(int32_t));
  if (!values.empty()) {
    std::memcpy(TF_TensorData(t.get()), values.data(), values.size() * sizeof(int32_t));
  }
  return build("Const").attr("dtype", TF_INT32).tensor("value", t.get()).out();
}

TF_Output Graph::pad(TF_Output x, const std::vector<int32_t>& pairs) {
  const std::vector<int64_t> shape{static_cast<int64_t>(pairs.size() / 2), 2};
  Tensor t = allocate(TF_INT32, shape, sizeof(int32_t));
  std::memcpy(TF_TensorData(t.get()), pairs.data(), pairs.size() * sizeof(int32_t));
  TF_Output paddings = build("Const").attr("dtype", TF_INT32).tensor("value", t.get()).out();
  return op("Pad", {x, paddings});
}

TF_Output Graph::scalar_i32(int32_t value) {
  Tensor t = allocate(TF_INT32, {}, sizeof(int32_t));
  std::memcpy(TF_TensorData(t.get()), &value, sizeof value);
  return build("Const").attr("dtype", TF_INT32).tensor("value", t.get()).out();
}

TF_Output Graph::matmul(TF_Output a, TF_Output b, bool transpose_a, bool transpose_b) {
  return build("MatMul")
      .in(a)
      .in(b)
      .attr("transpose_a", transpose_a)
      .attr("transpose_b", transpose_b)
      .out();
}

TF_Output Graph::batch_matmul(TF_Output a, TF_Output b, bool adj_x, bool adj_y) {
  return build("BatchMatMulV2").in(a).in(b).attr("adj_x", adj_x).attr("adj_y", adj_y).out();
}

TF_Output Graph::linear(TF_Output x, TF_Output w, const TF_Output* b) {
  TF_Output y = matmul(x, w, false, true);
  return b == nullptr ? y : build("BiasAdd").in(y).in(*b).out();
}

TF_Output Graph::reshape(TF_Output x, const std::vector<int32_t>& shape) {
  return op("Reshape", {x, constant_i32(shape)});
}

TF_Output Graph::transpose(TF_Output x, const std::vector<int32_t>& perm) {
  return op("Transpose", {x, constant_i32(perm)});
}

TF_Output Graph::mean(TF_Output x, const std::vector<int32_t>& axes, bool keep_dims) {
  return build("Mean").in(x).in(constant_i32(axes)).attr("keep_dims", keep_dims).out();
}

TF_Output Graph::sum(TF_Output x, const std::vector<int32_t>& axes, bool keep_dims) {
  return build("Sum").in(x).in(constant_i32(axes)).attr("keep_dims", keep_dims).out();
}

TF_Output Graph::concat(const std::vector<TF_Output>& parts, int axis) {
  return build("ConcatV2")
      .in_list(parts)
      .in(scalar_i32(axis))
      .attr("N", static_cast<int64_t>(parts.size()))
      .out();
}

TF_Output Graph::cast(TF_Output x, TF_DataType to) {
  return build("Cast").in(x).attr("DstT", to).out();
}

TF_Output Graph::gather(TF_Output params, TF_Output indices, int axis) {
  return build("GatherV2").in(params).in(indices).in(scalar_i32(axis)).out();
}

TF_Output Graph::variable(const std::string& name, const std::vector<int64_t>& shape) {
  OpBuilder b(*this, "VarHandleOp", "var/" + name);
  // A shared_name makes the resource independent of the op name and unique per variable.
  return b.attr("dtype", TF_FLOAT)
      .shape("shape", shape)
      .attr("shared_name", ("var/" + name).c_str())
      .out();
}

TF_Output Graph::read(TF_Output handle) {
  return build("ReadVariableOp").in(handle).attr("dtype", TF_FLOAT).out();
}

TF_Operation* Graph::assign(TF_Output handle, TF_Output value, std::vector<TF_Operation*> after) {
  OpBuilder b = build("AssignVariableOp");
  b.in(handle).in(value).attr("dtype", TF_FLOAT);
  for (TF_Operation* op : after) b.control(op);
  return b.finish();
}

TF_Operation* Graph::group(const std::vector<TF_Operation*>& ops, const std::string& name) {
  OpBuilder b(*this, "NoOp", name);
  for (TF_Operation* op : ops) b.control(op);
  return b.finish();
}

std::vector<TF_Output> Graph::gradients(TF_Output y, const std::vector<TF_Output>& xs) {
  std::vector<TF_Output> dx(xs.size());
  Status s;
  TF_AddGradientsWithPrefix(g_.get(), "gradients", &y, 1, const_cast<TF_Output*>(xs.data()),
                            static_cast<int>(xs.size()), nullptr, s.get(), dx.data());
  s.check("adding gradients");
  return dx;
}

std::string session_config_proto(int intra_threads, int inter_threads, bool grappler,
                                 bool soft_placement) {
  std::string proto;
  proto.push_back(static_cast<char>((2 << 3) | 0));  // field 2, varint
  append_varint(proto, static_cast<uint64_t>(intra_threads));
  proto.push_back(static_cast<char>((5 << 3) | 0));  // field 5, varint
  append_varint(proto, static_cast<uint64_t>(inter_threads));
  // graph_options (10) { rewrite_options (10) { disable_meta_optimizer (19) = true } }: strict
  // numerics run the graph exactly as built (Grappler's remapper fuses ops into kernels whose
  // rounding differs, and it spends seconds on the first run of the training graph).
  if (!grappler) proto += std::string("\x52\x05\x52\x03\x98\x01\x01", 7);
  if (soft_placement) proto += std::string("\x38\x01", 2);  // field 7, varint 1
  return proto;
}

Session::Session(Graph& graph, int intra_threads, int inter_threads, bool grappler,
                 bool soft_placement) {
  std::unique_ptr<TF_SessionOptions, OptionsDeleter> options(TF_NewSessionOptions());
  const std::string config =
      session_config_proto(intra_threads, inter_threads, grappler, soft_placement);
  Status s;
  TF_SetConfig(options.get(), config.data(), config.size(), s.get());
  s.check("session thread configuration");
  s_ = TF_NewSession(graph.get(), options.get(), s.get());
  s.check("creating the session");
}

std::vector<std::string> Session::devices() const {
  Status s;
  TF_DeviceList* list = TF_SessionListDevices(s_, s.get());
  s.check("listing the session's devices");
  std::vector<std::string> out;
  const int n = TF_DeviceListCount(list);
  for (int i = 0; i < n; ++i) {
    const char* name = TF_DeviceListName(list, i, s.get());
    if (TF_GetCode(s.get()) == TF_OK && name != nullptr) out.emplace_back(name);
  }
  TF_DeleteDeviceList(list);
  return out;
}

Session::~Session() {
  if (s_ == nullptr) return;
  Status s;
  TF_CloseSession(s_, s.get());
  TF_DeleteSession(s_, s.get());
}

std::vector<Tensor> Session::run(const std::vector<std::pair<TF_Output, TF_Tensor*>>& feeds,
                                 const std::vector<TF_Output>& fetches,
                                 const std::vector<TF_Operation*>& targets,
                                 std::string* run_metadata) {
  std::vector<TF_Output> inputs;
  std::vector<TF_Tensor*> values;
  for (const auto& [output, tensor] : feeds) {
    inputs.push_back(output);
    values.push_back(tensor);
  }
  std::vector<TF_Tensor*> raw(fetches.size(), nullptr);
  std::unique_ptr<TF_Buffer, BufferDeleter> options, metadata;
  if (run_metadata != nullptr) {
    static const std::string kFullTrace = full_trace_run_options();
    options.reset(TF_NewBufferFromString(kFullTrace.data(), kFullTrace.size()));
    metadata.reset(TF_NewBuffer());
  }
  Status s;
  TF_SessionRun(s_, options.get(), inputs.data(), values.data(), static_cast<int>(inputs.size()),
                fetches.data(), raw.data(), static_cast<int>(fetches.size()), targets.data(),
                static_cast<int>(targets.size()), metadata.get(), s.get());
  std::vector<Tensor> out;
  out.reserve(raw.size());
  for (TF_Tensor* t : raw) out.emplace_back(t);
  s.check("running the session");
  if (run_metadata != nullptr) run_metadata->clear();
  if (run_metadata != nullptr && metadata->length > 0) {
    run_metadata->assign(static_cast<const char*>(metadata->data), metadata->length);
  }
  return out;
}

}  // namespace greenbench::workloads::tf
