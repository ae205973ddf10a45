#include "common/cuda_probe.hpp"

#include <dlfcn.h>

#include <cstdlib>

#include "common/driver.hpp"

namespace greenbench::workloads {
namespace {

// The driver API's own signatures (cuda.h), so no CUDA headers are needed to build.
using CuInit = int (*)(unsigned int);
using CuDeviceGetCount = int (*)(int*);
using CuDriverGetVersion = int (*)(int*);
using CuGetErrorName = int (*)(int, const char**);

constexpr int kCudaErrorNoDevice = 100;
constexpr int kCudaErrorInsufficientDriver = 35;

std::string error_name(void* lib, int code) {
  auto name_of = reinterpret_cast<CuGetErrorName>(dlsym(lib, "cuGetErrorName"));
  const char* name = nullptr;
  if (name_of != nullptr && name_of(code, &name) == 0 && name != nullptr) {
    return std::to_string(code) + " " + name;
  }
  return std::to_string(code);
}

std::string gpus(int n) { return std::to_string(n) + (n == 1 ? " GPU" : " GPUs"); }

}  // namespace

std::string cuda_driver_library() {
  const char* env = std::getenv("GREENBENCH_CUDA_LIB");
  return env != nullptr && *env != '\0' ? env : "libcuda.so.1";
}

std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

CudaDriverInfo require_cuda_device(const std::string& device, const std::string& library) {
  const std::string what = "--device " + device + ": ";
  // The handle stays open: the framework loads the same driver library afterwards.
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    throw DeviceUnavailable(what + "no NVIDIA driver (" + library + " cannot be loaded: " +
                            (why != nullptr ? why : "unknown reason") + ")");
  }
  auto init = reinterpret_cast<CuInit>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CuDeviceGetCount>(dlsym(lib, "cuDeviceGetCount"));
  auto version = reinterpret_cast<CuDriverGetVersion>(dlsym(lib, "cuDriverGetVersion"));
  if (init == nullptr || count == nullptr || version == nullptr) {
    throw DeviceUnavailable(what + "the NVIDIA driver library " + library +
                            " lacks cuInit, cuDeviceGetCount or cuDriverGetVersion");
  }
  CudaDriverInfo info;
  if (version(&info.driver_version) != 0) info.driver_version = 0;
  const int rc = init(0);
  if (rc == kCudaErrorNoDevice) {
    throw DeviceUnavailable(what + "no NVIDIA GPU (the driver is installed but finds no device)");
  }
  if (rc == kCudaErrorInsufficientDriver) {
    throw DeviceUnavailable(what + "the NVIDIA driver is too old for this GPU (cuInit error " +
                            error_name(lib, rc) + "): update the driver");
  }
  if (rc != 0) {
    throw DeviceUnavailable(what + "the NVIDIA driver failed to initialise (cuInit error " +
                            error_name(lib, rc) + ")");
  }
  if (const int c = count(&info.device_count); c != 0) {
    throw DeviceUnavailable(what + "cannot count the GPUs (cuDeviceGetCount error " +
                            error_name(lib, c) + ")");
  }
  if (info.device_count == 0) {
    throw DeviceUnavailable(what + "no NVIDIA GPU (the driver is installed but finds no device)");
  }
  const int index = device.rfind("cuda:", 0) == 0 ? std::atoi(device.c_str() + 5) : 0;
  if (index >= info.device_count) {
    throw DeviceUnavailable(
        what + "out of range: this machine has " + gpus(info.device_count) + " (cuda:0" +
        (info.device_count > 1 ? " to cuda:" + std::to_string(info.device_count - 1)
                               : std::string()) +
        ")");
  }
  return info;
}

void require_driver_for_runtime(const std::string& device, const CudaDriverInfo& driver,
                                int runtime_version, const std::string& who) {
  if (runtime_version <= 0 || driver.driver_version <= 0) return;
  if (driver.driver_version / 1000 < runtime_version / 1000) {
    throw DeviceUnavailable(
        "--device " + device + ": the NVIDIA driver is too old: it supports CUDA " +
        cuda_version_text(driver.driver_version) + ", " + who + " needs CUDA " +
        cuda_version_text(runtime_version) + " (update the driver to one for CUDA " +
        std::to_string(runtime_version / 1000) + ".x)");
  }
}

}  // namespace greenbench::workloads
