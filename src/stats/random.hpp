#pragma once
// The bootstrap's generator: the library's portable xoshiro256**, plus unbiased bounded draws.
#include <cstddef>
#include <cstdint>

#include "greenbench/random.hpp"

namespace greenbench::stats::detail {

class Xoshiro256 : public greenbench::Xoshiro256 {
 public:
  using greenbench::Xoshiro256::Xoshiro256;

  // Uniform in [0, bound), bound > 0; rejection removes the modulo bias.
  std::size_t below(std::size_t bound) {
    const std::uint64_t n = bound;
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) {
        return static_cast<std::size_t>(r % n);
      }
    }
  }
};

}  // namespace greenbench::stats::detail
