// The ResNet-50 v1.5 pieces shared by ResNet-50 and the backbones of SSD and Mask R-CNN
// (resnet_blocks.hpp).
#include "resnet_blocks.hpp"

#include "greenbench/error.hpp"

namespace greenbench::workloads::tf {

// PyTorch pads symmetrically; TensorFlow's SAME pads the extra row/column at the end, which
// only agrees for odd kernels at stride 1. Everything else pads explicitly and convolves VALID.
TF_Output ResNetBlocks::conv(TF_Output x, const std::string& weight, int kernel, int stride,
                             int padding) {
  const bool same = padding > 0 && stride == 1 && kernel == 2 * padding + 1;
  if (padding > 0 && !same) x = pad(x, padding);
  return b_.conv2d(x, b_.param(name(weight)), stride, same ? "SAME" : "VALID");
}

// FusedBatchNormV3 matches MODELS.md: in training it normalises with the biased batch variance
// and returns the running statistics already updated with the unbiased one,
// (1 − f)·running + f·batch with f = exponential_avg_factor = momentum.
TF_Output ResNetBlocks::bn(TF_Output x, const std::string& prefix) {
  const std::string p = name(prefix);
  if (frozen_bn_) {
    // torchvision's FrozenBatchNorm2d: scale = w·rsqrt(rv + eps), shift = b − rm·scale.
    TF_Output scale = g_.mul(b_.param(p + ".weight"),
                             g_.op("Rsqrt", {g_.add(b_.param(p + ".running_var"),
                                                    g_.scalar(static_cast<float>(bn_eps_)))}));
    TF_Output shift = g_.sub(b_.param(p + ".bias"), g_.mul(b_.param(p + ".running_mean"), scale));
    return g_.add(g_.mul(x, scale), shift);
  }
  const bool training = mode_ == Mode::kTrain;
  TF_Operation* op = g_.build("FusedBatchNormV3")
                         .in(x)
                         .in(b_.param(p + ".weight"))
                         .in(b_.param(p + ".bias"))
                         .in(b_.param(p + ".running_mean"))
                         .in(b_.param(p + ".running_var"))
                         .attr("T", TF_FLOAT)
                         .attr("U", TF_FLOAT)
                         .attr("epsilon", static_cast<float>(bn_eps_))
                         .attr("exponential_avg_factor", static_cast<float>(bn_momentum_))
                         .attr("data_format", "NHWC")
                         .attr("is_training", training)
                         .finish();
  if (training) {
    b_.update(p + ".running_mean", g_.stop_gradient({op, 1}));
    b_.update(p + ".running_var", g_.stop_gradient({op, 2}));
  }
  return {op, 0};
}

TF_Output ResNetBlocks::stem(TF_Output images_nhwc) {
  TF_Output x = g_.relu(bn(conv(images_nhwc, "conv1.weight", 7, 2, 3), "bn1"));
  // Max pooling 3×3/2 with padding 1: the input is post-ReLU (≥ 0), so zero padding selects the
  // same maxima (and routes the same gradients) as PyTorch's −inf padding.
  return g_.build("MaxPool")
      .in(pad(x, 1))
      .attr("ksize", std::vector<int64_t>{1, 3, 3, 1})
      .attr("strides", std::vector<int64_t>{1, 2, 2, 1})
      .attr("padding", "VALID")
      .attr("data_format", "NHWC")
      .out();
}

TF_Output ResNetBlocks::stages(TF_Output x, const std::vector<int64_t>& blocks,
                               const std::vector<int>& first_strides) {
  const std::vector<TF_Output> outputs = stage_outputs(x, blocks, first_strides);
  return outputs.empty() ? x : outputs.back();
}

std::vector<TF_Output> ResNetBlocks::stage_outputs(TF_Output x, const std::vector<int64_t>& blocks,
                                                   const std::vector<int>& first_strides) {
  if (first_strides.size() != blocks.size()) {
    throw Error("tensorflow worker: " + std::to_string(blocks.size()) + " ResNet stages with " +
                std::to_string(first_strides.size()) + " first-block strides");
  }
  std::vector<TF_Output> outputs;
  for (size_t stage = 0; stage < blocks.size(); ++stage) {
    for (int64_t block = 0; block < blocks[stage]; ++block) {
      const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
      const int stride = block == 0 ? first_strides[stage] : 1;
      TF_Output y = g_.relu(bn(conv(x, p + ".conv1.weight", 1, 1, 0), p + ".bn1"));
      y = g_.relu(bn(conv(y, p + ".conv2.weight", 3, stride, 1), p + ".bn2"));
      y = bn(conv(y, p + ".conv3.weight", 1, 1, 0), p + ".bn3");
      TF_Output shortcut =
          block == 0 ? bn(conv(x, p + ".downsample.0.weight", 1, stride, 0), p + ".downsample.1")
                     : x;
      x = g_.relu(g_.add(y, shortcut));
    }
    outputs.push_back(x);
  }
  return outputs;
}

}  // namespace greenbench::workloads::tf
