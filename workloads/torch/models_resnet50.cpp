// ResNet-50 v1.5 in LibTorch, as workloads/common/MODELS.md specifies it, and its backbone
// (stem and bottleneck stages), which SSD reuses.
#include <memory>
#include <string>
#include <vector>

#include "torch/torch_backend.hpp"

namespace greenbench::workloads {
namespace {

at::Tensor backbone_bn(const TorchOps& ops, const ResNetBackbone& net, const at::Tensor& x,
                       const std::string& p, bool training) {
  if (!net.frozen_bn) return ops.batch_norm(x, p, training, net.bn_momentum, net.bn_eps);
  // torchvision's FrozenBatchNorm2d.
  const at::Tensor scale = ops.P(p + ".weight") * (ops.P(p + ".running_var") + net.bn_eps).rsqrt();
  const at::Tensor shift = ops.P(p + ".bias") - ops.P(p + ".running_mean") * scale;
  return x * scale.view({1, -1, 1, 1}) + shift.view({1, -1, 1, 1});
}

}  // namespace

at::Tensor resnet_stem(const TorchOps& ops, const ResNetBackbone& net, const at::Tensor& images,
                       bool training) {
  const std::string& q = net.prefix;
  at::Tensor x = ops.conv(images, ops.P(q + "conv1.weight"), 2, 3);
  x = at::relu(backbone_bn(ops, net, x, q + "bn1", training));
  return at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
}

at::Tensor resnet_layers(const TorchOps& ops, const ResNetBackbone& net, at::Tensor x,
                         bool training, std::vector<at::Tensor>* stages) {
  const auto bn = [&](const at::Tensor& t, const std::string& p) {
    return backbone_bn(ops, net, t, p, training);
  };
  for (size_t stage = 0; stage < net.blocks.size(); ++stage) {
    for (int64_t block = 0; block < net.blocks[stage]; ++block) {
      const std::string p =
          net.prefix + "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
      int64_t stride = 1;
      if (block == 0 && stage > 0) stride = stage == 2 ? net.layer3_stride : 2;
      at::Tensor y = at::relu(bn(ops.conv(x, ops.P(p + ".conv1.weight"), 1, 0), p + ".bn1"));
      y = at::relu(bn(ops.conv(y, ops.P(p + ".conv2.weight"), stride, 1), p + ".bn2"));
      y = bn(ops.conv(y, ops.P(p + ".conv3.weight"), 1, 0), p + ".bn3");
      const at::Tensor shortcut =
          block == 0
              ? bn(ops.conv(x, ops.P(p + ".downsample.0.weight"), stride, 0), p + ".downsample.1")
              : x;
      x = at::relu(y + shortcut);
    }
    if (stages != nullptr) stages->push_back(x);
  }
  return x;
}

namespace {

class ResNet50 final : public TorchModel {
 public:
  ResNet50(const ModelSpec& spec, const TorchOps& ops) : spec_(spec), ops_(ops) {
    const ResNetConfig& c = spec.resnet;
    net_.blocks = c.blocks;
    net_.layer3_stride = 2;
    net_.bn_momentum = c.bn_momentum;
    net_.bn_eps = c.bn_eps;
  }

  at::Tensor forward(const TorchBatch& batch, bool training) override {
    at::Tensor x = resnet_stem(ops_, net_, batch.get("images"), training);
    x = resnet_layers(ops_, net_, x, training);
    return ops_.linear(x.mean({2, 3}), ops_.P("fc.weight"), ops_.P("fc.bias"));
  }

  at::Tensor loss(const TorchBatch& batch) override {
    const at::Tensor logits = forward(batch, /*training=*/true);
    const at::Tensor labels = batch.get("labels");
    return at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, -100,
                                  spec_.resnet.label_smoothing);
  }

 private:
  const ModelSpec& spec_;
  const TorchOps& ops_;
  ResNetBackbone net_;
};

}  // namespace

std::unique_ptr<TorchModel> make_resnet50(const ModelSpec& spec, const TorchOps& ops) {
  return std::make_unique<ResNet50>(spec, ops);
}

}  // namespace greenbench::workloads
