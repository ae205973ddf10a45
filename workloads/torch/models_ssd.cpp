// SSD300 with a ResNet-50 backbone in LibTorch, as workloads/common/MODELS.md ("SSD300")
// specifies it: the ResNet-50 backbone up to layer3 (layer3's first block at stride 1), the
// additional blocks, the loc/conf heads, and the loss with hard-negative mining. Default boxes,
// target encoding, decoding and NMS are the shared host code (common/ssd_boxes.hpp).
#include <c10/core/GradMode.h>

#include <memory>
#include <string>
#include <vector>

#include "torch/torch_backend.hpp"

namespace greenbench::workloads {

at::Tensor ssd_loss(const SsdConfig& c, const at::Tensor& predictions,
                    const at::Tensor& loc_targets, const at::Tensor& label_targets) {
  const int64_t n = predictions.size(0), d = predictions.size(1);
  const at::Tensor ploc = predictions.narrow(2, 0, 4);
  const at::Tensor plabel = predictions.narrow(2, 4, c.num_classes);
  const at::Tensor pos = label_targets > 0;  // [N, D]
  const at::Tensor pos_num = pos.sum(1);     // [N]
  // Smooth L1 (β = 1) of the positives' offsets.
  const at::Tensor sl1 =
      (at::smooth_l1_loss(ploc, loc_targets, at::Reduction::None, 1.0).sum(2) * pos).sum(1);
  // Cross entropy of every box: logsumexp(z) − z[label].
  const at::Tensor con =
      at::cross_entropy_loss(plabel.reshape({n * d, c.num_classes}), label_targets.reshape({-1}),
                             {}, at::Reduction::None)
          .view({n, d});
  at::Tensor selected;
  {
    // Hard negatives (not differentiated): the min(ratio·P, D) highest losses among the boxes
    // with the positives' loss taken as 0, sorted stably so that equal losses go to the lower
    // default-box index; of those, the negatives count.
    c10::NoGradGuard no_grad;
    const at::Tensor con_neg = con.detach().masked_fill(pos, 0.0);
    const at::Tensor order =
        std::get<1>(at::sort(con_neg, /*stable=*/true, /*dim=*/1, /*descending=*/true));
    const at::Tensor rank = at::argsort(order, /*stable=*/true, /*dim=*/1);
    const at::Tensor neg_num = (pos_num * c.neg_pos_ratio).clamp_max(d).unsqueeze(1);
    const at::Tensor neg = (rank < neg_num).logical_and(pos.logical_not());
    selected = pos.logical_or(neg);
  }
  const at::Tensor closs = (con * selected).sum(1);
  // loss_n = (sl1_n + closs_n)/P_n when P_n > 0, else 0; the batch loss is their mean.
  const at::Tensor has_pos = pos_num > 0;
  const at::Tensor per_image = at::where(
      has_pos, (sl1 + closs) / pos_num.clamp_min(1).to(at::kFloat), at::zeros({}, sl1.options()));
  return per_image.mean();
}

namespace {

class Ssd final : public TorchModel {
 public:
  Ssd(const ModelSpec& spec, const TorchOps& ops) : spec_(spec), ops_(ops) {
    const SsdConfig& c = spec.ssd;
    net_.blocks = c.backbone_blocks;
    net_.layer3_stride = 1;
    net_.bn_momentum = c.bn_momentum;
    net_.bn_eps = c.bn_eps;
  }

  // [N, D, 4 + K]: per default box its 4 raw offsets, then its K raw class logits.
  at::Tensor forward(const TorchBatch& batch, bool training) override {
    const SsdConfig& c = spec_.ssd;
    const auto bn = [&](const at::Tensor& t, const std::string& p) {
      return ops_.batch_norm(t, p, training, c.bn_momentum, c.bn_eps);
    };
    at::Tensor x = resnet_stem(ops_, net_, batch.get("images"), training);
    x = resnet_layers(ops_, net_, x, training);
    std::vector<at::Tensor> maps = {x};
    for (size_t i = 0; i < c.mid_channels.size(); ++i) {
      const std::string p = "additional_blocks." + std::to_string(i);
      const int64_t stride = c.extra_strides[i];
      const at::Tensor y = at::relu(bn(ops_.conv(x, ops_.P(p + ".0.weight"), 1, 0), p + ".1"));
      x = at::relu(
          bn(ops_.conv(y, ops_.P(p + ".3.weight"), stride, stride == 2 ? 1 : 0), p + ".4"));
      maps.push_back(x);
    }
    // Output channel c = q·nd + a of a head is coordinate (or class) q of box kind a, so the
    // reshape to [N, q, nd·F²] orders the boxes of map k as a·F² + i·F + j.
    const int64_t n = maps[0].size(0);
    std::vector<at::Tensor> locs, confs;
    for (size_t k = 0; k < maps.size(); ++k) {
      const std::string l = "loc." + std::to_string(k), f = "conf." + std::to_string(k);
      const at::Tensor loc =
          ops_.conv(maps[k], ops_.P(l + ".weight"), 1, 1) + ops_.P(l + ".bias").view({1, -1, 1, 1});
      const at::Tensor conf =
          ops_.conv(maps[k], ops_.P(f + ".weight"), 1, 1) + ops_.P(f + ".bias").view({1, -1, 1, 1});
      locs.push_back(loc.reshape({n, 4, -1}));
      confs.push_back(conf.reshape({n, c.num_classes, -1}));
    }
    return at::cat({at::cat(locs, 2), at::cat(confs, 2)}, 1).transpose(1, 2).contiguous();
  }

  at::Tensor loss(const TorchBatch& batch) override {
    return ssd_loss(spec_.ssd, forward(batch, /*training=*/true), batch.get("loc_targets"),
                    batch.get("label_targets"));
  }

 private:
  const ModelSpec& spec_;
  const TorchOps& ops_;
  ResNetBackbone net_;
};

}  // namespace

std::unique_ptr<TorchModel> make_ssd(const ModelSpec& spec, const TorchOps& ops) {
  return std::make_unique<Ssd>(spec, ops);
}

}  // namespace greenbench::workloads
