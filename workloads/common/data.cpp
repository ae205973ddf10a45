// The generator, stream tags and helpers every task family shares; the families live in
// data_ratings.cpp (NCF), data_images.cpp (ResNet), data_language.cpp (Transformer-XL),
// data_translation.cpp (GNMT) and data_detection.cpp (SSD, Mask R-CNN).
#include "common/data.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "common/data_internal.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

namespace data_detail {

HostTensor i64_tensor(std::vector<int64_t> shape, std::vector<int64_t> values) {
  HostTensor t;
  t.dtype = HostTensor::DType::kI64;
  t.shape = std::move(shape);
  t.i64 = std::move(values);
  return t;
}

HostTensor f32_tensor(std::vector<int64_t> shape, std::vector<float> values) {
  HostTensor t;
  t.dtype = HostTensor::DType::kF32;
  t.shape = std::move(shape);
  t.f32 = std::move(values);
  return t;
}

Batch keep_only(Batch batch, const std::string& name) {
  Batch out;
  for (auto& [n, t] : batch.inputs) {
    if (n == name) out.inputs.emplace_back(n, std::move(t));
  }
  return out;
}

Batch drop(Batch batch, const std::string& name) {
  Batch out;
  for (auto& [n, t] : batch.inputs) {
    if (n != name) out.inputs.emplace_back(n, std::move(t));
  }
  return out;
}

}  // namespace data_detail

// ---------------------------------------------------------------------------------------------
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t stream_tag(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

Rng::Rng(uint64_t seed, uint64_t stream) {
  uint64_t x = splitmix64(seed) ^ stream;
  for (uint64_t& s : s_) {
    x = splitmix64(x);
    s = x;
  }
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t n) {
  // Rejection keeps every value equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = next();
  while (x >= limit) {
    x = next();
  }
  return x % n;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
  has_spare_ = true;
  return r * std::cos(2.0 * std::numbers::pi * u2);
}

// ---------------------------------------------------------------------------------------------
int64_t batch_bytes(const ModelSpec& spec, bool eval) {
  const int64_t batch = eval ? spec.eval_batch_size : spec.batch_size;
  if (spec.model == "ncf") {
    // users, items (int64) and labels (float32) per row; evaluation batches hold whole users.
    const int64_t group = 1 + spec.ncf.eval_negatives;
    const int64_t rows = eval ? std::max<int64_t>(1, batch / group) * group : batch;
    return rows * (8 + 8 + 4);
  }
  if (spec.model == "resnet50") {
    const ResNetConfig& c = spec.resnet;
    return batch * (c.channels * c.image_size * c.image_size * 4 + 8);
  }
  if (spec.model == "transformer_xl") {
    const int64_t q = eval ? spec.txl.eval_tgt_len : spec.txl.tgt_len;
    return 2 * q * batch * 8;  // data and target
  }
  if (spec.model == "ssd") {
    // images, loc_targets [B, D, 4] f32, label_targets [B, D] i64; evaluation adds the ground
    // truth boxes [B, M, 4] f32 and classes [B, M] i64.
    const SsdConfig& c = spec.ssd;
    const int64_t d = c.num_default_boxes();
    const int64_t gt = eval ? c.data.max_objects * (4 * 4 + 8) : 0;
    return batch * (c.channels * c.image_size * c.image_size * 4 + d * (4 * 4 + 8) + gt);
  }
  if (spec.model == "mask_rcnn") {
    // images, boxes [B, M, 4] f32, classes [B, M] i64, masks [B, M, H, W] f32.
    const DetectionConfig& d = spec.mask_rcnn.data;
    const int64_t m = d.max_objects;
    return batch * (d.channels * d.height * d.width * 4 + m * (4 * 4 + 8 + d.height * d.width * 4));
  }
  if (spec.model == "gnmt") {
    // source [B, S], source_lengths [B], target_input and target_output [B, T], all int64.
    const TranslationConfig& d = spec.gnmt.data;
    return batch * (d.max_source_len + 1 + 2 * d.max_target_len) * 8;
  }
  throw Error("no data for model '" + spec.model + "'");
}

int64_t batch_bytes(const Batch& batch) {
  int64_t bytes = 0;
  for (const auto& [name, t] : batch.inputs) {
    bytes += t.numel() * (t.dtype == HostTensor::DType::kF32 ? 4 : 8);
  }
  return bytes;
}

std::unique_ptr<TaskData> make_task_data(const ModelSpec& spec, uint64_t seed, int threads) {
  if (spec.model == "ncf") {
    return data_detail::make_ncf_task(spec, seed, threads);
  }
  if (spec.model == "resnet50") {
    return data_detail::make_image_task(spec, seed);
  }
  if (spec.model == "transformer_xl") {
    return data_detail::make_text_task(spec, seed);
  }
  if (spec.model == "ssd") {
    return data_detail::make_ssd_task(spec, seed);
  }
  if (spec.model == "mask_rcnn") {
    return data_detail::make_mask_rcnn_task(spec, seed);
  }
  if (spec.model == "gnmt") {
    return data_detail::make_translation_task(spec, seed);
  }
  throw Error("no data for model '" + spec.model + "'");
}

}  // namespace greenbench::workloads
