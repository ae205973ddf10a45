#pragma once
// The framework-neutral checkpoint format (docs/checkpoint.md): both workers read and write it.
#include <string>

#include "common/backend.hpp"
#include "common/models.hpp"

namespace greenbench::workloads {

/// Writes weights (float32 tensors, by name, with shapes) of `model` at `scale` to `path`
/// atomically (temporary file + rename); throws greenbench::Error naming the file.
void save_checkpoint(const std::string& path, const std::string& model, const std::string& scale,
                     const Weights& weights);

/// What a checkpoint file holds.
struct Checkpoint {
  std::string model;
  std::string scale;
  Weights weights;
};

/// Reads a checkpoint; throws greenbench::Error naming the file and what is wrong (bad magic,
/// unsupported version, truncated, checksum mismatch).
[[nodiscard]] Checkpoint read_checkpoint(const std::string& path);

/// Parses the bytes of a checkpoint file (read_checkpoint without the reading); `path` names it
/// in errors. Refuses any header field that differs from docs/checkpoint.md and non-finite weights.
[[nodiscard]] Checkpoint parse_checkpoint(const std::string& bytes, const std::string& path);

/// Reads a checkpoint and checks it holds `spec`'s model, scale and parameters (names, shapes);
/// throws greenbench::Error naming the file and the mismatch.
[[nodiscard]] Weights load_checkpoint(const std::string& path, const ModelSpec& spec);

}  // namespace greenbench::workloads
