#pragma once
// Initial weights, generated once from the seed in shared code and loaded into either framework.
#include <cstdint>
#include <string>

#include "common/backend.hpp"
#include "common/models.hpp"

namespace greenbench::workloads {

/// The initial weights of a spec: each parameter drawn from its own named stream of the seed, so
/// adding a parameter does not change the others.
[[nodiscard]] Weights make_initial_weights(const ModelSpec& spec, uint64_t seed);

/// Checks that weights match the spec (names, order, shapes, dtype, trainable flags); throws
/// greenbench::Error naming `what` and the first mismatch.
void check_weights(const ModelSpec& spec, const Weights& weights, const std::string& what);

/// Number of trainable scalars in weights.
[[nodiscard]] int64_t trainable_count(const Weights& weights);

}  // namespace greenbench::workloads
