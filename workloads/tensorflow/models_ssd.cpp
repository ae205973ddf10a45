// SSD300 with a ResNet-50 backbone on the TensorFlow graph, as workloads/common/MODELS.md
// ("SSD300") specifies it: the backbone up to layer3 (layer3.0 at stride 1), the additional
// blocks, one loc and one conf head per feature map, and the loss with hard-negative mining. The
// graph computes in NHWC; the heads are rearranged into the canonical default-box order.
#include <string>
#include <vector>

#include "resnet_blocks.hpp"
#include "tf_backend.hpp"

namespace greenbench::workloads::tf {
namespace {

struct Heads {
  TF_Output loc;   ///< [N, D, 4]
  TF_Output conf;  ///< [N, D, K]
};

// One head of map k: conv3×3 pad 1 + bias, NHWC [N, F, F, width·nd] with channel c = q·nd + a
// (PyTorch's view(N, width, nd·F·F) of NCHW), rearranged to [N, nd·F·F, width] with row
// a·F² + i·F + j, the map's default boxes in canonical order.
TF_Output head(ModelBuilder& b, TF_Output x, const std::string& name, int64_t nd, int64_t width,
               int64_t f) {
  Graph& g = b.graph();
  // A 3×3 kernel at stride 1 with padding 1: TensorFlow's SAME pads symmetrically here.
  TF_Output y = b.conv2d(x, b.param(name + ".weight"), 1, "SAME");
  y = g.build("BiasAdd").in(y).in(b.param(name + ".bias")).attr("data_format", "NHWC").out();
  const auto fi = static_cast<int32_t>(f), ndi = static_cast<int32_t>(nd),
             wi = static_cast<int32_t>(width);
  y = g.reshape(y, {-1, fi, fi, wi, ndi});  // [N, i, j, q, a]
  y = g.transpose(y, {0, 4, 1, 2, 3});      // [N, a, i, j, q]
  return g.reshape(y, {-1, ndi * fi * fi, wi});
}

Heads ssd_forward(ModelBuilder& b, Mode mode, TF_Output images_nhwc) {
  const SsdConfig& c = b.spec().ssd;
  Graph& g = b.graph();
  ResNetBlocks blocks(b, mode, c.bn_eps, c.bn_momentum);
  // layer1 at stride 1, layer2 at 2, layer3 at 1 (DLE's SSD300 backbone).
  std::vector<int> first_strides(c.backbone_blocks.size(), 2);
  if (!first_strides.empty()) first_strides.front() = 1;
  if (first_strides.size() >= 3) first_strides[2] = 1;
  std::vector<TF_Output> maps{
      blocks.stages(blocks.stem(images_nhwc), c.backbone_blocks, first_strides)};
  for (size_t i = 0; i < c.extra_strides.size(); ++i) {
    const std::string p = "additional_blocks." + std::to_string(i);
    const int stride = static_cast<int>(c.extra_strides[i]);
    TF_Output x = g.relu(blocks.bn(blocks.conv(maps.back(), p + ".0.weight", 1, 1, 0), p + ".1"));
    x = g.relu(
        blocks.bn(blocks.conv(x, p + ".3.weight", 3, stride, stride == 2 ? 1 : 0), p + ".4"));
    maps.push_back(x);
  }
  std::vector<TF_Output> loc, conf;
  for (size_t k = 0; k < maps.size(); ++k) {
    const int64_t nd = c.boxes_per_location(k), f = c.feature_sizes[k];
    loc.push_back(head(b, maps[k], "loc." + std::to_string(k), nd, 4, f));
    conf.push_back(head(b, maps[k], "conf." + std::to_string(k), nd, c.num_classes, f));
  }
  return {g.concat(loc, 1), g.concat(conf, 1)};
}

}  // namespace

TF_Output ssd_loss(Graph& g, const SsdConfig& c, TF_Output loc, TF_Output conf,
                   TF_Output loc_targets, TF_Output label_targets) {
  const auto d = static_cast<int32_t>(c.num_default_boxes());
  const auto k = static_cast<int32_t>(c.num_classes);
  TF_Output labels = g.cast(label_targets, TF_INT32);
  TF_Output pos = g.cast(g.op("Greater", {labels, g.scalar_i32(0)}), TF_FLOAT);  // [N, D]
  TF_Output neg_candidate = g.sub(g.scalar(1.0f), pos);
  // Smooth L1 of the positives' offsets: with a = |x| and m = min(a, 1), ½m² + (a − m) is ½x²
  // below 1 and |x| − ½ from 1 on, with PyTorch's gradient (sign(x) at |x| = 1).
  TF_Output a = g.op("Abs", {g.sub(loc, loc_targets)});
  TF_Output m = g.op("Minimum", {a, g.scalar(1.0f)});
  TF_Output sl1 = g.add(g.mul(g.scalar(0.5f), g.op("Square", {m})), g.sub(a, m));
  TF_Output sl1_n = g.sum(g.mul(g.sum(sl1, {2}), pos), {1});  // [N]
  // Cross entropy of every box: logsumexp(z) − z[label].
  TF_Output logp = g.reshape(g.op("LogSoftmax", {g.reshape(conf, {-1, k})}), {-1, d, k});
  TF_Output onehot = g.build("OneHot")
                         .in(labels)
                         .in(g.scalar_i32(k))
                         .in(g.scalar(1.0f))
                         .in(g.scalar(0.0f))
                         .attr("axis", -1)
                         .out();
  TF_Output con = g.op("Neg", {g.sum(g.mul(onehot, logp), {2})});  // [N, D]
  // Hard negatives (not differentiated): sort con_neg descending, stably, by TopKV2 with k = D
  // (equal values: lower index first); a box's rank is its position, found by sorting the
  // sorted indices ascending (a second TopKV2 of their negation; all distinct). The first
  // min(3·P, D) boxes that are negatives count.
  TF_Output con_neg = g.mul(g.stop_gradient(con), neg_candidate);
  TF_Output order = {
      g.build("TopKV2").in(con_neg).in(g.scalar_i32(d)).attr("sorted", true).finish(), 1};
  TF_Output rank = {
      g.build("TopKV2").in(g.op("Neg", {order})).in(g.scalar_i32(d)).attr("sorted", true).finish(),
      1};
  TF_Output positives = g.sum(pos, {1}, /*keep_dims=*/true);  // [N, 1]
  TF_Output num_neg =
      g.op("Minimum", {g.mul(positives, g.scalar(static_cast<float>(c.neg_pos_ratio))),
                       g.scalar(static_cast<float>(d))});
  TF_Output hard = g.cast(g.op("Less", {g.cast(rank, TF_FLOAT), num_neg}), TF_FLOAT);
  TF_Output selected = g.stop_gradient(g.add(pos, g.mul(hard, neg_candidate)));
  TF_Output closs_n = g.sum(g.mul(con, selected), {1});  // [N]
  // (sl1 + closs)/P for images with positives, 0 for the others; the mean over the batch.
  TF_Output p = g.reshape(positives, {-1});
  TF_Output scale = g.div(g.cast(g.op("Greater", {p, g.scalar(0.0f)}), TF_FLOAT),
                          g.op("Maximum", {p, g.scalar(1.0f)}));
  return g.mean(g.mul(g.add(sl1_n, closs_n), scale), {0});
}

void build_ssd(ModelBuilder& b) {
  Graph& g = b.graph();
  const SsdConfig& c = b.spec().ssd;
  const int64_t d = c.num_default_boxes();
  const std::vector<int64_t> image_shape{-1, c.image_size, c.image_size, c.channels};  // NHWC
  g.set_scope("train");
  const Heads train =
      ssd_forward(b, Mode::kTrain, b.input(Mode::kTrain, "images", TF_FLOAT, image_shape));
  TF_Output loc_targets = b.input(Mode::kTrain, "loc_targets", TF_FLOAT, {-1, d, 4});
  TF_Output label_targets = b.input(Mode::kTrain, "label_targets", TF_INT64, {-1, d});
  b.loss = ssd_loss(g, c, train.loc, train.conf, loc_targets, label_targets);
  b.train_logits = g.concat({train.loc, train.conf}, 2);
  g.set_scope("infer");
  const Heads infer =
      ssd_forward(b, Mode::kInfer, b.input(Mode::kInfer, "images", TF_FLOAT, image_shape));
  // MODELS.md: predictions [N, D, 4 + K], the raw offsets then the raw class logits.
  b.logits = g.concat({infer.loc, infer.conf}, 2);
  g.set_scope("");
}

}  // namespace greenbench::workloads::tf
