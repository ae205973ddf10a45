#include "common/weights.hpp"

#include "common/data.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {

Weights make_initial_weights(const ModelSpec& spec, uint64_t seed) {
  Weights out;
  out.reserve(spec.params.size());
  for (const ParamSpec& p : spec.params) {
    NamedTensor t;
    t.name = p.name;
    t.trainable = p.trainable;
    t.value.dtype = HostTensor::DType::kF32;
    t.value.shape = p.shape;
    t.value.f32.resize(static_cast<size_t>(p.numel()));
    Rng rng(seed, stream_tag("weights." + p.name));
    const InitRule& r = p.init;
    for (float& x : t.value.f32) {
      switch (r.kind) {
        case InitRule::Kind::kZeros:
          x = 0.0F;
          break;
        case InitRule::Kind::kOnes:
          x = 1.0F;
          break;
        case InitRule::Kind::kNormal:
          x = static_cast<float>(r.a + r.b * rng.normal());
          break;
        case InitRule::Kind::kUniform:
          x = static_cast<float>(r.a + (r.b - r.a) * rng.uniform());
          break;
        case InitRule::Kind::kFixed:  // GNMT's attention normalize_scalar
          x = static_cast<float>(r.a);
          break;
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

namespace {
std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return s + "]";
}
}  // namespace

void check_weights(const ModelSpec& spec, const Weights& weights, const std::string& what) {
  if (weights.size() != spec.params.size()) {
    throw Error(what + ": " + std::to_string(weights.size()) + " tensors, model " + spec.model +
                " (" + spec.scale + ") has " + std::to_string(spec.params.size()));
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    const ParamSpec& p = spec.params[i];
    const NamedTensor& w = weights[i];
    if (w.name != p.name) {
      throw Error(what + ": tensor " + std::to_string(i) + " is '" + printable(w.name) +
                  "', expected '" + p.name + "'");
    }
    if (w.value.shape != p.shape) {
      throw Error(what + ": tensor '" + w.name + "' has shape " + shape_text(w.value.shape) +
                  ", expected " + shape_text(p.shape));
    }
    if (w.value.dtype != HostTensor::DType::kF32 ||
        w.value.f32.size() != static_cast<size_t>(p.numel())) {
      throw Error(what + ": tensor '" + w.name + "' does not hold " + std::to_string(p.numel()) +
                  " float32 values");
    }
    if (w.trainable != p.trainable) {
      throw Error(what + ": tensor '" + w.name + "' is " +
                  (w.trainable ? "trainable" : "a buffer") + ", expected " +
                  (p.trainable ? "trainable" : "a buffer"));
    }
  }
}

int64_t trainable_count(const Weights& weights) {
  int64_t n = 0;
  for (const NamedTensor& w : weights) {
    if (w.trainable) {
      n += w.value.numel();
    }
  }
  return n;
}

}  // namespace greenbench::workloads
