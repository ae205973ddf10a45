// Fuzzes the checkpoint reader (parse_checkpoint, what both workers load) and the check of its
// tensors against a model (check_weights).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/checkpoint.hpp"
#include "common/models.hpp"
#include "common/weights.hpp"
#include "fuzz_check.hpp"
#include "greenbench/error.hpp"

using namespace greenbench;
using namespace greenbench::workloads;

namespace {

// docs/checkpoint.md: the file size at offset 16 and an FNV-1a 64 checksum of the rest at the end.
void reseal(std::string& bytes) {
  const std::uint64_t n = bytes.size();
  std::memcpy(bytes.data() + 16, &n, sizeof n);
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i + 8 < bytes.size(); ++i) {
    h ^= static_cast<unsigned char>(bytes[i]);
    h *= 0x100000001b3ULL;
  }
  std::memcpy(bytes.data() + bytes.size() - 8, &h, sizeof h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  // Almost every mutation breaks the checksum, which is checked before the fields: most inputs
  // are resealed so the fuzzer reaches the fields; the others exercise the checks in front.
  if (bytes.size() >= 32 && size % 8 != 0) reseal(bytes);
  try {
    const Checkpoint c = parse_checkpoint(bytes, "fuzz.ckpt");
    for (const NamedTensor& t : c.weights) {
      FUZZ_CHECK(is_valid_utf8(t.name) && !has_control_character(t.name));
      FUZZ_CHECK(t.value.shape.size() <= 8);
      std::uint64_t numel = 1;
      for (const auto d : t.value.shape) {
        FUZZ_CHECK(d >= 0);
        numel *= static_cast<std::uint64_t>(d);
      }
      FUZZ_CHECK(t.value.f32.size() == numel);
      for (const float v : t.value.f32) FUZZ_CHECK(std::isfinite(v));
    }
    // What load_checkpoint does next, for a file that names a model and scale the workers know.
    const auto& models = model_names();
    const auto& scales = scale_names();
    if (std::find(models.begin(), models.end(), c.model) != models.end() &&
        std::find(scales.begin(), scales.end(), c.scale) != scales.end()) {
      check_weights(make_model_spec(c.model, c.scale), c.weights, "checkpoint fuzz.ckpt");
    }
  } catch (const Error& error) {
    fuzz::check_message(error.what());
  }
  return 0;
}
