// ResNet-50 v1.5 on the TensorFlow graph, as workloads/common/MODELS.md specifies it. The graph
// computes in NHWC with HWIO kernels (what TensorFlow's CPU kernels want); the backend hands it
// images already in NHWC (converted once, in set-up), so no step transposes its batch.
#include <string>
#include <vector>

#include "resnet_blocks.hpp"
#include "tf_backend.hpp"

namespace greenbench::workloads::tf {
namespace {

// ResNet-50 v1.5: the stem, four bottleneck stages (the first blocks of stages 2–4 at stride 2),
// global average pooling and the classifier.
TF_Output resnet_forward(ModelBuilder& b, Mode mode, TF_Output images_nhwc) {
  const ResNetConfig& c = b.spec().resnet;
  ResNetBlocks blocks(b, mode, c.bn_eps, c.bn_momentum);
  std::vector<int> first_strides(c.blocks.size(), 2);
  if (!first_strides.empty()) first_strides[0] = 1;
  TF_Output x = blocks.stages(blocks.stem(images_nhwc), c.blocks, first_strides);
  TF_Output pooled = b.graph().mean(x, {1, 2});
  TF_Output bias = b.param("fc.bias");
  return b.linear(pooled, b.param("fc.weight"), &bias);
}

}  // namespace

void build_resnet50(ModelBuilder& b) {
  Graph& g = b.graph();
  const ResNetConfig& c = b.spec().resnet;
  const std::vector<int64_t> image_shape{-1, c.image_size, c.image_size, c.channels};  // NHWC
  g.set_scope("train");
  TF_Output logits =
      resnet_forward(b, Mode::kTrain, b.input(Mode::kTrain, "images", TF_FLOAT, image_shape));
  TF_Output labels = b.input(Mode::kTrain, "labels", TF_INT64, {-1});
  // Cross entropy with label smoothing ε (PyTorch semantics): the target distribution is
  // (1 − ε)·onehot + ε/K, and the loss is its cross entropy with softmax(logits), averaged.
  const float eps = static_cast<float>(c.label_smoothing);
  const auto k = static_cast<float>(c.num_classes);
  TF_Output target = g.build("OneHot")
                         .in(labels)
                         .in(g.scalar_i32(static_cast<int32_t>(c.num_classes)))
                         .in(g.scalar(1.0f - eps + eps / k))
                         .in(g.scalar(eps / k))
                         .attr("axis", -1)
                         .out();
  TF_Output logp = g.op("LogSoftmax", {logits});
  b.loss = g.op("Neg", {g.mean(g.sum(g.mul(target, logp), {1}), {0})});
  g.set_scope("infer");
  b.logits =
      resnet_forward(b, Mode::kInfer, b.input(Mode::kInfer, "images", TF_FLOAT, image_shape));
  g.set_scope("");
}

}  // namespace greenbench::workloads::tf
