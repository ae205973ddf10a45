#pragma once
// Why `--device cuda:N` cannot run, found before a framework tries: both workers probe the NVIDIA
// driver through its own library (libcuda.so.1, opened with dlopen: the workers also run where no
// driver is installed), so "no driver", "no GPU", "index out of range" and "driver too old" read
// the same in both. GREENBENCH_CUDA_LIB names another library (tests load a fake one).
#include <string>

namespace greenbench::workloads {

/// What the NVIDIA driver reports.
struct CudaDriverInfo {
  int device_count = 0;
  int driver_version = 0;  ///< the newest CUDA the driver supports, as 1000·major + 10·minor
};

/// The driver library to probe: $GREENBENCH_CUDA_LIB when set, else "libcuda.so.1".
[[nodiscard]] std::string cuda_driver_library();

/// Loads the driver library and checks that device "cuda:N" exists; throws DeviceUnavailable
/// with one line naming the cause (no driver, driver failed to start, no GPU, index out of range).
CudaDriverInfo require_cuda_device(const std::string& device,
                                   const std::string& library = cuda_driver_library());

/// Throws DeviceUnavailable when the driver's CUDA major version is older than that of
/// `runtime_version` (the CUDA runtime `who` was built with; same encoding as driver_version).
/// CUDA's minor-version compatibility lets a 12.x runtime run on any 12.y driver.
void require_driver_for_runtime(const std::string& device, const CudaDriverInfo& driver,
                                int runtime_version, const std::string& who);

/// "12.8" for 12080.
[[nodiscard]] std::string cuda_version_text(int version);

}  // namespace greenbench::workloads
