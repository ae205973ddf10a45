#pragma once
// Deterministic, learnable synthetic data shared by both workers. Every byte depends only on the
// seed and the ModelSpec: our own PRNG and samplers, never std:: distributions (whose output is
// implementation-defined).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/backend.hpp"
#include "common/models.hpp"

namespace greenbench::workloads {

/// xoshiro256** seeded through splitmix64; portable, so both workers draw the same numbers.
class Rng {
 public:
  /// A stream from a seed and a stream tag (different tags give independent streams).
  explicit Rng(uint64_t seed, uint64_t stream = 0);
  /// The next 64 random bits.
  uint64_t next();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform integer in [0, n) without modulo bias; n > 0.
  uint64_t below(uint64_t n);
  /// Standard normal (Box–Muller on uniform()).
  double normal();

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// splitmix64 finaliser: mixes a 64-bit value (used to derive stream seeds).
[[nodiscard]] uint64_t splitmix64(uint64_t x);
/// Stream tag of a name (FNV-1a 64), so streams are named, not numbered.
[[nodiscard]] uint64_t stream_tag(const std::string& name);

/// NCF data: planted user/item factors; per user `positives_per_user` items drawn by score,
/// the last one held out and ranked against `eval_negatives` non-positive items.
struct NcfData {
  std::vector<int64_t> train_users, train_items;  ///< positives and sampled negatives, shuffled
  std::vector<float> train_labels;                ///< 1 positive, 0 negative
  /// Evaluation: for each user u, rows u·(1+eval_negatives) … : the held-out positive first,
  /// then the negatives.
  std::vector<int64_t> eval_users, eval_items;
};
/// Generates the NCF data set of a spec from a seed, on `threads` threads (the data do not
/// depend on the thread count).
[[nodiscard]] NcfData make_ncf_data(const NcfConfig& config, uint64_t seed, int threads = 1);

/// Image classification data: one smooth random template per class, shifted by up to max_shift
/// pixels (zero fill) and with Gaussian pixel noise; NCHW float32.
struct ImageData {
  int64_t count = 0;
  std::vector<float> images;    ///< [count, channels, size, size]
  std::vector<int64_t> labels;  ///< [count]
};
/// Class templates [classes, channels, size, size] of a seed (shared by train and evaluation).
[[nodiscard]] std::vector<float> make_class_templates(const ResNetConfig& config, uint64_t seed);
/// `count` images drawn from the templates with the stream `stream`.
[[nodiscard]] ImageData make_images(const ResNetConfig& config, const std::vector<float>& templates,
                                    int64_t count, uint64_t seed, uint64_t stream);

/// A sparse first-order Markov chain over `vocab` tokens: each state has `branching` successors
/// with random probabilities. Its entropy rate bounds the best achievable perplexity.
struct MarkovChain {
  int64_t vocab = 0;
  /// Per state: (successor, probability) pairs; probabilities sum to 1.
  std::vector<std::vector<std::pair<int64_t, double>>> transitions;

  /// Stationary distribution (lazy power iteration to 1e-13, at most 100000 iterations or
  /// about 2·10⁹ edge visits).
  [[nodiscard]] std::vector<double> stationary() const;
  /// Entropy rate in nats: Σ_s π(s) · H(transitions[s]).
  [[nodiscard]] double entropy_rate_nats() const;
  /// A sequence of `length` tokens starting from state `start`.
  [[nodiscard]] std::vector<int64_t> sample(int64_t length, int64_t start, Rng& rng) const;
};
/// The chain of a seed.
[[nodiscard]] MarkovChain make_markov_chain(int64_t vocab, int64_t branching, uint64_t seed);

/// One model's data as the driver consumes it: training batches by step, evaluation batches by
/// index, and the quality metrics of a set of evaluation logits. Batches are pure functions of
/// (seed, index), so the const members may be called from several threads at once.
class TaskData {
 public:
  virtual ~TaskData() = default;
  /// The batch of 0-based training step `step` (the data set is cycled).
  [[nodiscard]] virtual Batch train_batch(int64_t step) const = 0;
  /// Number of evaluation batches.
  [[nodiscard]] virtual int64_t eval_batch_count() const = 0;
  /// Evaluation batch `index` (labels or targets included).
  [[nodiscard]] virtual Batch eval_batch(int64_t index) const = 0;
  /// Samples in a batch, as counted by samples_per_s (NCF: rows, images, TXL: tokens).
  [[nodiscard]] virtual int64_t samples_in(const Batch& batch) const = 0;
  /// The inputs of an evaluation batch that add_eval reads (labels, targets), without the rest.
  [[nodiscard]] virtual Batch metric_inputs(Batch batch) const = 0;
  /// Starts a new quality evaluation.
  virtual void begin_eval() = 0;
  /// Adds the logits predicted for an evaluation batch (at least its metric_inputs).
  virtual void add_eval(const Batch& batch, const HostTensor& logits) = 0;
  /// Quality metrics (name, value) of the batches added since begin_eval, in a stable order;
  /// also the evaluation loss as "eval_loss" where defined.
  [[nodiscard]] virtual std::vector<std::pair<std::string, double>> quality() const = 0;
};

/// Bytes of one training (eval = false) or evaluation batch's inputs, computed from the spec
/// without generating it (float32 4 bytes, int64 8 bytes per element).
[[nodiscard]] int64_t batch_bytes(const ModelSpec& spec, bool eval);

/// Bytes of a batch's inputs as held in memory (float32 4, int64 8 bytes per element).
[[nodiscard]] int64_t batch_bytes(const Batch& batch);

/// The data of a spec (with its effective batch size and evaluation batches) from a seed; `threads`
/// only speeds up making them.
[[nodiscard]] std::unique_ptr<TaskData> make_task_data(const ModelSpec& spec, uint64_t seed,
                                                       int threads = 1);

}  // namespace greenbench::workloads
