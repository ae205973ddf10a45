// NVML loaded with dlopen, against the fake NVML libraries built from tests/helpers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "energy/fake_sysfs.hpp"
#include "energy/sources.hpp"
#include "greenbench/error.hpp"
#include "measure/meter.hpp"

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
    for (const char* v :
         {"FAKE_NVML_GPUS", "FAKE_NVML_WATTS", "FAKE_NVML_STATE", "FAKE_NVML_INIT_ERROR",
          "FAKE_NVML_CC", "FAKE_NVML_CORES", "FAKE_NVML_SM_CLOCK", "FAKE_NVML_MIG",
          "FAKE_NVML_SAMPLE_MS", "FAKE_NVML_PERSISTENCE", "FAKE_NVML_OLD", "FAKE_NVML_DRIVER",
          "FAKE_NVML_CUDA", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"}) {
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

// CUDA numbers GPUs fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID; NVML numbers them in
// PCI order. "0" is then the newest GPU, not NVML's gpu:0.
TEST_F(Nvml, CudaDeviceOrderFastestFirstIsTheDefault) {
  setenv("FAKE_NVML_GPUS", "energy,energy,energy", 1);
  setenv("FAKE_NVML_CC", "7.0,9.0,8.0", 1);
  setenv("CUDA_VISIBLE_DEVICES", "0,2", 1);
  NvmlSource fastest(lib("libfake_nvml.so"));
  EXPECT_THAT(ids(fastest), ElementsAre("gpu:1", "gpu:0"));
  ASSERT_EQ(fastest.notes().size(), 1U);
  EXPECT_THAT(fastest.notes()[0], HasSubstr("0 -> gpu:1, 1 -> gpu:2, 2 -> gpu:0"));
  EXPECT_THAT(fastest.notes()[0], HasSubstr("CUDA_DEVICE_ORDER=PCI_BUS_ID"));
  setenv("CUDA_DEVICE_ORDER", "FASTEST_FIRST", 1);
  EXPECT_THAT(ids(NvmlSource(lib("libfake_nvml.so"))), ElementsAre("gpu:1", "gpu:0"));
  setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID", 1);
  NvmlSource pci(lib("libfake_nvml.so"));
  EXPECT_THAT(ids(pci), ElementsAre("gpu:0", "gpu:2"));
  EXPECT_THAT(pci.notes(), ::testing::IsEmpty());
}

TEST_F(Nvml, CudaDeviceOrderRanksEqualCapabilityByCoresTimesClock) {
  setenv("FAKE_NVML_GPUS", "energy,energy", 1);
  setenv("FAKE_NVML_CC", "8.6,8.6", 1);
  setenv("FAKE_NVML_CORES", "8704,10496", 1);
  setenv("FAKE_NVML_SM_CLOCK", "1710,1695", 1);
  setenv("CUDA_VISIBLE_DEVICES", "0", 1);
  EXPECT_THAT(ids(NvmlSource(lib("libfake_nvml.so"))), ElementsAre("gpu:1"));
  // Identical GPUs keep PCI order, and nothing needs saying.
  unsetenv("FAKE_NVML_CORES");
  unsetenv("FAKE_NVML_SM_CLOCK");
  setenv("CUDA_VISIBLE_DEVICES", "1,0", 1);
  NvmlSource same(lib("libfake_nvml.so"));
  EXPECT_THAT(ids(same), ElementsAre("gpu:1", "gpu:0"));
  EXPECT_THAT(same.notes(), ::testing::IsEmpty());
}

TEST_F(Nvml, CudaDeviceOrderWithoutSpeedFunctionsIsPciOrderAndSaysSo) {
  setenv("FAKE_NVML_GPUS", "power,power", 1);
  setenv("CUDA_VISIBLE_DEVICES", "1", 1);
  NvmlSource source(lib("libfake_nvml_minimal.so"));
  EXPECT_THAT(ids(source), ElementsAre("gpu:1"));
  ASSERT_EQ(source.notes().size(), 1U);
  EXPECT_THAT(source.notes()[0], HasSubstr("cannot tell the GPUs' speed"));
}

// A MIG instance selects its parent GPU, whose whole energy is measured: the record says so.
TEST_F(Nvml, MigInstanceMapsToItsParentGpuWithAWarning) {
  setenv("FAKE_NVML_GPUS", "energy,energy", 1);
  setenv("FAKE_NVML_MIG", "1=MIG-5c2b7a31-0d2e-5bd6-a3a4-1f6c2d9e8f70", 1);
  setenv("CUDA_VISIBLE_DEVICES", "MIG-5c2b7a31-0d2e-5bd6-a3a4-1f6c2d9e8f70", 1);
  {
    NvmlSource source(lib("libfake_nvml.so"));
    EXPECT_THAT(ids(source), ElementsAre("gpu:1"));
    ASSERT_EQ(source.notes().size(), 1U);
    EXPECT_THAT(source.notes()[0], HasSubstr("MIG instance MIG-5c2b7a31"));
    EXPECT_THAT(source.notes()[0], HasSubstr("gpu:1 is the whole GPU's energy"));
  }
  // The note reaches the record's warnings through the meter.
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::make_unique<NvmlSource>(lib("libfake_nvml.so")));
  std::vector<std::string> warnings;
  measure::Meter meter(std::move(sources), &warnings);
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_THAT(warnings[0], HasSubstr("whole GPU's energy"));
  // The older form names the parent in the instance's name.
  setenv("CUDA_VISIBLE_DEVICES", "MIG-GPU-fa4e0000-0000-4000-8000-000000000000/1/0", 1);
  EXPECT_THAT(ids(NvmlSource(lib("libfake_nvml.so"))), ElementsAre("gpu:0"));
  // Unknown instances stop the list, as in CUDA; without the NVML functions nothing maps.
  setenv("CUDA_VISIBLE_DEVICES", "MIG-00000000-0000-0000-0000-000000000000", 1);
  EXPECT_TRUE(NvmlSource(lib("libfake_nvml.so")).domains().empty());
  setenv("FAKE_NVML_GPUS", "power,power", 1);
  setenv("CUDA_VISIBLE_DEVICES", "MIG-5c2b7a31-0d2e-5bd6-a3a4-1f6c2d9e8f70", 1);
  EXPECT_TRUE(NvmlSource(lib("libfake_nvml_minimal.so")).domains().empty());
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
  // With CUDA's order (CUDA index -> NVML index) and a MIG resolver.
  const std::vector<unsigned> order = {2, 0, 1};
  EXPECT_THAT(select_visible_gpus("0,1", 3, uuids, order), ElementsAre(2, 0));
  EXPECT_THAT(select_visible_gpus("GPU-bbbb", 3, uuids, order), ElementsAre(1));  // not reordered
  std::vector<std::pair<std::string, unsigned>> migs;
  const MigResolver resolver = [](const std::string& e) -> std::optional<unsigned> {
    if (e == "MIG-x") return 1;
    return std::nullopt;
  };
  EXPECT_THAT(select_visible_gpus("MIG-x,MIG-y,0", 3, uuids, {}, resolver, &migs), ElementsAre(1));
  ASSERT_EQ(migs.size(), 1U);
  EXPECT_EQ(migs[0].first, "MIG-x");
  EXPECT_EQ(migs[0].second, 1U);
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

// What a study records about each GPU, from the functions NVML has.
TEST_F(Nvml, DescribesTheDriverAndEachGpu) {
  setenv("FAKE_NVML_GPUS", "energy,power", 1);
  setenv("FAKE_NVML_PERSISTENCE", "1,0", 1);
  setenv("FAKE_NVML_SAMPLE_MS", "20,100", 1);
  setenv("FAKE_NVML_CC", "9.0,8.0", 1);
  setenv("FAKE_NVML_DRIVER", "570.124.06", 1);
  setenv("FAKE_NVML_CUDA", "12080", 1);
  const GpuReport report = describe_gpus(lib("libfake_nvml.so"));
  EXPECT_EQ(report.driver_version, "570.124.06");
  EXPECT_EQ(report.cuda_version, "12.8");
  ASSERT_EQ(report.gpus.size(), 2U);
  const GpuInfo& a = report.gpus[0];
  const GpuInfo& b = report.gpus[1];
  EXPECT_EQ(a.id, "gpu:0");
  EXPECT_EQ(a.name, "Fake GPU 0 (energy)");
  EXPECT_EQ(a.uuid, "GPU-fa4e0000-0000-4000-8000-000000000000");
  EXPECT_TRUE(a.energy_counter);
  EXPECT_FALSE(b.energy_counter);
  EXPECT_EQ(a.power_limit_w, 250.0);  // the enforced limit, not the management one (300 W)
  EXPECT_EQ(a.power_limit_default_w, 350.0);
  EXPECT_EQ(a.sm_clock_mhz, 1410U);
  EXPECT_EQ(a.sm_clock_max_mhz, 1410U);
  EXPECT_EQ(a.mem_clock_mhz, 1215U);
  EXPECT_EQ(a.mem_clock_max_mhz, 1593U);
  EXPECT_EQ(a.persistence_mode, true);
  EXPECT_EQ(b.persistence_mode, false);
  EXPECT_EQ(a.compute_capability, "9.0");
  // The samples come out of the driver's ring buffer unsorted; their median gap is the period.
  ASSERT_TRUE(a.power_sample_interval_s.has_value());
  EXPECT_NEAR(*a.power_sample_interval_s, 0.020, 1e-6);
  EXPECT_NEAR(*b.power_sample_interval_s, 0.100, 1e-6);
}

TEST_F(Nvml, AnOlderNvmlLeavesWhatItCannotTellUnset) {
  setenv("FAKE_NVML_GPUS", "energy", 1);
  setenv("FAKE_NVML_OLD", "1", 1);
  const GpuReport old = describe_gpus(lib("libfake_nvml.so"));
  EXPECT_EQ(old.driver_version, "");
  EXPECT_EQ(old.cuda_version, "");
  ASSERT_EQ(old.gpus.size(), 1U);
  EXPECT_EQ(old.gpus[0].power_limit_w, 300.0);  // the management limit, which it still has
  EXPECT_FALSE(old.gpus[0].power_limit_default_w);
  EXPECT_FALSE(old.gpus[0].sm_clock_mhz);
  EXPECT_EQ(old.gpus[0].sm_clock_max_mhz, 1410U);
  EXPECT_FALSE(old.gpus[0].mem_clock_max_mhz);
  EXPECT_FALSE(old.gpus[0].persistence_mode);
  EXPECT_FALSE(old.gpus[0].power_sample_interval_s);

  unsetenv("FAKE_NVML_OLD");
  setenv("FAKE_NVML_SAMPLE_MS", "0", 1);  // no samples buffered yet
  EXPECT_FALSE(describe_gpus(lib("libfake_nvml.so")).gpus[0].power_sample_interval_s);

  setenv("FAKE_NVML_GPUS", "power,power", 1);
  const GpuReport minimal = describe_gpus(lib("libfake_nvml_minimal.so"));
  ASSERT_EQ(minimal.gpus.size(), 2U);
  EXPECT_EQ(minimal.gpus[1].id, "gpu:1");
  EXPECT_EQ(minimal.gpus[1].name, "");
  EXPECT_FALSE(minimal.gpus[1].energy_counter);
  EXPECT_FALSE(minimal.gpus[1].power_limit_w);
  EXPECT_EQ(minimal.gpus[1].compute_capability, "");

  EXPECT_TRUE(describe_gpus("/nonexistent/libnvidia-ml.so.1").gpus.empty());
}

}  // namespace
}  // namespace greenbench::energy
