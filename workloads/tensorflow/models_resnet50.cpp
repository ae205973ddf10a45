// ResNet-50 v1.5 on the TensorFlow graph, as workloads/common/MODELS.md specifies it. The graph
// computes in NHWC with HWIO kernels (what TensorFlow's CPU kernels want); the backend hands it
// images already in NHWC (converted once, in set-up), so no step transposes its batch.
#include <string>

#include "tf_backend.hpp"

namespace greenbench::workloads::tf {
namespace {

class ResNetForward {
 public:
  ResNetForward(ModelBuilder& b, Mode mode) : b_(b), g_(b.graph()), mode_(mode) {}

  TF_Output run(TF_Output images_nhwc) {
    const ResNetConfig& c = b_.spec().resnet;
    TF_Output x = g_.relu(bn(conv(images_nhwc, "conv1.weight", 7, 2, 3), "bn1"));
    // Max pooling 3×3/2 with padding 1: the input is post-ReLU (≥ 0), so zero padding selects the
    // same maxima (and routes the same gradients) as PyTorch's −inf padding.
    x = g_.build("MaxPool")
            .in(pad(x, 1))
            .attr("ksize", std::vector<int64_t>{1, 3, 3, 1})
            .attr("strides", std::vector<int64_t>{1, 2, 2, 1})
            .attr("padding", "VALID")
            .attr("data_format", "NHWC")
            .out();
    for (size_t stage = 0; stage < c.blocks.size(); ++stage) {
      for (int64_t block = 0; block < c.blocks[stage]; ++block) {
        const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
        const int stride = (block == 0 && stage > 0) ? 2 : 1;
        TF_Output y = g_.relu(bn(conv(x, p + ".conv1.weight", 1, 1, 0), p + ".bn1"));
        y = g_.relu(bn(conv(y, p + ".conv2.weight", 3, stride, 1), p + ".bn2"));
        y = bn(conv(y, p + ".conv3.weight", 1, 1, 0), p + ".bn3");
        TF_Output shortcut =
            block == 0 ? bn(conv(x, p + ".downsample.0.weight", 1, stride, 0), p + ".downsample.1")
                       : x;
        x = g_.relu(g_.add(y, shortcut));
      }
    }
    TF_Output pooled = g_.mean(x, {1, 2});
    TF_Output bias = b_.param("fc.bias");
    return b_.linear(pooled, b_.param("fc.weight"), &bias);
  }

 private:
  TF_Output pad(TF_Output x, int p) { return g_.pad(x, {0, 0, p, p, p, p, 0, 0}); }

  // PyTorch pads symmetrically; TensorFlow's SAME pads the extra row/column at the end, which
  // only agrees for odd kernels at stride 1. Everything else pads explicitly and convolves VALID.
  TF_Output conv(TF_Output x, const std::string& weight, int kernel, int stride, int padding) {
    const bool same = padding > 0 && stride == 1 && kernel == 2 * padding + 1;
    if (padding > 0 && !same) x = pad(x, padding);
    return b_.conv2d(x, b_.param(weight), stride, same ? "SAME" : "VALID");
  }

  // FusedBatchNormV3 matches MODELS.md: in training it normalises with the biased batch variance
  // and returns the running statistics already updated with the unbiased one,
  // (1 − f)·running + f·batch with f = exponential_avg_factor = momentum.
  TF_Output bn(TF_Output x, const std::string& prefix) {
    const ResNetConfig& c = b_.spec().resnet;
    const bool training = mode_ == Mode::kTrain;
    TF_Operation* op = g_.build("FusedBatchNormV3")
                           .in(x)
                           .in(b_.param(prefix + ".weight"))
                           .in(b_.param(prefix + ".bias"))
                           .in(b_.param(prefix + ".running_mean"))
                           .in(b_.param(prefix + ".running_var"))
                           .attr("T", TF_FLOAT)
                           .attr("U", TF_FLOAT)
                           .attr("epsilon", static_cast<float>(c.bn_eps))
                           .attr("exponential_avg_factor", static_cast<float>(c.bn_momentum))
                           .attr("data_format", "NHWC")
                           .attr("is_training", training)
                           .finish();
    if (training) {
      b_.update(prefix + ".running_mean", g_.stop_gradient({op, 1}));
      b_.update(prefix + ".running_var", g_.stop_gradient({op, 2}));
    }
    return {op, 0};
  }

  ModelBuilder& b_;
  Graph& g_;
  Mode mode_;
};

}  // namespace

void build_resnet50(ModelBuilder& b) {
  Graph& g = b.graph();
  const ResNetConfig& c = b.spec().resnet;
  const std::vector<int64_t> image_shape{-1, c.image_size, c.image_size, c.channels};  // NHWC
  g.set_scope("train");
  TF_Output logits =
      ResNetForward(b, Mode::kTrain).run(b.input(Mode::kTrain, "images", TF_FLOAT, image_shape));
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
      ResNetForward(b, Mode::kInfer).run(b.input(Mode::kInfer, "images", TF_FLOAT, image_shape));
  g.set_scope("");
}

}  // namespace greenbench::workloads::tf
