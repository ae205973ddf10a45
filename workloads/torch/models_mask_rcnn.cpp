// Mask R-CNN (ResNet-50-FPN) in LibTorch, as workloads/common/MODELS.md ("Mask R-CNN") specifies
// it: the backbone's four stages, the FPN, the RPN head, RoIAlign as a gather over the pooling
// table, the box and mask heads and the five losses. Everything that is not differentiated
// (anchors, targets, sampling, proposals, detections) is the shared host round trip
// (common/mask_rcnn_step.hpp), called in the middle of the step on the fetched RPN outputs.
#include <c10/core/GradMode.h>

#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/mask_rcnn_boxes.hpp"
#include "common/mask_rcnn_step.hpp"
#include "greenbench/error.hpp"
#include "torch/torch_backend.hpp"

namespace greenbench::workloads {
namespace {

// torchvision's smooth L1 β for both box regressions.
constexpr double kSmoothL1Beta = 1.0 / 9.0;

// What the backbone, FPN and RPN head give for a batch.
struct RpnPass {
  std::vector<at::Tensor> features;  // P2 … P5, NCHW
  at::Tensor table;                  // the pooling table [rows, F]
  at::Tensor objectness;             // [N·anchors]
  at::Tensor deltas;                 // [N·anchors, 4]
  std::vector<float> host_objectness, host_deltas;
};

std::vector<float> to_host(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

class MaskRcnn final : public MaskRcnnModel {
 public:
  MaskRcnn(const ModelSpec& spec, const TorchOps& ops, uint64_t seed)
      : spec_(spec), ops_(ops), seed_(seed), anchors_(rcnn_anchors(spec.mask_rcnn)) {
    const MaskRcnnConfig& c = spec.mask_rcnn;
    net_.prefix = "backbone.body.";
    net_.blocks = c.blocks;
    net_.layer3_stride = 2;
    net_.bn_momentum = c.bn_momentum;
    net_.bn_eps = c.bn_eps;
    net_.frozen_bn = c.frozen_bn;
  }

  // The predictions [N, detections_per_image, 6 + M²] (batch norm in either mode).
  at::Tensor forward(const TorchBatch& batch, bool training) override {
    const HostTensor h = infer(batch, training);
    return at::from_blob(const_cast<float*>(h.f32.data()), h.shape, at::kFloat).clone();
  }

  at::Tensor loss(const TorchBatch& batch) override {
    // train_step calls this once per step: its calls count the steps the samplers are keyed by.
    const MaskRcnnTrainPass pass = train_pass(batch, step_++);
    at::Tensor total = pass.losses[0];
    for (size_t i = 1; i < pass.losses.size(); ++i) total = total + pass.losses[i];
    return total;
  }

  HostTensor predict(const TorchBatch& batch) override { return infer(batch, false); }

  MaskRcnnTrainPass train_pass(const TorchBatch& batch, int64_t step) override {
    const MaskRcnnConfig& c = spec_.mask_rcnn;
    const at::Tensor& images = batch.get("images");
    const int64_t n = images.size(0);
    if (static_cast<int64_t>(batch.rcnn_truth.size()) != n) {
      throw Error("mask_rcnn: a training batch of " + std::to_string(n) +
                  " images has ground truth for " + std::to_string(batch.rcnn_truth.size()) +
                  " (prepare it for training)");
    }
    RpnPass rpn = rpn_pass(images, /*training=*/true);
    MaskRcnnTrainPass out;
    out.targets =
        rcnn_train_targets(c, anchors_, rcnn_feature_table(c, n), batch.rcnn_truth,
                           rpn.host_objectness.data(), rpn.host_deltas.data(), seed_, step);
    const RcnnTrainTargets& t = out.targets;
    out.box_features = mask_rcnn_gather(rpn.table, t.box_pooling);
    std::tie(out.class_logits, out.box_deltas) = box_head(out.box_features);
    out.mask_logits = mask_head(mask_rcnn_gather(rpn.table, t.mask_pooling));

    const int64_t k = c.num_classes, m = c.mask_resolution;
    const auto sum = at::Reduction::Sum;
    const at::Tensor rpn_objectness =
        at::binary_cross_entropy_with_logits(rpn.objectness.index_select(0, i64(t.rpn_sampled)),
                                             f32(t.rpn_labels, {}), {}, {}, sum) /
        static_cast<double>(t.rpn_count);
    const at::Tensor rpn_box = at::smooth_l1_loss(rpn.deltas.index_select(0, i64(t.rpn_positive)),
                                                  f32(t.rpn_regression, {4}), sum, kSmoothL1Beta) /
                               static_cast<double>(t.rpn_count);
    const at::Tensor classifier =
        at::cross_entropy_loss(out.class_logits, i64(t.roi_labels), {}, sum) /
        static_cast<double>(t.roi_count);
    const at::Tensor box_reg =
        at::smooth_l1_loss(out.box_deltas.reshape({out.box_deltas.size(0) * k, 4})
                               .index_select(0, i64(t.box_positive)),
                           f32(t.box_regression, {4}), sum, kSmoothL1Beta) /
        static_cast<double>(t.roi_count);
    const at::Tensor mask = at::binary_cross_entropy_with_logits(
                                out.mask_logits.reshape({out.mask_logits.size(0) * k, m, m})
                                    .index_select(0, i64(t.mask_channel)),
                                f32(t.mask_targets, {m, m}), {}, {}, sum) /
                            static_cast<double>(t.mask_count);
    out.losses = {rpn_objectness, rpn_box, classifier, box_reg, mask};
    out.features = std::move(rpn.features);
    out.objectness = rpn.objectness;
    out.deltas = rpn.deltas;
    return out;
  }

 private:
  at::Tensor i64(const std::vector<int64_t>& v) const {
    return at::tensor(c10::ArrayRef<int64_t>(v), at::TensorOptions().dtype(at::kLong))
        .to(ops_.device());
  }
  // [rows, trailing…] from a flat host vector (rows may be 0).
  at::Tensor f32(const std::vector<float>& v, const std::vector<int64_t>& trailing) const {
    int64_t inner = 1;
    for (int64_t d : trailing) inner *= d;
    std::vector<int64_t> shape = {static_cast<int64_t>(v.size()) / inner};
    shape.insert(shape.end(), trailing.begin(), trailing.end());
    return at::tensor(c10::ArrayRef<float>(v), at::TensorOptions().dtype(at::kFloat))
        .view(shape)
        .to(ops_.device());
  }
  const at::Tensor& P(const std::string& name) const { return ops_.P(name); }
  at::Tensor conv_bias(const at::Tensor& x, const std::string& p, int64_t pad) const {
    return ops_.conv(x, P(p + ".weight"), 1, pad) + P(p + ".bias").view({1, -1, 1, 1});
  }

  // Backbone, FPN and RPN head; the RPN outputs copied to the host.
  RpnPass rpn_pass(const at::Tensor& images, bool training) const {
    const MaskRcnnConfig& c = spec_.mask_rcnn;
    std::vector<at::Tensor> stages;
    (void)resnet_layers(ops_, net_, resnet_stem(ops_, net_, images, training), training, &stages);
    // FPN, top-down: t3 = inner_3(C5); t_i = inner_i(C_{i+2}) + nearest_upsample(t_{i+1}).
    RpnPass out;
    out.features.resize(4);
    at::Tensor top;
    for (int64_t i = 3; i >= 0; --i) {
      const std::string s = std::to_string(i);
      at::Tensor inner =
          conv_bias(stages[static_cast<size_t>(i)], "backbone.fpn.inner_blocks." + s + ".0", 0);
      if (top.defined()) {
        inner = inner + at::upsample_nearest2d(top, {inner.size(2), inner.size(3)});
      }
      top = inner;
      out.features[static_cast<size_t>(i)] =
          conv_bias(inner, "backbone.fpn.layer_blocks." + s + ".0", 1);
    }
    std::vector<at::Tensor> levels = out.features;
    levels.push_back(out.features[3].slice(2, 0, c10::nullopt, 2).slice(3, 0, c10::nullopt, 2));
    // RPN head, shared over P2 … P6, flattened to anchor order (y·W + x)·A + a per image.
    const int64_t n = images.size(0), a = c.anchors_per_location();
    std::vector<at::Tensor> objectness, deltas;
    for (const at::Tensor& p : levels) {
      const at::Tensor h = at::relu(conv_bias(p, "rpn.head.conv.0.0", 1));
      const at::Tensor o = conv_bias(h, "rpn.head.cls_logits", 0);  // [N, A, H, W]
      const at::Tensor d = conv_bias(h, "rpn.head.bbox_pred", 0);   // [N, 4A, H, W]
      const int64_t hh = p.size(2), ww = p.size(3);
      objectness.push_back(o.permute({0, 2, 3, 1}).reshape({n, hh * ww * a}));
      deltas.push_back(d.view({n, a, 4, hh, ww}).permute({0, 3, 4, 1, 2}).reshape({n, -1, 4}));
    }
    out.objectness = at::cat(objectness, 1).reshape({-1});
    out.deltas = at::cat(deltas, 1).reshape({-1, 4});
    out.table = mask_rcnn_pooling_table(out.features);
    out.host_objectness = to_host(out.objectness);
    out.host_deltas = to_host(out.deltas);
    return out;
  }

  // TwoMLPHead and FastRCNNPredictor: (class_logits [Q, K], box_deltas [Q, 4K]).
  std::pair<at::Tensor, at::Tensor> box_head(const at::Tensor& x) const {
    // Channel-major flattening, c·cells + cell, as torchvision's flatten of [Q, F, 7, 7].
    at::Tensor v = x.permute({0, 2, 1}).reshape({x.size(0), x.size(1) * x.size(2)});
    v = at::relu(
        ops_.linear(v, P("roi_heads.box_head.fc6.weight"), P("roi_heads.box_head.fc6.bias")));
    v = at::relu(
        ops_.linear(v, P("roi_heads.box_head.fc7.weight"), P("roi_heads.box_head.fc7.bias")));
    return {ops_.linear(v, P("roi_heads.box_predictor.cls_score.weight"),
                        P("roi_heads.box_predictor.cls_score.bias")),
            ops_.linear(v, P("roi_heads.box_predictor.bbox_pred.weight"),
                        P("roi_heads.box_predictor.bbox_pred.bias"))};
  }

  // MaskRCNNHeads and MaskRCNNPredictor on [Q+, mask_pool², F]: mask_logits [Q+, K, M, M].
  at::Tensor mask_head(const at::Tensor& x) const {
    const MaskRcnnConfig& c = spec_.mask_rcnn;
    const int64_t rois = x.size(0), m = c.mask_resolution;
    if (rois == 0) return at::zeros({0, c.num_classes, m, m}, x.options());
    at::Tensor y = x.permute({0, 2, 1}).reshape({rois, x.size(2), c.mask_pool, c.mask_pool});
    for (size_t i = 0; i < c.mask_layers.size(); ++i) {
      y = at::relu(conv_bias(y, "roi_heads.mask_head." + std::to_string(i) + ".0", 1));
    }
    const std::string p = "roi_heads.mask_predictor.";
    y = at::relu(ops_.conv_transpose(y, P(p + "conv5_mask.weight"), 2) +
                 P(p + "conv5_mask.bias").view({1, -1, 1, 1}));
    return conv_bias(y, p + "mask_fcn_logits", 0);
  }

  // Inference: RPN → proposals (host) → box head → detections (host) → mask head on the
  // detections → predictions (host).
  HostTensor infer(const TorchBatch& batch, bool training) const {
    const MaskRcnnConfig& c = spec_.mask_rcnn;
    const at::Tensor& images = batch.get("images");
    const int64_t n = images.size(0);
    const RcnnFeatureTable layout = rcnn_feature_table(c, n);
    const RpnPass rpn = rpn_pass(images, training);
    const RcnnInferenceRois rois = rcnn_inference_rois(
        c, anchors_, layout, n, rpn.host_objectness.data(), rpn.host_deltas.data());
    const auto [class_logits, box_deltas] = box_head(mask_rcnn_gather(rpn.table, rois.box_pooling));
    const std::vector<float> host_logits = to_host(class_logits);
    const std::vector<float> host_deltas = to_host(box_deltas);
    const RcnnInferenceDetections detections =
        rcnn_inference_detections(c, layout, rois, host_logits.data(), host_deltas.data());
    const at::Tensor mask_logits = mask_head(mask_rcnn_gather(rpn.table, detections.mask_pooling));
    const int64_t m2 = c.mask_resolution * c.mask_resolution;
    const std::vector<float> masks =
        to_host(mask_logits.reshape({mask_logits.size(0) * c.num_classes, m2})
                    .index_select(0, i64(detections.mask_channel)));
    return rcnn_predictions(c, detections, masks.data());
  }

  const ModelSpec& spec_;
  const TorchOps& ops_;
  uint64_t seed_;
  RcnnAnchors anchors_;
  ResNetBackbone net_;
  int64_t step_ = 0;
};

}  // namespace

at::Tensor mask_rcnn_pooling_table(const std::vector<at::Tensor>& features) {
  std::vector<at::Tensor> rows;
  for (const at::Tensor& p : features) {
    rows.push_back(p.permute({0, 2, 3, 1}).reshape({-1, p.size(1)}));
  }
  return at::cat(rows, 0);
}

// embedding_bag's weighted sum is the gather and the sum in one op (no [rois, cells, entries, F]
// intermediate), and its backward into the table needs no atomics.
at::Tensor mask_rcnn_gather(const at::Tensor& table, const RcnnPooling& p) {
  const int64_t f = table.size(1);
  if (p.rois == 0) return at::zeros({0, p.cells, f}, table.options());
  const int64_t bags = p.rois * p.cells;
  const auto on = [&](at::ScalarType t) { return at::TensorOptions().dtype(t); };
  const at::Tensor index = at::tensor(c10::ArrayRef<int64_t>(p.index), on(at::kLong));
  const at::Tensor weight = at::tensor(c10::ArrayRef<float>(p.weight), on(at::kFloat));
  const at::Tensor offsets = at::arange(0, bags * p.entries, p.entries, on(at::kLong));
  const at::Tensor pooled = std::get<0>(at::embedding_bag(
      table, index.to(table.device()), offsets.to(table.device()),
      /*scale_grad_by_freq=*/false, /*mode=sum*/ 0, /*sparse=*/false, weight.to(table.device())));
  return pooled.view({p.rois, p.cells, f});
}

std::unique_ptr<TorchModel> make_mask_rcnn(const ModelSpec& spec, const TorchOps& ops,
                                           uint64_t seed) {
  return std::make_unique<MaskRcnn>(spec, ops, seed);
}

}  // namespace greenbench::workloads
