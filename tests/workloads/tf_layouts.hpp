#pragma once
// Canonical (PyTorch) layouts turned into the TensorFlow worker's own, for tests that feed a
// graph directly. Include after graph.hpp, where GREENBENCH_TEST_TENSORFLOW is set.
#include <cstdint>
#include <vector>

#include "common/backend.hpp"
#include "graph.hpp"

namespace greenbench::workloads::test {

/// Canonical OIHW -> HWIO, as the backend stores convolution kernels.
inline std::vector<float> to_hwio(const HostTensor& w) {
  const int64_t o_n = w.shape[0], i_n = w.shape[1], h_n = w.shape[2], w_n = w.shape[3];
  std::vector<float> out(w.f32.size());
  for (int64_t o = 0; o < o_n; ++o)
    for (int64_t i = 0; i < i_n; ++i)
      for (int64_t h = 0; h < h_n; ++h)
        for (int64_t x = 0; x < w_n; ++x)
          out[((h * w_n + x) * i_n + i) * o_n + o] = w.f32[((o * i_n + i) * h_n + h) * w_n + x];
  return out;
}

/// Canonical NCHW images -> an NHWC tensor.
inline tf::Tensor images_nhwc(const HostTensor& h) {
  const int64_t n_n = h.shape[0], c_n = h.shape[1], h_n = h.shape[2], w_n = h.shape[3];
  std::vector<float> out(h.f32.size());
  for (int64_t n = 0; n < n_n; ++n)
    for (int64_t c = 0; c < c_n; ++c)
      for (int64_t y = 0; y < h_n; ++y)
        for (int64_t x = 0; x < w_n; ++x)
          out[((n * h_n + y) * w_n + x) * c_n + c] = h.f32[((n * c_n + c) * h_n + y) * w_n + x];
  return tf::to_tf({n_n, h_n, w_n, c_n}, out);
}

}  // namespace greenbench::workloads::test
