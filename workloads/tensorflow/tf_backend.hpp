#pragma once
// The TensorFlow backend: one graph holding the model's variables, its training step (forward,
// loss, TF_AddGradients, explicit optimizer update ops) and its inference forward pass, run through
// one TF_Session. Models live in models_*.cpp and only describe their forward passes.
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/backend.hpp"
#include "common/mask_rcnn_step.hpp"
#include "common/models.hpp"
#include "common/settings.hpp"
#include "graph.hpp"
#include "step_profile.hpp"

namespace greenbench::workloads::tf {

/// Which forward pass a model is building: the training one (batch-norm batch statistics, loss)
/// or the inference one (running statistics, logits).
enum class Mode { kTrain, kInfer };

/// Feeds of one session run.
using Feeds = std::vector<std::pair<TF_Output, TF_Tensor*>>;

/// One partial run of a session (TF_SessionPRunSetup … TF_DeletePRunHandle): every feed, fetch
/// and target declared up front, then fed and fetched part by part, each value once. The targets
/// run in the same execution; the part that completes the feeds and fetches returns only after
/// they are done. The C API takes no RunOptions here, so partial runs cannot be traced.
class PartialRun {
 public:
  PartialRun(Session& session, const std::vector<TF_Output>& feeds,
             const std::vector<TF_Output>& fetches, const std::vector<TF_Operation*>& targets);
  ~PartialRun();
  PartialRun(const PartialRun&) = delete;
  PartialRun& operator=(const PartialRun&) = delete;
  /// One part: these feeds in, these fetches out.
  std::vector<Tensor> run(const Feeds& feeds, const std::vector<TF_Output>& fetches);

 private:
  TF_Session* session_;
  const char* handle_ = nullptr;
};

/// Mask R-CNN's graph (models_mask_rcnn.cpp): what its steps feed and fetch, and its tests
/// inspect. Host-fed tensors are placeholders named after RcnnTrainTargets' fields.
struct MaskRcnnGraph {
  /// One RoI pooling (RcnnPooling): fed index i64 [rois·cells·entries] and weight f32 (same),
  /// and the gathered features [rois, cells, F] (channels last).
  struct Pooling {
    TF_Output index{nullptr, 0}, weight{nullptr, 0}, features{nullptr, 0};
  };
  /// The training pass.
  struct Train {
    std::vector<TF_Output> fpn;                            ///< P2 … P5, NHWC
    TF_Output objectness{nullptr, 0}, deltas{nullptr, 0};  ///< [N·anchors], [N·anchors, 4]
    TF_Output rpn_sampled{nullptr, 0}, rpn_labels{nullptr, 0}, rpn_positive{nullptr, 0},
        rpn_regression{nullptr, 0}, rpn_count{nullptr, 0};
    Pooling box;
    TF_Output roi_labels{nullptr, 0}, box_positive{nullptr, 0}, box_regression{nullptr, 0},
        roi_count{nullptr, 0};
    Pooling mask;
    TF_Output mask_channel{nullptr, 0}, mask_targets{nullptr, 0}, mask_count{nullptr, 0};
    TF_Output class_logits{nullptr, 0}, box_deltas{nullptr, 0};  ///< [Q, K], [Q, 4K]
    TF_Output mask_logits{nullptr, 0};                           ///< [Q+, K, M, M]
    /// rpn_objectness, rpn_box, classifier, box_reg, mask (MODELS.md, "Losses").
    std::array<TF_Output, 5> terms{};
    /// The feeds of the host's targets (tensors kept in `keep`).
    [[nodiscard]] Feeds feeds(const RcnnTrainTargets& t, std::vector<Tensor>& keep) const;
  } train;
  /// The inference pass: RPN, box head on fed proposals, mask head on fed detections.
  struct Infer {
    std::vector<TF_Output> fpn;
    TF_Output objectness{nullptr, 0}, deltas{nullptr, 0};
    Pooling box;
    TF_Output class_logits{nullptr, 0}, box_deltas{nullptr, 0};
    Pooling mask;
    TF_Output mask_channel{nullptr, 0};
    TF_Output mask_logits{nullptr, 0};  ///< the detections' label channels [D, M·M]
  } infer;
};

/// What a model's build function uses to create one forward pass.
class ModelBuilder {
 public:
  ModelBuilder(Graph& graph, const ModelSpec& spec, const Settings& settings,
               const std::map<std::string, TF_Output>& params, bool pooled_inputs)
      : graph_(graph),
        spec_(spec),
        settings_(settings),
        params_(params),
        pooled_inputs_(pooled_inputs) {}

  Graph& graph() { return graph_; }
  [[nodiscard]] const ModelSpec& spec() const { return spec_; }
  [[nodiscard]] const Settings& settings() const { return settings_; }
  [[nodiscard]] int64_t batch_size() const { return settings_.batch_size; }

  /// The current value of a parameter (convolution kernels come in HWIO, everything else in the
  /// canonical layout).
  TF_Output param(const std::string& name) const;
  /// A batch input of this mode, fed from Batch::get(name) (or, pooled, sliced from the mode's
  /// pool variable).
  TF_Output input(Mode mode, const std::string& name, TF_DataType dtype,
                  const std::vector<int64_t>& shape);
  /// The ops MODELS.md's Precision section computes in bf16/fp16. With mixed precision their
  /// inputs are cast (Cast nodes) to the 16-bit type, the op runs in it and its output is cast
  /// back to float32; biases are added in float32. fp32/tf32 build the plain float32 ops.
  [[nodiscard]] bool mixed() const { return settings_.mixed_precision(); }
  TF_Output linear(TF_Output x, TF_Output w, const TF_Output* b);
  TF_Output matmul(TF_Output a, TF_Output b, bool transpose_a, bool transpose_b);
  TF_Output batch_matmul(TF_Output a, TF_Output b, bool adj_x = false, bool adj_y = false);
  /// Conv2D (NHWC, HWIO kernel) with these strides and padding ("SAME" or "VALID").
  TF_Output conv2d(TF_Output x, TF_Output kernel, int stride, const char* padding);
  /// Conv2DBackpropInput (a transposed convolution, NHWC, kernel [kh, kw, out, in]) with stride
  /// `stride` and VALID padding, to an output of `output_sizes` (int32 [4]).
  TF_Output conv2d_transpose(TF_Output x, TF_Output kernel, TF_Output output_sizes, int stride);
  /// A buffer update run with the training step (batch-norm running statistics).
  void update(const std::string& param_name, TF_Output value);
  /// Recurrent state (Transformer-XL memory): a resource variable shared by both modes, so it
  /// stays inside TensorFlow between steps. Returns its value as read by this pass; `initial` is
  /// the shape of the zeros reset_state() assigns.
  TF_Output state(const std::string& name, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& initial);
  /// The value the state takes after a pass of this mode (assigned by the same session run).
  void set_state_next(Mode mode, const std::string& name, TF_Output next);

  /// Where a batch input of a pooled graph (MODELS.md: TensorFlow on a GPU) comes from: every
  /// prepared batch of the mode lies end to end in one flat device variable; a step feeds the
  /// batch's offset, element count and shape (host-memory arguments of Slice and Reshape).
  struct PoolInput {
    TF_DataType dtype = TF_FLOAT;
    size_t rank = 0;
    TF_Output offset{nullptr, 0};  ///< int64 [1]
    TF_Output size{nullptr, 0};    ///< int64 [1]
    TF_Output shape{nullptr, 0};   ///< int64 [rank]
    TF_Output upload{nullptr, 0};  ///< the whole pool, fed once by finish_prepare()
    TF_Operation* assign = nullptr;
  };
  struct Inputs {
    std::vector<std::pair<std::string, TF_Output>> inputs;
    std::vector<PoolInput> pools;              ///< parallel to inputs when inputs are pooled
    std::vector<TF_Operation*> state_updates;  ///< run with every pass of the mode
  };
  Inputs train, infer;
  std::vector<TF_Operation*> state_resets;  ///< run by reset_state()
  std::vector<std::pair<std::string, TF_Output>> updates;
  TF_Output loss{nullptr, 0};    ///< scalar training loss (set by the model)
  TF_Output logits{nullptr, 0};  ///< inference logits (set by the model)
  /// The training pass's head outputs, in the layout of `logits`, where a model sets them (SSD:
  /// its tests compare the graph's loss with the host reference on them).
  TF_Output train_logits{nullptr, 0};

  using Feeds = tf::Feeds;
  /// One run of the backend's session (profiled like every step while a profile runs).
  using Run = std::function<std::vector<Tensor>(const Feeds&, const std::vector<TF_Output>&)>;
  /// A model's own predict() (GNMT: an encoder run, then the beam search's decoder-step runs),
  /// given the batch's feeds; unset, predict() fetches `logits` and head_outputs() does too.
  std::function<HostTensor(const Feeds& batch, const Run& run)> predict;

  // A model whose step needs the host in the middle of one graph execution (Mask R-CNN) runs its
  // own training step and prediction on the session (partial runs, which cannot be traced).
  /// Host data kept with each prepared batch (Mask R-CNN: a training batch's ground truth).
  std::function<std::shared_ptr<const void>(const Batch& batch, bool training)> host_data;
  /// What the backend hands a model's own training step.
  struct TrainCall {
    Session& session;
    const Feeds& feeds;  ///< the batch's and the optimizer's
    const void* host;    ///< host_data's value for the batch (nullptr without host_data)
    /// The loss, fetched through an Identity that waits for the update (a partial run does not
    /// report the failure of a target that ends after its last fetch), and fp16's all_finite.
    const std::vector<TF_Output>& fetches;
    const std::vector<TF_Operation*>& targets;  ///< the update, run by the same execution
    int64_t step;                               ///< 0-based count of train_step calls
  };
  /// The training step; returns the tensors of `fetches`.
  std::function<std::vector<Tensor>(const TrainCall& call)> train_step;
  /// predict() (and head_outputs()) on the session, given the batch's feeds.
  std::function<HostTensor(Session& session, const Feeds& batch)> session_predict;
  /// Mask R-CNN's graph, for its tests.
  std::shared_ptr<const MaskRcnnGraph> mask_rcnn;

 private:
  TF_Output lp(TF_Output x);
  TF_Output f32(TF_Output x) { return graph_.cast(x, TF_FLOAT); }

  Graph& graph_;
  const ModelSpec& spec_;
  const Settings& settings_;
  const std::map<std::string, TF_Output>& params_;
  std::map<std::string, TF_Output> state_handles_;
  bool pooled_inputs_ = false;
};

/// Builds both forward passes of a model; defined in models_<name>.cpp.
void build_ncf(ModelBuilder& b);
void build_resnet50(ModelBuilder& b);
void build_transformer_xl(ModelBuilder& b);
void build_ssd(ModelBuilder& b);
void build_gnmt(ModelBuilder& b);
void build_mask_rcnn(ModelBuilder& b);
/// SSD's loss (MODELS.md, "SSD300", Loss) of head outputs `loc` [N, D, 4] and `conf` [N, D, K]
/// against `loc_targets` f32 [N, D, 4] and `label_targets` i64 [N, D]: smooth L1 of the
/// positives' offsets plus the cross entropy of positives and stably mined hard negatives, per
/// image over its positives, averaged over the batch.
TF_Output ssd_loss(Graph& g, const SsdConfig& c, TF_Output loc, TF_Output conf,
                   TF_Output loc_targets, TF_Output label_targets);

/// greenbench-tf's Backend.
class TfBackend final : public Backend {
 public:
  TfBackend();
  ~TfBackend() override;
  [[nodiscard]] std::string framework() const override { return "tensorflow"; }
  [[nodiscard]] std::string framework_version() const override;
  void build(const ModelSpec& spec, const Settings& settings, const Weights& initial) override;
  [[nodiscard]] FrameworkOptions framework_options() const override;
  std::unique_ptr<PreparedBatch> prepare(const Batch& batch, bool training) override;
  void finish_prepare() override;
  StepResult train_step(const PreparedBatch& batch, float learning_rate, float loss_scale) override;
  HostTensor predict(const PreparedBatch& batch) override;
  /// The inference pass's `logits` (GNMT: teacher-forced decoder logits), whatever predict does.
  HostTensor head_outputs(const PreparedBatch& batch) override;
  Weights weights() override;
  void reset_state() override;
  /// Traces every train_step/predict run (RunOptions FULL_TRACE) until stop_profile().
  void start_profile() override;
  /// Decodes the traced runs' step stats into ops and spans (step_profile.hpp).
  OpProfile stop_profile() override;

 private:
  struct Variable {
    const ParamSpec* spec = nullptr;
    TF_Output handle{nullptr, 0};
    TF_Output value{nullptr, 0};  ///< the one ReadVariableOp used by the graph
    bool hwio = false;            ///< stored as HWIO (a canonical OIHW convolution kernel)
  };
  void build_optimizer(ModelBuilder& b);
  void initialise(const Weights& initial);
  void check_gpu(const std::string& tf_device);
  /// The host copy of one pooled input's batches until finish_prepare() uploads it.
  struct Staged {
    std::vector<float> f32;
    std::vector<int64_t> i64;
  };
  /// Where the running step's RunMetadata goes while profiling; nullptr otherwise.
  std::string* traced();
  /// Decodes the buffered RunMetadata into profile_.
  void decode_backlog();

  ModelSpec spec_;
  Settings settings_;
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<ModelBuilder> model_;
  std::vector<Variable> vars_;
  std::map<std::string, TF_Output> param_values_;
  std::vector<std::pair<TF_Output, TF_Output>> init_feeds_;  ///< (placeholder, variable handle)
  std::vector<TF_Operation*> init_ops_;
  TF_Output lr_{nullptr, 0};          ///< SGD learning rate
  TF_Output step_size_{nullptr, 0};   ///< Adam lr / (1 − β1^t)
  TF_Output bc2_sqrt_{nullptr, 0};    ///< Adam sqrt(1 − β2^t)
  TF_Output loss_scale_{nullptr, 0};  ///< fp16: the driver's loss scale
  TF_Output all_finite_{nullptr, 0};  ///< fp16: whether every gradient was finite (bool)
  std::string tf32_ = "n/a (CPU)";
  int64_t train_calls_ = 0;  ///< train_step calls since initialise (a model's own step gets it)
  bool pooled_inputs_ = false;
  std::map<std::pair<bool, std::string>, Staged> staged_;  ///< (training, input) -> batches
  TF_Operation* train_op_ = nullptr;
  TF_Output trained_loss_{nullptr, 0};  ///< the loss, once the update has run (own train_step)
  int64_t step_ = 0;
  std::unique_ptr<StepProfile> profile_;   ///< set between start_profile() and stop_profile()
  std::vector<std::string> run_metadata_;  ///< the traced runs', decoded at stop_profile()
  size_t run_metadata_bytes_ = 0;          ///< in run_metadata_ but its last entry
};

}  // namespace greenbench::workloads::tf
