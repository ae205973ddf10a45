// NVML loaded with dlopen, against the fake NVML libraries built from tests/helpers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "energy/fake_sysfs.hpp"
#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

using greenbench::testing::TempDir;
using greenbench::testing::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string lib(const char* name) { return std::string(GREENBENCH_TEST_LIB_DIR) + "/" + name; }

// Every test sets the fake's environment from scratch: tests may share one process.
class Nvml : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"FAKE_NVML_GPUS", "FAKE_NVML_WATTS", "FAKE_NVML_STATE",
                          "FAKE_NVML_INIT_ERROR", "CUDA_VISIBLE_DEVICES"}) {
      unsetenv(v);
    }
  }
};

std::vector<std::string> ids(const EnergySource& source) {
  std::vector<std::string> out;
  for (const auto& d : source.domains()) out.push_back(d.id);
  return out;
}

TEST_F(Nvml, EnergyCounterGpuAndPowerOnlyGpu) {
  setenv("FAKE_NVML_GPUS", "energy,power", 1);
  TempDir dir;
  const auto state = dir.path() / "state";
  write_file(state, "5000 75000\n");  // GPU 0: 5000 mJ; GPU 1: 75000 mW
  setenv("FAKE_NVML_STATE", state.c_str(), 1);
  NvmlSource source(lib("libfake_nvml.so"));
  EXPECT_THAT(source.problems(), ::testing::IsEmpty());
  ASSERT_THAT(ids(source), ElementsAre("gpu:0", "gpu:1"));
  const auto& d = source.domains();
  EXPECT_EQ(d[0].kind, DomainKind::kCounter);
  EXPECT_EQ(d[0].range_j, 0.0);
  EXPECT_EQ(d[1].kind, DomainKind::kPower);
  EXPECT_EQ(d[0].domain, "gpu");
  EXPECT_EQ(d[1].device, 1);
  EXPECT_DOUBLE_EQ(d[0].max_power_w, 300.0);
  EXPECT_THAT(source.gpu_names(), ElementsAre("Fake GPU 0 (energy)", "Fake GPU 1 (power)"));
  auto values = source.read();
  EXPECT_DOUBLE_EQ(values[0], 5.0);
  EXPECT_DOUBLE_EQ(values[1], 75.0);
  write_file(state, "12500 80500\n");
  values = source.read();
  EXPECT_DOUBLE_EQ(values[0], 12.5);
  EXPECT_DOUBLE_EQ(values[1], 80.5);
}

TEST_F(Nvml, EnergyCounterAdvancesWithTimeAtTheGivenPower) {
  setenv("FAKE_NVML_GPUS", "energy", 1);
  setenv("FAKE_NVML_WATTS", "200", 1);
  NvmlSource source(lib("libfake_nvml.so"));
  ASSERT_EQ(source.domains().size(), 1U);
  const auto t0 = std::chrono::steady_clock::now();
  const double e0 = source.read()[0];
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double e1 = source.read()[0];
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NEAR(e1 - e0, 200.0 * dt, 200.0 * 0.02);
}

TEST_F(Nvml, CudaVisibleDevicesSelectsByIndexAndUuid) {
  setenv("FAKE_NVML_GPUS", "energy,power,energy", 1);
  setenv("CUDA_VISIBLE_DEVICES", "2,0", 1);
  EXPECT_THAT(ids(NvmlSource(lib("libfake_nvml.so"))), ElementsAre("gpu:2", "gpu:0"));
  setenv("CUDA_VISIBLE_DEVICES", "GPU-fa4e0001", 1);  // a UUID prefix, as CUDA accepts
  EXPECT_THAT(ids(NvmlSource(lib("libfake_nvml.so"))), ElementsAre("gpu:1"));
  setenv("CUDA_VISIBLE_DEVICES", "1,7,0", 1);  // CUDA stops at the first invalid entry
  EXPECT_THAT(ids(NvmlSource(lib("libfake_nvml.so"))), ElementsAre("gpu:1"));
}

TEST_F(Nvml, EmptyCudaVisibleDevicesMeansNoGpu) {
  setenv("FAKE_NVML_GPUS", "energy,power", 1);
  setenv("CUDA_VISIBLE_DEVICES", "", 1);
  NvmlSource source(lib("libfake_nvml.so"));
  EXPECT_TRUE(source.domains().empty());
  ASSERT_EQ(source.problems().size(), 1U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("CUDA_VISIBLE_DEVICES=''"));
}

TEST_F(Nvml, SelectVisibleGpus) {
  const std::vector<std::string> uuids = {"GPU-aaaa-1", "GPU-bbbb-2", "GPU-aaab-3"};
  EXPECT_THAT(select_visible_gpus(std::nullopt, 3, uuids), ElementsAre(0, 1, 2));
  EXPECT_THAT(select_visible_gpus("", 3, uuids), ElementsAre());
  EXPECT_THAT(select_visible_gpus("1", 3, uuids), ElementsAre(1));
  EXPECT_THAT(select_visible_gpus(" 2 , 1", 3, uuids), ElementsAre(2, 1));
  EXPECT_THAT(select_visible_gpus("1,1", 3, uuids), ElementsAre(1));
  EXPECT_THAT(select_visible_gpus("GPU-bbbb", 3, uuids), ElementsAre(1));
  EXPECT_THAT(select_visible_gpus("GPU-aaa", 3, uuids), ElementsAre());  // ambiguous
  EXPECT_THAT(select_visible_gpus("0,MIG-x,1", 3, uuids), ElementsAre(0));
  EXPECT_THAT(select_visible_gpus("-1,0", 3, uuids), ElementsAre());
  EXPECT_THAT(select_visible_gpus("3", 3, uuids), ElementsAre());
}

TEST_F(Nvml, WorksWithoutOptionalFunctions) {
  // The minimal library has no energy counter, name, UUID, limit or error string.
  setenv("FAKE_NVML_GPUS", "energy,power", 1);
  setenv("FAKE_NVML_WATTS", "40,60", 1);
  NvmlSource source(lib("libfake_nvml_minimal.so"));
  EXPECT_THAT(source.problems(), ::testing::IsEmpty());
  ASSERT_THAT(ids(source), ElementsAre("gpu:0", "gpu:1"));
  EXPECT_EQ(source.domains()[0].kind, DomainKind::kPower);
  EXPECT_EQ(source.domains()[0].max_power_w, 0.0);  // unknown without the limit
  EXPECT_THAT(source.read(), ElementsAre(40.0, 60.0));
  EXPECT_THAT(source.gpu_names(), ElementsAre("", ""));
}

TEST_F(Nvml, UuidSelectionNeedsTheUuidFunction) {
  setenv("FAKE_NVML_GPUS", "power,power", 1);
  setenv("CUDA_VISIBLE_DEVICES", "GPU-fa4e0001", 1);
  NvmlSource source(lib("libfake_nvml_minimal.so"));
  EXPECT_TRUE(source.domains().empty());
}

TEST_F(Nvml, MissingRequiredFunctionIsReported) {
  NvmlSource source(lib("libfake_nvml_incomplete.so"));
  EXPECT_TRUE(source.domains().empty());
  ASSERT_EQ(source.problems().size(), 1U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("lacks required NVML functions"));
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("nvmlDeviceGetCount_v2"));
}

TEST_F(Nvml, LibraryThatDoesNotExistIsReported) {
  NvmlSource source("/nonexistent/libnvidia-ml.so.1");
  EXPECT_TRUE(source.domains().empty());
  ASSERT_EQ(source.problems().size(), 1U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("cannot load /nonexistent/libnvidia-ml.so.1"));
  EXPECT_THAT(source.problems()[0].fix, HasSubstr("--nvml-lib"));
  EXPECT_TRUE(source.read().empty());
}

TEST_F(Nvml, InitFailureIsReportedWithNvmlsMessage) {
  setenv("FAKE_NVML_INIT_ERROR", "9", 1);
  NvmlSource source(lib("libfake_nvml.so"));
  EXPECT_TRUE(source.domains().empty());
  ASSERT_EQ(source.problems().size(), 1U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("Driver Not Loaded (NVML error 9)"));
}

TEST_F(Nvml, GpuWithoutAnyPowerReadingIsSkipped) {
  setenv("FAKE_NVML_GPUS", "none,energy", 1);
  NvmlSource source(lib("libfake_nvml.so"));
  EXPECT_THAT(ids(source), ElementsAre("gpu:1"));
  ASSERT_EQ(source.problems().size(), 1U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("gpu 0 reports neither"));
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("Not Supported"));
}

}  // namespace
}  // namespace greenbench::energy
