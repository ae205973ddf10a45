#pragma once
// Effective settings of one worker run: what the command line asked for, resolved against the
// model's scale preset. The driver fills it once; backends only read it.
#include <cstdint>
#include <string>

namespace greenbench::workloads {

/// One worker run's settings; after run_worker's validation every field holds its effective value.
struct Settings {
  std::string model;            ///< "ncf" | "resnet50" | "transformer_xl"
  std::string phase;            ///< "train" | "infer"
  std::string scale = "tiny";   ///< "tiny" | "small" | "paper"
  uint64_t seed = 1;            ///< seeds the initial weights and the synthetic data
  int threads = 1;              ///< intra-op threads (inter-op threads = 1)
  int64_t steps = 0;            ///< training steps (0 on the command line = the preset's)
  int64_t batch_size = 0;       ///< training batch size (0 = the preset's)
  int64_t eval_batch_size = 0;  ///< samples per evaluation batch (from the preset)
  int64_t eval_batches = 0;     ///< evaluation batches (from the preset)
  std::string device = "cpu";   ///< "cpu" | "cuda:N" (a bare "cuda" is made "cuda:0")
  /// "fp32" | "tf32" | "bf16" | "fp16": the numerics of MODELS.md's "Precision" section.
  std::string precision = "fp32";
  std::string checkpoint;   ///< train: written after training; infer: read before inference
  std::string dump_logits;  ///< logits of the first evaluation batch go here (float32 LE)
  std::string profile;      ///< the measured phase's op profile goes here as JSON (MODELS.md)
  bool describe = false;    ///< print the model and effective settings as JSON and exit
  /// "default": each framework as it ships (TensorFlow with oneDNN and Grappler); "strict": the
  /// configuration the cross-framework equality tests need (TensorFlow without both).
  std::string numerics = "default";
  int64_t data_budget_bytes = int64_t{2} << 30;  ///< synthetic data held as framework tensors
  int64_t train_pool_batches = 0;  ///< distinct training batches made in setup (cycled)
  int64_t eval_pool_batches = 0;   ///< distinct evaluation batches made in setup (cycled)
  /// The CUDA device index of device "cuda:N"; -1 for the CPU.
  [[nodiscard]] int cuda_index() const {
    return device.rfind("cuda:", 0) == 0 ? std::stoi(device.substr(5)) : -1;
  }
  /// Whether conv/matmul inputs are cast to a 16-bit type (bf16, fp16).
  [[nodiscard]] bool mixed_precision() const { return precision == "bf16" || precision == "fp16"; }
};

}  // namespace greenbench::workloads
