// The LibTorch backend (torch_backend.hpp): building parameters from the shared initial weights,
// the training step with its written-out optimizers, inference, weights and the op profiler.
#include "torch/torch_backend.hpp"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <dlfcn.h>
#include <torch/headeronly/version.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/cuda_probe.hpp"
#include "common/driver.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

at::Tensor to_tensor(const HostTensor& h, const at::Device& device) {
  if (h.dtype == HostTensor::DType::kF32) {
    // from_blob does not copy; the clone (or the device copy) makes the tensor own its data.
    at::Tensor t = at::from_blob(const_cast<float*>(h.f32.data()), h.shape, at::kFloat);
    return device.is_cpu() ? t.clone() : t.to(device);
  }
  at::Tensor t = at::from_blob(const_cast<int64_t*>(h.i64.data()), h.shape, at::kLong);
  return device.is_cpu() ? t.clone() : t.to(device);
}

// Loads the CUDA part of LibTorch on demand: the CPU-only build of the worker must run where no
// CUDA libraries are installed. The driver is probed first (common/cuda_probe), so a machine
// without a driver or GPU is told so rather than about libraries.
at::Device cuda_device(const Settings& s) {
  const CudaDriverInfo driver = require_cuda_device(s.device);
  // The wheel's CUDA version (torch/version.py, read at build time).
  require_driver_for_runtime(s.device, driver, GREENBENCH_TORCH_CUDA_VERSION,
                             "LibTorch " TORCH_VERSION);
  const std::string lib = std::string(GREENBENCH_TORCH_LIBRARY_DIR) + "/libtorch_cuda.so";
  if (dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    const char* why = dlerror();
    throw DeviceUnavailable(
        "--device " + s.device + ": LibTorch's CUDA libraries are not installed (" +
        (why ? why : "libtorch_cuda.so cannot be loaded") + "): run scripts/setup.sh --gpu");
  }
  // libtorch_cuda links the CUDA runtime, so its entry points are now in the process.
  using IntOut = int (*)(int*);
  auto runtime_version = reinterpret_cast<IntOut>(dlsym(RTLD_DEFAULT, "cudaRuntimeGetVersion"));
  int runtime = 0;
  if (runtime_version != nullptr && runtime_version(&runtime) != 0) runtime = 0;
  require_driver_for_runtime(s.device, driver, runtime, "LibTorch " TORCH_VERSION);
  if (!at::hasCUDA() || at::getNumGPUs() == 0) {
    auto count = reinterpret_cast<IntOut>(dlsym(RTLD_DEFAULT, "cudaGetDeviceCount"));
    int n = 0;
    const int rc = count != nullptr ? count(&n) : -1;
    constexpr int kInsufficientDriver = 35;  // cudaErrorInsufficientDriver
    if (rc == kInsufficientDriver) {
      throw DeviceUnavailable("--device " + s.device + ": the NVIDIA driver (CUDA " +
                              cuda_version_text(driver.driver_version) +
                              ") is too old for LibTorch's CUDA runtime " +
                              cuda_version_text(runtime) + ": update the driver");
    }
    throw DeviceUnavailable("--device " + s.device + ": LibTorch's CUDA runtime finds no GPU (" +
                            "cudaGetDeviceCount returned " + std::to_string(rc) + ", the driver " +
                            "reports " + std::to_string(driver.device_count) + ")");
  }
  const int index = s.cuda_index();
  if (index >= static_cast<int>(at::getNumGPUs())) {
    throw DeviceUnavailable("--device " + s.device + ": out of range: LibTorch sees " +
                            std::to_string(at::getNumGPUs()) + " GPU(s)");
  }
  // MODELS.md, Precision: fp32 means no TF32 anywhere (LibTorch lets cuDNN use it by default);
  // tf32 allows it in cuBLAS and cuDNN.
  at::globalContext().setAllowTF32CuBLAS(s.precision == "tf32");
  at::globalContext().setAllowTF32CuDNN(s.precision == "tf32");
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace

HostTensor host_f32(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  HostTensor h;
  h.dtype = HostTensor::DType::kF32;
  h.shape.assign(c.sizes().begin(), c.sizes().end());
  h.f32.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return h;
}

HostTensor TorchModel::predict(const TorchBatch& batch) {
  return host_f32(forward(batch, /*training=*/false));
}

at::Tensor clip_grad_norm(std::vector<at::Tensor>& grads, double max_norm) {
  std::vector<at::Tensor> defined;
  for (const at::Tensor& g : grads) {
    if (g.defined()) defined.push_back(g);
  }
  if (defined.empty()) return {};
  // clip_grad_norm_'s foreach path: the norm of the per-tensor norms, and one factor, clamped
  // to 1, applied to every gradient (on the device, no synchronisation).
  const at::Tensor norm = at::linalg_vector_norm(at::stack(at::_foreach_norm(defined, 2)), 2);
  const at::Tensor factor = (max_norm / (norm + 1e-6)).clamp_max(1.0);
  at::_foreach_mul_(defined, factor);
  return norm;
}

const at::Tensor& TorchBatch::get(const std::string& name) const {
  for (const auto& [n, t] : inputs) {
    if (n == name) return t;
  }
  throw Error("pytorch backend: the batch has no input '" + name + "'");
}

const at::Tensor& TorchOps::P(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) throw Error("pytorch backend: no parameter '" + name + "'");
  return params_[it->second];
}

at::Tensor TorchOps::linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const {
  if (!mixed_) return at::linear(x, w, b);
  at::Tensor y = at::matmul(lp(x), lp(w).t()).to(at::kFloat);
  return b.defined() ? y + b : y;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> TorchOps::lstm(
    const at::Tensor& x, const std::string& prefix, const std::string& suffix, const at::Tensor& h0,
    const at::Tensor& c0, bool training) const {
  const at::Tensor& w_ih = P(prefix + ".weight_ih_l0" + suffix);
  const at::Tensor& w_hh = P(prefix + ".weight_hh_l0" + suffix);
  const at::Tensor& b_ih = P(prefix + ".bias_ih_l0" + suffix);
  const at::Tensor& b_hh = P(prefix + ".bias_hh_l0" + suffix);
  if (!mixed_) {
    auto [out, h, c] = at::lstm(x, {h0.unsqueeze(0), c0.unsqueeze(0)}, {w_ih, w_hh, b_ih, b_hh},
                                /*has_biases=*/true, /*num_layers=*/1, /*dropout=*/0.0, training,
                                /*bidirectional=*/false, /*batch_first=*/true);
    return {out, h.squeeze(0), c.squeeze(0)};
  }
  // at::lstm in the 16-bit type would keep the cell state and gates in it too; MODELS.md puts
  // only the matmuls there.
  const at::Tensor gx = linear(x, w_ih, b_ih);  // [B, T, 4H], every step's input part at once
  at::Tensor h = h0, c = c0;
  std::vector<at::Tensor> outs;
  outs.reserve(static_cast<size_t>(x.size(1)));
  for (int64_t t = 0; t < x.size(1); ++t) {
    const std::vector<at::Tensor> z = (gx.select(1, t) + linear(h, w_hh, b_hh)).chunk(4, 1);
    c = at::sigmoid(z[1]) * c + at::sigmoid(z[0]) * at::tanh(z[2]);
    h = at::sigmoid(z[3]) * at::tanh(c);
    outs.push_back(h);
  }
  return {at::stack(outs, 1), h, c};
}

at::Tensor TorchOps::conv(const at::Tensor& x, const at::Tensor& w, int64_t stride,
                          int64_t pad) const {
  if (!mixed_) return at::conv2d(x, w, {}, stride, pad);
  return at::conv2d(lp(x), lp(w), {}, stride, pad).to(at::kFloat);
}

at::Tensor TorchOps::conv_transpose(const at::Tensor& x, const at::Tensor& w,
                                    int64_t stride) const {
  if (!mixed_) return at::conv_transpose2d(x, w, {}, stride);
  return at::conv_transpose2d(lp(x), lp(w), {}, stride).to(at::kFloat);
}

at::Tensor TorchOps::einsum(const char* eq, const at::Tensor& a, const at::Tensor& b) const {
  if (!mixed_) return at::einsum(eq, {a, b});
  return at::einsum(eq, {lp(a), lp(b)}).to(at::kFloat);
}

at::Tensor TorchOps::batch_norm(const at::Tensor& x, const std::string& p, bool training,
                                double momentum, double eps) const {
  return at::batch_norm(x, P(p + ".weight"), P(p + ".bias"), P(p + ".running_mean"),
                        P(p + ".running_var"), training, momentum, eps,
                        /*cudnn_enabled=*/true);
}

std::string TorchBackend::framework_version() const { return TORCH_VERSION; }

void TorchBackend::build(const ModelSpec& spec, const Settings& settings, const Weights& initial) {
  spec_ = spec;
  static bool interop_set = false;
  if (!interop_set) {
    // Must precede any inter-op parallel work, and may be set only once per process.
    at::set_num_interop_threads(1);
    interop_set = true;
  }
  at::set_num_threads(settings.threads);
  numerics_ = settings.numerics;
  precision_ = settings.precision;
  ops_.mixed_ = settings.mixed_precision();
  ops_.half_ = settings.precision == "fp16" ? at::kHalf : at::kBFloat16;
  ops_.device_ = settings.cuda_index() >= 0 ? cuda_device(settings) : at::Device(at::kCPU);
  ops_.params_.clear();
  ops_.index_.clear();
  for (size_t i = 0; i < spec.params.size(); ++i) {
    const ParamSpec& p = spec.params[i];
    const NamedTensor& w = initial.at(i);
    if (w.name != p.name || w.value.shape != p.shape) {
      throw Error("initial weights: tensor " + std::to_string(i) + " '" + w.name +
                  "' does not match parameter '" + p.name + "'");
    }
    at::Tensor t = to_tensor(w.value, ops_.device_);
    // Plain NCHW on purpose: the channels-last path (about 20% less CPU per ResNet step) takes
    // a batch-norm backward whose one-step updates differ from the reference by ~2e-3, which
    // the cross-framework equality check cannot tell apart from a wrong gradient.
    if (p.trainable) t.requires_grad_(true);
    ops_.index_[p.name] = ops_.params_.size();
    ops_.params_.push_back(t);
  }
  moment1_.assign(ops_.params_.size(), at::Tensor());
  moment2_.assign(ops_.params_.size(), at::Tensor());
  step_ = 0;
  if (spec.model == "ncf") {
    model_ = make_ncf(spec_, ops_);
  } else if (spec.model == "resnet50") {
    model_ = make_resnet50(spec_, ops_);
  } else if (spec.model == "transformer_xl") {
    model_ = make_transformer_xl(spec_, ops_);
  } else if (spec.model == "ssd") {
    model_ = make_ssd(spec_, ops_);
  } else if (spec.model == "gnmt") {
    model_ = make_gnmt(spec_, ops_);
  } else if (spec.model == "mask_rcnn") {
    model_ = make_mask_rcnn(spec_, ops_, settings.seed);
  } else {
    throw Error("pytorch backend: no model '" + spec.model + "'");
  }
}

FrameworkOptions TorchBackend::framework_options() const {
  // LibTorch runs with its defaults in both numerics modes: they are what the equality tests
  // were established with, so "strict" changes nothing here.
  const at::Device& device = ops_.device_;
  return {
      {"numerics", numerics_},
      {"execution", "eager (ATen ops, autograd)"},
      {"intra_op_threads", std::to_string(at::get_num_threads())},
      {"inter_op_threads", std::to_string(at::get_num_interop_threads())},
      {"mkldnn", at::globalContext().userEnabledMkldnn() ? "on" : "off"},
      {"image_layout", "NCHW (contiguous, LibTorch's default)"},
      {"device", device.str()},
      {"precision", precision_},
      {"compute_dtype", ops_.mixed_ ? (precision_ == "fp16" ? "float16" : "bfloat16") : "float32"},
      {"tf32",
       device.is_cuda() ? (at::globalContext().allowTF32CuBLAS() ? "on" : "off") : "n/a (CPU)"}};
}

std::unique_ptr<PreparedBatch> TorchBackend::prepare(const Batch& batch, bool training) {
  auto out = std::make_unique<TorchBatch>();
  if (spec_.model == "mask_rcnn") {
    // Only the images go to the device: the ground truth serves the host's target code.
    out->inputs.emplace_back("images", to_tensor(batch.get("images"), ops_.device_));
    if (training) out->rcnn_truth = rcnn_ground_truth(spec_.mask_rcnn, batch);
    return out;
  }
  for (const auto& [name, t] : batch.inputs)
    out->inputs.emplace_back(name, to_tensor(t, ops_.device_));
  return out;
}

Backend::StepResult TorchBackend::train_step(const PreparedBatch& prepared, float learning_rate,
                                             float loss_scale) {
  const auto& batch = static_cast<const TorchBatch&>(prepared);
  for (at::Tensor& p : ops_.params_) {
    if (p.requires_grad()) p.mutable_grad() = at::Tensor();
  }
  const at::Tensor loss = model_->loss(batch);
  if (precision_ != "fp16") {
    loss.backward();
    update(learning_rate);
    return {loss.item<float>(), true};
  }
  // MODELS.md, Precision: gradients of scale·loss, divided by the scale in float32; a step with
  // any non-finite gradient changes no parameter and no optimizer state.
  (loss * static_cast<double>(loss_scale)).backward();
  bool applied = false;
  {
    // Unscaling and the finiteness check are part of the optimizer step (as GradScaler's
    // unscale_ and step are in PyTorch).
    RECORD_USER_SCOPE(kOptimizerScope);
    c10::NoGradGuard no_grad;
    at::Tensor bad = at::zeros({}, at::TensorOptions().dtype(at::kBool).device(ops_.device_));
    for (at::Tensor& p : ops_.params_) {
      if (!p.requires_grad() || !p.grad().defined()) continue;
      p.mutable_grad().div_(static_cast<double>(loss_scale));
      bad = bad.logical_or(at::isfinite(p.grad()).logical_not().any());
    }
    applied = !bad.item<bool>();
  }
  if (applied) update(learning_rate);
  return {loss.item<float>(), applied};
}

HostTensor TorchBackend::predict(const PreparedBatch& prepared) {
  c10::NoGradGuard no_grad;
  return model_->predict(static_cast<const TorchBatch&>(prepared));
}

HostTensor TorchBackend::head_outputs(const PreparedBatch& prepared) {
  c10::NoGradGuard no_grad;
  return model_->head_outputs(static_cast<const TorchBatch&>(prepared));
}

HostTensor TorchBackend::forward_host(const PreparedBatch& prepared, bool training) {
  const auto& batch = static_cast<const TorchBatch&>(prepared);
  c10::NoGradGuard no_grad;
  return host_f32(model_->forward(batch, training));
}

Weights TorchBackend::weights() {
  Weights out;
  for (size_t i = 0; i < ops_.params_.size(); ++i) {
    const ParamSpec& p = spec_.params[i];
    out.push_back({p.name, host_f32(ops_.params_[i]), p.trainable});
  }
  return out;
}

void TorchBackend::synchronize() {
  if (ops_.device_.is_cuda()) {
    c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->synchronizeDevice(ops_.device_.index());
  }
}

void TorchBackend::reset_state() {
  if (model_) model_->reset_state();
}

void TorchBackend::start_profile() {
  // The recorder times ops on the host: with CUDA that is the launch, not the kernel, and the
  // autograd engine runs backward on a device thread the recorder does not follow.
  if (ops_.device_.is_cuda()) {
    throw Error("--profile: the LibTorch worker profiles on the CPU only (--device " +
                ops_.device_.str() + " asked for; its host timings would miss the GPU's kernels)");
  }
  recorder_.start();
}

OpProfile TorchBackend::stop_profile() { return recorder_.stop(); }

// --- Optimizers (MODELS.md; written out so both workers apply the same arithmetic) ------------
void TorchBackend::update(float lr) {
  RECORD_USER_SCOPE(kOptimizerScope);  // MODELS.md, Profiling: these ops are the optimizer pass
  c10::NoGradGuard no_grad;
  const OptimizerSpec& o = spec_.optimizer;
  if (spec_.model == "gnmt" && spec_.gnmt.grad_clip_norm > 0.0) {
    // MODELS.md, GNMT v2: after fp16's unscaling (train_step), before the update.
    std::vector<at::Tensor> grads;
    for (at::Tensor& p : ops_.params_) {
      if (p.requires_grad()) grads.push_back(p.grad());
    }
    (void)clip_grad_norm(grads, spec_.gnmt.grad_clip_norm);
  }
  ++step_;
  for (size_t i = 0; i < ops_.params_.size(); ++i) {
    at::Tensor& p = ops_.params_[i];
    if (!p.requires_grad()) continue;
    at::Tensor g = p.grad();
    if (!g.defined()) g = at::zeros_like(p);
    if (o.name == "adam") {
      if (!moment1_[i].defined()) {
        moment1_[i] = at::zeros_like(p);
        moment2_[i] = at::zeros_like(p);
      }
      moment1_[i].mul_(o.beta1).add_(g, 1.0 - o.beta1);
      moment2_[i].mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
      const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(step_));
      const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(step_));
      const at::Tensor denom = (moment2_[i].sqrt() / std::sqrt(bc2)).add_(o.eps);
      p.addcdiv_(moment1_[i], denom, -static_cast<double>(lr) / bc1);
    } else {
      if (o.weight_decay != 0.0 && spec_.params[i].weight_decay) g = g.add(p, o.weight_decay);
      if (!moment1_[i].defined()) {
        moment1_[i] = g.clone();
      } else {
        moment1_[i].mul_(o.momentum).add_(g);
      }
      p.add_(moment1_[i], -static_cast<double>(lr));
    }
  }
}

}  // namespace greenbench::workloads
