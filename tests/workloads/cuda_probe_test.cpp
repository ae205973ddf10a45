// The workers' CUDA driver probe (workloads/common/cuda_probe.cpp) against the fake libcuda of
// tests/helpers/fake_cuda.cpp: every cause it names, one line each.
#include "common/cuda_probe.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "common/driver.hpp"

namespace greenbench::workloads {
namespace {

const std::string kFake = std::string(GREENBENCH_TEST_LIB_DIR) + "/libfake_cuda.so";

class CudaProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"FAKE_CUDA_DEVICES", "FAKE_CUDA_DRIVER", "FAKE_CUDA_INIT_ERROR"}) {
      unsetenv(v);
    }
  }
  // The one-line reason require_cuda_device gives, "" when it passes.
  static std::string reason(const std::string& device, const std::string& lib = kFake) {
    try {
      require_cuda_device(device, lib);
    } catch (const DeviceUnavailable& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      return msg;
    }
    return "";
  }
};

TEST_F(CudaProbe, FindsTheFakeDriversDevicesAndVersion) {
  setenv("FAKE_CUDA_DEVICES", "2", 1);
  setenv("FAKE_CUDA_DRIVER", "12040", 1);
  const CudaDriverInfo info = require_cuda_device("cuda:1", kFake);
  EXPECT_EQ(info.device_count, 2);
  EXPECT_EQ(info.driver_version, 12040);
  EXPECT_EQ(reason("cuda:1"), "");
}

TEST_F(CudaProbe, NoDriverLibrary) {
  const std::string r = reason("cuda:0", "/nonexistent/libcuda.so.1");
  EXPECT_EQ(r.find("--device cuda:0: no NVIDIA driver (/nonexistent/libcuda.so.1 cannot be loaded"),
            0u)
      << r;
}

TEST_F(CudaProbe, NoGpuWhenTheDriverCountsNone) {
  setenv("FAKE_CUDA_DEVICES", "0", 1);
  EXPECT_EQ(reason("cuda:0"),
            "--device cuda:0: no NVIDIA GPU (the driver is installed but finds no device)");
}

TEST_F(CudaProbe, NoGpuWhenCuInitSaysNoDevice) {
  setenv("FAKE_CUDA_INIT_ERROR", "100", 1);
  EXPECT_EQ(reason("cuda:0"),
            "--device cuda:0: no NVIDIA GPU (the driver is installed but finds no device)");
}

TEST_F(CudaProbe, DriverThatFailsToInitialise) {
  setenv("FAKE_CUDA_INIT_ERROR", "999", 1);
  EXPECT_EQ(reason("cuda:0"),
            "--device cuda:0: the NVIDIA driver failed to initialise (cuInit "
            "error 999 CUDA_ERROR_UNKNOWN)");
}

TEST_F(CudaProbe, IndexOutOfRange) {
  EXPECT_EQ(reason("cuda:3"), "--device cuda:3: out of range: this machine has 1 GPU (cuda:0)");
  setenv("FAKE_CUDA_DEVICES", "2", 1);
  EXPECT_EQ(reason("cuda:2"),
            "--device cuda:2: out of range: this machine has 2 GPUs (cuda:0 to cuda:1)");
}

TEST_F(CudaProbe, DriverTooOldForTheRuntimesMajorVersion) {
  CudaDriverInfo old{1, 11080};
  try {
    require_driver_for_runtime("cuda:0", old, 12080, "LibTorch 2.15.0");
    FAIL() << "a CUDA 11.8 driver passed for a CUDA 12.8 runtime";
  } catch (const DeviceUnavailable& e) {
    EXPECT_STREQ(e.what(),
                 "--device cuda:0: the NVIDIA driver is too old: it supports CUDA 11.8, LibTorch "
                 "2.15.0 needs CUDA 12.8 (update the driver to one for CUDA 12.x)");
  }
  // Minor-version compatibility: a 12.2 driver runs a 12.8 runtime; unknown versions pass.
  EXPECT_NO_THROW(require_driver_for_runtime("cuda:0", {1, 12020}, 12080, "x"));
  EXPECT_NO_THROW(require_driver_for_runtime("cuda:0", {1, 12020}, 0, "x"));
  EXPECT_EQ(cuda_version_text(13020), "13.2");
}

TEST_F(CudaProbe, LibraryNameComesFromTheEnvironment) {
  unsetenv("GREENBENCH_CUDA_LIB");
  EXPECT_EQ(cuda_driver_library(), "libcuda.so.1");
  setenv("GREENBENCH_CUDA_LIB", kFake.c_str(), 1);
  EXPECT_EQ(cuda_driver_library(), kFake);
  unsetenv("GREENBENCH_CUDA_LIB");
}

}  // namespace
}  // namespace greenbench::workloads
