#include "tf_backend.hpp"

#include <dlfcn.h>

#include <cmath>
#include <cstdlib>

#include "common/cuda_probe.hpp"
#include "common/driver.hpp"
#include "greenbench/error.hpp"
#include "run_metadata.hpp"

namespace greenbench::workloads::tf {
namespace {

std::vector<int64_t> hwio_shape(const std::vector<int64_t>& oihw) {
  return {oihw[2], oihw[3], oihw[1], oihw[0]};
}

// Canonical OIHW <-> TensorFlow's HWIO, done on the host at load and save so the graph needs no
// per-step transposes.
std::vector<float> oihw_to_hwio(const std::vector<float>& src, const std::vector<int64_t>& oihw) {
  const int64_t o_n = oihw[0], i_n = oihw[1], h_n = oihw[2], w_n = oihw[3];
  std::vector<float> dst(src.size());
  for (int64_t o = 0; o < o_n; ++o)
    for (int64_t i = 0; i < i_n; ++i)
      for (int64_t h = 0; h < h_n; ++h)
        for (int64_t w = 0; w < w_n; ++w)
          dst[((h * w_n + w) * i_n + i) * o_n + o] = src[((o * i_n + i) * h_n + h) * w_n + w];
  return dst;
}

std::vector<float> hwio_to_oihw(const std::vector<float>& src, const std::vector<int64_t>& oihw) {
  const int64_t o_n = oihw[0], i_n = oihw[1], h_n = oihw[2], w_n = oihw[3];
  std::vector<float> dst(src.size());
  for (int64_t o = 0; o < o_n; ++o)
    for (int64_t i = 0; i < i_n; ++i)
      for (int64_t h = 0; h < h_n; ++h)
        for (int64_t w = 0; w < w_n; ++w)
          dst[((o * i_n + i) * h_n + h) * w_n + w] = src[((h * w_n + w) * i_n + i) * o_n + o];
  return dst;
}

std::vector<int32_t> to_i32(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

// A batch as TF_Tensors, one per placeholder of the pass it was prepared for; images in NHWC.
class TfBatch final : public PreparedBatch {
 public:
  std::vector<std::pair<TF_Output, Tensor>> feeds;
  std::shared_ptr<const void> host;  ///< ModelBuilder::host_data's value, if the model has one
};

// Canonical NCHW images -> NHWC, TensorFlow's native layout on CPU (done once, in set-up).
Tensor nchw_to_nhwc(const HostTensor& h) {
  if (h.shape.size() != 4 || h.dtype != HostTensor::DType::kF32) {
    throw Error("tensorflow worker: images must be a float32 NCHW tensor");
  }
  const int64_t n_n = h.shape[0], c_n = h.shape[1], h_n = h.shape[2], w_n = h.shape[3];
  std::vector<float> dst(h.f32.size());
  for (int64_t n = 0; n < n_n; ++n)
    for (int64_t c = 0; c < c_n; ++c)
      for (int64_t y = 0; y < h_n; ++y) {
        const float* src = h.f32.data() + ((n * c_n + c) * h_n + y) * w_n;
        float* out = dst.data() + ((n * h_n + y) * w_n) * c_n + c;
        for (int64_t x = 0; x < w_n; ++x) out[x * c_n] = src[x];
      }
  return to_tf({n_n, h_n, w_n, c_n}, dst);
}

// Whether TensorFlow's oneDNN kernels are on in this process (tensorflow::IsMKLEnabled() of the
// loaded framework library); "unknown" when the symbol cannot be found.
std::string onednn_state() {
  void* lib = dlopen("libtensorflow_framework.so.2", RTLD_LAZY | RTLD_NOLOAD);
  if (lib == nullptr) return "unknown";
  using Fn = bool (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(lib, "_ZN10tensorflow12IsMKLEnabledEv"));
  const std::string out = fn == nullptr ? "unknown" : (fn() ? "on" : "off");
  dlclose(lib);
  return out;
}

// A function of the loaded libtensorflow_framework.so.2, or nullptr.
void* framework_symbol(const char* name) {
  void* lib = dlopen("libtensorflow_framework.so.2", RTLD_LAZY | RTLD_NOLOAD);
  if (lib == nullptr) return nullptr;
  void* fn = dlsym(lib, name);
  dlclose(lib);  // NOLOAD took a reference to a library that stays loaded
  return fn;
}

}  // namespace

PartialRun::PartialRun(Session& session, const std::vector<TF_Output>& feeds,
                       const std::vector<TF_Output>& fetches,
                       const std::vector<TF_Operation*>& targets)
    : session_(session.get()) {
  const std::vector<const TF_Operation*> ops(targets.begin(), targets.end());
  Status s;
  TF_SessionPRunSetup(session_, feeds.data(), static_cast<int>(feeds.size()), fetches.data(),
                      static_cast<int>(fetches.size()), ops.data(), static_cast<int>(ops.size()),
                      &handle_, s.get());
  s.check("setting up a partial run");
}

PartialRun::~PartialRun() {
  if (handle_ != nullptr) TF_DeletePRunHandle(handle_);
}

std::vector<Tensor> PartialRun::run(const Feeds& feeds, const std::vector<TF_Output>& fetches) {
  std::vector<TF_Output> inputs;
  std::vector<TF_Tensor*> values;
  for (const auto& [output, tensor] : feeds) {
    inputs.push_back(output);
    values.push_back(tensor);
  }
  std::vector<TF_Tensor*> raw(fetches.size(), nullptr);
  Status s;
  TF_SessionPRun(session_, handle_, inputs.data(), values.data(), static_cast<int>(inputs.size()),
                 fetches.data(), raw.data(), static_cast<int>(fetches.size()), nullptr, 0, s.get());
  std::vector<Tensor> out;
  out.reserve(raw.size());
  for (TF_Tensor* t : raw) out.emplace_back(t);
  s.check("running a partial run");
  return out;
}

TF_Output ModelBuilder::lp(TF_Output x) {
  return graph_.cast(x, settings_.precision == "fp16" ? TF_HALF : TF_BFLOAT16);
}

TF_Output ModelBuilder::linear(TF_Output x, TF_Output w, const TF_Output* b) {
  if (!mixed()) return graph_.linear(x, w, b);
  TF_Output y = f32(graph_.matmul(lp(x), lp(w), false, true));
  return b == nullptr ? y : graph_.build("BiasAdd").in(y).in(*b).out();
}

TF_Output ModelBuilder::matmul(TF_Output a, TF_Output b, bool transpose_a, bool transpose_b) {
  if (!mixed()) return graph_.matmul(a, b, transpose_a, transpose_b);
  return f32(graph_.matmul(lp(a), lp(b), transpose_a, transpose_b));
}

TF_Output ModelBuilder::batch_matmul(TF_Output a, TF_Output b, bool adj_x, bool adj_y) {
  if (!mixed()) return graph_.batch_matmul(a, b, adj_x, adj_y);
  return f32(graph_.batch_matmul(lp(a), lp(b), adj_x, adj_y));
}

TF_Output ModelBuilder::conv2d(TF_Output x, TF_Output kernel, int stride, const char* padding) {
  if (mixed()) {
    x = lp(x);
    kernel = lp(kernel);
  }
  TF_Output y = graph_.build("Conv2D")
                    .in(x)
                    .in(kernel)
                    .attr("strides", std::vector<int64_t>{1, stride, stride, 1})
                    .attr("padding", padding)
                    .attr("data_format", "NHWC")
                    .out();
  return mixed() ? f32(y) : y;
}

TF_Output ModelBuilder::conv2d_transpose(TF_Output x, TF_Output kernel, TF_Output output_sizes,
                                         int stride) {
  if (mixed()) {
    x = lp(x);
    kernel = lp(kernel);
  }
  TF_Output y = graph_.build("Conv2DBackpropInput")
                    .in(output_sizes)
                    .in(kernel)
                    .in(x)
                    .attr("strides", std::vector<int64_t>{1, stride, stride, 1})
                    .attr("padding", "VALID")
                    .attr("data_format", "NHWC")
                    .out();
  return mixed() ? f32(y) : y;
}

TF_Output ModelBuilder::param(const std::string& name) const {
  auto it = params_.find(name);
  if (it == params_.end()) {
    throw Error("tensorflow worker: model " + spec_.model + " has no parameter '" + name + "'");
  }
  return it->second;
}

TF_Output ModelBuilder::input(Mode mode, const std::string& name, TF_DataType dtype,
                              const std::vector<int64_t>& shape) {
  Inputs& in = mode == Mode::kTrain ? train : infer;
  for (const auto& [n, out] : in.inputs) {
    if (n == name) return out;
  }
  const std::string prefix = std::string(mode == Mode::kTrain ? "train/" : "infer/") + name;
  if (!pooled_inputs_) {
    TF_Output p = graph_.placeholder(dtype, shape, prefix);
    in.inputs.emplace_back(name, p);
    return p;
  }
  // The pool: a flat variable on the graph's device, filled once by finish_prepare(). A step
  // reads its batch as Slice(pool, offset, size) reshaped to the batch's shape; EnsureShape gives
  // the model back the static shape the placeholder would have had.
  PoolInput pool;
  pool.dtype = dtype;
  pool.rank = shape.size();
  TF_Output handle = graph_.build("VarHandleOp")
                         .attr("dtype", dtype)
                         .shape("shape", {-1})
                         .attr("shared_name", ("pool/" + prefix).c_str())
                         .out();
  pool.upload = graph_.placeholder(dtype, {-1}, "pool_upload/" + prefix);
  pool.assign =
      graph_.build("AssignVariableOp").in(handle).in(pool.upload).attr("dtype", dtype).finish();
  pool.offset = graph_.placeholder(TF_INT64, {1}, "pool_offset/" + prefix);
  pool.size = graph_.placeholder(TF_INT64, {1}, "pool_size/" + prefix);
  pool.shape =
      graph_.placeholder(TF_INT64, {static_cast<int64_t>(shape.size())}, "pool_shape/" + prefix);
  TF_Output all = graph_.build("ReadVariableOp").in(handle).attr("dtype", dtype).out();
  TF_Output flat = graph_.build("Slice").in(all).in(pool.offset).in(pool.size).out();
  TF_Output batch = graph_.build("Reshape").in(flat).in(pool.shape).out();
  TF_Output out = graph_.build("EnsureShape").in(batch).shape("shape", shape).out();
  in.inputs.emplace_back(name, out);
  in.pools.push_back(pool);
  return out;
}

void ModelBuilder::update(const std::string& param_name, TF_Output value) {
  updates.emplace_back(param_name, value);
}

TF_Output ModelBuilder::state(const std::string& name, const std::vector<int64_t>& shape,
                              const std::vector<int64_t>& initial) {
  auto it = state_handles_.find(name);
  if (it == state_handles_.end()) {
    TF_Output handle = graph_.variable("state/" + name, shape);
    std::vector<int32_t> dims(initial.begin(), initial.end());
    TF_Output zeros = graph_.op("Fill", {graph_.constant_i32(dims), graph_.scalar(0.0f)});
    state_resets.push_back(graph_.assign(handle, zeros));
    it = state_handles_.emplace(name, handle).first;
  }
  return graph_.read(it->second);
}

void ModelBuilder::set_state_next(Mode mode, const std::string& name, TF_Output next) {
  auto it = state_handles_.find(name);
  if (it == state_handles_.end()) throw Error("tensorflow worker: unknown state '" + name + "'");
  Inputs& in = mode == Mode::kTrain ? train : infer;
  in.state_updates.push_back(graph_.assign(it->second, next));
}

TfBackend::TfBackend() = default;
TfBackend::~TfBackend() = default;

std::string TfBackend::framework_version() const { return TF_Version(); }

// Throws DeviceUnavailable unless this TensorFlow can run on GPU `tf_device` (after the driver
// probe has found the GPU): a CPU-only build, or a CUDA build whose runtime finds no GPU.
void TfBackend::check_gpu(const std::string& tf_device) {
  const std::string what = "--device " + settings_.device + ": ";
  using Flag = bool (*)();
  auto cuda_enabled =
      reinterpret_cast<Flag>(framework_symbol("_ZN10tensorflow19IsGoogleCudaEnabledEv"));
  Graph empty;
  const std::vector<std::string> devices = Session(empty, 1, 1, true).devices();
  int gpus = 0;
  bool found = false;
  for (const std::string& d : devices) {
    if (d.find("/device:GPU:") == std::string::npos) continue;
    ++gpus;
    if (d.size() >= tf_device.size() &&
        d.compare(d.size() - tf_device.size(), tf_device.size(), tf_device) == 0) {
      found = true;
    }
  }
  if (found) return;
  if ((cuda_enabled != nullptr && !cuda_enabled()) || (cuda_enabled == nullptr && gpus == 0)) {
    throw DeviceUnavailable(what + "this TensorFlow build (" + std::string(TF_Version()) +
                            ") has no CUDA support: run scripts/setup.sh --gpu and rebuild");
  }
  if (gpus == 0) {
    throw DeviceUnavailable(what + "TensorFlow " + std::string(TF_Version()) +
                            " finds no usable GPU although the driver reports one (its CUDA "
                            "libraries are missing or need a newer driver: run scripts/setup.sh "
                            "--gpu)");
  }
  throw DeviceUnavailable(what + "out of range: TensorFlow sees " + std::to_string(gpus) +
                          " GPU(s)");
}

void TfBackend::build(const ModelSpec& spec, const Settings& settings, const Weights& initial) {
  // A rebuild drops the previous session and model before the graph they refer to, and ends a
  // profile of them.
  profile_.reset();
  run_metadata_.clear();
  session_.reset();
  model_.reset();
  spec_ = spec;
  settings_ = settings;
  loss_scale_ = all_finite_ = TF_Output{nullptr, 0};
  tf32_ = "n/a (CPU)";
  std::string tf_device;
  if (settings.cuda_index() >= 0) {
    require_cuda_device(settings.device);
    tf_device = "/device:GPU:" + std::to_string(settings.cuda_index());
    check_gpu(tf_device);
    // MODELS.md, Precision: fp32 means no TF32 (TensorFlow allows it by default on Ampere and
    // newer); tf32 allows it. TensorFlow has only this process-wide switch.
    using Enable = void (*)(bool);
    auto enable =
        reinterpret_cast<Enable>(framework_symbol("_ZN3tsl32enable_tensor_float_32_executionEb"));
    if (enable == nullptr) {
      throw Error(
          "tensorflow worker: cannot find tsl::enable_tensor_float_32_execution in "
          "libtensorflow_framework.so.2, so TF32 cannot be set for --precision " +
          settings.precision);
    }
    enable(settings.precision == "tf32");
    tf32_ = settings.precision == "tf32" ? "on" : "off";
  }
  graph_ = std::make_unique<Graph>();
  Graph& g = *graph_;
  g.set_device(tf_device);
  vars_.clear();
  param_values_.clear();
  init_feeds_.clear();
  init_ops_.clear();
  for (const ParamSpec& p : spec_.params) {
    Variable v;
    v.spec = &p;
    v.hwio = p.shape.size() == 4;
    const std::vector<int64_t> shape = v.hwio ? hwio_shape(p.shape) : p.shape;
    v.handle = g.variable(p.name, shape);
    g.set_scope("init");
    TF_Output feed = g.placeholder(TF_FLOAT, shape, "init/" + p.name);
    init_feeds_.emplace_back(feed, v.handle);
    init_ops_.push_back(g.assign(v.handle, feed));
    g.set_scope("");
    v.value = g.read(v.handle);
    param_values_[p.name] = v.value;
    vars_.push_back(v);
  }
  // MODELS.md: on a GPU the batches live in device variables (pooled inputs), as LibTorch's
  // prepared batches are device tensors; GREENBENCH_TF_POOLED_INPUTS=1 takes that path on the
  // CPU too (the tests compare it with fed batches there).
  const char* pooled = std::getenv("GREENBENCH_TF_POOLED_INPUTS");
  pooled_inputs_ = !tf_device.empty() || (pooled != nullptr && std::string(pooled) == "1");
  staged_.clear();
  model_ = std::make_unique<ModelBuilder>(g, spec_, settings_, param_values_, pooled_inputs_);
  if (spec_.model == "ncf") {
    build_ncf(*model_);
  } else if (spec_.model == "resnet50") {
    build_resnet50(*model_);
  } else if (spec_.model == "transformer_xl") {
    build_transformer_xl(*model_);
  } else if (spec_.model == "ssd") {
    build_ssd(*model_);
  } else if (spec_.model == "gnmt") {
    build_gnmt(*model_);
  } else if (spec_.model == "mask_rcnn") {
    build_mask_rcnn(*model_);
  } else {
    throw Error("tensorflow worker: unknown model '" + spec_.model + "'");
  }
  if (model_->loss.oper == nullptr || model_->logits.oper == nullptr) {
    throw Error("tensorflow worker: model " + spec_.model + " built no loss or no logits");
  }
  if (model_->train_step && !settings_.profile.empty()) {
    throw Error(
        "option --profile: the tensorflow worker cannot trace " + spec_.model +
        ": its steps are partial runs, and TF_SessionPRun takes no RunOptions (FULL_TRACE)");
  }
  build_optimizer(*model_);
  session_ = std::make_unique<Session>(g, settings_.threads, 1,
                                       /*grappler=*/settings_.numerics != "strict",
                                       /*soft_placement=*/!tf_device.empty());
  initialise(initial);
  reset_state();
}

void TfBackend::build_optimizer(ModelBuilder& b) {
  Graph& g = *graph_;
  const OptimizerSpec& opt = spec_.optimizer;
  std::vector<TF_Output> xs;
  std::vector<const Variable*> trainable;
  for (const Variable& v : vars_) {
    if (v.spec->trainable) {
      xs.push_back(v.value);
      trainable.push_back(&v);
    }
  }
  g.set_scope("optimizer");
  const bool fp16 = settings_.precision == "fp16";
  // MODELS.md, Precision: fp16 takes the gradient of scale·loss and divides it by the scale in
  // float32; if any gradient is not finite, every parameter and optimizer slot keeps its value.
  TF_Output scaled_loss = b.loss;
  if (fp16) {
    loss_scale_ = g.placeholder(TF_FLOAT, {}, "optimizer/loss_scale");
    scaled_loss = g.mul(b.loss, loss_scale_);
  }
  std::vector<TF_Output> grads = g.gradients(scaled_loss, xs);
  TF_Output all_finite{nullptr, 0};
  if (fp16) {
    std::vector<TF_Output> finite;
    for (TF_Output& grad : grads) {
      if (grad.oper == nullptr) continue;
      grad = g.div(grad, loss_scale_);
      finite.push_back(g.build("All")
                           .in(g.op("IsFinite", {g.reshape(grad, {-1})}))
                           .in(g.constant_i32({0}))
                           .attr("keep_dims", false)
                           .out());
    }
    all_finite = g.build("All")
                     .in(g.build("Pack")
                             .in_list(finite)
                             .attr("N", static_cast<int64_t>(finite.size()))
                             .attr("axis", 0)
                             .out())
                     .in(g.constant_i32({0}))
                     .attr("keep_dims", false)
                     .out();
    all_finite_ = all_finite;
  }
  // MODELS.md (GNMT): clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_ computes
  // it (the norm of the per-parameter norms), after the fp16 unscaling, before the update.
  if (spec_.model == "gnmt" && spec_.gnmt.grad_clip_norm > 0.0) {
    std::vector<TF_Output> norms;
    for (const TF_Output& grad : grads) {
      if (grad.oper == nullptr) continue;
      norms.push_back(g.op("Sqrt", {g.sum(g.op("Square", {g.reshape(grad, {-1})}), {0})}));
    }
    TF_Output packed = g.build("Pack")
                           .in_list(norms)
                           .attr("N", static_cast<int64_t>(norms.size()))
                           .attr("axis", 0)
                           .out();
    TF_Output total = g.op("Sqrt", {g.sum(g.op("Square", {packed}), {0})});
    TF_Output coef = g.div(g.scalar(static_cast<float>(spec_.gnmt.grad_clip_norm)),
                           g.add(total, g.scalar(1e-6f)));
    TF_Output clamped = g.op("Minimum", {coef, g.scalar(1.0f)});
    for (TF_Output& grad : grads) {
      if (grad.oper != nullptr) grad = g.mul(grad, clamped);
    }
  }
  auto guard = [&](TF_Output next, TF_Output old) {
    return fp16 ? g.build("SelectV2").in(all_finite).in(next).in(old).out() : next;
  };
  // Every update waits for the loss, so no variable changes before the whole forward pass (and
  // with it every ReadVariableOp) has run.
  std::vector<TF_Operation*> after{b.loss.oper};
  std::vector<TF_Operation*> updates;
  auto slot = [&](const Variable& v, const char* kind) {
    const std::vector<int64_t> shape = v.hwio ? hwio_shape(v.spec->shape) : v.spec->shape;
    TF_Output h = g.variable(v.spec->name + "/" + kind, shape);
    TF_Output zeros = g.op("Fill", {g.constant_i32(to_i32(shape)), g.scalar(0.0f)});
    init_ops_.push_back(g.assign(h, zeros));
    return h;
  };
  lr_ = g.placeholder(TF_FLOAT, {}, "optimizer/lr");
  step_size_ = g.placeholder(TF_FLOAT, {}, "optimizer/step_size");
  bc2_sqrt_ = g.placeholder(TF_FLOAT, {}, "optimizer/bc2_sqrt");
  for (size_t i = 0; i < trainable.size(); ++i) {
    const Variable& v = *trainable[i];
    TF_Output grad = grads[i];
    if (grad.oper == nullptr) {
      throw Error("tensorflow worker: the loss does not depend on parameter " + v.spec->name);
    }
    TF_Output p = v.value;
    if (opt.name == "adam") {
      // PyTorch Adam: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
      // p -= (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + ε).
      TF_Output m = slot(v, "adam_m");
      TF_Output s = slot(v, "adam_v");
      TF_Output m_new = g.add(g.mul(g.read(m), g.scalar(static_cast<float>(opt.beta1))),
                              g.mul(grad, g.scalar(static_cast<float>(1.0 - opt.beta1))));
      TF_Output s_new =
          g.add(g.mul(g.read(s), g.scalar(static_cast<float>(opt.beta2))),
                g.mul(g.op("Square", {grad}), g.scalar(static_cast<float>(1.0 - opt.beta2))));
      TF_Output denom =
          g.add(g.div(g.op("Sqrt", {s_new}), bc2_sqrt_), g.scalar(static_cast<float>(opt.eps)));
      TF_Output p_new = g.sub(p, g.mul(step_size_, g.div(m_new, denom)));
      updates.push_back(g.assign(m, fp16 ? guard(m_new, g.read(m)) : m_new, after));
      updates.push_back(g.assign(s, fp16 ? guard(s_new, g.read(s)) : s_new, after));
      updates.push_back(g.assign(v.handle, guard(p_new, p), after));
    } else if (opt.name == "sgd") {
      // PyTorch SGD: g += wd·p (coupled); buf = momentum·buf + g (buf starts at 0, so the first
      // step gives buf = g); p -= lr·buf.
      if (opt.weight_decay != 0.0 && v.spec->weight_decay) {
        grad = g.add(grad, g.mul(p, g.scalar(static_cast<float>(opt.weight_decay))));
      }
      TF_Output step = grad;
      if (opt.momentum != 0.0) {
        TF_Output buf = slot(v, "momentum");
        TF_Output old = g.read(buf);
        step = g.add(g.mul(old, g.scalar(static_cast<float>(opt.momentum))), grad);
        updates.push_back(g.assign(buf, guard(step, old), after));
      }
      updates.push_back(g.assign(v.handle, guard(g.sub(p, g.mul(lr_, step)), p), after));
    } else {
      throw Error("tensorflow worker: unknown optimizer '" + opt.name + "'");
    }
  }
  for (const auto& [name, value] : b.updates) {
    for (const Variable& v : vars_) {
      if (v.spec->name == name) updates.push_back(g.assign(v.handle, value, after));
    }
  }
  train_op_ = g.group(updates, "optimizer/train");
  // A partial run returns without the status of targets that finish after its last fetch, so a
  // model's own step fetches the loss through an Identity that waits for the update.
  trained_loss_ = TF_Output{nullptr, 0};
  if (b.train_step) {
    OpBuilder done = g.build("Identity");
    done.in(b.loss).control(train_op_);
    for (TF_Operation* op : b.train.state_updates) done.control(op);
    trained_loss_ = done.out();
  }
  g.set_scope("");
}

void TfBackend::initialise(const Weights& initial) {
  if (initial.size() != vars_.size()) {
    throw Error("tensorflow worker: " + std::to_string(initial.size()) + " initial tensors for " +
                std::to_string(vars_.size()) + " parameters of " + spec_.model);
  }
  std::vector<Tensor> keep;
  std::vector<std::pair<TF_Output, TF_Tensor*>> feeds;
  for (size_t i = 0; i < vars_.size(); ++i) {
    const Variable& v = vars_[i];
    const HostTensor& h = initial[i].value;
    if (initial[i].name != v.spec->name || h.shape != v.spec->shape ||
        h.dtype != HostTensor::DType::kF32) {
      throw Error("tensorflow worker: initial tensor '" + initial[i].name +
                  "' does not match parameter '" + v.spec->name + "'");
    }
    if (v.hwio) {
      keep.push_back(to_tf(hwio_shape(h.shape), oihw_to_hwio(h.f32, h.shape)));
    } else {
      keep.push_back(to_tf(h));
    }
    feeds.emplace_back(init_feeds_[i].first, keep.back().get());
  }
  session_->run(feeds, {}, init_ops_);
  step_ = 0;
  train_calls_ = 0;
}

FrameworkOptions TfBackend::framework_options() const {
  const char* env = std::getenv("TF_ENABLE_ONEDNN_OPTS");
  const bool strict = settings_.numerics == "strict";
  return {{"numerics", settings_.numerics},
          {"execution", model_ && model_->train_step
                            ? "graph (C API, one partial run per step: TF_SessionPRunSetup, then "
                              "TF_SessionPRun per host round trip)"
                            : "graph (C API, one TF_SessionRun per step)"},
          {"intra_op_threads", std::to_string(settings_.threads)},
          {"inter_op_threads", "1"},
          {"onednn", onednn_state()},
          {"tf_enable_onednn_opts", env == nullptr ? "(unset)" : env},
          {"grappler", strict ? "off (disable_meta_optimizer)" : "on (TensorFlow's defaults)"},
          {"image_layout", "NHWC (TensorFlow's CPU layout), kernels HWIO"},
          {"recurrent_state",
           spec_.model == "gnmt"
               ? "decoder states between beam-search steps: host TF_Tensors fed to the next run"
               : "resource variables (stays in TensorFlow between steps)"},
          {"batches", pooled_inputs_ ? "device variables holding every prepared batch, sliced "
                                       "by a fed offset (no per-step data transfer)"
                                     : "host tensors fed to each step"},
          {"device", settings_.device},
          {"precision", settings_.precision},
          {"compute_dtype", settings_.mixed_precision()
                                ? (settings_.precision == "fp16" ? "float16" : "bfloat16")
                                : "float32"},
          {"tf32", tf32_}};
}

std::unique_ptr<PreparedBatch> TfBackend::prepare(const Batch& batch, bool training) {
  // Host TF_Tensors, fed to every step that uses the batch: TensorFlow copies them to a GPU
  // each step (resource handles of device variables cannot be fed; see MODELS.md).
  const ModelBuilder::Inputs& in = training ? model_->train : model_->infer;
  auto out = std::make_unique<TfBatch>();
  if (model_->host_data) out->host = model_->host_data(batch, training);
  for (size_t i = 0; i < in.inputs.size(); ++i) {
    const auto& [name, placeholder] = in.inputs[i];
    const HostTensor& h = batch.get(name);
    Tensor t = name == "images" ? nchw_to_nhwc(h) : to_tf(h);
    if (!pooled_inputs_) {
      out->feeds.emplace_back(placeholder, std::move(t));
      continue;
    }
    // Pooled: append the batch (already in TensorFlow's layout) to the host staging copy and
    // feed only where it lies.
    const ModelBuilder::PoolInput& pool = in.pools[i];
    if (TF_TensorType(t.get()) != pool.dtype ||
        static_cast<size_t>(TF_NumDims(t.get())) != pool.rank) {
      throw Error("tensorflow worker: batch input '" + name + "' does not match its pool");
    }
    Staged& staged = staged_[{training, name}];
    const auto count = static_cast<int64_t>(TF_TensorElementCount(t.get()));
    int64_t offset = 0;
    if (pool.dtype == TF_FLOAT) {
      const auto* v = static_cast<const float*>(TF_TensorData(t.get()));
      offset = static_cast<int64_t>(staged.f32.size());
      staged.f32.insert(staged.f32.end(), v, v + count);
    } else {
      const auto* v = static_cast<const int64_t*>(TF_TensorData(t.get()));
      offset = static_cast<int64_t>(staged.i64.size());
      staged.i64.insert(staged.i64.end(), v, v + count);
    }
    std::vector<int64_t> dims(pool.rank);
    for (size_t d = 0; d < pool.rank; ++d) dims[d] = TF_Dim(t.get(), static_cast<int>(d));
    out->feeds.emplace_back(pool.offset,
                            to_tf(HostTensor{HostTensor::DType::kI64, {1}, {}, {offset}}));
    out->feeds.emplace_back(pool.size,
                            to_tf(HostTensor{HostTensor::DType::kI64, {1}, {}, {count}}));
    out->feeds.emplace_back(
        pool.shape,
        to_tf(HostTensor{HostTensor::DType::kI64, {static_cast<int64_t>(pool.rank)}, {}, dims}));
  }
  return out;
}

void TfBackend::finish_prepare() {
  if (!pooled_inputs_) return;
  // One transfer per pooled input: the staged batches become the pool variable's value.
  for (const bool training : {true, false}) {
    const ModelBuilder::Inputs& in = training ? model_->train : model_->infer;
    for (size_t i = 0; i < in.inputs.size(); ++i) {
      auto it = staged_.find({training, in.inputs[i].first});
      if (it == staged_.end()) continue;
      const ModelBuilder::PoolInput& pool = in.pools[i];
      Staged& staged = it->second;
      HostTensor flat;
      if (pool.dtype == TF_FLOAT) {
        flat = HostTensor{HostTensor::DType::kF32,
                          {static_cast<int64_t>(staged.f32.size())},
                          std::move(staged.f32),
                          {}};
      } else {
        flat = HostTensor{HostTensor::DType::kI64,
                          {static_cast<int64_t>(staged.i64.size())},
                          {},
                          std::move(staged.i64)};
      }
      const Tensor value = to_tf(flat);
      session_->run({{pool.upload, value.get()}}, {}, {pool.assign});
    }
  }
  staged_.clear();
}

Backend::StepResult TfBackend::train_step(const PreparedBatch& prepared, float learning_rate,
                                          float loss_scale) {
  const auto& batch = static_cast<const TfBatch&>(prepared);
  ++step_;
  const OptimizerSpec& opt = spec_.optimizer;
  // Bias corrections in double, as LibTorch computes them, then handed to the graph as scalars.
  const double bc1 = 1.0 - std::pow(opt.beta1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(opt.beta2, static_cast<double>(step_));
  std::vector<std::pair<TF_Output, TF_Tensor*>> feeds;
  for (const auto& [placeholder, tensor] : batch.feeds)
    feeds.emplace_back(placeholder, tensor.get());
  const Tensor lr = scalar_tf(learning_rate);
  const Tensor step_size = scalar_tf(static_cast<float>(learning_rate / bc1));
  const Tensor bc2_sqrt = scalar_tf(static_cast<float>(std::sqrt(bc2)));
  feeds.emplace_back(lr_, lr.get());
  feeds.emplace_back(step_size_, step_size.get());
  feeds.emplace_back(bc2_sqrt_, bc2_sqrt.get());
  const Tensor scale = scalar_tf(loss_scale);
  std::vector<TF_Output> fetches{model_->loss};
  if (all_finite_.oper != nullptr) {
    feeds.emplace_back(loss_scale_, scale.get());
    fetches.push_back(all_finite_);
  }
  std::vector<TF_Operation*> targets{train_op_};
  targets.insert(targets.end(), model_->train.state_updates.begin(),
                 model_->train.state_updates.end());
  const int64_t call = train_calls_++;
  std::vector<Tensor> out;
  if (model_->train_step) {
    fetches.front() = trained_loss_;
    out = model_->train_step({*session_, feeds, batch.host.get(), fetches, targets, call});
  } else {
    out = session_->run(feeds, fetches, targets, traced());
  }
  StepResult result;
  result.loss = static_cast<const float*>(TF_TensorData(out[0].get()))[0];
  if (all_finite_.oper != nullptr) {
    result.applied = *static_cast<const bool*>(TF_TensorData(out[1].get()));
    if (!result.applied) --step_;  // Adam's step count advances only with an applied update
  }
  return result;
}

HostTensor TfBackend::predict(const PreparedBatch& prepared) {
  if (!model_->predict && !model_->session_predict) return head_outputs(prepared);
  const auto& batch = static_cast<const TfBatch&>(prepared);
  ModelBuilder::Feeds feeds;
  for (const auto& [placeholder, tensor] : batch.feeds)
    feeds.emplace_back(placeholder, tensor.get());
  if (model_->session_predict) return model_->session_predict(*session_, feeds);
  return model_->predict(
      feeds, [this](const ModelBuilder::Feeds& f, const std::vector<TF_Output>& fetches) {
        return session_->run(f, fetches, {}, traced());
      });
}

HostTensor TfBackend::head_outputs(const PreparedBatch& prepared) {
  // MODELS.md (Mask R-CNN): its head outputs are its predictions.
  if (model_->session_predict) return predict(prepared);
  const auto& batch = static_cast<const TfBatch&>(prepared);
  std::vector<std::pair<TF_Output, TF_Tensor*>> feeds;
  for (const auto& [placeholder, tensor] : batch.feeds)
    feeds.emplace_back(placeholder, tensor.get());
  std::vector<Tensor> out =
      session_->run(feeds, {model_->logits}, model_->infer.state_updates, traced());
  return to_host(out[0].get());
}

Weights TfBackend::weights() {
  std::vector<TF_Output> fetches;
  for (const Variable& v : vars_) fetches.push_back(v.value);
  std::vector<Tensor> out = session_->run({}, fetches);
  Weights w;
  for (size_t i = 0; i < vars_.size(); ++i) {
    const Variable& v = vars_[i];
    HostTensor h = to_host(out[i].get());
    if (v.hwio) {
      h.f32 = hwio_to_oihw(h.f32, v.spec->shape);
      h.shape = v.spec->shape;
    }
    w.push_back(NamedTensor{v.spec->name, std::move(h), v.spec->trainable});
  }
  return w;
}

std::string* TfBackend::traced() {
  if (!profile_) return nullptr;
  // RunMetadata is decoded at stop_profile(), outside the profiled steps, unless the traced runs
  // pile up past this many bytes (a long profile), when the backlog is decoded here.
  constexpr size_t kMaxBacklog = size_t{256} << 20;
  if (!run_metadata_.empty()) run_metadata_bytes_ += run_metadata_.back().size();
  if (run_metadata_bytes_ > kMaxBacklog) decode_backlog();
  return &run_metadata_.emplace_back();
}

void TfBackend::decode_backlog() {
  for (const std::string& bytes : run_metadata_) profile_->add(parse_run_metadata(bytes));
  run_metadata_.clear();
  run_metadata_bytes_ = 0;
}

void TfBackend::start_profile() {
  if (!session_) throw Error("tensorflow worker: start_profile before build");
  // The graph's op type of a node, looked up once per node name (build() ends a profile, so
  // graph_ is the graph the traced runs ran).
  auto types = std::make_shared<std::map<std::string, std::string>>();
  profile_ = std::make_unique<StepProfile>([this, types](const std::string& node) {
    auto it = types->find(node);
    if (it == types->end()) {
      TF_Operation* op = TF_GraphOperationByName(graph_->get(), node.c_str());
      it = types->emplace(node, op == nullptr ? "" : TF_OperationOpType(op)).first;
    }
    return it->second;
  });
  run_metadata_.clear();
  run_metadata_bytes_ = 0;
  profile_->start();
}

OpProfile TfBackend::stop_profile() {
  if (!profile_) throw Error("tensorflow worker: stop_profile without start_profile");
  decode_backlog();
  OpProfile out = profile_->finish();
  profile_.reset();
  return out;
}

void TfBackend::reset_state() {
  // Training and prediction share one memory (MODELS.md): the same variables in both modes.
  if (!model_ || model_->state_resets.empty()) return;
  session_->run({}, {}, model_->state_resets);
}

}  // namespace greenbench::workloads::tf
