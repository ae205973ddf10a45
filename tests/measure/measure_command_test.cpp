// measure_command with fake sources: child control, exit statuses, timeouts, signals, markers.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fake_source.hpp"
#include "greenbench/measure.hpp"
#include "measure/run.hpp"

namespace greenbench::measure {
namespace {

using greenbench::testing::counter;
using greenbench::testing::FakeSource;
using greenbench::testing::gauge;
using ::testing::HasSubstr;

// Sources running at constant power: 20 W package and 5 W DRAM counters.
std::vector<std::unique_ptr<EnergySource>> steady_sources(FakeSource** out = nullptr,
                                                          std::vector<DomainInfo> domains = {},
                                                          std::vector<double> watts = {}) {
  if (domains.empty()) {
    domains = {counter("cpu_package", 0), counter("dram", 0)};
    watts = {20, 5};
  }
  auto s = std::make_unique<FakeSource>("fake", std::move(domains));
  s->run_at(std::move(watts));
  if (out != nullptr) *out = s.get();
  std::vector<std::unique_ptr<EnergySource>> v;
  v.push_back(std::move(s));
  return v;
}

RunRecord run(const std::vector<std::string>& argv, MeasureOptions options = {}) {
  return measure_with_sources(argv, options, steady_sources());
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/gb-measure-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(MeasureCommand, ExitZero) {
  const auto r = run({"true"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_FALSE(r.timed_out);
  ASSERT_EQ(r.phases.size(), 1u);
  EXPECT_EQ(r.phases[0].name, "run");
  EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
  EXPECT_EQ(r.command, (std::vector<std::string>{"true"}));
}

TEST(MeasureCommand, ExitStatusIsKept) {
  const auto r = run({"sh", "-c", "exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.term_signal, 0);
}

TEST(MeasureCommand, KilledBySignalGives128PlusN) {
  const auto r = run({"sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_THAT(joined(r.warnings), HasSubstr("killed by signal 9 (SIGKILL"));
}

TEST(MeasureCommand, MissingProgramGives127AndOneWarning) {
  const auto r = run({"greenbench-no-such-program", "--flag"});
  EXPECT_EQ(r.exit_code, 127);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "cannot start 'greenbench-no-such-program': No such file or directory");
  const auto r2 = run({"/nonexistent/dir/prog"});
  EXPECT_EQ(r2.exit_code, 127);
}

TEST(MeasureCommand, TimeoutSendsSigterm) {
  MeasureOptions o;
  o.timeout_s = 0.3;
  const auto start = std::chrono::steady_clock::now();
  const auto r = run({"sleep", "30"}, o);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGTERM);
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_LT(took, 3.0);
  EXPECT_NEAR(r.duration_s, 0.3, 0.2);
  EXPECT_THAT(joined(r.warnings), HasSubstr("timed out after 0.3 s"));
}

TEST(MeasureCommand, TimeoutKillsTheWholeGroupWithSigkillWhenTermIsIgnored) {
  MeasureOptions o;
  o.timeout_s = 0.2;
  // The shell ignores TERM and so does its sleep; only SIGKILL to the group ends them.
  const auto r = run({"sh", "-c", "trap '' TERM; sleep 30; exit 0"}, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_NEAR(r.duration_s, 0.2 + kKillGraceS, 0.5);
  EXPECT_THAT(joined(r.warnings), HasSubstr("sent SIGKILL"));
}

TEST(MeasureCommand, MarkersThroughTheInheritedDescriptor) {
  MeasureOptions o;
  std::vector<std::string> seen;
  o.on_marker = [&seen](const std::string& line) { seen.push_back(line); };
  const auto r = run({"sh", "-c",
                      "echo 'begin work' >&$GREENBENCH_MARKER_FD; sleep 0.3; "
                      "echo 'metric answer 42 units' >&$GREENBENCH_MARKER_FD; "
                      "echo 'end work' >&$GREENBENCH_MARKER_FD; sleep 0.1"},
                     o);
  ASSERT_EQ(r.exit_code, 0) << joined(r.warnings);
  ASSERT_EQ(r.phases.size(), 2u) << joined(r.warnings);
  const auto& work = r.phases[1];
  EXPECT_EQ(work.name, "work");
  EXPECT_NEAR(work.duration_s, 0.3, 0.1);
  // The fake counters run at exactly 20 W and 5 W: energy / duration must give those back.
  EXPECT_NEAR(work.energy_j.at("cpu_package") / work.duration_s, 20, 0.2);
  EXPECT_NEAR(work.energy_j.at("total") / work.duration_s, 25, 0.25);
  EXPECT_NEAR(r.phases[0].energy_j.at("total") / r.phases[0].duration_s, 25, 0.25);
  EXPECT_EQ(work.quality.at("total"), "measured");
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].phase, "work");
  EXPECT_EQ(r.metrics[0].unit, "units");
  EXPECT_EQ(seen.size(), 3u);
}

TEST(MeasureCommand, MarkerFdEnvironmentAndExtraEnv) {
  MeasureOptions o;
  o.extra_env = {"GB_TEST_VALUE=7"};
  const auto r =
      run({"sh", "-c", "[ -n \"$GREENBENCH_MARKER_FD\" ] || exit 1; exit $GB_TEST_VALUE"}, o);
  EXPECT_EQ(r.exit_code, 7);
}

TEST(MeasureCommand, OnlyStdioAndTheMarkerPipeAreInherited) {
  const int leaked = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 3);
  const std::string check = "[ -e /proc/self/fd/" + std::to_string(leaked) + " ] && exit 1; " +
                            "[ -e /proc/self/fd/$GREENBENCH_MARKER_FD ] || exit 2; exit 0";
  const auto r = run({"sh", "-c", check});
  close(leaked);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(MeasureCommand, ChildRunsInItsOwnProcessGroup) {
  TempDir dir;
  MeasureOptions o;
  o.stdout_path = dir.path() / "out.txt";
  const auto r = run({"sh", "-c", "ps -o pgid= -p $$; echo $$"}, o);
  ASSERT_EQ(r.exit_code, 0);
  std::istringstream in(slurp(dir.path() / "out.txt"));
  long pgid = 0, pid = 0;
  in >> pgid >> pid;
  EXPECT_EQ(pgid, pid);
  EXPECT_NE(pgid, static_cast<long>(getpgrp()));
}

TEST(MeasureCommand, OutputRedirectionAndWorkingDirectory) {
  TempDir dir;
  MeasureOptions o;
  o.stdout_path = dir.path() / "out.txt";
  o.stderr_path = dir.path() / "err.txt";
  o.working_dir = dir.path();
  const auto r = run({"sh", "-c", "pwd; echo oops >&2"}, o);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(slurp(dir.path() / "out.txt"), dir.path().string() + "\n");
  EXPECT_EQ(slurp(dir.path() / "err.txt"), "oops\n");
  o.working_dir = dir.path() / "missing";
  const auto r2 = run({"true"}, o);
  EXPECT_EQ(r2.exit_code, 127);
  EXPECT_THAT(joined(r2.warnings), HasSubstr("cannot change to directory"));
}

TEST(MeasureCommand, CommandThatCannotStartStillHasTheRunPhase) {
  const auto r = run({"greenbench-no-such-program"});
  EXPECT_EQ(r.exit_code, 127);
  ASSERT_EQ(r.phases.size(), 1U);
  EXPECT_EQ(r.phases[0].name, "run");
  EXPECT_EQ(r.phases[0].duration_s, 0);
  EXPECT_TRUE(r.phases[0].energy_j.empty());
}

// The CPU estimate must see the command's CPU time up to its exit: the last reading is taken
// while the exited command is still a zombie with its final times. The reference is the CPU
// time the kernel reports for our reaped children (getrusage), independent of /proc sampling.
TEST(MeasureCommand, CpuEstimateCountsTheCommandsCpuTimeToTheEnd) {
  constexpr double kWattsPerCore = 10;
  for (const int interval_ms : {50, 10000}) {  // 10 s: no reading between start and exit
    MeasureOptions o;
    o.sources.only = {"cpu-estimate"};
    o.sources.cpu_watts_per_core = kWattsPerCore;
    o.sources.cpu_idle_watts = 0;
    o.interval_ms = interval_ms;
    struct rusage before {};
    struct rusage after {};
    getrusage(RUSAGE_CHILDREN, &before);
    const auto r =
        measure_command({std::string(GREENBENCH_BIN_DIR) + "/busy_loop", "500000000"}, o);
    getrusage(RUSAGE_CHILDREN, &after);
    ASSERT_EQ(r.exit_code, 0);
    auto seconds = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
    };
    const double cpu_s = seconds(after.ru_utime) - seconds(before.ru_utime) +
                         seconds(after.ru_stime) - seconds(before.ru_stime);
    ASSERT_GT(cpu_s, 0.2) << "the busy loop was too short to compare";
    ASSERT_FALSE(r.phases.empty());
    const auto it = r.phases[0].energy_j.find("cpu_package");
    ASSERT_NE(it, r.phases[0].energy_j.end());
    EXPECT_NEAR(it->second, kWattsPerCore * cpu_s, 0.03 * kWattsPerCore * cpu_s)
        << "interval " << interval_ms << " ms, CPU " << cpu_s << " s";
  }
}

TEST(MeasureCommand, SourcesFollowTheChild) {
  FakeSource* fake = nullptr;
  TempDir dir;
  MeasureOptions o;
  o.stdout_path = dir.path() / "pid.txt";
  auto sources = steady_sources(&fake);
  const auto attached = fake->attached_;  // the source itself is gone when the run returns
  const auto r = measure_with_sources({"sh", "-c", "echo $$"}, o, std::move(sources));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::to_string(attached->load()) + "\n", slurp(dir.path() / "pid.txt"));
}

// (Under ThreadSanitizer this one fails: it defers signal handlers while a thread sits in a
// restarted waitpid.)
TEST(MeasureCommand, SigtermToUsIsForwardedToTheCommand) {
  std::thread killer([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(getpid(), SIGTERM);
  });
  const auto r = run({"sleep", "10"});
  killer.join();
  EXPECT_EQ(r.exit_code, 128 + SIGTERM);
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.duration_s, 5);
}

TEST(MeasureCommand, FailingSourceIsDroppedAndTheRunGoesOn) {
  FakeSource* fake = nullptr;
  MeasureOptions o;
  o.interval_ms = 20;
  auto sources = steady_sources(&fake);
  fake->fail_after(4);
  const auto r = measure_with_sources({"sleep", "0.3"}, o, std::move(sources));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(joined(r.warnings), HasSubstr("source 'fake' failed"));
  // The run spans the failure: its energy is not known, so it has none (not a frozen value).
  EXPECT_EQ(r.phases[0].energy_j.count("total"), 0u);
  EXPECT_EQ(r.phases[0].quality.at("total"), "failed");
}

TEST(MeasureCommand, TraceHasOneSamplePerInterval) {
  MeasureOptions o;
  o.interval_ms = 20;
  const auto r = run({"sleep", "0.5"}, o);
  EXPECT_EQ(r.trace_domains,
            (std::vector<std::string>{"total", "cpu_package", "dram", "cpu_package:0", "dram:0"}));
  EXPECT_NEAR(static_cast<double>(r.trace.size()), 25, 4);
  for (std::size_t i = 1; i < r.trace.size(); ++i) {
    EXPECT_NEAR(r.trace[i].power_w[0], 25, 1) << "sample " << i;
    EXPECT_GT(r.trace[i].t_s, r.trace[i - 1].t_s);
  }
  o.keep_trace = false;
  EXPECT_TRUE(run({"true"}, o).trace.empty());
}

TEST(MeasureCommand, IntervalIsShortenedWhenACounterCouldWrapTwice) {
  MeasureOptions o;
  o.interval_ms = 200;
  FakeSource* fake = nullptr;
  // A 10 J counter at up to 100 W could wrap every 100 ms: read every 50 ms instead of 200 ms.
  // At the actual 60 W it wraps every 167 ms, three or four times in this run, each counted.
  auto sources =
      steady_sources(&fake, {counter("cpu_package", 0, 10.0, Quality::kMeasured, 100)}, {60});
  const auto r = measure_with_sources({"sleep", "0.6"}, o, std::move(sources));
  EXPECT_THAT(joined(r.warnings), HasSubstr("sampling every 50.0 ms instead of 200 ms"));
  EXPECT_GE(r.trace.size(), 9u);
  EXPECT_NEAR(r.phases[0].energy_j.at("cpu_package") / r.phases[0].duration_s, 60, 1.5);
}

TEST(MeasureCommand, IdleBaselineGivesEnergyAboveIdle) {
  MeasureOptions o;
  o.idle_baseline_s = 0.3;
  auto sources = steady_sources(nullptr, {gauge("gpu", 0), counter("cpu_package", 0)}, {50, 10});
  const auto r = measure_with_sources({"sleep", "0.2"}, o, std::move(sources));
  EXPECT_NEAR(r.idle_power_w.at("gpu"), 50, 1e-6);
  EXPECT_NEAR(r.idle_power_w.at("cpu_package"), 10, 0.2);
  EXPECT_NEAR(r.idle_power_w.at("total"), 60, 0.2);
  const auto& run_phase = r.phases[0];
  // Constant power: the run uses exactly idle power, so nothing above it.
  EXPECT_NEAR(run_phase.energy_above_idle_j.at("gpu"), 0, 1e-6);
  EXPECT_NEAR(run_phase.energy_above_idle_j.at("total"), 0, 0.1);
  EXPECT_NEAR(run_phase.energy_j.at("gpu"), 50 * run_phase.duration_s, 1e-6);
}

// --- Every process a run starts ends with the run ---------------------------------------------

const std::string kLeaveChildren = std::string(GREENBENCH_BIN_DIR) + "/leave_children";

std::vector<pid_t> pids_in(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<pid_t> out;
  for (pid_t pid = 0; in >> pid;) out.push_back(pid);
  return out;
}

// Alive = exists and is not a zombie (a zombie is dead; only its parent has yet to reap it).
bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) return false;
  const auto paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

// Ends what a failing test left behind, so it cannot disturb the tests after it.
void kill_all(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (alive(pid)) kill(pid, SIGKILL);
  }
}

TEST(MeasureCommand, BackgroundAndDoubleForkedLeftoversEndWithTheCommand) {
  TempDir dir;
  const auto pidfile = dir.path() / "pids";
  const auto r = run({kLeaveChildren, pidfile.string(), "background", "double-fork"});
  const auto pids = pids_in(pidfile);
  ASSERT_EQ(pids.size(), 2u) << joined(r.warnings);
  EXPECT_EQ(r.exit_code, 0);
  for (pid_t pid : pids) EXPECT_FALSE(alive(pid)) << "pid " << pid << " outlived the run";
  EXPECT_THAT(joined(r.warnings),
              HasSubstr("ended 2 processes that the command left running (SIGTERM)"));
  kill_all(pids);
}

TEST(MeasureCommand, LeftoversThatIgnoreSigtermGetSigkillAfterTheGracePeriod) {
  TempDir dir;
  const auto pidfile = dir.path() / "pids";
  MeasureOptions o;
  o.kill_grace_s = 0.3;
  const auto start = std::chrono::steady_clock::now();
  const auto r = run({kLeaveChildren, pidfile.string(), "ignore-term", "orphan-group"}, o);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto pids = pids_in(pidfile);
  ASSERT_EQ(pids.size(), 2u) << joined(r.warnings);
  for (pid_t pid : pids) EXPECT_FALSE(alive(pid)) << "pid " << pid << " outlived the run";
  EXPECT_THAT(joined(r.warnings), HasSubstr("ended 2 processes"));
  EXPECT_THAT(joined(r.warnings), HasSubstr("then SIGKILL after 0.3 s"));
  EXPECT_LT(took, 4.0);
  kill_all(pids);
}

TEST(MeasureCommand, TimeoutAlsoKillsADescendantThatIgnoresSigterm) {
  // The main process dies of the timeout's SIGTERM; its child ignores it and must still get the
  // SIGKILL after the grace period (it used to be left running: the sampler stopped first).
  TempDir dir;
  const auto pidfile = dir.path() / "pids";
  MeasureOptions o;
  o.timeout_s = 0.5;
  o.kill_grace_s = 0.5;
  const auto r = run({kLeaveChildren, pidfile.string(), "--hold", "ignore-term"}, o);
  const auto pids = pids_in(pidfile);
  ASSERT_EQ(pids.size(), 2u) << joined(r.warnings);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGTERM);
  for (pid_t pid : pids) EXPECT_FALSE(alive(pid)) << "pid " << pid << " outlived the run";
  EXPECT_THAT(joined(r.warnings), HasSubstr("ended 1 process that the command left running"));
  kill_all(pids);
}

TEST(MeasureCommand, OurOwnOtherChildrenAreLeftAlone) {
  // A child we had before the run is not part of it, although it is our child too.
  const pid_t mine = fork();
  ASSERT_GE(mine, 0);
  if (mine == 0) {
    for (;;) pause();
  }
  const auto r = run({"true"});
  EXPECT_TRUE(alive(mine));
  kill(mine, SIGKILL);
  waitpid(mine, nullptr, 0);
  EXPECT_THAT(joined(r.warnings), ::testing::Not(HasSubstr("ended")));
}

TEST(MeasureCommand, StopEndsACommandThatIgnoresSigtermWithinASecond) {
  std::atomic<bool> stop{false};
  MeasureOptions o;
  o.stop = &stop;
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  // The ignored SIGTERM is inherited by the sleeps: only SIGKILL ends this group.
  const auto r = run({"sh", "-c", "trap '' TERM; while :; do sleep 1; done"}, o);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stopper.join();
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(took, 0.3 + kStopGraceS + 1.0);
  EXPECT_THAT(joined(r.warnings), HasSubstr("stopped on request"));
}

TEST(MeasureCommand, StopEndsTheIdleBaselineEarly) {
  std::atomic<bool> stop{false};
  MeasureOptions o;
  o.stop = &stop;
  o.idle_baseline_s = 60;
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = run({"true"}, o);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stopper.join();
  EXPECT_LT(took, 2.0);
}

TEST(MeasureCommand, OnlyAnEstimateMeansNoIdleBaselineSaidOnce) {
  MeasureOptions o;
  o.idle_baseline_s = 30;
  auto s = std::make_unique<FakeSource>(
      "cpu-estimate", std::vector<DomainInfo>{counter("cpu_package", 0, 0, Quality::kEstimated)});
  s->run_at({10});
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::move(s));
  const auto start = std::chrono::steady_clock::now();
  const auto r = measure_with_sources({"true"}, o, std::move(sources));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 5.0);  // not the 30 s of the baseline
  EXPECT_TRUE(r.idle_power_w.empty());
  const std::string w = joined(r.warnings);
  EXPECT_THAT(w, HasSubstr("no idle power: cpu-estimate gives only an estimate"));
  EXPECT_EQ(w.find("no idle power:"), w.rfind("no idle power:"));
}

TEST(MeasureCommand, EveryProcessOfTheRunCarriesItsRunId) {
  MeasureOptions o;
  o.run_id = "gb-test-run-id";
  const auto r = run({"sh", "-c", "[ \"$GREENBENCH_RUN_ID\" = gb-test-run-id ]"}, o);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(KillLeftoverProcesses, EndsProcessesCarryingTheRunId) {
  // What a resumed study does about processes of a greenbench killed together with its watchdog.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    setenv("GREENBENCH_RUN_ID", "gb-leftover-test", 1);
    execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(kill_leftover_processes("gb-leftover-other"), 0);
  EXPECT_TRUE(alive(child));
  EXPECT_EQ(kill_leftover_processes("gb-leftover-test"), 1);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(MeasureIdlePower, FromOptionsSources) {
  // With nothing readable (fake roots), only the estimate is left; it must not throw.
  MeasureOptions o;
  o.sources.powercap_root = "/nonexistent";
  o.sources.perf_root = "/nonexistent";
  o.sources.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
  const auto idle = measure_idle_power(o, 0.1);
  for (const auto& [key, watts] : idle) EXPECT_GE(watts, 0) << key;
}

}  // namespace
}  // namespace greenbench::measure
