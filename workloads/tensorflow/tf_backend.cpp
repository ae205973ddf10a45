#include "tf_backend.hpp"

#include <dlfcn.h>

#include <cmath>
#include <cstdlib>

#include "common/driver.hpp"
#include "greenbench/error.hpp"

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

}  // namespace

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
  TF_Output p = graph_.placeholder(dtype, shape,
                                   std::string(mode == Mode::kTrain ? "train/" : "infer/") + name);
  in.inputs.emplace_back(name, p);
  return p;
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

void TfBackend::build(const ModelSpec& spec, const Settings& settings, const Weights& initial) {
  if (settings.device != "cpu") {
    throw DeviceUnavailable("tensorflow worker: --device " + settings.device +
                            " is not available: the tensorflow-cpu wheel has no CUDA support");
  }
  // A rebuild drops the previous session and model before the graph they refer to.
  session_.reset();
  model_.reset();
  spec_ = spec;
  settings_ = settings;
  graph_ = std::make_unique<Graph>();
  Graph& g = *graph_;
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
  model_ = std::make_unique<ModelBuilder>(g, spec_, settings_, param_values_);
  if (spec_.model == "ncf") {
    build_ncf(*model_);
  } else if (spec_.model == "resnet50") {
    build_resnet50(*model_);
  } else if (spec_.model == "transformer_xl") {
    build_transformer_xl(*model_);
  } else {
    throw Error("tensorflow worker: unknown model '" + spec_.model + "'");
  }
  if (model_->loss.oper == nullptr || model_->logits.oper == nullptr) {
    throw Error("tensorflow worker: model " + spec_.model + " built no loss or no logits");
  }
  build_optimizer(*model_);
  session_ = std::make_unique<Session>(g, settings_.threads, 1,
                                       /*grappler=*/settings_.numerics != "strict");
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
  const std::vector<TF_Output> grads = g.gradients(b.loss, xs);
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
      updates.push_back(g.assign(m, m_new, after));
      updates.push_back(g.assign(s, s_new, after));
      updates.push_back(g.assign(v.handle, p_new, after));
    } else if (opt.name == "sgd") {
      // PyTorch SGD: g += wd·p (coupled); buf = momentum·buf + g (buf starts at 0, so the first
      // step gives buf = g); p -= lr·buf.
      if (opt.weight_decay != 0.0 && v.spec->weight_decay) {
        grad = g.add(grad, g.mul(p, g.scalar(static_cast<float>(opt.weight_decay))));
      }
      TF_Output step = grad;
      if (opt.momentum != 0.0) {
        TF_Output buf = slot(v, "momentum");
        step = g.add(g.mul(g.read(buf), g.scalar(static_cast<float>(opt.momentum))), grad);
        updates.push_back(g.assign(buf, step, after));
      }
      updates.push_back(g.assign(v.handle, g.sub(p, g.mul(lr_, step)), after));
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
}

FrameworkOptions TfBackend::framework_options() const {
  const char* env = std::getenv("TF_ENABLE_ONEDNN_OPTS");
  const bool strict = settings_.numerics == "strict";
  return {{"numerics", settings_.numerics},
          {"execution", "graph (C API, one TF_SessionRun per step)"},
          {"intra_op_threads", std::to_string(settings_.threads)},
          {"inter_op_threads", "1"},
          {"onednn", onednn_state()},
          {"tf_enable_onednn_opts", env == nullptr ? "(unset)" : env},
          {"grappler", strict ? "off (disable_meta_optimizer)" : "on (TensorFlow's defaults)"},
          {"image_layout", "NHWC (TensorFlow's CPU layout), kernels HWIO"},
          {"recurrent_state", "resource variables (stays in TensorFlow between steps)"},
          {"device", settings_.device}};
}

std::unique_ptr<PreparedBatch> TfBackend::prepare(const Batch& batch, bool training) {
  const ModelBuilder::Inputs& in = training ? model_->train : model_->infer;
  auto out = std::make_unique<TfBatch>();
  for (const auto& [name, placeholder] : in.inputs) {
    const HostTensor& h = batch.get(name);
    out->feeds.emplace_back(placeholder, name == "images" ? nchw_to_nhwc(h) : to_tf(h));
  }
  return out;
}

float TfBackend::train_step(const PreparedBatch& prepared, float learning_rate) {
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
  std::vector<TF_Operation*> targets{train_op_};
  targets.insert(targets.end(), model_->train.state_updates.begin(),
                 model_->train.state_updates.end());
  std::vector<Tensor> out = session_->run(feeds, {model_->loss}, targets);
  return static_cast<const float*>(TF_TensorData(out[0].get()))[0];
}

HostTensor TfBackend::predict(const PreparedBatch& prepared) {
  const auto& batch = static_cast<const TfBatch&>(prepared);
  std::vector<std::pair<TF_Output, TF_Tensor*>> feeds;
  for (const auto& [placeholder, tensor] : batch.feeds)
    feeds.emplace_back(placeholder, tensor.get());
  std::vector<Tensor> out = session_->run(feeds, {model_->logits}, model_->infer.state_updates);
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

void TfBackend::reset_state() {
  // Training and prediction share one memory (MODELS.md): the same variables in both modes.
  if (!model_ || model_->state_resets.empty()) return;
  session_->run({}, {}, model_->state_resets);
}

}  // namespace greenbench::workloads::tf
