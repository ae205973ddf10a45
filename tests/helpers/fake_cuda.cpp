// A fake libcuda.so.1 (the CUDA driver API) for the workers' device probe
// (workloads/common/cuda_probe.cpp). It reads its behaviour from the environment at every call:
//   FAKE_CUDA_DEVICES      device count (default 1)
//   FAKE_CUDA_DRIVER       driver version, 1000·major + 10·minor (default 13020)
//   FAKE_CUDA_INIT_ERROR   what cuInit returns (default 0; 100 = CUDA_ERROR_NO_DEVICE)
#include <cstdlib>

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}
}  // namespace

extern "C" {
__attribute__((visibility("default"))) int cuInit(unsigned int /*flags*/) {
  return env_int("FAKE_CUDA_INIT_ERROR", 0);
}
__attribute__((visibility("default"))) int cuDeviceGetCount(int* count) {
  *count = env_int("FAKE_CUDA_DEVICES", 1);
  return 0;
}
__attribute__((visibility("default"))) int cuDriverGetVersion(int* version) {
  *version = env_int("FAKE_CUDA_DRIVER", 13020);
  return 0;
}
__attribute__((visibility("default"))) int cuGetErrorName(int code, const char** name) {
  switch (code) {
    case 100:
      *name = "CUDA_ERROR_NO_DEVICE";
      return 0;
    case 999:
      *name = "CUDA_ERROR_UNKNOWN";
      return 0;
    default:
      return 1;
  }
}
}
