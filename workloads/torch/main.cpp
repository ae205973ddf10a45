// greenbench-torch: the models of workloads/common/MODELS.md in LibTorch (ATen ops + autograd,
// eager mode), driven by the shared worker driver.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <dlfcn.h>
#include <torch/headeronly/version.h>

#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/backend.hpp"
#include "common/cuda_probe.hpp"
#include "common/driver.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "greenbench/error.hpp"
#include "torch/profiler.hpp"

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

HostTensor to_host(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  HostTensor h;
  h.dtype = HostTensor::DType::kF32;
  h.shape.assign(c.sizes().begin(), c.sizes().end());
  h.f32.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return h;
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

// A batch as LibTorch tensors on the run's device, in LibTorch's native (NCHW) layout.
class TorchBatch final : public PreparedBatch {
 public:
  std::vector<std::pair<std::string, at::Tensor>> inputs;
  const at::Tensor& get(const std::string& name) const {
    for (const auto& [n, t] : inputs) {
      if (n == name) return t;
    }
    throw Error("pytorch backend: the batch has no input '" + name + "'");
  }
};

class TorchBackend final : public Backend {
 public:
  std::string framework() const override { return "pytorch"; }
  std::string framework_version() const override { return TORCH_VERSION; }

  void build(const ModelSpec& spec, const Settings& settings, const Weights& initial) override {
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
    mixed_ = settings.mixed_precision();
    half_ = settings.precision == "fp16" ? at::kHalf : at::kBFloat16;
    device_ = settings.cuda_index() >= 0 ? cuda_device(settings) : at::Device(at::kCPU);
    params_.clear();
    index_.clear();
    for (size_t i = 0; i < spec.params.size(); ++i) {
      const ParamSpec& p = spec.params[i];
      const NamedTensor& w = initial.at(i);
      if (w.name != p.name || w.value.shape != p.shape) {
        throw Error("initial weights: tensor " + std::to_string(i) + " '" + w.name +
                    "' does not match parameter '" + p.name + "'");
      }
      at::Tensor t = to_tensor(w.value, device_);
      // Plain NCHW on purpose: the channels-last path (about 20% less CPU per ResNet step) takes
      // a batch-norm backward whose one-step updates differ from the reference by ~2e-3, which
      // the cross-framework equality check cannot tell apart from a wrong gradient.
      if (p.trainable) t.requires_grad_(true);
      index_[p.name] = params_.size();
      params_.push_back(t);
    }
    moment1_.assign(params_.size(), at::Tensor());
    moment2_.assign(params_.size(), at::Tensor());
    step_ = 0;
    mems_.clear();
  }

  FrameworkOptions framework_options() const override {
    // LibTorch runs with its defaults in both numerics modes: they are what the equality tests
    // were established with, so "strict" changes nothing here.
    return {{"numerics", numerics_},
            {"execution", "eager (ATen ops, autograd)"},
            {"intra_op_threads", std::to_string(at::get_num_threads())},
            {"inter_op_threads", std::to_string(at::get_num_interop_threads())},
            {"mkldnn", at::globalContext().userEnabledMkldnn() ? "on" : "off"},
            {"image_layout", "NCHW (contiguous, LibTorch's default)"},
            {"device", device_.str()},
            {"precision", precision_},
            {"compute_dtype", mixed_ ? (precision_ == "fp16" ? "float16" : "bfloat16") : "float32"},
            {"tf32", device_.is_cuda() ? (at::globalContext().allowTF32CuBLAS() ? "on" : "off")
                                       : "n/a (CPU)"}};
  }

  std::unique_ptr<PreparedBatch> prepare(const Batch& batch, bool /*training*/) override {
    auto out = std::make_unique<TorchBatch>();
    for (const auto& [name, t] : batch.inputs)
      out->inputs.emplace_back(name, to_tensor(t, device_));
    return out;
  }

  StepResult train_step(const PreparedBatch& prepared, float learning_rate,
                        float loss_scale) override {
    const auto& batch = static_cast<const TorchBatch&>(prepared);
    for (at::Tensor& p : params_) {
      if (p.requires_grad()) p.mutable_grad() = at::Tensor();
    }
    const at::Tensor loss = forward_loss(batch);
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
      at::Tensor bad = at::zeros({}, at::TensorOptions().dtype(at::kBool).device(device_));
      for (at::Tensor& p : params_) {
        if (!p.requires_grad() || !p.grad().defined()) continue;
        p.mutable_grad().div_(static_cast<double>(loss_scale));
        bad = bad.logical_or(at::isfinite(p.grad()).logical_not().any());
      }
      applied = !bad.item<bool>();
    }
    if (applied) update(learning_rate);
    return {loss.item<float>(), applied};
  }

  HostTensor predict(const PreparedBatch& prepared) override {
    const auto& batch = static_cast<const TorchBatch&>(prepared);
    c10::NoGradGuard no_grad;
    return to_host(forward(batch, /*training=*/false));
  }

  Weights weights() override {
    Weights out;
    for (size_t i = 0; i < params_.size(); ++i) {
      const ParamSpec& p = spec_.params[i];
      out.push_back({p.name, to_host(params_[i]), p.trainable});
    }
    return out;
  }

  void synchronize() override {
    if (device_.is_cuda()) {
      c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->synchronizeDevice(device_.index());
    }
  }

  void reset_state() override { mems_.clear(); }

  void start_profile() override {
    // The recorder times ops on the host: with CUDA that is the launch, not the kernel, and the
    // autograd engine runs backward on a device thread the recorder does not follow.
    if (device_.is_cuda()) {
      throw Error("--profile: the LibTorch worker profiles on the CPU only (--device " +
                  device_.str() + " asked for; its host timings would miss the GPU's kernels)");
    }
    recorder_.start();
  }

  OpProfile stop_profile() override { return recorder_.stop(); }

 private:
  const at::Tensor& P(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) throw Error("pytorch backend: no parameter '" + name + "'");
    return params_[it->second];
  }

  at::Tensor forward_loss(const TorchBatch& batch) {
    const at::Tensor logits = forward(batch, /*training=*/true);
    if (spec_.model == "ncf") {
      const at::Tensor labels = batch.get("labels");
      return at::binary_cross_entropy_with_logits(logits.squeeze(1), labels);
    }
    if (spec_.model == "resnet50") {
      const at::Tensor labels = batch.get("labels");
      return at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, -100,
                                    spec_.resnet.label_smoothing);
    }
    const at::Tensor target = batch.get("target");
    return at::cross_entropy_loss(logits.reshape({-1, spec_.txl.n_token}), target.reshape({-1}));
  }

  at::Tensor forward(const TorchBatch& batch, bool training) {
    if (spec_.model == "ncf") return ncf(batch);
    if (spec_.model == "resnet50") return resnet(batch, training);
    return transformer_xl(batch, training);
  }

  // --- The ops MODELS.md's Precision section computes in bf16/fp16 ----------------------------
  // With mixed precision their inputs are cast to the 16-bit type, the op runs in it, and its
  // output is cast back to float32 (explicit casts, not autocast, whose op lists are LibTorch's
  // own). Biases are added in float32 after the cast back. fp32/tf32 call the plain ops.
  at::Tensor lp(const at::Tensor& x) const { return x.to(half_); }

  at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = {}) const {
    if (!mixed_) return at::linear(x, w, b);
    at::Tensor y = at::matmul(lp(x), lp(w).t()).to(at::kFloat);
    return b.defined() ? y + b : y;
  }

  at::Tensor conv(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t pad) const {
    if (!mixed_) return at::conv2d(x, w, {}, stride, pad);
    return at::conv2d(lp(x), lp(w), {}, stride, pad).to(at::kFloat);
  }

  at::Tensor einsum(const char* eq, const at::Tensor& a, const at::Tensor& b) const {
    if (!mixed_) return at::einsum(eq, {a, b});
    return at::einsum(eq, {lp(a), lp(b)}).to(at::kFloat);
  }

  // --- NCF -------------------------------------------------------------------------------------
  at::Tensor ncf(const TorchBatch& batch) {
    const at::Tensor users = batch.get("users");
    const at::Tensor items = batch.get("items");
    const at::Tensor gmf = at::embedding(P("mf_user_embed.weight"), users) *
                           at::embedding(P("mf_item_embed.weight"), items);
    at::Tensor h = at::cat({at::embedding(P("mlp_user_embed.weight"), users),
                            at::embedding(P("mlp_item_embed.weight"), items)},
                           1);
    for (size_t j = 0; j + 1 < spec_.ncf.mlp_sizes.size(); ++j) {
      const std::string p = "mlp." + std::to_string(j);
      h = at::relu(linear(h, P(p + ".weight"), P(p + ".bias")));
    }
    return linear(at::cat({gmf, h}, 1), P("final.weight"), P("final.bias"));
  }

  // --- ResNet-50 v1.5 --------------------------------------------------------------------------
  at::Tensor bn(const at::Tensor& x, const std::string& p, bool training) {
    const ResNetConfig& c = spec_.resnet;
    return at::batch_norm(x, P(p + ".weight"), P(p + ".bias"), P(p + ".running_mean"),
                          P(p + ".running_var"), training, c.bn_momentum, c.bn_eps,
                          /*cudnn_enabled=*/true);
  }

  at::Tensor resnet(const TorchBatch& batch, bool training) {
    at::Tensor x = batch.get("images");
    x = conv(x, P("conv1.weight"), 2, 3);
    x = at::relu(bn(x, "bn1", training));
    x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    const ResNetConfig& c = spec_.resnet;
    for (size_t stage = 0; stage < c.blocks.size(); ++stage) {
      for (int64_t block = 0; block < c.blocks[stage]; ++block) {
        const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
        const int64_t stride = (stage > 0 && block == 0) ? 2 : 1;
        at::Tensor y = at::relu(bn(conv(x, P(p + ".conv1.weight"), 1, 0), p + ".bn1", training));
        y = at::relu(bn(conv(y, P(p + ".conv2.weight"), stride, 1), p + ".bn2", training));
        y = bn(conv(y, P(p + ".conv3.weight"), 1, 0), p + ".bn3", training);
        const at::Tensor shortcut = block == 0
                                        ? bn(conv(x, P(p + ".downsample.0.weight"), stride, 0),
                                             p + ".downsample.1", training)
                                        : x;
        x = at::relu(y + shortcut);
      }
    }
    return linear(x.mean({2, 3}), P("fc.weight"), P("fc.bias"));
  }

  // --- Transformer-XL --------------------------------------------------------------------------
  static at::Tensor rel_shift(const at::Tensor& x) {
    // x [b, n, i, j] → out[b, n, i, j] = x[b, n, i, j + i_len − 1 − i] where j ≤ j_len − i_len + i.
    const at::Tensor zero_pad = at::zeros({x.size(0), x.size(1), x.size(2), 1}, x.options());
    const at::Tensor padded =
        at::cat({zero_pad, x}, 3).view({x.size(0), x.size(1), x.size(3) + 1, x.size(2)});
    return padded.slice(2, 1).view_as(x);
  }

  at::Tensor attention(const at::Tensor& h, const at::Tensor& r, const at::Tensor& mask,
                       const at::Tensor& mem, const std::string& p) {
    const TransformerXlConfig& c = spec_.txl;
    const int64_t q_len = h.size(0), bsz = h.size(1);
    const at::Tensor cat = mem.defined() && mem.size(0) > 0 ? at::cat({mem, h}, 0) : h;
    const int64_t k_len = cat.size(0);
    const std::vector<at::Tensor> heads = linear(cat, P(p + ".qkv_net.weight")).chunk(3, -1);
    const at::Tensor q = heads[0].slice(0, k_len - q_len).view({q_len, bsz, c.n_head, c.d_head});
    const at::Tensor k = heads[1].view({k_len, bsz, c.n_head, c.d_head});
    const at::Tensor v = heads[2].view({k_len, bsz, c.n_head, c.d_head});
    const at::Tensor rk = linear(r, P(p + ".r_net.weight")).view({k_len, c.n_head, c.d_head});
    const at::Tensor ac = einsum("ibnd,jbnd->bnij", q + P("r_w_bias"), k);
    const at::Tensor bd = rel_shift(einsum("ibnd,jnd->bnij", q + P("r_r_bias"), rk));
    at::Tensor score = (ac + bd) * (1.0 / std::sqrt(static_cast<double>(c.d_head)));
    score =
        score.masked_fill(mask.unsqueeze(0).unsqueeze(0), -std::numeric_limits<float>::infinity());
    const at::Tensor prob = at::softmax(score, 3);
    const at::Tensor vec =
        einsum("bnij,jbnd->ibnd", prob, v).reshape({q_len, bsz, c.n_head * c.d_head});
    const at::Tensor out = linear(vec, P(p + ".o_net.weight"));
    return at::layer_norm(h + out, {c.d_model}, P(p + ".layer_norm.weight"),
                          P(p + ".layer_norm.bias"), c.layer_norm_eps);
  }

  at::Tensor feed_forward(const at::Tensor& a, const std::string& p) {
    const TransformerXlConfig& c = spec_.txl;
    const at::Tensor inner =
        at::relu(linear(a, P(p + ".CoreNet.0.weight"), P(p + ".CoreNet.0.bias")));
    const at::Tensor f = linear(inner, P(p + ".CoreNet.3.weight"), P(p + ".CoreNet.3.bias"));
    return at::layer_norm(a + f, {c.d_model}, P(p + ".layer_norm.weight"),
                          P(p + ".layer_norm.bias"), c.layer_norm_eps);
  }

  at::Tensor transformer_xl(const TorchBatch& batch, bool training) {
    const TransformerXlConfig& c = spec_.txl;
    const at::Tensor data = batch.get("data");
    const int64_t q_len = data.size(0);
    const int64_t mem_limit = training ? c.mem_len : c.eval_mem_len;
    const int64_t clamp = training ? c.clamp_len : c.eval_clamp_len;
    const int64_t m_len = mems_.empty() ? 0 : mems_[0].size(0);
    const int64_t k_len = m_len + q_len;
    const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device_);

    at::Tensor h =
        at::embedding(P("word_emb.weight"), data) * std::sqrt(static_cast<double>(c.d_model));
    at::Tensor pos = at::arange(static_cast<double>(k_len - 1), -1.0, -1.0, f32);
    if (clamp > 0) pos = pos.clamp_max(static_cast<double>(clamp));
    const at::Tensor inv_freq =
        1.0 / at::pow(10000.0, at::arange(0.0, static_cast<double>(c.d_model), 2.0, f32) /
                                   static_cast<double>(c.d_model));
    const at::Tensor sinusoid = at::outer(pos, inv_freq);
    const at::Tensor r = at::cat({sinusoid.sin(), sinusoid.cos()}, -1);
    const at::Tensor mask =
        at::ones({q_len, k_len}, at::TensorOptions().dtype(at::kBool).device(device_))
            .triu(1 + m_len);

    std::vector<at::Tensor> hids = {h};
    for (int64_t l = 0; l < c.n_layer; ++l) {
      const std::string p = "layers." + std::to_string(l);
      const at::Tensor mem = mems_.empty() ? at::Tensor() : mems_[static_cast<size_t>(l)];
      const at::Tensor a = attention(h, r, mask, mem, p + ".dec_attn");
      h = feed_forward(a, p + ".pos_ff");
      hids.push_back(h);
    }
    {
      // New memory: the last mem_limit inputs of each layer, without gradient.
      c10::NoGradGuard no_grad;
      std::vector<at::Tensor> next;
      const int64_t end = m_len + q_len;
      const int64_t begin = std::max<int64_t>(0, end - mem_limit);
      for (int64_t l = 0; l < c.n_layer; ++l) {
        const at::Tensor& hl = hids[static_cast<size_t>(l)];
        const at::Tensor cat =
            m_len > 0 ? at::cat({mems_[static_cast<size_t>(l)], hl.detach()}, 0) : hl.detach();
        next.push_back(cat.slice(0, begin, end).contiguous());
      }
      mems_ = std::move(next);
    }
    return linear(h, P("word_emb.weight"), P("crit.out_layers.0.bias"));
  }

  // --- Optimizers (MODELS.md; written out so both workers apply the same arithmetic) ----------
  void update(float lr) {
    RECORD_USER_SCOPE(kOptimizerScope);  // MODELS.md, Profiling: these ops are the optimizer pass
    c10::NoGradGuard no_grad;
    const OptimizerSpec& o = spec_.optimizer;
    ++step_;
    for (size_t i = 0; i < params_.size(); ++i) {
      at::Tensor& p = params_[i];
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

  ModelSpec spec_;
  at::Device device_ = at::Device(at::kCPU);
  std::vector<at::Tensor> params_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<at::Tensor> moment1_, moment2_;  // Adam m, v; SGD momentum buffer in moment1_
  int64_t step_ = 0;
  std::vector<at::Tensor> mems_;
  std::string numerics_ = "default";
  std::string precision_ = "fp32";
  bool mixed_ = false;
  at::ScalarType half_ = at::kBFloat16;
  OpRecorder recorder_;
};

}  // namespace
}  // namespace greenbench::workloads

int main(int argc, char** argv) {
  greenbench::workloads::TorchBackend backend;
  return greenbench::workloads::run_worker(argc, argv, backend);
}
