// A CPU-bound command with a fixed amount of work (for the measurement-overhead script):
//   busy_loop ITERATIONS   (about 1e9 iterations per 1-3 s, depending on the CPU)
#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000000ULL;
  // An xorshift chain: each step depends on the last, so the compiler cannot fold the loop.
  uint64_t x = 88172645463325252ULL;
  for (uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  std::printf("%llu\n", static_cast<unsigned long long>(x & 0xffff));
  return 0;
}
