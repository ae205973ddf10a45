#pragma once
// The ResNet-50 v1.5 pieces shared by the models that use them (ResNet-50, the backbones of SSD and
// Mask R-CNN), on the
// TensorFlow graph in NHWC with HWIO kernels, as workloads/common/MODELS.md specifies them.
#include <string>
#include <vector>

#include "tf_backend.hpp"

namespace greenbench::workloads::tf {

/// Convolutions with PyTorch's symmetric padding, batch norm (FusedBatchNormV3: batch statistics
/// in training, running ones in inference; or, `frozen`, torchvision's FrozenBatchNorm2d) and the
/// ResNet stem and bottleneck stages, for one forward pass. Parameter names are `prefix` + the
/// torchvision names ("conv1.weight", "bn1.*", "layer{s}.{b}.*").
class ResNetBlocks {
 public:
  ResNetBlocks(ModelBuilder& b, Mode mode, double bn_eps, double bn_momentum,
               std::string prefix = "", bool frozen_bn = false)
      : b_(b),
        g_(b.graph()),
        mode_(mode),
        bn_eps_(bn_eps),
        bn_momentum_(bn_momentum),
        prefix_(std::move(prefix)),
        frozen_bn_(frozen_bn) {}

  /// Zero padding of `p` on both sides of H and W.
  TF_Output pad(TF_Output x, int p) { return g_.pad(x, {0, 0, p, p, p, p, 0, 0}); }
  /// A bias-free k×k convolution with PyTorch's symmetric `padding` (parameter name as given,
  /// without the prefix).
  TF_Output conv(TF_Output x, const std::string& weight, int kernel, int stride, int padding);
  /// Batch norm of the parameters `name.{weight,bias,running_mean,running_var}`; training
  /// passes also update the running statistics with the step. Frozen: x·s + (b − m·s) with
  /// s = γ·rsqrt(var + eps) in both modes, nothing updated.
  TF_Output bn(TF_Output x, const std::string& name);
  /// relu(bn1(conv1 7×7/2)) then max pooling 3×3/2 with padding 1.
  TF_Output stem(TF_Output images_nhwc);
  /// The bottleneck stages layer1 … layer{blocks.size()}: stage s has blocks[s] blocks, its
  /// first block strided by first_strides[s] (conv2 and downsample.0) and projecting the
  /// shortcut (downsample.0 1×1, downsample.1 batch norm).
  TF_Output stages(TF_Output x, const std::vector<int64_t>& blocks,
                   const std::vector<int>& first_strides);
  /// The same stages, returning every stage's output (Mask R-CNN's C2 … C5).
  std::vector<TF_Output> stage_outputs(TF_Output x, const std::vector<int64_t>& blocks,
                                       const std::vector<int>& first_strides);

 private:
  [[nodiscard]] std::string name(const std::string& n) const { return prefix_ + n; }

  ModelBuilder& b_;
  Graph& g_;
  Mode mode_;
  double bn_eps_;
  double bn_momentum_;
  std::string prefix_;
  bool frozen_bn_ = false;
};

}  // namespace greenbench::workloads::tf
