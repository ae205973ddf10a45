// RAPL through the perf power PMU, on a fake perf tree with fake system calls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <set>
#include <tuple>

#include "energy/fake_sysfs.hpp"
#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

using greenbench::testing::TempDir;
using greenbench::testing::write_file;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kScale = "2.3283064365386962890625e-10";  // 2^-32 J, as on Intel parts

void add_event(const std::filesystem::path& root, const std::string& event,
               const std::string& config, const std::string& scale = kScale,
               const std::string& unit = "Joules") {
  const auto dir = root / "power" / "events";
  write_file(dir / event, config + "\n");
  write_file(dir / (event + ".scale"), scale + "\n");
  write_file(dir / (event + ".unit"), unit + "\n");
}

// Two sockets (CPUs 0 and 28), package, cores, integrated GPU, DRAM and psys.
void make_perf_tree(const std::filesystem::path& root) {
  write_file(root / "power" / "type", "13\n");
  write_file(root / "power" / "cpumask", "0,28\n");
  add_event(root, "energy-pkg", "event=0x02");
  add_event(root, "energy-cores", "event=0x01");
  add_event(root, "energy-gpu", "event=0x04");
  add_event(root, "energy-ram", "event=0x03");
  add_event(root, "energy-psys", "event=0x05");
  write_file(root / "software" / "type", "1\n");  // another PMU, ignored
}

// The kernel side: events keyed by (type, config, cpu), with counts the test sets.
struct FakeKernel {
  std::map<int, std::tuple<uint32_t, uint64_t, int>> open_fds;
  std::map<std::tuple<uint32_t, uint64_t, int>, uint64_t> counts;
  int refuse_errno = 0;
  int next_fd = 100;
  int closed = 0;

  PerfOps ops() {
    PerfOps o;
    o.open = [this](uint32_t type, uint64_t config, int cpu) {
      if (refuse_errno != 0) return -refuse_errno;
      open_fds[next_fd] = {type, config, cpu};
      return next_fd++;
    };
    o.read = [this](int fd, uint64_t* value) {
      const auto it = open_fds.find(fd);
      if (it == open_fds.end()) {
        errno = EBADF;
        return false;
      }
      *value = counts[it->second];
      return true;
    };
    o.close = [this](int fd) {
      open_fds.erase(fd);
      ++closed;
    };
    o.paranoid = [] { return std::string("2"); };
    return o;
  }
};

std::vector<std::string> ids(const EnergySource& source) {
  std::vector<std::string> out;
  for (const auto& d : source.domains()) out.push_back(d.id);
  return out;
}

TEST(RaplPerf, OpensOneEventPerDomainAndSocket) {
  TempDir dir;
  make_perf_tree(dir.path());
  FakeKernel kernel;
  {
    RaplPerfSource source(dir.path().string(), kernel.ops());
    EXPECT_THAT(source.problems(), ::testing::IsEmpty());
    // energy-gpu is the integrated GPU inside the package: uncore, never "gpu".
    EXPECT_THAT(ids(source),
                ElementsAre("cpu_package:0", "cpu_package:1", "cpu_core:0", "cpu_core:1",
                            "cpu_uncore:0", "cpu_uncore:1", "dram:0", "dram:1", "psys"));
    std::set<std::tuple<uint32_t, uint64_t, int>> opened;
    for (const auto& [fd, key] : kernel.open_fds) opened.insert(key);
    EXPECT_TRUE(opened.contains({13U, 2U, 0}));
    EXPECT_TRUE(opened.contains({13U, 2U, 28}));
    EXPECT_TRUE(opened.contains({13U, 5U, 0}));
    EXPECT_FALSE(opened.contains({13U, 5U, 28}));  // psys is one counter for the platform
    for (const auto& d : source.domains()) {
      EXPECT_EQ(d.range_j, 0.0);  // perf keeps 64-bit totals
      EXPECT_EQ(d.kind, DomainKind::kCounter);
    }
  }
  EXPECT_EQ(kernel.closed, 9);
}

TEST(RaplPerf, ReadsCountsTimesScaleAsJoules) {
  TempDir dir;
  make_perf_tree(dir.path());
  FakeKernel kernel;
  RaplPerfSource source(dir.path().string(), kernel.ops());
  kernel.counts[{13U, 2U, 0}] = 1ULL << 32;        // 1 J
  kernel.counts[{13U, 2U, 28}] = 3ULL << 31;       // 1.5 J
  kernel.counts[{13U, 3U, 28}] = 10ULL << 32;      // 10 J
  kernel.counts[{13U, 5U, 0}] = (1ULL << 40) + 7;  // beyond 32 bits: no wrap handling needed
  const auto values = source.read();
  ASSERT_EQ(values.size(), 9U);
  EXPECT_DOUBLE_EQ(values[0], 1.0);
  EXPECT_DOUBLE_EQ(values[1], 1.5);
  EXPECT_DOUBLE_EQ(values[2], 0.0);
  EXPECT_DOUBLE_EQ(values[7], 10.0);
  EXPECT_NEAR(values[8], 256.0, 1e-6);
}

TEST(RaplPerf, PermissionRefusalNamesParanoidAndFix) {
  TempDir dir;
  make_perf_tree(dir.path());
  FakeKernel kernel;
  kernel.refuse_errno = EACCES;
  RaplPerfSource source(dir.path().string(), kernel.ops());
  EXPECT_TRUE(source.domains().empty());
  ASSERT_EQ(source.problems().size(), 1U);  // one message, not one per event
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("perf_event_paranoid <= 0 (it is 2)"));
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("CAP_PERFMON"));
  EXPECT_THAT(source.problems()[0].fix, HasSubstr("sysctl kernel.perf_event_paranoid=0"));
}

TEST(RaplPerf, MissingPmuIsNotReadable) {
  TempDir dir;
  write_file(dir.path() / "software" / "type", "1\n");
  FakeKernel kernel;
  RaplPerfSource source(dir.path().string(), kernel.ops());
  EXPECT_TRUE(source.domains().empty());
  ASSERT_EQ(source.problems().size(), 1U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("no RAPL 'power' PMU"));
  EXPECT_TRUE(kernel.open_fds.empty());
}

TEST(RaplPerf, EventWithUnexpectedUnitOrConfigIsSkipped) {
  TempDir dir;
  make_perf_tree(dir.path());
  add_event(dir.path(), "energy-ram", "event=0x03", kScale, "Watts");
  add_event(dir.path(), "energy-cores", "config=0x01");
  FakeKernel kernel;
  RaplPerfSource source(dir.path().string(), kernel.ops());
  EXPECT_THAT(ids(source), ElementsAre("cpu_package:0", "cpu_package:1", "cpu_uncore:0",
                                       "cpu_uncore:1", "psys"));
  ASSERT_EQ(source.problems().size(), 2U);
  EXPECT_THAT(source.problems()[0].reason, HasSubstr("energy-cores"));
  EXPECT_THAT(source.problems()[1].reason, HasSubstr("unit 'Watts'"));
}

TEST(RaplPerf, ReadFailureThrows) {
  TempDir dir;
  make_perf_tree(dir.path());
  FakeKernel kernel;
  RaplPerfSource source(dir.path().string(), kernel.ops());
  kernel.open_fds.clear();
  EXPECT_THROW(source.read(), Error);
}

TEST(RaplPerf, ParsesCpuLists) {
  EXPECT_THAT(parse_cpu_list("0", "m"), ElementsAre(0));
  EXPECT_THAT(parse_cpu_list("0,28", "m"), ElementsAre(0, 28));
  EXPECT_THAT(parse_cpu_list("0-3,8", "m"), ElementsAre(0, 1, 2, 3, 8));
  EXPECT_THROW(parse_cpu_list("", "m"), Error);
  EXPECT_THROW(parse_cpu_list("a", "m"), Error);
  EXPECT_THROW(parse_cpu_list("3-1", "m"), Error);
}

}  // namespace
}  // namespace greenbench::energy
