#pragma once
// The LibTorch backend (ATen ops + autograd, eager mode): parameters as at::Tensors on the run's
// device, the training step (forward, loss, backward, the optimizer written out), inference and
// the op profiler. Models live in models_*.cpp and only describe their forward pass and loss.
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/backend.hpp"
#include "common/mask_rcnn_step.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "torch/profiler.hpp"

namespace greenbench::workloads {

/// A batch as LibTorch tensors on the run's device, in LibTorch's native (NCHW) layout.
class TorchBatch final : public PreparedBatch {
 public:
  std::vector<std::pair<std::string, at::Tensor>> inputs;
  /// mask_rcnn training batches: the ground truth, kept on the host (MODELS.md, "Mask R-CNN");
  /// their boxes, classes and masks are not copied to the device.
  std::vector<RcnnGroundTruth> rcnn_truth;
  /// The input with this name; throws greenbench::Error when the batch has none.
  [[nodiscard]] const at::Tensor& get(const std::string& name) const;
};

/// What a model's forward pass uses: its parameters by name and the ops MODELS.md's Precision
/// section computes in bf16/fp16. With mixed precision their inputs are cast to the 16-bit type,
/// the op runs in it, and its output is cast back to float32 (explicit casts, not autocast, whose
/// op lists are LibTorch's own). Biases are added in float32 after the cast back. fp32/tf32 call
/// the plain ops.
class TorchOps {
 public:
  /// The parameter (or buffer) with this name; throws greenbench::Error when absent.
  [[nodiscard]] const at::Tensor& P(const std::string& name) const;
  /// x·wᵀ (+ b).
  [[nodiscard]] at::Tensor linear(const at::Tensor& x, const at::Tensor& w,
                                  const at::Tensor& b = {}) const;
  /// 2-D convolution (NCHW, OIHW kernel) without bias, symmetric padding.
  [[nodiscard]] at::Tensor conv(const at::Tensor& x, const at::Tensor& w, int64_t stride,
                                int64_t pad) const;
  /// 2-D transposed convolution (NCHW, [in, out, kh, kw] kernel) without bias, no padding.
  [[nodiscard]] at::Tensor conv_transpose(const at::Tensor& x, const at::Tensor& w,
                                          int64_t stride) const;
  /// at::einsum of two operands.
  [[nodiscard]] at::Tensor einsum(const char* eq, const at::Tensor& a, const at::Tensor& b) const;
  /// Batch norm with the parameters and running statistics under `prefix` (MODELS.md, ResNet-50:
  /// batch statistics and a running-statistics update in training, running statistics otherwise).
  [[nodiscard]] at::Tensor batch_norm(const at::Tensor& x, const std::string& prefix, bool training,
                                      double momentum, double eps) const;
  /// One single-layer LSTM (PyTorch's cell, gates i, f, g, o) over x [B, T, in], batch-major,
  /// from the state (h0, c0) [B, H]: (outputs [B, T, H], h_T, c_T). fp32/tf32: at::lstm (what
  /// torch.nn.LSTM runs: oneDNN's fused kernel on the CPU, cuDNN on CUDA). Mixed precision: the
  /// gate matmuls x·W_ihᵀ (all steps at once) and h·W_hhᵀ (step by step) in the 16-bit type, the
  /// biases and the cell (σ, tanh, the state c) in float32.
  /// Its parameters are `<prefix>.{weight_ih,weight_hh,bias_ih,bias_hh}_l0<suffix>`.
  [[nodiscard]] std::tuple<at::Tensor, at::Tensor, at::Tensor> lstm(
      const at::Tensor& x, const std::string& prefix, const std::string& suffix,
      const at::Tensor& h0, const at::Tensor& c0, bool training) const;
  /// The run's device.
  [[nodiscard]] const at::Device& device() const { return device_; }

 private:
  friend class TorchBackend;
  [[nodiscard]] at::Tensor lp(const at::Tensor& x) const { return x.to(half_); }

  std::vector<at::Tensor> params_;
  std::unordered_map<std::string, size_t> index_;
  at::Device device_ = at::Device(at::kCPU);
  bool mixed_ = false;
  at::ScalarType half_ = at::kBFloat16;
};

/// One model in LibTorch (MODELS.md): its inference output and its training loss.
class TorchModel {
 public:
  virtual ~TorchModel() = default;
  /// The forward pass: the canonical logits (what the default predict() returns; GNMT's are
  /// teacher-forced), with batch norm in training or inference mode.
  [[nodiscard]] virtual at::Tensor forward(const TorchBatch& batch, bool training) = 0;
  /// The training-mode forward pass and the scalar loss MODELS.md specifies for it.
  [[nodiscard]] virtual at::Tensor loss(const TorchBatch& batch) = 0;
  /// What Backend::predict returns, on the host. The default is forward(batch, false) as float32
  /// (GNMT decodes instead: its tokens as int64). Called with gradients off.
  [[nodiscard]] virtual HostTensor predict(const TorchBatch& batch);
  /// What Backend::head_outputs returns (`--dump-logits`). The default is predict(batch).
  [[nodiscard]] virtual HostTensor head_outputs(const TorchBatch& batch) { return predict(batch); }
  /// Clears recurrent state carried between batches (Transformer-XL memory).
  virtual void reset_state() {}
};

/// A tensor copied to the host as float32 in its (contiguous) shape.
[[nodiscard]] HostTensor host_f32(const at::Tensor& t);

/// The models, defined in models_<name>.cpp. `ops` outlives the model.
[[nodiscard]] std::unique_ptr<TorchModel> make_ncf(const ModelSpec& spec, const TorchOps& ops);
[[nodiscard]] std::unique_ptr<TorchModel> make_resnet50(const ModelSpec& spec, const TorchOps& ops);
[[nodiscard]] std::unique_ptr<TorchModel> make_transformer_xl(const ModelSpec& spec,
                                                              const TorchOps& ops);
[[nodiscard]] std::unique_ptr<TorchModel> make_ssd(const ModelSpec& spec, const TorchOps& ops);
[[nodiscard]] std::unique_ptr<TorchModel> make_gnmt(const ModelSpec& spec, const TorchOps& ops);
/// Mask R-CNN; `seed` (Settings::seed) seeds its training samplers.
[[nodiscard]] std::unique_ptr<TorchModel> make_mask_rcnn(const ModelSpec& spec, const TorchOps& ops,
                                                         uint64_t seed);

/// Mask R-CNN's pooling table (MODELS.md, "RcnnFeatureTable"): the P2 … P5 maps [N, F, H_k, W_k]
/// as rows of F channels, level after level, image after image, [rows, F].
[[nodiscard]] at::Tensor mask_rcnn_pooling_table(const std::vector<at::Tensor>& features);
/// RoIAlign as one weighted gather over the pooling table (differentiable in the table):
/// [pooling.rois, pooling.cells, F].
[[nodiscard]] at::Tensor mask_rcnn_gather(const at::Tensor& table, const RcnnPooling& pooling);

/// One training-mode forward pass of Mask R-CNN (models_mask_rcnn.cpp), with what its loss is
/// made of: the RPN outputs, the FPN maps, the host's targets, the heads' outputs and the five
/// loss terms (MODELS.md, "Losses"; rpn_objectness, rpn_box, classifier, box_reg, mask).
struct MaskRcnnTrainPass {
  std::vector<at::Tensor> features;  ///< P2 … P5, [N, F, H_k, W_k]
  at::Tensor objectness;             ///< [N·anchors]
  at::Tensor deltas;                 ///< [N·anchors, 4]
  RcnnTrainTargets targets;
  at::Tensor box_features;  ///< the box pooling's gather, [Q, box_pool², F]
  at::Tensor class_logits;  ///< [Q, K]
  at::Tensor box_deltas;    ///< [Q, 4K]
  at::Tensor mask_logits;   ///< [Q+, K, M, M]
  std::vector<at::Tensor> losses;
};
/// The Mask R-CNN model's training pass, for tests: TorchBackend::model() of a mask_rcnn build.
class MaskRcnnModel : public TorchModel {
 public:
  /// Training step `step`'s forward pass and losses (no backward, no update).
  [[nodiscard]] virtual MaskRcnnTrainPass train_pass(const TorchBatch& batch, int64_t step) = 0;
};

/// Scales `grads` in place by min(1, max_norm / (N + 1e-6)), N their global L2 norm, as
/// torch.nn.utils.clip_grad_norm_ (MODELS.md, GNMT v2); returns N. Undefined tensors are skipped.
at::Tensor clip_grad_norm(std::vector<at::Tensor>& grads, double max_norm);

/// SSD's training loss (MODELS.md, "SSD300", "Loss"; models_ssd.cpp): predictions [N, D, 4 + K]
/// as Backend::predict returns them, loc_targets f32 [N, D, 4], label_targets i64 [N, D]; smooth
/// L1 of the positives' offsets plus cross entropy of the positives and the hard negatives (stable
/// order: equal losses select the lower default-box index), per image divided by its positives
/// (0 without any), averaged over the images.
[[nodiscard]] at::Tensor ssd_loss(const SsdConfig& config, const at::Tensor& predictions,
                                  const at::Tensor& loc_targets, const at::Tensor& label_targets);
/// The ResNet-50 v1.5 backbone (models_resnet50.cpp), shared by ResNet-50 and SSD.
struct ResNetBackbone {
  std::string prefix;           ///< prepended to every parameter name ("" for both models)
  std::vector<int64_t> blocks;  ///< bottleneck blocks per stage: layer1 … layer{blocks.size()}
  int64_t layer3_stride = 2;    ///< stride of layer3's first block (SSD: 1); layer2's is 2
  double bn_momentum = 0.1;
  double bn_eps = 1e-5;
  /// FrozenBatchNorm2d (Mask R-CNN's paper preset): y = x·s + (b − m·s), s = γ·rsqrt(var + eps),
  /// the same in training and inference.
  bool frozen_bn = false;
};
/// conv1 (7×7/2), bn1, ReLU and max pooling (3×3/2, padding 1).
[[nodiscard]] at::Tensor resnet_stem(const TorchOps& ops, const ResNetBackbone& net,
                                     const at::Tensor& images, bool training);
/// The bottleneck stages layer1 … of `net` applied to the stem's output; with `stages`, each
/// stage's output is appended to it (Mask R-CNN's C2 … C5).
[[nodiscard]] at::Tensor resnet_layers(const TorchOps& ops, const ResNetBackbone& net, at::Tensor x,
                                       bool training, std::vector<at::Tensor>* stages = nullptr);

/// greenbench-torch's Backend.
class TorchBackend final : public Backend {
 public:
  [[nodiscard]] std::string framework() const override { return "pytorch"; }
  [[nodiscard]] std::string framework_version() const override;
  void build(const ModelSpec& spec, const Settings& settings, const Weights& initial) override;
  [[nodiscard]] FrameworkOptions framework_options() const override;
  std::unique_ptr<PreparedBatch> prepare(const Batch& batch, bool training) override;
  StepResult train_step(const PreparedBatch& prepared, float learning_rate,
                        float loss_scale) override;
  HostTensor predict(const PreparedBatch& prepared) override;
  HostTensor head_outputs(const PreparedBatch& prepared) override;
  Weights weights() override;
  void synchronize() override;
  void reset_state() override;
  void start_profile() override;
  OpProfile stop_profile() override;
  /// The model's forward pass on a prepared batch, with gradients off, in training mode (batch
  /// statistics; the running statistics are updated) or inference mode, copied to the host: what
  /// the loss of a train_step is computed from (GNMT: the teacher-forced logits).
  HostTensor forward_host(const PreparedBatch& prepared, bool training);
  /// The built model.
  [[nodiscard]] TorchModel& model() { return *model_; }

 private:
  void update(float lr);

  ModelSpec spec_;
  TorchOps ops_;
  std::unique_ptr<TorchModel> model_;
  std::vector<at::Tensor> moment1_, moment2_;  // Adam m, v; SGD momentum buffer in moment1_
  int64_t step_ = 0;
  std::string numerics_ = "default";
  std::string precision_ = "fp32";
  OpRecorder recorder_;
};

}  // namespace greenbench::workloads
