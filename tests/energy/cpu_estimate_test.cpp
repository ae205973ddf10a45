// The CPU estimate: CPU time of a real process tree times watts per core, plus idle watts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

using ::testing::HasSubstr;

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Spins until this process has used `seconds` of CPU; returns what it used.
double burn(double seconds) {
  volatile unsigned long sink = 0;
  while (process_cpu_s() < seconds) {
    for (int i = 0; i < 10000; ++i) sink = sink + i;
  }
  return process_cpu_s();
}

void put(int fd) {
  const char c = 'x';
  (void)!write(fd, &c, 1);
}
void take(int fd) {
  char c = 0;
  (void)!read(fd, &c, 1);
}

double rusage_s(const rusage& ru) {
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// Follows a process tree; returns cumulative CPU seconds (the estimate divided by its watts, or
// the tracker's own figure).
struct Follower {
  std::function<void(pid_t)> attach;
  std::function<double()> read;
};

Follower follow(CpuEstimateSource& source) {
  return {[&source](pid_t pid) { source.attach(pid); },
          [&source] { return source.read()[0] / source.watts_per_core(); }};
}

Follower follow(ProcessTreeCpu& tree, bool use_children_files) {
  return {[&tree, use_children_files](pid_t pid) { tree.attach(pid, use_children_files); },
          [&tree] { return tree.cpu_seconds(); }};
}

// A child that, when told, forks a grandchild burning ~0.3 s of CPU, waits for it, reports and
// waits to be released. Returns the CPU seconds of child and grandchild (from wait4) and, in
// `followed_s`, what the follower saw between attaching and the grandchild's end.
double run_tree(const Follower& source, bool poll_during_burn, double* followed_s) {
  int start[2];
  int done[2];
  int release[2];
  EXPECT_EQ(pipe(start), 0);
  EXPECT_EQ(pipe(done), 0);
  EXPECT_EQ(pipe(release), 0);
  const pid_t child = fork();
  if (child == 0) {
    take(start[0]);
    const pid_t grandchild = fork();
    if (grandchild == 0) {
      burn(0.3);
      _exit(0);
    }
    waitpid(grandchild, nullptr, 0);
    put(done[1]);
    take(release[0]);
    _exit(0);
  }
  source.attach(child);
  const double e0 = source.read();
  put(start[1]);
  if (poll_during_burn) {
    // Reads while the grandchild runs: it is seen alive, then its time moves to the child.
    fd_set fds;
    for (;;) {
      FD_ZERO(&fds);
      FD_SET(done[0], &fds);
      timeval tv{0, 10000};
      if (select(done[0] + 1, &fds, nullptr, nullptr, &tv) > 0) break;
      (void)source.read();
    }
  }
  take(done[0]);
  const double e1 = source.read();
  put(release[1]);
  int status = 0;
  rusage ru{};
  wait4(child, &status, 0, &ru);
  for (const int fd : {start[0], start[1], done[0], done[1], release[0], release[1]}) close(fd);
  *followed_s = e1 - e0;
  return rusage_s(ru);
}

TEST(CpuEstimate, ItsResolutionIsOneClockTickOfCpuTime) {
  // /proc counts CPU time in clock ticks: one tick of one core is the smallest step.
  CpuEstimateSource source(7.0, 0.0);
  const double tick_s = 1.0 / double(sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(source.domains().at(0).resolution_j, 7.0 * tick_s);
  EXPECT_DOUBLE_EQ(source.domains().at(0).update_interval_s, tick_s);
}

TEST(CpuEstimate, IsWattsPerCoreTimesTheTreesCpuTime) {
  CpuEstimateSource source(7.0, 0.0);
  double estimate_s = 0;
  const double cpu_s = run_tree(follow(source), false, &estimate_s);
  EXPECT_GT(cpu_s, 0.29);
  // /proc reports clock ticks (10 ms); four values are each truncated once.
  EXPECT_NEAR(7.0 * estimate_s, 7.0 * cpu_s, 7.0 * 0.05);
}

// Both ways of finding descendants: children files and a scan of all of /proc.
class ProcessTree : public ::testing::TestWithParam<bool> {};

TEST_P(ProcessTree, CountsAGrandchildThatLivedBetweenReads) {
  ProcessTreeCpu tree;
  double followed_s = 0;
  const double cpu_s = run_tree(follow(tree, GetParam()), false, &followed_s);
  EXPECT_GT(cpu_s, 0.29);
  EXPECT_NEAR(followed_s, cpu_s, 0.05);
}

TEST_P(ProcessTree, CountsAGrandchildSeenAliveOnlyOnce) {
  ProcessTreeCpu tree;
  double followed_s = 0;
  const double cpu_s = run_tree(follow(tree, GetParam()), true, &followed_s);
  EXPECT_GT(cpu_s, 0.29);
  EXPECT_NEAR(followed_s, cpu_s, 0.05);
}

// Between full scans only main threads' children are read; a process forked by another thread
// is found at a later scan and still counts in full, since its stat holds all its CPU time.
TEST_P(ProcessTree, CountsInFullADescendantForkedByAnotherThreadAndFoundLate) {
  ProcessTreeCpu tree;
  const Follower source = follow(tree, GetParam());
  int start[2];
  int done[2];
  int release[2];
  ASSERT_EQ(pipe(start), 0);
  ASSERT_EQ(pipe(done), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();
  if (child == 0) {
    std::thread forker([&] {
      take(start[0]);
      const pid_t grandchild = fork();
      if (grandchild == 0) {
        const double used = burn(0.3);
        (void)!write(done[1], &used, sizeof used);
        take(release[0]);
        _exit(0);
      }
      waitpid(grandchild, nullptr, 0);
    });
    forker.join();
    _exit(0);
  }
  source.attach(child);
  const double e0 = source.read();
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    (void)source.read();  // the new thread is seen; no descendants yet
  }
  put(start[1]);
  double used = 0;
  for (;;) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(done[0], &fds);
    timeval tv{0, 10000};
    if (select(done[0] + 1, &fds, nullptr, nullptr, &tv) > 0) break;
    (void)source.read();
  }
  ASSERT_EQ(read(done[0], &used, sizeof used), static_cast<ssize_t>(sizeof used));
  for (int i = 0; i < 8; ++i) (void)source.read();  // at least one full scan
  const double e1 = source.read();  // the grandchild is alive: its time comes from its own stat
  put(release[1]);
  waitpid(child, nullptr, 0);
  for (const int fd : {start[0], start[1], done[0], done[1], release[0], release[1]}) close(fd);
  EXPECT_GT(used, 0.29);
  EXPECT_NEAR(e1 - e0, used, 0.05);
}

INSTANTIATE_TEST_SUITE_P(Discovery, ProcessTree, ::testing::Values(true, false),
                         [](const auto& info) {
                           return info.param ? "ChildrenFiles" : "ProcScan";
                         });

TEST(CpuEstimate, KeepsTheTimeOfAnOrphanedDescendant) {
  // The child exits at once; its child (the grandchild) is re-parented away from the tree but
  // was seen while the child lived, so it stays followed.
  CpuEstimateSource source(10.0, 0.0);
  int forked[2];
  int go[2];
  int result[2];
  ASSERT_EQ(pipe(forked), 0);
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(result), 0);
  const pid_t child = fork();
  if (child == 0) {
    if (fork() == 0) {
      take(go[0]);
      const double used = burn(0.3);
      (void)!write(result[1], &used, sizeof used);
      _exit(0);
    }
    put(forked[1]);
    pause();  // killed below, once the grandchild has been seen
    _exit(0);
  }
  source.attach(child);
  take(forked[0]);
  const double e0 = source.read()[0];  // sees the grandchild under the child
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  put(go[1]);
  double used = 0;
  for (;;) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(result[0], &fds);
    timeval tv{0, 5000};
    if (select(result[0] + 1, &fds, nullptr, nullptr, &tv) > 0) break;
    (void)source.read();
  }
  ASSERT_EQ(read(result[0], &used, sizeof used), static_cast<ssize_t>(sizeof used));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double e1 = source.read()[0];
  for (const int fd : {forked[0], forked[1], go[0], go[1], result[0], result[1]}) close(fd);
  // Up to one polling interval (5 ms) plus tick truncation may be lost at the end.
  EXPECT_NEAR(e1 - e0, 10.0 * used, 10.0 * 0.05);
}

TEST(CpuEstimate, LeavesOutCpuTimeUsedBeforeAttach) {
  // A descendant that burned CPU before attach() and idles afterwards adds nothing, though the
  // tracker finds it only in its first scan.
  CpuEstimateSource source(10.0, 0.0);
  int burned[2];
  int release[2];
  ASSERT_EQ(pipe(burned), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();
  if (child == 0) {
    const pid_t grandchild = fork();
    if (grandchild == 0) {
      burn(0.2);
      put(burned[1]);
      take(release[0]);
      _exit(0);
    }
    waitpid(grandchild, nullptr, 0);
    _exit(0);
  }
  take(burned[0]);
  source.attach(child);
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    (void)source.read();
  }
  const double before_exit = source.read()[0];
  put(release[1]);
  waitpid(child, nullptr, 0);
  const double after_exit = source.read()[0];
  for (const int fd : {burned[0], burned[1], release[0], release[1]}) close(fd);
  EXPECT_NEAR(before_exit, 0.0, 10.0 * 0.02);
  EXPECT_NEAR(after_exit, 0.0, 10.0 * 0.02);
}

TEST(CpuEstimate, BeforeAttachOnlyTheIdleTermAccrues) {
  CpuEstimateSource source(10.0, 3.0);
  const auto t0 = std::chrono::steady_clock::now();
  const double e0 = source.read()[0];
  burn(process_cpu_s() + 0.1);  // our own CPU time is not the source's business
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const double e1 = source.read()[0];
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NEAR(e1 - e0, 3.0 * dt, 3.0 * 0.01);
}

TEST(CpuEstimate, DomainParametersAndDefaults) {
  CpuEstimateSource defaults;
  EXPECT_EQ(defaults.watts_per_core(), kDefaultWattsPerCore);
  EXPECT_EQ(defaults.idle_watts(), kDefaultIdleWatts);
  EXPECT_EQ(defaults.parameters(),
            "10 W per busy core x CPU seconds of the measured process tree + 0 W idle x elapsed "
            "seconds");
  ASSERT_EQ(defaults.domains().size(), 1U);
  const auto& d = defaults.domains()[0];
  EXPECT_EQ(d.id, "cpu_package:0");
  EXPECT_EQ(d.quality, Quality::kEstimated);
  EXPECT_EQ(d.kind, DomainKind::kCounter);
  EXPECT_EQ(defaults.name(), "cpu-estimate");
  CpuEstimateSource custom(4.5, 12.0);
  EXPECT_THAT(custom.parameters(), HasSubstr("4.5 W per busy core"));
  EXPECT_THAT(custom.parameters(), HasSubstr("12 W idle"));
  // Zero watts per core is a valid model (idle power only); only a negative value is the default.
  CpuEstimateSource zero(0, 0);
  EXPECT_EQ(zero.watts_per_core(), 0);
  EXPECT_EQ(zero.idle_watts(), 0);
  EXPECT_EQ(zero.domains()[0].max_power_w, 0);
  CpuEstimateSource negative(-1, -1);
  EXPECT_EQ(negative.watts_per_core(), kDefaultWattsPerCore);
}

TEST(CpuEstimate, AttachToMissingProcessThrows) {
  CpuEstimateSource source;
  EXPECT_THROW(source.attach(999999999), Error);
}

}  // namespace
}  // namespace greenbench::energy
