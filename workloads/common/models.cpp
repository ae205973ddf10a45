#include "common/models.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

InitRule zeros() { return {InitRule::Kind::kZeros, 0.0, 0.0}; }
InitRule ones() { return {InitRule::Kind::kOnes, 0.0, 0.0}; }
InitRule normal(double mean, double std) { return {InitRule::Kind::kNormal, mean, std}; }
InitRule uniform(double limit) { return {InitRule::Kind::kUniform, -limit, limit}; }

void add(ModelSpec& spec, std::string name, std::vector<int64_t> shape, InitRule init,
         bool trainable = true, bool weight_decay = true) {
  spec.params.push_back({std::move(name), std::move(shape), init, trainable, weight_decay});
}

// NeuMF as in DeepLearningExamples' PyTorch NCF: embeddings N(0, 0.01), MLP layers Glorot
// uniform with zero bias, final layer LeCun uniform with zero bias.
void build_ncf(ModelSpec& spec) {
  const NcfConfig& c = spec.ncf;
  const int64_t half = c.mlp_sizes.at(0) / 2;
  add(spec, "mf_user_embed.weight", {c.num_users, c.mf_dim}, normal(0.0, 0.01));
  add(spec, "mf_item_embed.weight", {c.num_items, c.mf_dim}, normal(0.0, 0.01));
  add(spec, "mlp_user_embed.weight", {c.num_users, half}, normal(0.0, 0.01));
  add(spec, "mlp_item_embed.weight", {c.num_items, half}, normal(0.0, 0.01));
  for (size_t i = 1; i < c.mlp_sizes.size(); ++i) {
    const int64_t in = c.mlp_sizes[i - 1];
    const int64_t out = c.mlp_sizes[i];
    const std::string prefix = "mlp." + std::to_string(i - 1);
    add(spec, prefix + ".weight", {out, in},
        uniform(std::sqrt(6.0 / static_cast<double>(in + out))));
    add(spec, prefix + ".bias", {out}, zeros());
  }
  const int64_t final_in = c.mlp_sizes.back() + c.mf_dim;
  add(spec, "final.weight", {1, final_in}, uniform(std::sqrt(3.0 / static_cast<double>(final_in))));
  add(spec, "final.bias", {1}, zeros());
  spec.optimizer = {"adam", 0.25, 0.5, 1e-8, 0.0, 0.0};
}

// Batch-norm scale and shift are exempt from weight decay (DeepLearningExamples' default) unless
// `decay`; `frozen` makes all four buffers (FrozenBatchNorm2d, or a frozen stage).
void add_bn(ModelSpec& spec, const std::string& prefix, int64_t channels, bool frozen = false,
            bool decay = false) {
  add(spec, prefix + ".weight", {channels}, ones(), !frozen, decay && !frozen);
  add(spec, prefix + ".bias", {channels}, zeros(), !frozen, decay && !frozen);
  add(spec, prefix + ".running_mean", {channels}, zeros(), false, false);
  add(spec, prefix + ".running_var", {channels}, ones(), false, false);
}

void add_conv(ModelSpec& spec, const std::string& name, int64_t out, int64_t in, int64_t k,
              bool trainable = true) {
  // Kaiming normal, fan_out mode, ReLU gain: std = sqrt(2 / (out·k·k)).
  add(spec, name, {out, in, k, k}, normal(0.0, std::sqrt(2.0 / static_cast<double>(out * k * k))),
      trainable, trainable);
}

// How a backbone's tensors are named and which are trained (Mask R-CNN; the defaults are
// resnet50's and SSD's).
struct BackboneOptions {
  std::string prefix;         // prepended to every name ("backbone.body." for Mask R-CNN)
  bool frozen_bn = false;     // every BN a FrozenBatchNorm2d (four buffers)
  int64_t frozen_stages = 0;  // 0 none, 1 the stem (conv1, bn1), 2 the stem and layer1, …
  bool bn_decay = false;      // weight decay on trainable BN scale and shift
};

// ResNet-50 v1.5's stem and bottleneck stages (torchvision's names: conv1, bn1, layerS.B.…),
// shared by resnet50, SSD's and Mask R-CNN's backbones; returns the last stage's output channels.
int64_t add_resnet_backbone(ModelSpec& spec, int64_t w, int64_t channels,
                            const std::vector<int64_t>& blocks, const BackboneOptions& o = {}) {
  const bool stem_frozen = o.frozen_stages >= 1;
  add_conv(spec, o.prefix + "conv1.weight", w, channels, 7, !stem_frozen);
  add_bn(spec, o.prefix + "bn1", w, o.frozen_bn || stem_frozen, o.bn_decay);
  int64_t in = w;
  for (size_t stage = 0; stage < blocks.size(); ++stage) {
    const int64_t width = w << stage;
    const int64_t out = width * 4;
    const bool frozen = static_cast<int64_t>(stage) + 2 <= o.frozen_stages;
    const bool bn_frozen = o.frozen_bn || frozen;
    for (int64_t block = 0; block < blocks[stage]; ++block) {
      const std::string p =
          o.prefix + "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
      add_conv(spec, p + ".conv1.weight", width, in, 1, !frozen);
      add_bn(spec, p + ".bn1", width, bn_frozen, o.bn_decay);
      add_conv(spec, p + ".conv2.weight", width, width, 3, !frozen);
      add_bn(spec, p + ".bn2", width, bn_frozen, o.bn_decay);
      add_conv(spec, p + ".conv3.weight", out, width, 1, !frozen);
      add_bn(spec, p + ".bn3", out, bn_frozen, o.bn_decay);
      if (block == 0) {
        add_conv(spec, p + ".downsample.0.weight", out, in, 1, !frozen);
        add_bn(spec, p + ".downsample.1", out, bn_frozen, o.bn_decay);
      }
      in = out;
    }
  }
  return in;
}

void build_resnet(ModelSpec& spec) {
  const ResNetConfig& c = spec.resnet;
  const int64_t w = c.base_width;
  const int64_t in = add_resnet_backbone(spec, w, c.channels, c.blocks);
  // torch.nn.Linear's default initialisation: U(±1/sqrt(in)) for weight and bias.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  add(spec, "fc.weight", {c.num_classes, in}, uniform(bound));
  add(spec, "fc.bias", {c.num_classes}, uniform(bound));
  spec.optimizer = {"sgd", 0.9, 0.999, 1e-8, 0.875, 3.0517578125e-05};
}

// MemTransformerLM with attn_type 0, DeepLearningExamples' 'normal' init (std 0.02; LayerNorm
// weight N(1, 0.02)), shared r_w_bias/r_r_bias, output layer tied to the word embedding.
void build_txl(ModelSpec& spec) {
  const TransformerXlConfig& c = spec.txl;
  const double std = 0.02;
  const int64_t hd = c.n_head * c.d_head;
  add(spec, "word_emb.weight", {c.n_token, c.d_model}, normal(0.0, std));
  add(spec, "r_w_bias", {c.n_head, c.d_head}, normal(0.0, std));
  add(spec, "r_r_bias", {c.n_head, c.d_head}, normal(0.0, std));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "layers." + std::to_string(i);
    add(spec, p + ".dec_attn.qkv_net.weight", {3 * hd, c.d_model}, normal(0.0, std));
    add(spec, p + ".dec_attn.r_net.weight", {hd, c.d_model}, normal(0.0, std));
    add(spec, p + ".dec_attn.o_net.weight", {c.d_model, hd}, normal(0.0, std));
    add(spec, p + ".dec_attn.layer_norm.weight", {c.d_model}, normal(1.0, std));
    add(spec, p + ".dec_attn.layer_norm.bias", {c.d_model}, zeros());
    add(spec, p + ".pos_ff.CoreNet.0.weight", {c.d_inner, c.d_model}, normal(0.0, std));
    add(spec, p + ".pos_ff.CoreNet.0.bias", {c.d_inner}, zeros());
    add(spec, p + ".pos_ff.CoreNet.3.weight", {c.d_model, c.d_inner}, normal(0.0, std));
    add(spec, p + ".pos_ff.CoreNet.3.bias", {c.d_model}, zeros());
    add(spec, p + ".pos_ff.layer_norm.weight", {c.d_model}, normal(1.0, std));
    add(spec, p + ".pos_ff.layer_norm.bias", {c.d_model}, zeros());
  }
  add(spec, "crit.out_layers.0.bias", {c.n_token}, zeros());
  spec.optimizer = {"adam", 0.9, 0.999, 1e-8, 0.0, 0.0};
}

// ---- SSD300 (ResNet-50 backbone) ---------------------------------------------------------------
// DeepLearningExamples' PyTorch SSD300: torchvision ResNet-50 children up to layer3 (names as our
// ResNet-50 spec, Kaiming init as there: DLE starts from ImageNet weights, we cannot), layer3's
// first block at stride 1; additional blocks and heads xavier_uniform on every weight of more
// than one dimension; the heads' biases keep torch.nn.Conv2d's default U(±1/sqrt(in·k·k)).
// Weight decay off for every one-dimensional parameter and every bias (DLE's tencent_trick).

InitRule xavier_conv(int64_t out, int64_t in, int64_t k) {
  return uniform(std::sqrt(6.0 / static_cast<double>((in + out) * k * k)));
}

// Spatial size after a k×k convolution or pooling with this stride and padding.
int64_t conv_out(int64_t size, int64_t k, int64_t stride, int64_t pad) {
  return (size + 2 * pad - k) / stride + 1;
}

std::vector<int64_t> ssd_network_feature_sizes(const SsdConfig& c) {
  int64_t s = conv_out(c.image_size, 7, 2, 3);  // conv1
  s = conv_out(s, 3, 2, 1);                     // maxpool
  s = conv_out(s, 3, 2, 1);                     // layer2's first block (layer1, layer3: stride 1)
  std::vector<int64_t> sizes = {s};
  for (int64_t stride : c.extra_strides) {
    s = stride == 2 ? conv_out(s, 3, 2, 1) : conv_out(s, 3, 1, 0);
    sizes.push_back(s);
  }
  return sizes;
}

void check_ssd_config(const SsdConfig& c) {
  const size_t maps = c.feature_sizes.size();
  const auto fail = [](const std::string& what) { throw Error("ssd config: " + what); };
  if (c.out_channels.size() != maps || c.mid_channels.size() + 1 != maps ||
      c.extra_strides.size() + 1 != maps || c.steps.size() != maps || c.scales.size() != maps + 1 ||
      c.aspect_ratios.size() != maps) {
    fail("per-map lists disagree with " + std::to_string(maps) + " feature maps");
  }
  if (c.out_channels[0] != 16 * c.base_width) {
    fail("out_channels[0] = " + std::to_string(c.out_channels[0]) + ", layer3 gives " +
         std::to_string(16 * c.base_width));
  }
  for (int64_t stride : c.extra_strides) {
    if (stride != 1 && stride != 2) fail("extra stride " + std::to_string(stride));
  }
  const std::vector<int64_t> net = ssd_network_feature_sizes(c);
  for (size_t k = 0; k < maps; ++k) {
    if (net[k] != c.feature_sizes[k] || net[k] < 1) {
      fail("feature map " + std::to_string(k) + " is " + std::to_string(net[k]) + "×" +
           std::to_string(net[k]) + ", config says " + std::to_string(c.feature_sizes[k]));
    }
  }
  if (c.num_classes < 2 || c.data.num_classes != c.num_classes - 1) {
    fail("num_classes " + std::to_string(c.num_classes) + " with " +
         std::to_string(c.data.num_classes) + " object classes in the data");
  }
  if (c.data.height != c.image_size || c.data.width != c.image_size) {
    fail("data images are not " + std::to_string(c.image_size) + " pixels square");
  }
}

void build_ssd(ModelSpec& spec) {
  const SsdConfig& c = spec.ssd;
  check_ssd_config(c);
  const int64_t w = c.base_width;
  add_resnet_backbone(spec, w, c.channels, c.backbone_blocks);
  for (size_t i = 0; i < c.mid_channels.size(); ++i) {
    const std::string p = "additional_blocks." + std::to_string(i);
    const int64_t cin = c.out_channels[i];
    const int64_t mid = c.mid_channels[i];
    const int64_t cout = c.out_channels[i + 1];
    add(spec, p + ".0.weight", {mid, cin, 1, 1}, xavier_conv(mid, cin, 1));
    add_bn(spec, p + ".1", mid);
    add(spec, p + ".3.weight", {cout, mid, 3, 3}, xavier_conv(cout, mid, 3));
    add_bn(spec, p + ".4", cout);
  }
  for (const char* head : {"loc", "conf"}) {
    const bool loc = std::string(head) == "loc";
    for (size_t k = 0; k < c.out_channels.size(); ++k) {
      const std::string p = std::string(head) + "." + std::to_string(k);
      const int64_t cin = c.out_channels[k];
      const int64_t cout = c.boxes_per_location(k) * (loc ? 4 : c.num_classes);
      add(spec, p + ".weight", {cout, cin, 3, 3}, xavier_conv(cout, cin, 3));
      add(spec, p + ".bias", {cout}, uniform(1.0 / std::sqrt(static_cast<double>(cin * 9))), true,
          false);
    }
  }
  // DLE: SGD momentum 0.9, weight decay 5e-4.
  spec.optimizer = {"sgd", 0.9, 0.999, 1e-8, 0.9, 5e-4};
}
// ---- end SSD ----------------------------------------------------------------------------------

ModelSpec ncf_spec(const std::string& scale) {
  ModelSpec s;
  NcfConfig& c = s.ncf;
  if (scale == "tiny") {
    c.num_users = 512;
    c.num_items = 256;
    c.mf_dim = 8;
    c.mlp_sizes = {32, 16, 8};
    c.positives_per_user = 16;
    c.latent_rank = 4;
    s.batch_size = 256;
    s.train_steps = 300;
    s.eval_batch_size = int64_t{64} * 101;
    s.schedule = {"constant", 0.01, 0, 0.0};
  } else if (scale == "small") {
    c.num_users = 8192;
    c.num_items = 4096;
    c.mf_dim = 16;
    c.mlp_sizes = {64, 32, 16};
    c.positives_per_user = 32;
    c.latent_rank = 8;
    s.batch_size = 1024;
    s.train_steps = 2000;
    s.eval_batch_size = int64_t{256} * 101;
    s.schedule = {"constant", 0.005, 0, 0.0};
  } else {
    // The study: MovieLens-20M sizes, factors 1, MLP [2, 2, 1, 1], batch 64, one epoch of the
    // 19,861,770 training positives with 4 negatives each.
    c.num_users = 138493;
    c.num_items = 26744;
    c.mf_dim = 1;
    c.mlp_sizes = {2, 2, 1, 1};
    c.positives_per_user = 144;
    c.latent_rank = 8;
    s.batch_size = 64;
    s.train_steps = (19861770LL * 5 + 63) / 64;
    s.eval_batch_size = int64_t{64} * 101;
    s.schedule = {"constant", 0.0045, 0, 0.0};
  }
  s.eval_batches = (c.num_users * 101 + s.eval_batch_size - 1) / s.eval_batch_size;
  build_ncf(s);
  return s;
}

ModelSpec resnet_spec(const std::string& scale) {
  ModelSpec s;
  ResNetConfig& c = s.resnet;
  if (scale == "tiny") {
    c.image_size = 32;
    c.num_classes = 10;
    c.base_width = 8;
    c.max_shift = 3;
    c.noise_std = 0.5;
    s.batch_size = 32;
    s.train_steps = 60;
    s.eval_batch_size = 64;
    s.eval_batches = 4;
    s.schedule = {"warmup_cosine", 0.05, 4, 0.0};
  } else if (scale == "small") {
    c.image_size = 64;
    c.num_classes = 100;
    c.base_width = 16;
    c.max_shift = 6;
    c.noise_std = 0.5;
    s.batch_size = 32;
    s.train_steps = 300;
    s.eval_batch_size = 64;
    s.eval_batches = 16;
    s.schedule = {"warmup_cosine", 0.05, 20, 0.0};
  } else {
    // The study: 224×224, 1000 classes, batch 32, 4 epochs of 100 iterations, 5,000 inference
    // iterations; lr 0.256 per 256 images (DeepLearningExamples) scaled to batch 32.
    c.image_size = 224;
    c.num_classes = 1000;
    c.base_width = 64;
    c.max_shift = 16;
    c.noise_std = 0.5;
    s.batch_size = 32;
    s.train_steps = 400;
    s.eval_batch_size = 32;
    s.eval_batches = 5000;
    s.schedule = {"warmup_cosine", 0.032, 40, 0.0};
  }
  build_resnet(s);
  return s;
}

ModelSpec txl_spec(const std::string& scale) {
  ModelSpec s;
  TransformerXlConfig& c = s.txl;
  if (scale == "tiny") {
    c = {64, 2, 32, 2, 16, 64, 16, 16, -1, 16, 16, -1, 1e-5, 4};
    s.batch_size = 16;
    s.train_steps = 100;
    s.eval_batch_size = 16;
    s.eval_batches = 8;
    s.schedule = {"warmup_cosine", 0.01, 10, 0.001};
  } else if (scale == "small") {
    c = {1024, 4, 128, 4, 32, 512, 64, 64, -1, 64, 128, -1, 1e-5, 8};
    s.batch_size = 16;
    s.train_steps = 1000;
    s.eval_batch_size = 16;
    s.eval_batches = 32;
    s.schedule = {"warmup_cosine", 0.01, 100, 0.001};
  } else {
    // The study: WikiText-103 vocabulary, DeepLearningExamples' base model shrunk to 16 layers,
    // d_model 256, 8 heads of 24, d_inner 256, batch 16, 4,000 steps; evaluation with
    // tgt_len 64, mem_len 640, clamp_len 400. Full softmax (no adaptive cutoffs).
    c = {267735, 16, 256, 8, 24, 256, 192, 192, -1, 64, 640, 400, 1e-5, 16};
    s.batch_size = 16;
    s.train_steps = 4000;
    s.eval_batch_size = 16;
    s.eval_batches = 256;
    s.schedule = {"warmup_cosine", 0.01, 1000, 0.001};
  }
  build_txl(s);
  return s;
}

// ---- SSD presets ------------------------------------------------------------------------------
ModelSpec ssd_spec(const std::string& scale) {
  ModelSpec s;
  SsdConfig& c = s.ssd;
  DetectionConfig& d = c.data;
  d.with_masks = false;
  d.noise_std = 0.2;
  if (scale == "tiny") {
    // 64×64, three shape classes, a width-8 backbone and four feature maps (8, 4, 2, 1).
    c.image_size = 64;
    c.num_classes = 4;
    c.base_width = 8;
    c.out_channels = {128, 64, 64, 32};
    c.mid_channels = {32, 32, 16};
    c.extra_strides = {2, 2, 2};
    c.feature_sizes = {8, 4, 2, 1};
    c.steps = {8, 16, 32, 64};
    c.scales = {6, 16, 29, 45, 61};
    c.aspect_ratios = {{2}, {2, 3}, {2, 3}, {2}};
    d.min_objects = 1;
    d.max_objects = 4;
    d.min_size = 0.15;
    d.max_size = 0.5;
    s.batch_size = 16;
    s.train_steps = 100;
    s.eval_batch_size = 16;
    s.eval_batches = 4;
    s.schedule = {"warmup_cosine", 0.02, 10, 0.0};
  } else if (scale == "small") {
    // 128×128, twelve classes (three shapes in four colours), width 16, five maps (16 … 1).
    c.image_size = 128;
    c.num_classes = 13;
    c.base_width = 16;
    c.out_channels = {256, 128, 128, 64, 64};
    c.mid_channels = {64, 64, 32, 32};
    c.extra_strides = {2, 2, 2, 2};
    c.feature_sizes = {16, 8, 4, 2, 1};
    c.steps = {8, 16, 32, 64, 128};
    c.scales = {9, 19, 42, 65, 88, 111};
    c.aspect_ratios = {{2}, {2, 3}, {2, 3}, {2}, {2}};
    d.min_objects = 1;
    d.max_objects = 8;
    d.min_size = 0.08;
    d.max_size = 0.5;
    s.batch_size = 16;
    s.train_steps = 300;
    s.eval_batch_size = 32;
    s.eval_batches = 8;
    s.schedule = {"warmup_cosine", 0.02, 30, 0.0};
  } else {
    // The study: SSD300 on COCO 2017 (80 classes + background), batch 8, one epoch of the
    // 118,287 training images, the 5,000 validation images; DLE's lr 2.6e-3 per 32 images
    // scaled to batch 8, constant (its MultiStepLR milestones lie beyond one epoch).
    c.image_size = 300;
    c.num_classes = 81;
    c.base_width = 64;
    c.out_channels = {1024, 512, 512, 256, 256, 256};
    c.mid_channels = {256, 256, 128, 128, 128};
    c.extra_strides = {2, 2, 2, 1, 1};
    c.feature_sizes = {38, 19, 10, 5, 3, 1};
    c.steps = {8, 16, 32, 64, 100, 300};
    c.scales = {21, 45, 99, 153, 207, 261, 315};
    c.aspect_ratios = {{2}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}};
    d.min_objects = 1;
    d.max_objects = 20;
    d.min_size = 0.05;
    d.max_size = 0.6;
    s.batch_size = 8;
    s.train_steps = (118287 + 7) / 8;
    s.eval_batch_size = 8;
    s.eval_batches = 5000 / 8;
    s.schedule = {"constant", 2.6e-3 * 8.0 / 32.0, 0, 0.0};
  }
  d.height = d.width = c.image_size;
  d.num_classes = c.num_classes - 1;
  build_ssd(s);
  return s;
}
// ---- end SSD presets --------------------------------------------------------------------------
// --- GNMT ------------------------------------------------------------------------------------

void add_lstm(ModelSpec& spec, const std::string& prefix, int64_t in, int64_t hidden,
              const std::string& suffix, double init) {
  // torch.nn.LSTM's layout (gates i, f, g, o stacked on the rows); DeepLearningExamples'
  // init_lstm_: U(±init) except the hidden-hidden bias, which is zero.
  add(spec, prefix + ".weight_ih_l0" + suffix, {4 * hidden, in}, uniform(init));
  add(spec, prefix + ".weight_hh_l0" + suffix, {4 * hidden, hidden}, uniform(init));
  add(spec, prefix + ".bias_ih_l0" + suffix, {4 * hidden}, uniform(init));
  add(spec, prefix + ".bias_hh_l0" + suffix, {4 * hidden}, zeros());
}

// GNMT v2 as DeepLearningExamples' PyTorch GNMT with share_embedding (one embedding for the
// encoder and the decoder over the joint vocabulary).
void build_gnmt(ModelSpec& spec) {
  GnmtConfig& c = spec.gnmt;
  if (c.num_layers < 2) {
    throw Error("gnmt: num_layers = " + std::to_string(c.num_layers) + " (at least 2)");
  }
  c.vocab_size = std::max(source_vocab_size(c.data), target_vocab_size(c.data));
  const int64_t h = c.hidden_size;
  const int64_t v = c.vocab_size;
  const double w = c.init_weight;
  add(spec, "embedder.weight", {v, h}, uniform(w));
  add_lstm(spec, "encoder.rnn_layers.0", h, h, "", w);
  add_lstm(spec, "encoder.rnn_layers.0", h, h, "_reverse", w);
  add_lstm(spec, "encoder.rnn_layers.1", 2 * h, h, "", w);
  for (int64_t i = 2; i < c.num_layers; ++i) {
    add_lstm(spec, "encoder.rnn_layers." + std::to_string(i), h, h, "", w);
  }
  add_lstm(spec, "decoder.att_rnn.rnn", h, h, "", w);
  add(spec, "decoder.att_rnn.attn.linear_q.weight", {h, h}, uniform(w));
  add(spec, "decoder.att_rnn.attn.linear_k.weight", {h, h}, uniform(w));
  add(spec, "decoder.att_rnn.attn.linear_att", {h}, uniform(w));
  add(spec, "decoder.att_rnn.attn.normalize_scalar", {1},
      {InitRule::Kind::kFixed, 1.0 / std::sqrt(static_cast<double>(h)), 0.0});
  add(spec, "decoder.att_rnn.attn.normalize_bias", {h}, zeros());
  for (int64_t i = 0; i + 1 < c.num_layers; ++i) {
    add_lstm(spec, "decoder.rnn_layers." + std::to_string(i), 2 * h, h, "", w);
  }
  add(spec, "decoder.classifier.classifier.weight", {v, h}, uniform(w));
  add(spec, "decoder.classifier.classifier.bias", {v}, uniform(w));
  spec.optimizer = {"adam", 0.9, 0.999, 1e-8, 0.0, 0.0};
}

ModelSpec gnmt_spec(const std::string& scale) {
  ModelSpec s;
  GnmtConfig& c = s.gnmt;
  TranslationConfig& d = c.data;
  // DeepLearningExamples' schedule: exponential warm-up over 200 steps, decay ×0.5 four times
  // over the last third (remain_steps 0.666). Scaled down with the run for tiny and small.
  LrSchedule sched;
  sched.kind = "warmup_step_decay";
  sched.base_lr = 2e-3;
  sched.remain_fraction = 0.666;
  sched.decay_steps = 4;
  sched.decay_factor = 0.5;
  if (scale == "tiny") {
    d.nouns = 12, d.adjectives = 6, d.verbs = 8, d.prepositions = 4;
    d.max_source_len = 16, d.max_target_len = 20, d.max_depth = 1;
    c.hidden_size = 64;
    c.num_layers = 4;
    c.beam_width = 3;
    c.max_decode_length = d.max_target_len;
    s.batch_size = 32;
    s.train_steps = 400;
    s.eval_batch_size = 32;
    s.eval_batches = 4;
    sched.base_lr = 2e-2;
    sched.warmup_steps = 20;
  } else if (scale == "small") {
    d.nouns = 200, d.adjectives = 60, d.verbs = 100, d.prepositions = 10;
    d.max_source_len = 32, d.max_target_len = 40;
    c.hidden_size = 128;
    c.num_layers = 4;
    c.beam_width = 5;
    c.max_decode_length = d.max_target_len;
    s.batch_size = 64;
    s.train_steps = 2000;
    s.eval_batch_size = 64;
    s.eval_batches = 8;
    sched.base_lr = 5e-3;
    sched.warmup_steps = 100;
  } else {
    // The study: DeepLearningExamples' GNMT with hidden size 32 (from 1024), 4 layers, a joint
    // vocabulary of 32,320 (its BPE 32k vocabulary padded to a multiple of 8), batch 128, one
    // epoch of WMT16 en-de's 4,500,966 pairs, newstest2014's 3,003 sentences at batch 128 with
    // beam 5 and max_seq_len 150 (bos + 149); sentences up to 50 source tokens.
    d.nouns = 8000, d.adjectives = 2000, d.verbs = 4140, d.prepositions = 22;
    d.max_source_len = 50, d.max_target_len = 64, d.max_depth = 3;
    c.hidden_size = 32;
    c.num_layers = 4;
    c.beam_width = 5;
    c.max_decode_length = 149;
    s.batch_size = 128;
    s.train_examples = 4500966;
    s.train_steps = (4500966 + 127) / 128;
    s.eval_batch_size = 128;
    s.eval_batches = (3003 + 127) / 128;
    sched.warmup_steps = 200;
  }
  s.schedule = sched;
  build_gnmt(s);
  return s;
}

// --- Mask R-CNN --------------------------------------------------------------------------------
// torchvision's maskrcnn_resnet50_fpn (v1) parameter list and initialisation; see MODELS.md,
// "Mask R-CNN". Every trainable tensor gets weight decay (torchvision's detection reference).

void check_mask_rcnn_config(const MaskRcnnConfig& c) {
  const auto fail = [](const std::string& what) { throw Error("mask_rcnn config: " + what); };
  if (c.num_classes < 2 || c.data.num_classes != c.num_classes - 1) {
    fail("num_classes " + std::to_string(c.num_classes) + " with " +
         std::to_string(c.data.num_classes) + " object classes in the data");
  }
  if (c.data.height < 64 || c.data.width < 64 || c.data.height % 32 != 0 ||
      c.data.width % 32 != 0) {
    fail("image " + std::to_string(c.data.height) + "×" + std::to_string(c.data.width) +
         " (height and width must be multiples of 32, at least 64)");
  }
  if (c.data.channels != c.channels || !c.data.with_masks) {
    fail("data must have " + std::to_string(c.channels) + " channels and masks");
  }
  if (c.blocks.size() != 4 || c.anchor_sizes.size() != 5 || c.aspect_ratios.empty()) {
    fail("expected 4 backbone stages, 5 anchor sizes (P2 … P6) and some aspect ratios");
  }
  if (c.trainable_backbone_layers < 0 || c.trainable_backbone_layers > 5) {
    fail("trainable_backbone_layers = " + std::to_string(c.trainable_backbone_layers));
  }
  if (c.box_weights.size() != 4 || c.mask_layers.empty() || c.mask_resolution != 2 * c.mask_pool ||
      c.sampling_ratio < 1) {
    fail("box_weights need 4 values, mask_layers one or more, mask_resolution = 2·mask_pool");
  }
}

void build_mask_rcnn(ModelSpec& spec) {
  const MaskRcnnConfig& c = spec.mask_rcnn;
  check_mask_rcnn_config(c);
  const int64_t w = c.base_width;
  BackboneOptions o;
  o.prefix = "backbone.body.";
  o.frozen_bn = c.frozen_bn;
  o.frozen_stages = 5 - c.trainable_backbone_layers;
  o.bn_decay = true;
  add_resnet_backbone(spec, w, c.channels, c.blocks, o);
  const int64_t f = c.fpn_channels;
  // FPN: kaiming_uniform_(a=1) = U(±sqrt(3/fan_in)), bias 0.
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t in = 4 * (w << i);
    add(spec, "backbone.fpn.inner_blocks." + std::to_string(i) + ".0.weight", {f, in, 1, 1},
        uniform(std::sqrt(3.0 / static_cast<double>(in))));
    add(spec, "backbone.fpn.inner_blocks." + std::to_string(i) + ".0.bias", {f}, zeros());
  }
  for (int64_t i = 0; i < 4; ++i) {
    add(spec, "backbone.fpn.layer_blocks." + std::to_string(i) + ".0.weight", {f, f, 3, 3},
        uniform(std::sqrt(3.0 / static_cast<double>(f * 9))));
    add(spec, "backbone.fpn.layer_blocks." + std::to_string(i) + ".0.bias", {f}, zeros());
  }
  // RPN head: N(0, 0.01²), bias 0.
  const int64_t a = c.anchors_per_location();
  add(spec, "rpn.head.conv.0.0.weight", {f, f, 3, 3}, normal(0.0, 0.01));
  add(spec, "rpn.head.conv.0.0.bias", {f}, zeros());
  add(spec, "rpn.head.cls_logits.weight", {a, f, 1, 1}, normal(0.0, 0.01));
  add(spec, "rpn.head.cls_logits.bias", {a}, zeros());
  add(spec, "rpn.head.bbox_pred.weight", {4 * a, f, 1, 1}, normal(0.0, 0.01));
  add(spec, "rpn.head.bbox_pred.bias", {4 * a}, zeros());
  // Box head and predictor: torch.nn.Linear's default U(±1/sqrt(in)) for weight and bias.
  const int64_t r = c.representation_size;
  const int64_t k = c.num_classes;
  const auto linear = [&](const std::string& name, int64_t out, int64_t in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    add(spec, name + ".weight", {out, in}, uniform(bound));
    add(spec, name + ".bias", {out}, uniform(bound));
  };
  linear("roi_heads.box_head.fc6", r, f * c.box_pool * c.box_pool);
  linear("roi_heads.box_head.fc7", r, r);
  linear("roi_heads.box_predictor.cls_score", k, r);
  linear("roi_heads.box_predictor.bbox_pred", 4 * k, r);
  // Mask head: 3×3 convs, kaiming_normal_ fan_out, bias 0.
  int64_t in = f;
  for (size_t i = 0; i < c.mask_layers.size(); ++i) {
    const int64_t out = c.mask_layers[i];
    const std::string p = "roi_heads.mask_head." + std::to_string(i) + ".0";
    add_conv(spec, p + ".weight", out, in, 3);
    add(spec, p + ".bias", {out}, zeros());
    in = out;
  }
  // Mask predictor: ConvTranspose2d(in, in, 2, stride 2), weight in torch's transposed layout
  // [in, out, 2, 2] (kaiming_normal_ fan_out = size(0)·4), bias torch's default U(±1/sqrt(fan_in))
  // with fan_in = size(1)·4; then a 1×1 conv to the classes (kaiming fan_out, default bias).
  add(spec, "roi_heads.mask_predictor.conv5_mask.weight", {in, in, 2, 2},
      normal(0.0, std::sqrt(2.0 / static_cast<double>(in * 4))));
  add(spec, "roi_heads.mask_predictor.conv5_mask.bias", {in},
      uniform(1.0 / std::sqrt(static_cast<double>(in * 4))));
  add(spec, "roi_heads.mask_predictor.mask_fcn_logits.weight", {k, in, 1, 1},
      normal(0.0, std::sqrt(2.0 / static_cast<double>(k))));
  add(spec, "roi_heads.mask_predictor.mask_fcn_logits.bias", {k},
      uniform(1.0 / std::sqrt(static_cast<double>(in))));
  // torchvision's detection reference: SGD momentum 0.9, weight decay 1e-4.
  spec.optimizer = {"sgd", 0.9, 0.999, 1e-8, 0.9, 1e-4};
}

ModelSpec mask_rcnn_spec(const std::string& scale) {
  ModelSpec s;
  MaskRcnnConfig& c = s.mask_rcnn;
  DetectionConfig& d = c.data;
  d.with_masks = true;
  d.noise_std = 0.2;
  if (scale == "tiny") {
    // 64×64, three shape classes, width-8 backbone with trainable batch norm, FPN of 32, few
    // proposals and RoIs; anchors and the level mapper's canonical size sized for objects of
    // about 10–32 pixels.
    d.height = d.width = 64;
    c.num_classes = 4;
    c.base_width = 8;
    c.frozen_bn = false;
    c.trainable_backbone_layers = 5;
    c.fpn_channels = 32;
    c.anchor_sizes = {8, 16, 32, 64, 128};
    c.rpn_batch_per_image = 64;
    c.rpn_pre_nms_top_n_train = 200;
    c.rpn_pre_nms_top_n_test = 100;
    c.rpn_post_nms_top_n_train = 100;
    c.rpn_post_nms_top_n_test = 50;
    c.box_batch_per_image = 64;
    c.representation_size = 64;
    c.canonical_scale = 32;
    c.mask_layers = {32, 32};
    d.min_objects = 1;
    d.max_objects = 4;
    d.min_size = 0.15;
    d.max_size = 0.5;
    s.batch_size = 4;
    s.train_steps = 100;
    s.eval_batch_size = 4;
    s.eval_batches = 4;
    s.schedule = {"warmup_cosine", 0.02, 10, 0.0};
  } else if (scale == "small") {
    // 128×128, twelve classes (three shapes in four colours), width 16, FPN of 64.
    d.height = d.width = 128;
    c.num_classes = 13;
    c.base_width = 16;
    c.frozen_bn = false;
    c.trainable_backbone_layers = 5;
    c.fpn_channels = 64;
    c.anchor_sizes = {16, 32, 64, 128, 256};
    c.rpn_batch_per_image = 128;
    c.rpn_pre_nms_top_n_train = 500;
    c.rpn_pre_nms_top_n_test = 250;
    c.rpn_post_nms_top_n_train = 250;
    c.rpn_post_nms_top_n_test = 125;
    c.box_batch_per_image = 128;
    c.representation_size = 256;
    c.canonical_scale = 56;
    c.mask_layers = {64, 64, 64, 64};
    d.min_objects = 1;
    d.max_objects = 8;
    d.min_size = 0.08;
    d.max_size = 0.5;
    s.batch_size = 4;
    s.train_steps = 300;
    s.eval_batch_size = 4;
    s.eval_batches = 8;
    s.schedule = {"warmup_cosine", 0.02, 30, 0.0};
  } else {
    // The study: DLE's PyTorch MaskRCNN on COCO 2017 at 800 × ≤1333 (a 640×480 COCO image
    // becomes 800×1067, padded to 800×1088), 91 classes as torchvision's COCO head, 1,000
    // iterations of 4 images; inference at batch 1 (PyTorch's setting; the study's TF ran 4)
    // over the 5,000 validation images. torchvision's lr 0.02 per 16 images scaled to 4, linear
    // warm-up over the run's 1,000 iterations then constant (its decays lie beyond them).
    d.height = 800;
    d.width = 1088;
    c.num_classes = 91;
    d.min_objects = 1;
    d.max_objects = 20;
    d.min_size = 0.03;
    d.max_size = 0.6;
    s.batch_size = 4;
    s.train_steps = 1000;
    s.eval_batch_size = 1;
    s.eval_batches = 5000;
    s.schedule = {"warmup_cosine", 0.005, 1000, 0.005};
  }
  d.num_classes = c.num_classes - 1;
  build_mask_rcnn(s);
  return s;
}
// --- end Mask R-CNN ----------------------------------------------------------------------------

}  // namespace

// ---- SSD --------------------------------------------------------------------------------------
int64_t SsdConfig::boxes_per_location(size_t k) const {
  return 2 + 2 * static_cast<int64_t>(aspect_ratios.at(k).size());
}

int64_t SsdConfig::num_default_boxes() const {
  int64_t n = 0;
  for (size_t k = 0; k < feature_sizes.size(); ++k) {
    n += feature_sizes[k] * feature_sizes[k] * boxes_per_location(k);
  }
  return n;
}
// ---- end SSD ----------------------------------------------------------------------------------

// --- Mask R-CNN --------------------------------------------------------------------------------
int64_t MaskRcnnConfig::anchors_per_location() const {
  return static_cast<int64_t>(aspect_ratios.size());
}

std::vector<std::array<int64_t, 2>> MaskRcnnConfig::feature_sizes() const {
  // conv1 (7×7, stride 2, pad 3), max pool (3×3, 2, 1), then stride-2 3×3 convs (pad 1) at
  // layer2 … layer4; P6 is P5 max-pooled with kernel 1, stride 2.
  std::vector<std::array<int64_t, 2>> out;
  std::array<int64_t, 2> s = {conv_out(data.height, 7, 2, 3), conv_out(data.width, 7, 2, 3)};
  for (int64_t& v : s) v = conv_out(v, 3, 2, 1);
  out.push_back(s);
  for (int i = 0; i < 3; ++i) {
    for (int64_t& v : s) v = conv_out(v, 3, 2, 1);
    out.push_back(s);
  }
  for (int64_t& v : s) v = conv_out(v, 1, 2, 0);
  out.push_back(s);
  return out;
}
// --- end Mask R-CNN ----------------------------------------------------------------------------

int64_t ParamSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    n *= d;
  }
  return n;
}

int64_t ModelSpec::trainable_parameter_count() const {
  int64_t n = 0;
  for (const ParamSpec& p : params) {
    if (p.trainable) {
      n += p.numel();
    }
  }
  return n;
}

const ParamSpec& ModelSpec::param(const std::string& name) const {
  for (const ParamSpec& p : params) {
    if (p.name == name) {
      return p;
    }
  }
  throw Error("model " + model + ": no parameter named '" + name + "'");
}

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {"ncf", "resnet50", "transformer_xl",
                                                 "ssd", "gnmt",     "mask_rcnn"};
  return names;
}

const std::vector<std::string>& scale_names() {
  static const std::vector<std::string> names = {"tiny", "small", "paper"};
  return names;
}

ModelSpec make_model_spec(const std::string& model, const std::string& scale) {
  bool known_scale = false;
  for (const std::string& s : scale_names()) {
    known_scale = known_scale || s == scale;
  }
  if (!known_scale) {
    throw Error("unknown scale '" + scale + "' (expected tiny, small or paper)");
  }
  ModelSpec spec;
  if (model == "ncf") {
    spec = ncf_spec(scale);
  } else if (model == "resnet50") {
    spec = resnet_spec(scale);
  } else if (model == "transformer_xl") {
    spec = txl_spec(scale);
  } else if (model == "ssd") {
    spec = ssd_spec(scale);
  } else if (model == "gnmt") {
    spec = gnmt_spec(scale);
  } else if (model == "mask_rcnn") {
    spec = mask_rcnn_spec(scale);
  } else {
    throw Error("unknown model '" + model +
                "' (expected ncf, resnet50, transformer_xl, ssd, gnmt or mask_rcnn)");
  }
  spec.model = model;
  spec.scale = scale;
  return spec;
}

namespace {

// DeepLearningExamples' GNMT WarmupMultiStepLR with remain_steps a fraction and decay_interval
// None: lr = base·0.01^((W − t)/W) for t ≤ W; decays from R = ⌊remain·T⌋ every
// max(1, ⌊(T − R)/D⌋) steps, at most D times.
double warmup_step_decay_lr(const LrSchedule& s, int64_t step, int64_t total_steps) {
  const auto remain = static_cast<int64_t>(s.remain_fraction * static_cast<double>(total_steps));
  const int64_t warmup = std::min(s.warmup_steps, remain);
  if (step <= warmup) {
    if (warmup == 0) return s.base_lr;
    const double factor = std::exp(std::log(0.01) / static_cast<double>(warmup));
    return s.base_lr * std::pow(factor, static_cast<double>(warmup - step));
  }
  if (step >= remain && s.decay_steps > 0) {
    const int64_t interval = std::max<int64_t>(1, (total_steps - remain) / s.decay_steps);
    const int64_t decays = std::min((step - remain) / interval + 1, s.decay_steps);
    return s.base_lr * std::pow(s.decay_factor, static_cast<double>(decays));
  }
  return s.base_lr;
}

}  // namespace

double learning_rate_at(const LrSchedule& schedule, int64_t step, int64_t total_steps) {
  if (schedule.kind == "constant") {
    return schedule.base_lr;
  }
  if (schedule.kind == "warmup_step_decay") {
    return warmup_step_decay_lr(schedule, step, total_steps);
  }
  if (schedule.kind != "warmup_cosine") {
    throw Error("unknown learning-rate schedule '" + schedule.kind + "'");
  }
  if (step < schedule.warmup_steps) {
    return schedule.base_lr * static_cast<double>(step + 1) /
           static_cast<double>(schedule.warmup_steps);
  }
  const int64_t span = std::max<int64_t>(1, total_steps - schedule.warmup_steps);
  const double progress =
      std::min(1.0, static_cast<double>(step - schedule.warmup_steps) / static_cast<double>(span));
  return schedule.min_lr +
         (schedule.base_lr - schedule.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace greenbench::workloads
