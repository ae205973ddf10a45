#pragma once
// The seam between the shared worker driver (workloads/common) and one framework.
// The driver owns everything that must be identical in both workers: argument parsing, settings,
// synthetic data, initial weights, checkpoints, phases/markers, metrics and quality evaluation.
// A backend only turns weights + batches into a model that trains and predicts.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace greenbench::workloads {

/// A host tensor in the canonical layout documented in workloads/common/MODELS.md.
/// Exactly one of f32 / i64 is used, as dtype says.
struct HostTensor {
  enum class DType { kF32, kI64 };
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<float> f32;
  std::vector<int64_t> i64;
  [[nodiscard]] int64_t numel() const;
};

/// A named parameter (or buffer, such as batch-norm running statistics).
struct NamedTensor {
  std::string name;
  HostTensor value;
  bool trainable = true;  ///< false for buffers: saved in checkpoints, not optimised
};

/// The model's state, in the order of the model's parameter specification.
using Weights = std::vector<NamedTensor>;

/// One batch: named inputs as MODELS.md lists them per model (e.g. "users", "items", "labels").
struct Batch {
  std::vector<std::pair<std::string, HostTensor>> inputs;
  [[nodiscard]] const HostTensor& get(const std::string& name) const;
};

/// A batch held in a framework's own tensors and layout (on its device), made by
/// Backend::prepare during set-up so that the measured phases hold framework work only.
class PreparedBatch {
 public:
  virtual ~PreparedBatch() = default;
};

/// One framework operation's time over a profiled phase (MODELS.md, Profiling).
struct OpTime {
  std::string name;   ///< the framework's own op name: "Conv2D" (TensorFlow op type), "aten::mm"
  std::string pass;   ///< "forward" | "backward" | "optimizer"
  double self_s = 0;  ///< wall time in the op itself, nested ops excluded, summed over its calls
  int64_t calls = 0;
};

/// One execution of an operation, for traces.
struct OpSpan {
  std::string name;
  std::string pass;
  double start_s = 0;  ///< since start_profile(), on the worker's steady clock
  double dur_s = 0;    ///< self and nested time together
  int64_t step = -1;   ///< the step (or evaluation batch) it ran in; the driver fills it in
};

/// What a backend's profiler recorded between start_profile() and stop_profile().
struct OpProfile {
  std::string profiler;  ///< which profiler, e.g. "torch::autograd::profiler (Kineto, CPU)"
  std::vector<OpTime> ops;
  std::vector<OpSpan> spans;
};

/// Effective framework options as (name, value) pairs, e.g. ("onednn", "on").
using FrameworkOptions = std::vector<std::pair<std::string, std::string>>;

struct ModelSpec;  // models.hpp
struct Settings;   // settings.hpp

/// What a framework must provide. Every call may throw std::exception with a one-line message.
class Backend {
 public:
  virtual ~Backend() = default;
  [[nodiscard]] virtual std::string framework() const = 0;  ///< "pytorch" | "tensorflow"
  [[nodiscard]] virtual std::string framework_version() const = 0;
  /// Creates the model (and optimizer) from the specification with these exact initial weights.
  virtual void build(const ModelSpec& spec, const Settings& settings, const Weights& initial) = 0;
  /// The options the framework runs with after build() (threads, oneDNN, graph optimiser,
  /// layouts, ...), as shown by --describe and sent as `info` markers.
  [[nodiscard]] virtual FrameworkOptions framework_options() const = 0;
  /// Copies a canonical host batch into framework tensors in the framework's native layout, for
  /// train_step (training = true) or predict (false). Called after build(), outside any measured
  /// phase.
  virtual std::unique_ptr<PreparedBatch> prepare(const Batch& batch, bool training) = 0;
  /// Called once after the last prepare() of set-up: a backend that gathers prepared batches
  /// into device memory in one transfer does it here.
  virtual void finish_prepare() {}
  /// The outcome of one train_step.
  struct StepResult {
    float loss = 0.0f;    ///< the loss before the update (unscaled)
    bool applied = true;  ///< false: fp16 gradients were not finite, so no parameter changed
  };
  /// One optimisation step on the batch at this learning rate (the driver owns the schedule and,
  /// for fp16, the loss scale: the loss is multiplied by `loss_scale` before the gradient and the
  /// gradients divided by it; a step whose gradients are not all finite changes no parameter or
  /// optimizer state). Other precisions get loss_scale 1 and always apply the update.
  virtual StepResult train_step(const PreparedBatch& batch, float learning_rate,
                                float loss_scale) = 0;
  /// Inference-mode forward pass (batch norm uses running statistics, no state is changed except
  /// recurrent memory); returns the logits in the canonical layout, copied to the host.
  virtual HostTensor predict(const PreparedBatch& batch) = 0;
  /// The raw head outputs `--dump-logits` writes (MODELS.md, per model), float32 in the
  /// canonical layout, for a model whose predict() returns something else (GNMT's decoded
  /// tokens: its teacher-forced decoder logits in inference mode). The driver calls it after the
  /// measured phase. The default is predict().
  virtual HostTensor head_outputs(const PreparedBatch& batch) { return predict(batch); }
  /// The current weights (and buffers), same names and order as the specification.
  virtual Weights weights() = 0;
  /// Waits for asynchronous device work (called before every marker).
  virtual void synchronize() {}
  /// Clears recurrent state carried between batches (Transformer-XL memory); no-op otherwise.
  virtual void reset_state() {}
  /// Starts the framework's own op profiler: every train_step/predict until stop_profile() is
  /// recorded op by op. Called after set-up, outside the measured phase. Throws when this backend
  /// cannot profile.
  virtual void start_profile();
  /// Stops the profiler and returns the ops (aggregated by name and pass) and their spans, with
  /// span times on the steady clock measured from the end of start_profile() (a backend takes
  /// its origin as the last thing it does there; the driver reads the clock as it returns).
  virtual OpProfile stop_profile();
};

}  // namespace greenbench::workloads
