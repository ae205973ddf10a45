// detect_sources: which sources a measurement uses, and the status of each backend.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "energy/fake_sysfs.hpp"
#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench {
namespace {

using greenbench::testing::add_zone;
using greenbench::testing::make_two_socket_powercap;
using greenbench::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> names(const std::vector<std::unique_ptr<EnergySource>>& sources) {
  std::vector<std::string> out;
  for (const auto& s : sources) out.push_back(s->name());
  return out;
}

class Registry : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("CUDA_VISIBLE_DEVICES");
    unsetenv("FAKE_NVML_STATE");
    setenv("FAKE_NVML_GPUS", "energy", 1);
    options_.powercap_root = "/nonexistent/powercap";
    options_.perf_root = "/nonexistent/perf";
    options_.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
  }
  SourceOptions options_;
};

TEST_F(Registry, NothingReadableFallsBackToTheEstimate) {
  std::vector<SourceStatus> status;
  const auto sources = detect_sources(options_, &status);
  EXPECT_THAT(names(sources), ElementsAre("cpu-estimate"));
  ASSERT_EQ(status.size(), 4U);
  EXPECT_EQ(status[0].name, "rapl-powercap");
  EXPECT_FALSE(status[0].readable);
  EXPECT_THAT(status[0].reason, HasSubstr("/nonexistent/powercap"));
  EXPECT_FALSE(status[0].fix.empty());
  EXPECT_EQ(status[1].name, "rapl-perf");
  EXPECT_THAT(status[1].reason, HasSubstr("/nonexistent/perf/power"));
  EXPECT_EQ(status[2].name, "nvml");
  EXPECT_THAT(status[2].reason, HasSubstr("cannot load"));
  EXPECT_EQ(status[3].name, "cpu-estimate");
  EXPECT_TRUE(status[3].used);
  EXPECT_EQ(status[3].quality, Quality::kEstimated);
  EXPECT_THAT(status[3].domains, ElementsAre("cpu_package:0"));
  EXPECT_THAT(status[3].parameters, HasSubstr("10 W per busy core"));
}

TEST_F(Registry, PowercapIsPreferredAndPerfNotUsedBesideIt) {
  TempDir dir;
  make_two_socket_powercap(dir.path());
  options_.powercap_root = dir.path().string();
  options_.nvml_lib = std::string(GREENBENCH_TEST_LIB_DIR) + "/libfake_nvml.so";
  std::vector<SourceStatus> status;
  const auto sources = detect_sources(options_, &status);
  EXPECT_THAT(names(sources), ElementsAre("rapl-powercap", "nvml"));
  EXPECT_TRUE(status[0].used);
  EXPECT_EQ(status[0].domains.size(), 8U);
  EXPECT_FALSE(status[1].used);
  EXPECT_THAT(status[1].reason, HasSubstr("count them twice"));
  EXPECT_TRUE(status[2].used);
  EXPECT_THAT(status[2].domains, ElementsAre("gpu:0"));
  EXPECT_FALSE(status[3].used);
  EXPECT_TRUE(status[3].readable);
  EXPECT_THAT(status[3].reason, HasSubstr("CPU energy counter is readable"));
}

TEST_F(Registry, PowercapWithoutPackageStillNeedsTheEstimate) {
  TempDir dir;
  add_zone(dir.path(), "intel-rapl:0", "psys", 5);
  options_.powercap_root = dir.path().string();
  const auto sources = detect_sources(options_);
  EXPECT_THAT(names(sources), ElementsAre("rapl-powercap", "cpu-estimate"));
}

// A powercap tree with psys only (some laptops and VMs): perf still reads the package and DRAM,
// but not psys again, and the estimate is then not needed.
TEST_F(Registry, PerfReadsTheDomainsPowercapLacks) {
  TempDir dir;
  add_zone(dir.path(), "powercap/intel-rapl:0", "psys", 5);
  const auto perf = dir.path() / "perf";
  greenbench::testing::write_file(perf / "power" / "type", "13\n");
  greenbench::testing::write_file(perf / "power" / "cpumask", "0\n");
  for (const auto& [event, config] :
       std::vector<std::pair<std::string, std::string>>{{"energy-pkg", "event=0x02"},
                                                        {"energy-ram", "event=0x03"},
                                                        {"energy-psys", "event=0x05"}}) {
    greenbench::testing::write_file(perf / "power" / "events" / event, config + "\n");
    greenbench::testing::write_file(perf / "power" / "events" / (event + ".scale"), "1e-3\n");
    greenbench::testing::write_file(perf / "power" / "events" / (event + ".unit"), "Joules\n");
  }
  std::vector<uint64_t> opened;  // configs
  energy::PerfOps ops;
  ops.open = [&](uint32_t, uint64_t config, int) {
    opened.push_back(config);
    return static_cast<int>(opened.size()) + 100;
  };
  ops.read = [](int fd, uint64_t* value) {
    *value = static_cast<uint64_t>(fd) * 1000;
    return true;
  };
  ops.close = [](int) {};
  options_.powercap_root = (dir.path() / "powercap").string();
  options_.perf_root = perf.string();
  std::vector<SourceStatus> status;
  auto sources = energy::detect_sources(options_, &status, ops);
  EXPECT_THAT(names(sources), ElementsAre("rapl-powercap", "rapl-perf"));
  EXPECT_THAT(status[0].domains, ElementsAre("psys"));
  EXPECT_TRUE(status[1].used);
  EXPECT_THAT(status[1].domains, ElementsAre("cpu_package:0", "dram:0"));
  EXPECT_THAT(status[1].reason, HasSubstr("not used for psys, which rapl-powercap reads"));
  EXPECT_THAT(opened, ElementsAre(0x02u, 0x03u));  // psys never opened through perf
  EXPECT_FALSE(status[3].used);                    // a CPU counter is readable: no estimate
  EXPECT_DOUBLE_EQ(sources[1]->read()[0], 101.0);
}

TEST_F(Registry, PartlyReadableSourceKeepsItsProblemsInTheStatus) {
  TempDir dir;
  make_two_socket_powercap(dir.path());
  std::filesystem::remove(dir.path() / "intel-rapl:0" / "intel-rapl:0:2" / "energy_uj");
  std::filesystem::create_symlink("/nonexistent",
                                  dir.path() / "intel-rapl:0" / "intel-rapl:0:2" / "energy_uj");
  options_.powercap_root = dir.path().string();
  std::vector<SourceStatus> status;
  (void)detect_sources(options_, &status);
  EXPECT_TRUE(status[0].readable);
  EXPECT_EQ(status[0].domains.size(), 7U);
  EXPECT_THAT(status[0].reason, HasSubstr("intel-rapl:0:2/energy_uj does not exist"));
}

TEST_F(Registry, OnlyFilterAndUnknownNames) {
  TempDir dir;
  make_two_socket_powercap(dir.path());
  options_.powercap_root = dir.path().string();
  options_.only = {"cpu-estimate"};
  std::vector<SourceStatus> status;
  EXPECT_THAT(names(detect_sources(options_, &status)), ElementsAre("cpu-estimate"));
  EXPECT_EQ(status[0].reason, "not selected");
  options_.only = {"rapl-powercap"};
  EXPECT_THAT(names(detect_sources(options_)), ElementsAre("rapl-powercap"));
  options_.only = {"rapl"};
  EXPECT_THROW(detect_sources(options_), Error);
}

TEST_F(Registry, EstimateTakesTheConfiguredModel) {
  options_.cpu_watts_per_core = 6;
  options_.cpu_idle_watts = 20;
  std::vector<SourceStatus> status;
  const auto sources = detect_sources(options_, &status);
  ASSERT_EQ(sources.size(), 1U);
  EXPECT_EQ(sources[0]->parameters(),
            "6 W per busy core x CPU seconds of the measured process tree + 20 W idle x elapsed "
            "seconds");
  EXPECT_EQ(status[3].parameters, sources[0]->parameters());
  // 0 W per core is a model of its own (idle power only), not the default.
  options_.cpu_watts_per_core = 0;
  EXPECT_THAT(detect_sources(options_)[0]->parameters(), HasSubstr("0 W per busy core"));
  EXPECT_THAT(detect_sources(options_)[0]->parameters(), Not(HasSubstr("10 W per busy core")));
  options_.cpu_watts_per_core = -1;  // the default
  EXPECT_THAT(detect_sources(options_)[0]->parameters(), HasSubstr("10 W per busy core"));
  options_.cpu_watts_per_core = std::nan("");
  EXPECT_THROW(detect_sources(options_), Error);
}

TEST(SourceOptions, FromEnvironment) {
  setenv("GREENBENCH_POWERCAP_ROOT", "/a", 1);
  setenv("GREENBENCH_PERF_ROOT", "/b", 1);
  setenv("GREENBENCH_NVML_LIB", "/c.so", 1);
  auto o = SourceOptions::from_environment();
  EXPECT_EQ(o.powercap_root, "/a");
  EXPECT_EQ(o.perf_root, "/b");
  EXPECT_EQ(o.nvml_lib, "/c.so");
  unsetenv("GREENBENCH_POWERCAP_ROOT");
  unsetenv("GREENBENCH_PERF_ROOT");
  unsetenv("GREENBENCH_NVML_LIB");
  o = SourceOptions::from_environment();
  EXPECT_EQ(o.powercap_root, "/sys/class/powercap");
  EXPECT_EQ(o.perf_root, "/sys/bus/event_source/devices");
  EXPECT_EQ(o.nvml_lib, "libnvidia-ml.so.1");
}

TEST(Domains, CountsInTotal) {
  for (const char* d : {"cpu_package", "cpu_package:1", "dram", "dram:0", "gpu", "gpu:3"}) {
    EXPECT_TRUE(counts_in_total(d)) << d;
  }
  for (const char* d : {"cpu_core", "cpu_core:0", "cpu_uncore:1", "psys", "total", ""}) {
    EXPECT_FALSE(counts_in_total(d)) << d;
  }
  EXPECT_STREQ(to_string(Quality::kMeasured), "measured");
  EXPECT_STREQ(to_string(Quality::kEstimated), "estimated");
}

}  // namespace
}  // namespace greenbench
