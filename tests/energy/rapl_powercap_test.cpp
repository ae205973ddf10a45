// RAPL through powercap sysfs, on fake trees laid out as the kernel does.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "energy/fake_sysfs.hpp"
#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

using greenbench::testing::add_zone;
using greenbench::testing::make_two_socket_powercap;
using greenbench::testing::TempDir;
using greenbench::testing::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> ids(const EnergySource& source) {
  std::vector<std::string> out;
  for (const auto& d : source.domains()) out.push_back(d.id);
  return out;
}

TEST(RaplPowercap, FindsEveryZoneOnceAcrossSocketsLinksAndMmio) {
  TempDir dir;
  make_two_socket_powercap(dir.path());
  RaplPowercapSource source(dir.path().string());
  EXPECT_THAT(source.problems(), ::testing::IsEmpty());
  EXPECT_THAT(ids(source), ElementsAre("cpu_package:0", "cpu_package:1", "cpu_core:0", "cpu_core:1",
                                       "cpu_uncore:0", "dram:0", "dram:1", "psys"));
  // The MSR zone wins over the MMIO one: package-0 reads 1 J, not the MMIO zone's 9 J.
  const auto values = source.read();
  ASSERT_EQ(values.size(), 8U);
  EXPECT_DOUBLE_EQ(values[0], 1.0);
  EXPECT_DOUBLE_EQ(values[1], 5.0);
  EXPECT_DOUBLE_EQ(values[2], 2.0);
  EXPECT_DOUBLE_EQ(values[3], 6.0);
  EXPECT_DOUBLE_EQ(values[4], 3.0);
  EXPECT_DOUBLE_EQ(values[5], 4.0);
  EXPECT_DOUBLE_EQ(values[6], 7.0);
  EXPECT_DOUBLE_EQ(values[7], 8.0);
}

TEST(RaplPowercap, DomainInfoCarriesRangeKindAndPowerBound) {
  TempDir dir;
  make_two_socket_powercap(dir.path());
  RaplPowercapSource source(dir.path().string());
  const auto& d = source.domains();
  ASSERT_EQ(d.size(), 8U);
  EXPECT_EQ(d[0].domain, "cpu_package");
  EXPECT_EQ(d[0].device, 0);
  EXPECT_EQ(d[0].kind, DomainKind::kCounter);
  EXPECT_EQ(d[0].quality, Quality::kMeasured);
  EXPECT_DOUBLE_EQ(d[0].range_j, 262143.328850);
  EXPECT_DOUBLE_EQ(d[0].max_power_w, 165.0);  // from constraint_0_max_power_uw
  EXPECT_DOUBLE_EQ(d[1].max_power_w, 500.0);  // no constraint files: the fallback bound
  EXPECT_EQ(d[6].domain, "dram");
  EXPECT_EQ(d[6].device, 1);  // nested in package-1
  EXPECT_DOUBLE_EQ(d[6].range_j, 65712.999613);
}

TEST(RaplPowercap, SubZoneTakesSocketFromPackageName) {
  // The zone directory number and the package number need not agree.
  TempDir dir;
  add_zone(dir.path(), "intel-rapl:0", "package-1", 10);
  add_zone(dir.path(), "intel-rapl:0/intel-rapl:0:0", "dram", 20);
  add_zone(dir.path(), "intel-rapl:1", "package-0", 30);
  RaplPowercapSource source(dir.path().string());
  EXPECT_THAT(ids(source), ElementsAre("cpu_package:0", "cpu_package:1", "dram:1"));
}

TEST(RaplPowercap, CounterSteppedAcrossSeveralWrapsSumsToTheTrueEnergy) {
  TempDir dir;
  const unsigned long long range_uj = 1000000;  // wraps every joule
  add_zone(dir.path(), "intel-rapl:0", "package-0", 900000, range_uj);
  RaplPowercapSource source(dir.path().string());
  ASSERT_EQ(source.domains().size(), 1U);
  const double range_j = source.domains()[0].range_j;
  double previous = source.read()[0];
  unsigned long long raw = 900000;
  double sum = 0;
  const unsigned long long steps_uj[] = {300000, 999000, 10, 500000, 700000, 899999, 1};
  unsigned long long true_uj = 0;
  int wraps = 0;
  for (const auto step : steps_uj) {
    true_uj += step;
    raw += step;
    if (raw > range_uj) {
      raw -= range_uj;
      ++wraps;
    }
    write_file(dir.path() / "intel-rapl:0" / "energy_uj", std::to_string(raw) + "\n");
    const double current = source.read()[0];
    sum += counter_delta_j(previous, current, range_j);
    previous = current;
  }
  EXPECT_GE(wraps, 3);
  EXPECT_NEAR(sum, static_cast<double>(true_uj) / 1e6, 1e-9);
}

// A two-die socket lists each die as a zone of its own (package-0-die-0, package-0-die-1),
// each with its dram sub-zone: both dies count, summed into cpu_package:0 and dram:0, and each
// die's counter is unwrapped on its own although they wrap at different times.
TEST(RaplPowercap, DiesOfOnePackageAreSummed) {
  TempDir dir;
  const auto& root = dir.path();
  const unsigned long long range_uj = 1000000;  // wraps every joule
  add_zone(root, "intel-rapl:0", "package-0-die-0", 900000, range_uj);
  write_file(root / "intel-rapl:0" / "constraint_0_max_power_uw", "100000000\n");
  greenbench::testing::add_subzone(root, "intel-rapl:0", "intel-rapl:0:0", "dram", 1000000);
  add_zone(root, "intel-rapl:1", "package-0-die-1", 200000, 2 * range_uj);
  write_file(root / "intel-rapl:1" / "constraint_0_max_power_uw", "150000000\n");
  greenbench::testing::add_subzone(root, "intel-rapl:1", "intel-rapl:1:0", "dram", 3000000);
  add_zone(root, "intel-rapl:2", "package-1-die-0", 5000000);
  RaplPowercapSource source(root.string());
  EXPECT_THAT(source.problems(), ::testing::IsEmpty());
  ASSERT_THAT(ids(source), ElementsAre("cpu_package:0", "cpu_package:1", "dram:0"));
  const auto& d = source.domains();
  EXPECT_DOUBLE_EQ(d[0].range_j, 1.0);        // the faster-wrapping die sets the read rate
  EXPECT_DOUBLE_EQ(d[0].max_power_w, 150.0);  // the larger bound of the two dies
  double previous = source.read()[0];
  EXPECT_DOUBLE_EQ(previous, 1.1);  // 0.9 J + 0.2 J
  EXPECT_DOUBLE_EQ(source.read()[2], 4.0);
  // Die 0 wraps (0.9 -> 0.3 after 0.4 J), die 1 does not (0.2 -> 0.9 after 0.7 J).
  write_file(root / "intel-rapl:0" / "energy_uj", "300000\n");
  write_file(root / "intel-rapl:1" / "energy_uj", "900000\n");
  double current = source.read()[0];
  EXPECT_NEAR(counter_delta_j(previous, current, d[0].range_j), 1.1, 1e-9);
  previous = current;
  // Then die 1 wraps (0.9 -> 0.1 after 1.2 J) while die 0 runs on (0.3 -> 0.8).
  write_file(root / "intel-rapl:0" / "energy_uj", "800000\n");
  write_file(root / "intel-rapl:1" / "energy_uj", "100000\n");
  current = source.read()[0];
  EXPECT_NEAR(counter_delta_j(previous, current, d[0].range_j), 1.7, 1e-9);
}

TEST(RaplPowercap, DanglingCounterIsReportedAndOtherZonesStillRead) {
  TempDir dir;
  make_two_socket_powercap(dir.path());
  const auto counter = dir.path() / "intel-rapl:1" / "intel-rapl:1:1" / "energy_uj";
  std::filesystem::remove(counter);
  std::filesystem::create_symlink("/nonexistent/energy_uj", counter);
  RaplPowercapSource source(dir.path().string());
  EXPECT_THAT(ids(source), ElementsAre("cpu_package:0", "cpu_package:1", "cpu_core:0", "cpu_core:1",
                                       "cpu_uncore:0", "dram:0", "psys"));
  ASSERT_EQ(source.problems().size(), 1U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("does not exist"));
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("intel-rapl:1:1/energy_uj"));
}

TEST(RaplPowercap, RefusedOpenMakesTheZoneUnreadable) {
  // We run the tests as root, where open() succeeds; the opener stands in for the kernel.
  TempDir dir;
  make_two_socket_powercap(dir.path());
  std::filesystem::permissions(dir.path() / "intel-rapl:0" / "energy_uj",
                               std::filesystem::perms::owner_read);
  RaplPowercapSource source(dir.path().string(), [](const std::string& path) {
    if (path.find("intel-rapl:0/energy_uj") != std::string::npos) return -EACCES;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
  });
  EXPECT_EQ(source.domains().size(), 7U);
  EXPECT_EQ(source.domains()[0].id, "cpu_package:1");
  ASSERT_EQ(source.problems().size(), 1U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("intel-rapl:0/energy_uj"));
}

TEST(RaplPowercap, RootOnlyCounterExplainsTheCveAndTheGroupFix) {
  const auto problem = rapl_access_problem("/sys/class/powercap/intel-rapl:0/energy_uj", EACCES,
                                           S_IFREG | 0400, 1000);
  ASSERT_TRUE(problem.has_value());
  EXPECT_THAT(problem->reason, HasSubstr("readable by root only since Linux 5.10 (CVE-2020-8694)"));
  EXPECT_THAT(problem->reason, HasSubstr("0400"));
  EXPECT_THAT(problem->fix, HasSubstr("SUBSYSTEM==\"powercap\""));
  EXPECT_THAT(problem->fix, HasSubstr("chgrp -R power"));
  EXPECT_THAT(problem->fix, HasSubstr("usermod -aG power"));
  EXPECT_THAT(problem->fix, HasSubstr("Do not make the counters world-readable"));
  EXPECT_THAT(problem->fix, ::testing::Not(HasSubstr("chmod a+r")));
}

TEST(RaplPowercap, AccessDecisionDistinguishesTheCases) {
  const std::string path = "/x/energy_uj";
  EXPECT_FALSE(rapl_access_problem(path, 0, S_IFREG | 0400, 1000).has_value());
  // Group-readable but still refused: the user is not in the group.
  const auto group = rapl_access_problem(path, EACCES, S_IFREG | 0440, 1000);
  ASSERT_TRUE(group.has_value());
  EXPECT_THAT(group->reason, HasSubstr("group"));
  EXPECT_THAT(group->reason, ::testing::Not(HasSubstr("CVE")));
  // Refused to root: a container or LSM.
  const auto root = rapl_access_problem(path, EPERM, S_IFREG | 0400, 0);
  ASSERT_TRUE(root.has_value());
  EXPECT_THAT(root->reason, HasSubstr("even as root"));
  const auto missing = rapl_access_problem(path, ENOENT, 0, 1000);
  ASSERT_TRUE(missing.has_value());
  EXPECT_THAT(missing->reason, HasSubstr("does not exist"));
}

TEST(RaplPowercap, MissingRootOrEmptyTreeIsNotReadable) {
  RaplPowercapSource missing("/nonexistent/powercap");
  EXPECT_TRUE(missing.domains().empty());
  ASSERT_EQ(missing.problems().size(), 1U);
  EXPECT_THAT(missing.problems()[0].reason, HasSubstr("no powercap tree at /nonexistent/powercap"));
  TempDir dir;
  write_file(dir.path() / "intel-rapl" / "enabled", "0\n");
  RaplPowercapSource empty(dir.path().string());
  EXPECT_TRUE(empty.domains().empty());
  ASSERT_EQ(empty.problems().size(), 1U);
  EXPECT_THAT(empty.problems()[0].reason, HasSubstr("no RAPL zones"));
}

TEST(RaplPowercap, GarbageCounterOrMissingRangeIsReported) {
  TempDir dir;
  add_zone(dir.path(), "intel-rapl:0", "package-0", 1);
  write_file(dir.path() / "intel-rapl:0" / "energy_uj", "lots\n");
  add_zone(dir.path(), "intel-rapl:1", "package-1", 1);
  std::filesystem::remove(dir.path() / "intel-rapl:1" / "max_energy_range_uj");
  add_zone(dir.path(), "intel-rapl:2", "package-2", 1);
  RaplPowercapSource source(dir.path().string());
  EXPECT_THAT(ids(source), ElementsAre("cpu_package:2"));
  ASSERT_EQ(source.problems().size(), 2U);
  EXPECT_THAT(source.problems()[0].reason,
              HasSubstr("not an energy counter in microjoules: 'lots'"));
  EXPECT_THAT(source.problems()[1].reason, HasSubstr("max_energy_range_uj"));
}

TEST(RaplPowercap, ReadThrowsWhenACounterTurnsBad) {
  TempDir dir;
  add_zone(dir.path(), "intel-rapl:0", "package-0", 1);
  RaplPowercapSource source(dir.path().string());
  ASSERT_EQ(source.domains().size(), 1U);
  write_file(dir.path() / "intel-rapl:0" / "energy_uj", "-5\n");
  EXPECT_THROW(source.read(), Error);
}

}  // namespace
}  // namespace greenbench::energy
