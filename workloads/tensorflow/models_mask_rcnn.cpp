// Mask R-CNN (ResNet-50-FPN) on the TensorFlow graph, as workloads/common/MODELS.md ("Mask R-CNN")
// specifies it. The graph computes in NHWC with HWIO kernels; the host round trip is the shared
// mask_rcnn_step code. A training step is one partial run of one graph: the first part feeds the
// images and fetches the RPN outputs, the host selects proposals and makes every target, the
// second part feeds them and fetches the loss while the same execution runs the update, so the
// backbone runs once and the losses' gradients reach it through the RoI gathers. Inference is one
// partial run in three parts (RPN, box head on the proposals, mask head on the detections).
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/mask_rcnn_boxes.hpp"
#include "common/mask_rcnn_step.hpp"
#include "greenbench/error.hpp"
#include "resnet_blocks.hpp"
#include "tf_backend.hpp"

namespace greenbench::workloads::tf {
namespace {

Tensor f32_tensor(const std::vector<int64_t>& dims, const float* values) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  Tensor t(TF_AllocateTensor(TF_FLOAT, dims.data(), static_cast<int>(dims.size()), bytes));
  if (bytes > 0) std::memcpy(TF_TensorData(t.get()), values, bytes);
  return t;
}

Tensor i64_tensor(const std::vector<int64_t>& dims, const int64_t* values) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  const size_t bytes = static_cast<size_t>(n) * sizeof(int64_t);
  Tensor t(TF_AllocateTensor(TF_INT64, dims.data(), static_cast<int>(dims.size()), bytes));
  if (bytes > 0) std::memcpy(TF_TensorData(t.get()), values, bytes);
  return t;
}

const float* floats(const Tensor& t) { return static_cast<const float*>(TF_TensorData(t.get())); }

// A convolution of the named layer (`name`.weight, HWIO, at stride 1) plus its bias.
TF_Output conv_bias(ModelBuilder& b, TF_Output x, const std::string& name, const char* padding) {
  TF_Output y = b.conv2d(x, b.param(name + ".weight"), 1, padding);
  return b.graph()
      .build("BiasAdd")
      .in(y)
      .in(b.param(name + ".bias"))
      .attr("data_format", "NHWC")
      .out();
}

// The pooling table's gather (MODELS.md, "RoIAlign in the frameworks"): rows `index` of `table`
// [rows, F] times `weight`, summed over each cell's entries: [rois, cells, F]. Differentiable in
// the table (GatherV2's gradient is an UnsortedSegmentSum into its rows); index and weight are
// fed constants.
MaskRcnnGraph::Pooling pooling(Graph& g, TF_Output table, const std::string& name, int64_t cells,
                               int64_t entries, int64_t channels) {
  MaskRcnnGraph::Pooling p;
  p.index = g.placeholder(TF_INT64, {-1}, name + "_index");
  p.weight = g.placeholder(TF_FLOAT, {-1}, name + "_weight");
  TF_Output rows = g.gather(table, p.index);  // [rois·cells·entries, F]
  TF_Output weighted = g.mul(rows, g.reshape(p.weight, {-1, 1}));
  p.features =
      g.sum(g.reshape(weighted, {-1, static_cast<int32_t>(cells), static_cast<int32_t>(entries),
                                 static_cast<int32_t>(channels)}),
            {2});
  return p;
}

// Backbone, FPN and RPN head of one pass (MODELS.md, "Forward").
struct Rpn {
  std::vector<TF_Output> fpn;  ///< P2 … P5
  TF_Output table{nullptr, 0};
  TF_Output objectness{nullptr, 0}, deltas{nullptr, 0};
};

Rpn rpn_forward(ModelBuilder& b, Mode mode, TF_Output images_nhwc) {
  const MaskRcnnConfig& c = b.spec().mask_rcnn;
  Graph& g = b.graph();
  if (c.blocks.size() != 4) {
    throw Error("tensorflow worker: mask_rcnn needs 4 backbone stages, not " +
                std::to_string(c.blocks.size()));
  }
  ResNetBlocks blocks(b, mode, c.bn_eps, c.bn_momentum, "backbone.body.", c.frozen_bn);
  const std::vector<TF_Output> stages =
      blocks.stage_outputs(blocks.stem(images_nhwc), c.blocks, {1, 2, 2, 2});  // C2 … C5
  const std::vector<std::array<int64_t, 2>> sizes = c.feature_sizes();         // P2 … P6
  Rpn out;
  out.fpn.resize(4);
  auto inner = [&](int i) {
    return conv_bias(b, stages[static_cast<size_t>(i)],
                     "backbone.fpn.inner_blocks." + std::to_string(i) + ".0", "VALID");
  };
  auto layer = [&](TF_Output t, int i) {
    return conv_bias(b, t, "backbone.fpn.layer_blocks." + std::to_string(i) + ".0", "SAME");
  };
  TF_Output t = inner(3);
  out.fpn[3] = layer(t, 3);
  for (int i = 2; i >= 0; --i) {
    // Nearest upsampling by 2 (the sizes are exact halves): out[y, x] = in[⌊y/2⌋, ⌊x/2⌋].
    const std::array<int64_t, 2>& s = sizes[static_cast<size_t>(i)];
    TF_Output up = g.build("ResizeNearestNeighbor")
                       .in(t)
                       .in(g.constant_i32({static_cast<int32_t>(s[0]), static_cast<int32_t>(s[1])}))
                       .attr("align_corners", false)
                       .attr("half_pixel_centers", false)
                       .out();
    t = g.add(inner(i), up);
    out.fpn[static_cast<size_t>(i)] = layer(t, i);
  }
  // P6 = max_pool2d(P5, kernel 1, stride 2).
  TF_Output p6 = g.build("MaxPool")
                     .in(out.fpn[3])
                     .attr("ksize", std::vector<int64_t>{1, 1, 1, 1})
                     .attr("strides", std::vector<int64_t>{1, 2, 2, 1})
                     .attr("padding", "VALID")
                     .attr("data_format", "NHWC")
                     .out();
  // RPN head, shared over P2 … P6; NHWC outputs flatten per image straight to anchor order:
  // objectness[(y·W + x)·A + a] = o[y, x, a], deltas[(y·W + x)·A + a, q] = d[y, x, 4a + q].
  const auto a = static_cast<int32_t>(c.anchors_per_location());
  std::vector<TF_Output> objectness, deltas;
  for (size_t l = 0; l < 5; ++l) {
    TF_Output p = l < 4 ? out.fpn[l] : p6;
    const auto hw = static_cast<int32_t>(sizes[l][0] * sizes[l][1]);
    TF_Output h = g.relu(conv_bias(b, p, "rpn.head.conv.0.0", "SAME"));
    objectness.push_back(g.reshape(conv_bias(b, h, "rpn.head.cls_logits", "VALID"), {-1, hw * a}));
    deltas.push_back(g.reshape(conv_bias(b, h, "rpn.head.bbox_pred", "VALID"), {-1, hw * a, 4}));
  }
  out.objectness = g.reshape(g.concat(objectness, 1), {-1});
  out.deltas = g.reshape(g.concat(deltas, 1), {-1, 4});
  // The pooling table: P2 … P5 as rows of F channels, level after level, image after image.
  const auto f = static_cast<int32_t>(c.fpn_channels);
  std::vector<TF_Output> rows;
  for (const TF_Output& p : out.fpn) rows.push_back(g.reshape(p, {-1, f}));
  out.table = g.concat(rows, 0);
  return out;
}

// TwoMLPHead and FastRCNNPredictor on box features [Q, cells, F]: the flattened input is
// channel-major (c·cells + cell), as torchvision flattens [Q, F, 7, 7].
void box_head(ModelBuilder& b, TF_Output features, TF_Output& class_logits, TF_Output& box_deltas) {
  const MaskRcnnConfig& c = b.spec().mask_rcnn;
  Graph& g = b.graph();
  const auto width = static_cast<int32_t>(c.fpn_channels * c.box_pool * c.box_pool);
  TF_Output x = g.reshape(g.transpose(features, {0, 2, 1}), {-1, width});
  auto linear = [&](TF_Output v, const std::string& name) {
    TF_Output bias = b.param(name + ".bias");
    return b.linear(v, b.param(name + ".weight"), &bias);
  };
  x = g.relu(linear(x, "roi_heads.box_head.fc6"));
  x = g.relu(linear(x, "roi_heads.box_head.fc7"));
  class_logits = linear(x, "roi_heads.box_predictor.cls_score");
  box_deltas = linear(x, "roi_heads.box_predictor.bbox_pred");
}

// MaskRCNNHeads and MaskRCNNPredictor on mask features [Q, cells, F]: mask logits [Q·K, M·M]
// (row q·K + k is channel k of RoI q, in the canonical [Q, K, M, M] order).
TF_Output mask_head(ModelBuilder& b, TF_Output features) {
  const MaskRcnnConfig& c = b.spec().mask_rcnn;
  Graph& g = b.graph();
  const auto pool = static_cast<int32_t>(c.mask_pool);
  const auto res = static_cast<int32_t>(c.mask_resolution);
  TF_Output m = g.reshape(features, {-1, pool, pool, static_cast<int32_t>(c.fpn_channels)});
  for (size_t i = 0; i < c.mask_layers.size(); ++i) {
    m = g.relu(conv_bias(b, m, "roi_heads.mask_head." + std::to_string(i) + ".0", "SAME"));
  }
  // ConvTranspose2d 2×2 stride 2: the canonical [in, out, 2, 2] kernel is stored as
  // [2, 2, out, in], Conv2DBackpropInput's filter layout.
  const std::string deconv = "roi_heads.mask_predictor.conv5_mask";
  const auto out_channels = static_cast<int32_t>(b.spec().param(deconv + ".weight").shape[1]);
  TF_Output rois = g.build("Slice")
                       .in(g.build("Shape").in(m).attr("out_type", TF_INT32).out())
                       .in(g.constant_i32({0}))
                       .in(g.constant_i32({1}))
                       .out();
  TF_Output sizes = g.concat({rois, g.constant_i32({res, res, out_channels})}, 0);
  m = b.conv2d_transpose(m, b.param(deconv + ".weight"), sizes, 2);
  m = g.relu(
      g.build("BiasAdd").in(m).in(b.param(deconv + ".bias")).attr("data_format", "NHWC").out());
  TF_Output logits = conv_bias(b, m, "roi_heads.mask_predictor.mask_fcn_logits", "VALID");
  return g.reshape(g.transpose(logits, {0, 3, 1, 2}), {-1, res * res});
}

// Σ BCEwithlogits(x, y) = Σ softplus(x) − x·y (gradient sigmoid(x) − y, as torch's).
TF_Output bce_sum(Graph& g, TF_Output x, TF_Output y, const std::vector<int32_t>& axes) {
  return g.sum(g.sub(g.op("Softplus", {x}), g.mul(x, y)), axes);
}

// Σ smoothL1_β(d): with a = |d| and m = min(a, β), ½m²/β + (a − m) is ½d²/β below β and a − ½β
// from β on, with torch's gradient (d/β, then sign(d)).
TF_Output smooth_l1_sum(Graph& g, TF_Output d, float beta) {
  TF_Output a = g.op("Abs", {d});
  TF_Output m = g.op("Minimum", {a, g.scalar(beta)});
  TF_Output v = g.add(g.mul(g.scalar(0.5f / beta), g.op("Square", {m})), g.sub(a, m));
  return g.sum(v, {0, 1});
}

struct HostState {
  MaskRcnnConfig config;
  RcnnAnchors anchors;
  uint64_t seed = 0;
  std::shared_ptr<MaskRcnnGraph> graph;
};

// The number of images of a pass from its fetched objectness (N·anchors values).
int64_t images_of(const HostState& s, const Tensor& objectness) {
  const auto a = static_cast<int64_t>(s.anchors.boxes.size());
  const auto n = static_cast<int64_t>(TF_TensorElementCount(objectness.get()));
  if (a == 0 || n % a != 0) {
    throw Error("tensorflow worker: mask_rcnn's RPN gave " + std::to_string(n) +
                " objectness values, not a multiple of " + std::to_string(a) + " anchors");
  }
  return n / a;
}

// Feeds a pooling. `pad_empty`: a pooling without RoIs is fed as one RoI of zero weights, because
// TensorFlow's oneDNN Conv2D hands back its input unchanged for an empty batch (so the mask
// head's convolutions, and their gradients, get wrong shapes); the mask head's output rows are
// then selected by an empty mask_channel, so the padding row reaches neither loss nor gradients.
void add_pooling(Feeds& feeds, std::vector<Tensor>& keep, const MaskRcnnGraph::Pooling& p,
                 const RcnnPooling& host, bool pad_empty) {
  if (pad_empty && host.rois == 0) {
    const std::vector<int64_t> dims{host.cells * host.entries};
    const std::vector<int64_t> index(static_cast<size_t>(dims[0]), 0);
    const std::vector<float> weight(static_cast<size_t>(dims[0]), 0.0f);
    keep.push_back(i64_tensor(dims, index.data()));
    feeds.emplace_back(p.index, keep.back().get());
    keep.push_back(f32_tensor(dims, weight.data()));
    feeds.emplace_back(p.weight, keep.back().get());
    return;
  }
  const std::vector<int64_t> dims{static_cast<int64_t>(host.index.size())};
  keep.push_back(i64_tensor(dims, host.index.data()));
  feeds.emplace_back(p.index, keep.back().get());
  keep.push_back(f32_tensor(dims, host.weight.data()));
  feeds.emplace_back(p.weight, keep.back().get());
}

}  // namespace

Feeds MaskRcnnGraph::Train::feeds(const RcnnTrainTargets& t, std::vector<Tensor>& keep) const {
  Feeds out;
  auto i64 = [&](TF_Output at, const std::vector<int64_t>& v) {
    keep.push_back(i64_tensor({static_cast<int64_t>(v.size())}, v.data()));
    out.emplace_back(at, keep.back().get());
  };
  auto f32 = [&](TF_Output at, const std::vector<int64_t>& dims, const float* v) {
    keep.push_back(f32_tensor(dims, v));
    out.emplace_back(at, keep.back().get());
  };
  auto rows = [](const std::vector<float>& v, int64_t width) {
    return static_cast<int64_t>(v.size()) / width;
  };
  i64(rpn_sampled, t.rpn_sampled);
  f32(rpn_labels, {static_cast<int64_t>(t.rpn_labels.size())}, t.rpn_labels.data());
  i64(rpn_positive, t.rpn_positive);
  f32(rpn_regression, {rows(t.rpn_regression, 4), 4}, t.rpn_regression.data());
  f32(rpn_count, {}, &t.rpn_count);
  add_pooling(out, keep, box, t.box_pooling, /*pad_empty=*/false);
  i64(roi_labels, t.roi_labels);
  i64(box_positive, t.box_positive);
  f32(box_regression, {rows(t.box_regression, 4), 4}, t.box_regression.data());
  f32(roi_count, {}, &t.roi_count);
  add_pooling(out, keep, mask, t.mask_pooling, /*pad_empty=*/true);
  i64(mask_channel, t.mask_channel);
  const int64_t plane = t.mask_pooling.cells * 4;  // (2·mask_pool)² = M²
  f32(mask_targets,
      {static_cast<int64_t>(t.mask_targets.size()) / std::max<int64_t>(plane, 1), plane},
      t.mask_targets.data());
  f32(mask_count, {}, &t.mask_count);
  return out;
}

void build_mask_rcnn(ModelBuilder& b) {
  Graph& g = b.graph();
  const MaskRcnnConfig& c = b.spec().mask_rcnn;
  if (c.mask_resolution != 2 * c.mask_pool) {
    throw Error("tensorflow worker: mask_rcnn's mask_resolution must be 2·mask_pool");
  }
  auto state = std::make_shared<HostState>();
  state->config = c;
  state->anchors = rcnn_anchors(c);
  state->seed = b.settings().seed;
  state->graph = std::make_shared<MaskRcnnGraph>();
  MaskRcnnGraph& mg = *state->graph;
  const int64_t f = c.fpn_channels, k = c.num_classes,
                entries = 4 * c.sampling_ratio * c.sampling_ratio;
  const int64_t box_cells = c.box_pool * c.box_pool, mask_cells = c.mask_pool * c.mask_pool;
  const auto m2 = static_cast<int32_t>(c.mask_resolution * c.mask_resolution);
  const std::vector<int64_t> image_shape{-1, c.data.height, c.data.width, c.channels};  // NHWC

  g.set_scope("train");
  MaskRcnnGraph::Train& tr = mg.train;
  {
    const Rpn rpn =
        rpn_forward(b, Mode::kTrain, b.input(Mode::kTrain, "images", TF_FLOAT, image_shape));
    tr.fpn = rpn.fpn;
    tr.objectness = rpn.objectness;
    tr.deltas = rpn.deltas;
    tr.rpn_sampled = g.placeholder(TF_INT64, {-1}, "train/rpn_sampled");
    tr.rpn_labels = g.placeholder(TF_FLOAT, {-1}, "train/rpn_labels");
    tr.rpn_positive = g.placeholder(TF_INT64, {-1}, "train/rpn_positive");
    tr.rpn_regression = g.placeholder(TF_FLOAT, {-1, 4}, "train/rpn_regression");
    tr.rpn_count = g.placeholder(TF_FLOAT, {}, "train/rpn_count");
    tr.box = pooling(g, rpn.table, "train/box", box_cells, entries, f);
    tr.roi_labels = g.placeholder(TF_INT64, {-1}, "train/roi_labels");
    tr.box_positive = g.placeholder(TF_INT64, {-1}, "train/box_positive");
    tr.box_regression = g.placeholder(TF_FLOAT, {-1, 4}, "train/box_regression");
    tr.roi_count = g.placeholder(TF_FLOAT, {}, "train/roi_count");
    tr.mask = pooling(g, rpn.table, "train/mask", mask_cells, entries, f);
    tr.mask_channel = g.placeholder(TF_INT64, {-1}, "train/mask_channel");
    tr.mask_targets = g.placeholder(TF_FLOAT, {-1, m2}, "train/mask_targets");
    tr.mask_count = g.placeholder(TF_FLOAT, {}, "train/mask_count");
    box_head(b, tr.box.features, tr.class_logits, tr.box_deltas);
    TF_Output mask_rows = mask_head(b, tr.mask.features);  // [Q+·K, M²]
    tr.mask_logits =
        g.reshape(mask_rows, {-1, static_cast<int32_t>(k), static_cast<int32_t>(c.mask_resolution),
                              static_cast<int32_t>(c.mask_resolution)});
    // The five losses (MODELS.md, "Losses"; sums over the fed index sets / the fed counts).
    const float beta = 1.0f / 9.0f;
    tr.terms[0] = g.div(bce_sum(g, g.gather(tr.objectness, tr.rpn_sampled), tr.rpn_labels, {0}),
                        tr.rpn_count);
    tr.terms[1] = g.div(
        smooth_l1_sum(g, g.sub(g.gather(tr.deltas, tr.rpn_positive), tr.rpn_regression), beta),
        tr.rpn_count);
    TF_Output onehot = g.build("OneHot")
                           .in(tr.roi_labels)
                           .in(g.scalar_i32(static_cast<int32_t>(k)))
                           .in(g.scalar(1.0f))
                           .in(g.scalar(0.0f))
                           .attr("axis", -1)
                           .out();
    tr.terms[2] =
        g.div(g.op("Neg", {g.sum(g.mul(onehot, g.op("LogSoftmax", {tr.class_logits})), {0, 1})}),
              tr.roi_count);
    TF_Output class_deltas = g.gather(g.reshape(tr.box_deltas, {-1, 4}), tr.box_positive);
    tr.terms[3] =
        g.div(smooth_l1_sum(g, g.sub(class_deltas, tr.box_regression), beta), tr.roi_count);
    tr.terms[4] = g.div(bce_sum(g, g.gather(mask_rows, tr.mask_channel), tr.mask_targets, {0, 1}),
                        tr.mask_count);
    b.loss =
        g.add(g.add(g.add(tr.terms[0], tr.terms[1]), g.add(tr.terms[2], tr.terms[3])), tr.terms[4]);
  }

  g.set_scope("infer");
  MaskRcnnGraph::Infer& in = mg.infer;
  {
    const Rpn rpn =
        rpn_forward(b, Mode::kInfer, b.input(Mode::kInfer, "images", TF_FLOAT, image_shape));
    in.fpn = rpn.fpn;
    in.objectness = rpn.objectness;
    in.deltas = rpn.deltas;
    in.box = pooling(g, rpn.table, "infer/box", box_cells, entries, f);
    box_head(b, in.box.features, in.class_logits, in.box_deltas);
    in.mask = pooling(g, rpn.table, "infer/mask", mask_cells, entries, f);
    in.mask_channel = g.placeholder(TF_INT64, {-1}, "infer/mask_channel");
    in.mask_logits = g.gather(mask_head(b, in.mask.features), in.mask_channel);  // [D, M²]
    b.logits = in.mask_logits;
  }
  g.set_scope("");
  b.mask_rcnn = state->graph;

  // The ground truth stays on the host with each training batch (prepare is outside the
  // measured phases).
  b.host_data = [state](const Batch& batch, bool training) -> std::shared_ptr<const void> {
    if (!training) return nullptr;
    return std::make_shared<const std::vector<RcnnGroundTruth>>(
        rcnn_ground_truth(state->config, batch));
  };

  // Training: one partial run; the host's round trip between its two parts.
  b.train_step = [state](const ModelBuilder::TrainCall& call) {
    const MaskRcnnGraph::Train& t = state->graph->train;
    if (call.host == nullptr)
      throw Error("tensorflow worker: mask_rcnn batch without ground truth");
    const auto& truth = *static_cast<const std::vector<RcnnGroundTruth>*>(call.host);
    std::vector<TF_Output> feeds;
    for (const auto& [at, value] : call.feeds) feeds.push_back(at);
    for (TF_Output at :
         {t.rpn_sampled, t.rpn_labels, t.rpn_positive, t.rpn_regression, t.rpn_count, t.box.index,
          t.box.weight, t.roi_labels, t.box_positive, t.box_regression, t.roi_count, t.mask.index,
          t.mask.weight, t.mask_channel, t.mask_targets, t.mask_count}) {
      feeds.push_back(at);
    }
    std::vector<TF_Output> fetches{t.objectness, t.deltas};
    fetches.insert(fetches.end(), call.fetches.begin(), call.fetches.end());
    PartialRun run(call.session, feeds, fetches, call.targets);
    const std::vector<Tensor> rpn = run.run(call.feeds, {t.objectness, t.deltas});
    const int64_t n = images_of(*state, rpn[0]);
    if (n != static_cast<int64_t>(truth.size())) {
      throw Error("tensorflow worker: mask_rcnn batch of " + std::to_string(n) + " images with " +
                  std::to_string(truth.size()) + " ground truths");
    }
    const RcnnTrainTargets targets =
        rcnn_train_targets(state->config, state->anchors, rcnn_feature_table(state->config, n),
                           truth, floats(rpn[0]), floats(rpn[1]), state->seed, call.step);
    std::vector<Tensor> keep;
    return run.run(t.feeds(targets, keep), call.fetches);
  };

  // Inference: one partial run in three parts, RPN → box head → mask head.
  b.session_predict = [state](Session& session, const Feeds& batch) {
    const MaskRcnnGraph::Infer& in = state->graph->infer;
    const MaskRcnnConfig& c = state->config;
    std::vector<TF_Output> feeds;
    for (const auto& [at, value] : batch) feeds.push_back(at);
    for (TF_Output at :
         {in.box.index, in.box.weight, in.mask.index, in.mask.weight, in.mask_channel}) {
      feeds.push_back(at);
    }
    PartialRun run(session, feeds,
                   {in.objectness, in.deltas, in.class_logits, in.box_deltas, in.mask_logits}, {});
    const std::vector<Tensor> rpn = run.run(batch, {in.objectness, in.deltas});
    const int64_t n = images_of(*state, rpn[0]);
    const RcnnFeatureTable table = rcnn_feature_table(c, n);
    const RcnnInferenceRois rois =
        rcnn_inference_rois(c, state->anchors, table, n, floats(rpn[0]), floats(rpn[1]));
    std::vector<Tensor> keep;
    Feeds box;
    add_pooling(box, keep, in.box, rois.box_pooling, /*pad_empty=*/false);
    const std::vector<Tensor> heads = run.run(box, {in.class_logits, in.box_deltas});
    const RcnnInferenceDetections detections =
        rcnn_inference_detections(c, table, rois, floats(heads[0]), floats(heads[1]));
    Feeds mask;
    add_pooling(mask, keep, in.mask, detections.mask_pooling, /*pad_empty=*/true);
    keep.push_back(i64_tensor({static_cast<int64_t>(detections.mask_channel.size())},
                              detections.mask_channel.data()));
    mask.emplace_back(in.mask_channel, keep.back().get());
    const std::vector<Tensor> masks = run.run(mask, {in.mask_logits});
    return rcnn_predictions(c, detections, floats(masks[0]));
  };
}

}  // namespace greenbench::workloads::tf
