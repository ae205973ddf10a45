#pragma once
// Pieces shared by the data files of the task families (data_<family>.cpp); not for the workers.
// In their own namespace, so that a worker's helpers of the same name cannot collide with them.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/backend.hpp"
#include "common/data.hpp"
#include "common/models.hpp"

namespace greenbench::workloads::data_detail {

/// An int64 host tensor of a shape and values.
[[nodiscard]] HostTensor i64_tensor(std::vector<int64_t> shape, std::vector<int64_t> values);
/// A float32 host tensor of a shape and values.
[[nodiscard]] HostTensor f32_tensor(std::vector<int64_t> shape, std::vector<float> values);
/// The batch with only the named input left.
[[nodiscard]] Batch keep_only(Batch batch, const std::string& name);
/// The batch without the named input.
[[nodiscard]] Batch drop(Batch batch, const std::string& name);

/// Fisher–Yates with our generator (std::shuffle's algorithm is implementation-defined).
template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = rng.below(i);
    std::swap(v[i - 1], v[j]);
  }
}

/// The task of each family, as make_task_data dispatches to them.
[[nodiscard]] std::unique_ptr<TaskData> make_ncf_task(const ModelSpec& spec, uint64_t seed,
                                                      int threads);
[[nodiscard]] std::unique_ptr<TaskData> make_image_task(const ModelSpec& spec, uint64_t seed);
[[nodiscard]] std::unique_ptr<TaskData> make_text_task(const ModelSpec& spec, uint64_t seed);
[[nodiscard]] std::unique_ptr<TaskData> make_ssd_task(const ModelSpec& spec, uint64_t seed);
[[nodiscard]] std::unique_ptr<TaskData> make_mask_rcnn_task(const ModelSpec& spec, uint64_t seed);
[[nodiscard]] std::unique_ptr<TaskData> make_translation_task(const ModelSpec& spec, uint64_t seed);

}  // namespace greenbench::workloads::data_detail
