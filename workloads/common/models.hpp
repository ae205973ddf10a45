#pragma once
// Model specifications shared by both workers: hyper-parameters per model and scale, and the
// ordered parameter list from which each backend creates its variables (MODELS.md has the maths).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/data_detection.hpp"
#include "common/data_translation.hpp"

namespace greenbench::workloads {

/// How a parameter's initial value is drawn (by weights.cpp, from the run's seed).
struct InitRule {
  enum class Kind {
    kZeros,    ///< 0
    kOnes,     ///< 1
    kNormal,   ///< N(a, b²): mean a, standard deviation b
    kUniform,  ///< U[a, b)
    kFixed,    ///< a
  };
  Kind kind = Kind::kZeros;
  double a = 0.0;
  double b = 0.0;
};

/// One parameter or buffer, in canonical layout (Linear [out, in], Conv OIHW, Embedding [num,
/// dim]).
struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  InitRule init;
  bool trainable = true;     ///< false: a buffer (batch-norm running statistics), not optimised
  bool weight_decay = true;  ///< whether the optimizer's weight decay applies (SGD only)
  [[nodiscard]] int64_t numel() const;
};

/// Optimizer and its constants. Adam: PyTorch semantics (bias-corrected, eps added after sqrt,
/// no weight decay). SGD: buf = momentum·buf + g (buf = g on the first step), p -= lr·buf, with
/// coupled weight decay g += weight_decay·p on parameters whose ParamSpec::weight_decay is set.
struct OptimizerSpec {
  std::string name;  ///< "adam" | "sgd"
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum = 0.0;
  double weight_decay = 0.0;
};

/// Learning-rate schedule, evaluated by the driver (learning_rate_at) and passed to train_step.
struct LrSchedule {
  std::string kind = "constant";  ///< "constant" | "warmup_cosine" | "warmup_step_decay"
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;  ///< linear warm-up: lr = base·(step+1)/warmup for step < warmup
                             ///< (warmup_step_decay: exponential, MODELS.md)
  double min_lr = 0.0;       ///< cosine decays from base_lr to min_lr over the remaining steps
  // --- "warmup_step_decay" (GNMT: DeepLearningExamples' WarmupMultiStepLR) ---
  double remain_fraction = 1.0;  ///< decay starts at step ⌊remain_fraction · total_steps⌋
  int64_t decay_steps = 0;       ///< at most this many decays, evenly spaced until the end
  double decay_factor = 1.0;     ///< each decay multiplies the rate by this
};

/// NCF (NeuMF) hyper-parameters and its synthetic data.
struct NcfConfig {
  int64_t num_users = 0;
  int64_t num_items = 0;
  int64_t mf_dim = 0;
  std::vector<int64_t> mlp_sizes;      ///< mlp_sizes[0] = concat of user and item MLP embeddings
  int64_t negatives_per_positive = 4;  ///< training negatives sampled per positive
  int64_t eval_negatives = 100;        ///< negatives ranked against each held-out positive
  int64_t positives_per_user = 0;      ///< data: positives per user (the last one is held out)
  int64_t latent_rank = 0;             ///< data: rank of the planted user/item factors
  int64_t top_k = 10;                  ///< hit rate @ top_k
};

/// ResNet-50 v1.5 hyper-parameters and its synthetic data.
struct ResNetConfig {
  int64_t image_size = 0;  ///< square images, NCHW, 3 channels
  int64_t channels = 3;
  int64_t num_classes = 0;
  int64_t base_width = 64;  ///< stage widths base·{1,2,4,8}; block outputs ×4
  std::vector<int64_t> blocks = {3, 4, 6, 3};
  double bn_eps = 1e-5;
  double bn_momentum = 0.1;  ///< running = (1 − m)·running + m·batch statistic
  double label_smoothing = 0.1;
  int64_t max_shift = 0;   ///< data: random translation of the class template, in pixels
  double noise_std = 0.0;  ///< data: additive Gaussian pixel noise
};

/// Transformer-XL (MemTransformerLM, relative partial learnable attention) hyper-parameters.
struct TransformerXlConfig {
  int64_t n_token = 0;  ///< vocabulary size
  int64_t n_layer = 0;
  int64_t d_model = 0;
  int64_t n_head = 0;
  int64_t d_head = 0;
  int64_t d_inner = 0;
  int64_t tgt_len = 0;       ///< training segment length
  int64_t mem_len = 0;       ///< training memory length
  int64_t clamp_len = -1;    ///< training: relative positions clamped to this (≤ 0: no clamp)
  int64_t eval_tgt_len = 0;  ///< evaluation segment length
  int64_t eval_mem_len = 0;  ///< evaluation memory length
  int64_t eval_clamp_len = -1;
  double layer_norm_eps = 1e-5;
  int64_t markov_branching = 0;  ///< data: successors per state of the seeded Markov chain
};

// ---- SSD300 (ResNet-50 backbone) ---------------------------------------------------------------
/// SSD300 with a ResNet-50 backbone, as DeepLearningExamples' PyTorch SSD (MODELS.md, "SSD300").
/// The backbone is ResNet-50 v1.5 (ResNetConfig's names) truncated after layer3, whose first block
/// has stride 1; then `extra_strides.size()` additional blocks, one detection head per feature map.
struct SsdConfig {
  int64_t image_size = 0;  ///< square images, NCHW
  int64_t channels = 3;
  int64_t num_classes = 0;  ///< including the background class 0 (paper: 81, COCO's 80 + 1)
  int64_t base_width = 64;  ///< backbone stage widths base·{1,2,4}; layer3 outputs 16·base
  std::vector<int64_t> backbone_blocks = {3, 4, 6};  ///< bottleneck blocks of layer1 … layer3
  /// Additional block i: conv1x1 (out_channels[i] → mid_channels[i]), BN, ReLU, conv3x3 stride
  /// extra_strides[i] (padding 1 when the stride is 2, else 0) to out_channels[i + 1], BN, ReLU.
  std::vector<int64_t> out_channels;   ///< per feature map; out_channels[0] = 16·base_width
  std::vector<int64_t> mid_channels;   ///< per additional block
  std::vector<int64_t> extra_strides;  ///< per additional block: 2 or 1
  std::vector<int64_t> feature_sizes;  ///< per feature map (square); must follow the network
  std::vector<double> steps;           ///< per feature map: default-box centre step in pixels
  std::vector<double> scales;          ///< feature maps + 1 default-box scales, in pixels
  std::vector<std::vector<double>> aspect_ratios;  ///< per feature map, besides 1
  double scale_xy = 0.1;                           ///< centre offsets are divided by it in encoding
  double scale_wh = 0.2;          ///< log-size offsets are divided by it in encoding
  double match_iou = 0.5;         ///< a default box is positive when its best IoU is > this
  int64_t neg_pos_ratio = 3;      ///< hard negatives per positive
  double score_threshold = 0.05;  ///< inference: class scores must be > this
  double nms_iou = 0.5;           ///< inference: suppress IoU ≥ this
  int64_t nms_top_k = 200;        ///< inference: highest scores per class before NMS
  int64_t max_detections = 200;   ///< inference: detections kept per image
  double bn_eps = 1e-5;
  double bn_momentum = 0.1;
  DetectionConfig data;  ///< synthetic detection data (object classes = num_classes − 1)

  /// Default boxes per location of feature map k: 2 + 2·aspect_ratios[k].size().
  [[nodiscard]] int64_t boxes_per_location(size_t k) const;
  /// Total default boxes D (8732 for SSD300).
  [[nodiscard]] int64_t num_default_boxes() const;
};
// ---- end SSD ----------------------------------------------------------------------------------
// --- GNMT ------------------------------------------------------------------------------------

/// GNMT v2 (DeepLearningExamples' PyTorch GNMT) hyper-parameters, its beam search and its data.
struct GnmtConfig {
  TranslationConfig data;    ///< the synthetic translation data (grammar, lexicon, widths S, T)
  int64_t vocab_size = 0;    ///< joint vocabulary V = max(source, target vocabulary) of `data`
  int64_t hidden_size = 0;   ///< H: embeddings, every LSTM and the attention
  int64_t num_layers = 0;    ///< encoder and decoder layers each (at least 2)
  double init_weight = 0.1;  ///< every parameter but the attention's normalisation: U(±init)
  double label_smoothing = 0.1;
  double grad_clip_norm = 5.0;  ///< global L2 norm of the gradients clipped to this (≤ 0: none)
  int64_t beam_width = 0;       ///< beam search (MODELS.md, GNMT v2)
  double len_norm_factor = 0.6;
  double len_norm_const = 5.0;
  double cov_penalty_factor = 0.1;
  int64_t max_decode_length = 0;  ///< decoded tokens per sentence at most, eos included
};

// --- Mask R-CNN --------------------------------------------------------------------------------

/// Mask R-CNN with a ResNet-50-FPN backbone, as torchvision's maskrcnn_resnet50_fpn and
/// DeepLearningExamples' PyTorch MaskRCNN (MODELS.md, "Mask R-CNN"). Images enter at the data's
/// size (height and width multiples of 32; no resize, no normalisation).
struct MaskRcnnConfig {
  int64_t channels = 3;
  int64_t num_classes = 0;  ///< including the background class 0 (paper: 91, torchvision's COCO)
  int64_t base_width = 64;  ///< backbone stage widths base·{1,2,4,8}; outputs 4·, 8·, 16·, 32·base
  std::vector<int64_t> blocks = {3, 4, 6, 3};
  /// true: FrozenBatchNorm2d (weight, bias, mean, var all buffers; y = x·scale + shift), as
  /// torchvision and DLE with a pretrained backbone; false: BatchNorm2d with batch statistics in
  /// training, as torchvision's maskrcnn_resnet50_fpn(weights=None, weights_backbone=None).
  bool frozen_bn = true;
  /// Backbone stages trained, counted from layer4 (torchvision's trainable_backbone_layers):
  /// 3 freezes conv1 and layer1 (their tensors are buffers), 5 trains every stage.
  int64_t trainable_backbone_layers = 3;
  double bn_eps = 1e-5;
  double bn_momentum = 0.1;
  int64_t fpn_channels = 256;  ///< F: every FPN output, the RPN head and the RoI features
  /// Anchor size per FPN level P2 … P6 (one size per level), and the aspect ratios (h/w).
  std::vector<double> anchor_sizes = {32, 64, 128, 256, 512};
  std::vector<double> aspect_ratios = {0.5, 1.0, 2.0};
  // RPN
  double rpn_fg_iou = 0.7;  ///< anchors with best IoU ≥ this are positive
  double rpn_bg_iou = 0.3;  ///< anchors with best IoU < this are negative
  int64_t rpn_batch_per_image = 256;
  double rpn_positive_fraction = 0.5;
  int64_t rpn_pre_nms_top_n_train = 2000;  ///< per level
  int64_t rpn_pre_nms_top_n_test = 1000;
  int64_t rpn_post_nms_top_n_train = 2000;  ///< per image
  int64_t rpn_post_nms_top_n_test = 1000;
  double rpn_nms = 0.7;
  double rpn_min_size = 1e-3;  ///< proposals with a side below this are removed
  // Box head
  double box_fg_iou = 0.5;
  double box_bg_iou = 0.5;
  int64_t box_batch_per_image = 512;
  double box_positive_fraction = 0.25;
  std::vector<double> box_weights = {10.0, 10.0, 5.0, 5.0};  ///< (wx, wy, ww, wh)
  int64_t box_pool = 7;                                      ///< RoIAlign output of the box head
  int64_t sampling_ratio = 2;          ///< RoIAlign samples per bin side (MultiScaleRoIAlign)
  int64_t representation_size = 1024;  ///< TwoMLPHead width R
  double canonical_scale = 224;        ///< level mapper: a box of this side maps to canonical_level
  int64_t canonical_level = 4;
  // Mask head
  int64_t mask_pool = 14;
  std::vector<int64_t> mask_layers = {256, 256, 256,
                                      256};  ///< 3×3 convs; then a deconv of the last
  int64_t mask_resolution = 28;              ///< = 2·mask_pool (the deconv doubles it)
  // Inference
  double box_score_thresh = 0.05;
  double box_nms = 0.5;
  int64_t detections_per_image = 100;
  double box_min_size = 1e-2;   ///< detections with a side below this are removed
  double mask_threshold = 0.5;  ///< a pasted mask probability > this is inside
  DetectionConfig data;         ///< synthetic detection data (object classes = num_classes − 1)

  /// Anchors per location A = aspect_ratios.size() (one size per level).
  [[nodiscard]] int64_t anchors_per_location() const;
  /// The five feature maps' (height, width), P2 … P6, for the data's image size.
  [[nodiscard]] std::vector<std::array<int64_t, 2>> feature_sizes() const;
};
// --- end Mask R-CNN ----------------------------------------------------------------------------

/// Everything both backends need to build, train and evaluate one model at one scale.
struct ModelSpec {
  std::string model;              ///< "ncf" | "resnet50" | "transformer_xl" | "gnmt"
  std::string scale;              ///< "tiny" | "small" | "paper"
  NcfConfig ncf;                  ///< used when model == "ncf"
  ResNetConfig resnet;            ///< used when model == "resnet50"
  TransformerXlConfig txl;        ///< used when model == "transformer_xl"
  SsdConfig ssd;                  ///< used when model == "ssd"
  GnmtConfig gnmt;                ///< used when model == "gnmt"
  MaskRcnnConfig mask_rcnn;       ///< used when model == "mask_rcnn"
  std::vector<ParamSpec> params;  ///< in canonical order; weights and checkpoints follow it
  OptimizerSpec optimizer;
  LrSchedule schedule;
  int64_t batch_size = 0;       ///< preset training (and evaluation) batch size
  int64_t train_steps = 0;      ///< preset training steps
  int64_t eval_batches = 0;     ///< preset number of evaluation batches
  int64_t eval_batch_size = 0;  ///< preset samples per evaluation batch (NCF: rows, whole users)
  int64_t train_examples = 0;   ///< data: size of the synthetic training set (0 = model-defined)

  /// Number of trainable scalars (buffers excluded).
  [[nodiscard]] int64_t trainable_parameter_count() const;
  /// The parameter with this name; throws greenbench::Error when absent.
  [[nodiscard]] const ParamSpec& param(const std::string& name) const;
};

/// Model names the workers run, in a stable order.
[[nodiscard]] const std::vector<std::string>& model_names();
/// Scale names known to make_model_spec, in a stable order.
[[nodiscard]] const std::vector<std::string>& scale_names();

/// The specification of a model at a scale; throws greenbench::Error naming an unknown value.
[[nodiscard]] ModelSpec make_model_spec(const std::string& model, const std::string& scale);

/// Learning rate for 0-based `step` of `total_steps` under the spec's schedule.
[[nodiscard]] double learning_rate_at(const LrSchedule& schedule, int64_t step,
                                      int64_t total_steps);

}  // namespace greenbench::workloads
