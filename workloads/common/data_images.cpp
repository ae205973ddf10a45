// Image classification: shifted noisy class templates (MODELS.md, Synthetic data).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "common/data.hpp"
#include "common/data_internal.hpp"
#include "common/metrics.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {

using data_detail::f32_tensor;
using data_detail::i64_tensor;
using data_detail::keep_only;

namespace {

class ImageTask : public TaskData {
 public:
  ImageTask(const ModelSpec& spec, uint64_t seed)
      : config_(spec.resnet),
        seed_(seed),
        batch_(spec.batch_size),
        eval_batch_(spec.eval_batch_size),
        batches_(spec.eval_batches),
        templates_(make_class_templates(spec.resnet, seed)) {}

  Batch train_batch(int64_t step) const override {
    ImageData d = make_images(config_, templates_, batch_, seed_,
                              stream_tag("images.train." + std::to_string(step)));
    return make_batch(std::move(d.images), std::move(d.labels), batch_);
  }

  int64_t eval_batch_count() const override { return batches_; }

  Batch eval_batch(int64_t index) const override {
    // Evaluation batch i always comes from its own stream.
    ImageData d = make_images(config_, templates_, eval_batch_, seed_,
                              stream_tag("images.eval." + std::to_string(index)));
    return make_batch(std::move(d.images), std::move(d.labels), eval_batch_);
  }

  int64_t samples_in(const Batch& batch) const override { return batch.get("labels").numel(); }

  Batch metric_inputs(Batch batch) const override { return keep_only(std::move(batch), "labels"); }

  void begin_eval() override { top1_ = top5_ = rows_ = 0, ce_ = 0.0; }

  void add_eval(const Batch& b, const HostTensor& logits) override {
    const auto& labels = b.get("labels").i64;
    const int64_t k = config_.num_classes;
    top1_ += count_top_k_correct(logits.f32, k, labels, 1);
    top5_ += count_top_k_correct(logits.f32, k, labels, std::min<int64_t>(5, k));
    ce_ += sum_cross_entropy(logits.f32, k, labels);
    rows_ += static_cast<int64_t>(labels.size());
  }

  std::vector<std::pair<std::string, double>> quality() const override {
    if (rows_ == 0) {
      return {};
    }
    const auto n = static_cast<double>(rows_);
    return {{"accuracy_top1", static_cast<double>(top1_) / n},
            {"accuracy_top5", static_cast<double>(top5_) / n},
            {"eval_loss", ce_ / n}};
  }

 private:
  Batch make_batch(std::vector<float> images, std::vector<int64_t> labels, int64_t n) const {
    const int64_t s = config_.image_size;
    Batch b;
    b.inputs.emplace_back("images", f32_tensor({n, config_.channels, s, s}, std::move(images)));
    b.inputs.emplace_back("labels", i64_tensor({n}, std::move(labels)));
    return b;
  }

  ResNetConfig config_;
  uint64_t seed_;
  int64_t batch_, eval_batch_, batches_;
  std::vector<float> templates_;
  int64_t top1_ = 0, top5_ = 0, rows_ = 0;
  double ce_ = 0.0;
};

}  // namespace

std::vector<float> make_class_templates(const ResNetConfig& c, uint64_t seed) {
  const int64_t s = c.image_size;
  const int64_t plane = s * s;
  std::vector<float> out(static_cast<size_t>(c.num_classes * c.channels * plane));
  Rng rng(seed, stream_tag("images.templates"));
  std::vector<double> t(static_cast<size_t>(c.channels * plane));
  std::vector<double> sin_a(static_cast<size_t>(s)), cos_a(sin_a.size());
  std::vector<double> sin_b(sin_a.size()), cos_b(sin_a.size());
  for (int64_t k = 0; k < c.num_classes; ++k) {
    std::fill(t.begin(), t.end(), 0.0);
    for (int64_t ch = 0; ch < c.channels; ++ch) {
      for (int wave = 0; wave < 6; ++wave) {
        const double fy = (2.0 * rng.uniform() - 1.0) * 3.0;
        const double fx = (2.0 * rng.uniform() - 1.0) * 3.0;
        const double phase = 2.0 * std::numbers::pi * rng.uniform();
        const double amp = 0.5 + 0.5 * rng.uniform();
        // sin(a_y + b_x) = sin a_y cos b_x + cos a_y sin b_x: 4·s trigonometric calls per wave
        // instead of s² (at paper scale this was most of a worker's start-up).
        for (int64_t i = 0; i < s; ++i) {
          const double a = 2.0 * std::numbers::pi * fy * static_cast<double>(i) / s + phase;
          const double b = 2.0 * std::numbers::pi * fx * static_cast<double>(i) / s;
          sin_a[i] = amp * std::sin(a), cos_a[i] = amp * std::cos(a);
          sin_b[i] = std::sin(b), cos_b[i] = std::cos(b);
        }
        for (int64_t y = 0; y < s; ++y) {
          double* row = t.data() + ch * plane + y * s;
          for (int64_t x = 0; x < s; ++x) {
            row[x] += sin_a[y] * cos_b[x] + cos_a[y] * sin_b[x];
          }
        }
      }
    }
    double mean = 0.0;
    double sq = 0.0;
    for (double v : t) {
      mean += v;
    }
    mean /= static_cast<double>(t.size());
    for (double v : t) {
      sq += (v - mean) * (v - mean);
    }
    const double sd = std::sqrt(sq / static_cast<double>(t.size()));
    for (size_t i = 0; i < t.size(); ++i) {
      out[static_cast<size_t>(k) * t.size() + i] = static_cast<float>((t[i] - mean) / sd);
    }
  }
  return out;
}

ImageData make_images(const ResNetConfig& c, const std::vector<float>& templates, int64_t count,
                      uint64_t seed, uint64_t stream) {
  const int64_t s = c.image_size;
  const int64_t plane = s * s;
  const int64_t pixels = c.channels * plane;
  ImageData d;
  d.count = count;
  d.images.resize(static_cast<size_t>(count * pixels));
  d.labels.resize(static_cast<size_t>(count));
  Rng rng(seed, stream);
  const auto span = static_cast<uint64_t>(2 * c.max_shift + 1);
  for (int64_t n = 0; n < count; ++n) {
    const auto label = static_cast<int64_t>(rng.below(static_cast<uint64_t>(c.num_classes)));
    const int64_t dy = static_cast<int64_t>(rng.below(span)) - c.max_shift;
    const int64_t dx = static_cast<int64_t>(rng.below(span)) - c.max_shift;
    d.labels[static_cast<size_t>(n)] = label;
    const float* t = templates.data() + label * pixels;
    float* img = d.images.data() + n * pixels;
    for (int64_t ch = 0; ch < c.channels; ++ch) {
      for (int64_t y = 0; y < s; ++y) {
        for (int64_t x = 0; x < s; ++x) {
          const int64_t sy = y - dy;
          const int64_t sx = x - dx;
          const bool inside = sy >= 0 && sy < s && sx >= 0 && sx < s;
          const double base = inside ? t[ch * plane + sy * s + sx] : 0.0;
          img[ch * plane + y * s + x] = static_cast<float>(base + c.noise_std * rng.normal());
        }
      }
    }
  }
  return d;
}

std::unique_ptr<TaskData> data_detail::make_image_task(const ModelSpec& spec, uint64_t seed) {
  return std::make_unique<ImageTask>(spec, seed);
}

}  // namespace greenbench::workloads
