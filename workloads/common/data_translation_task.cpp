// GNMT's task: batches of the translation generator, quality as corpus BLEU of the decoded
// sequences (MODELS.md, "GNMT v2", "Predictions and quality").
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/beam_search.hpp"
#include "common/data.hpp"
#include "common/data_internal.hpp"
#include "common/data_translation.hpp"
#include "common/metrics_bleu.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {

using data_detail::keep_only;

namespace {

class TranslationTask : public TaskData {
 public:
  TranslationTask(const ModelSpec& spec, uint64_t seed)
      : config_(spec.gnmt.data),
        lexicon_(make_translation_lexicon(spec.gnmt.data, seed)),
        seed_(seed),
        batch_(spec.batch_size),
        eval_batch_(spec.eval_batch_size),
        batches_(spec.eval_batches),
        // One epoch of the preset's run unless the spec sets the training set's size.
        train_examples_(spec.train_examples > 0 ? spec.train_examples
                                                : spec.batch_size * spec.train_steps) {
    if (batch_ < 1 || eval_batch_ < 1 || train_examples_ < 1) {
      throw Error("gnmt data: batch size " + std::to_string(batch_) + ", evaluation batch size " +
                  std::to_string(eval_batch_) + ", training sentences " +
                  std::to_string(train_examples_) + " (each at least 1)");
    }
  }

  // Step t holds sentences t·B … t·B + B − 1 of the training set, cycled.
  Batch train_batch(int64_t step) const override {
    const int64_t first = (step * batch_) % train_examples_;
    if (first + batch_ <= train_examples_) {
      return make_translation_batch(config_, lexicon_, seed_, false, first, batch_);
    }
    // A batch across the end of the set wraps to its start.
    Batch head =
        make_translation_batch(config_, lexicon_, seed_, false, first, train_examples_ - first);
    const Batch tail = make_translation_batch(config_, lexicon_, seed_, false, 0,
                                              batch_ - (train_examples_ - first));
    for (auto& [name, t] : head.inputs) {
      const HostTensor& more = tail.get(name);
      t.i64.insert(t.i64.end(), more.i64.begin(), more.i64.end());
      t.shape[0] += more.shape[0];
    }
    return head;
  }

  int64_t eval_batch_count() const override { return batches_; }

  Batch eval_batch(int64_t index) const override {
    return make_translation_batch(config_, lexicon_, seed_, true, index * eval_batch_, eval_batch_);
  }

  // Target tokens and their eos (the labels the loss counts).
  int64_t samples_in(const Batch& batch) const override {
    int64_t n = 0;
    for (int64_t tok : batch.get("target_output").i64) n += tok != kPadToken ? 1 : 0;
    return n;
  }

  Batch metric_inputs(Batch batch) const override {
    return keep_only(std::move(batch), "target_output");
  }

  void begin_eval() override {
    stats_ = {};
    sentences_ = 0;
  }

  void add_eval(const Batch& batch, const HostTensor& decoded) override {
    const std::vector<std::vector<int64_t>> refs = translation_references(batch);
    const std::vector<std::vector<int64_t>> hyps = decoded_sequences(decoded);
    if (hyps.size() != refs.size()) {
      throw Error("gnmt predictions: " + std::to_string(hyps.size()) + " decoded sentences for " +
                  std::to_string(refs.size()) + " references");
    }
    for (size_t i = 0; i < refs.size(); ++i) stats_.add(hyps[i], refs[i]);
    sentences_ += static_cast<int64_t>(refs.size());
  }

  std::vector<std::pair<std::string, double>> quality() const override {
    if (sentences_ == 0) return {};
    return {{"bleu", corpus_bleu(stats_)}};
  }

 private:
  TranslationConfig config_;
  TranslationLexicon lexicon_;
  uint64_t seed_;
  int64_t batch_, eval_batch_, batches_, train_examples_;
  BleuStats stats_;
  int64_t sentences_ = 0;
};

}  // namespace

std::unique_ptr<TaskData> data_detail::make_translation_task(const ModelSpec& spec, uint64_t seed) {
  return std::make_unique<TranslationTask>(spec, seed);
}

}  // namespace greenbench::workloads
