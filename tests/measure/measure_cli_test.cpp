// End to end: build/bin/greenbench measure on a workload that advances a fake powercap counter
// tree and writes markers; the JSON must give each phase the joules the workload added.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// Starts argv (argv[0] a path) as a child of the test, without waiting; -1 if fork fails.
pid_t spawn(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "greenbench-measure-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CliResult {
  int rc = -1;
  std::string err;
};

class MeasureCli : public ::testing::Test {
 protected:
  void SetUp() override {
    // One package (wraps far away: 9e12 uJ) with a DRAM sub-zone, counters at 13 digits so the
    // workload can rewrite them in place with one write of the same length.
    const fs::path pkg = root() / "intel-rapl:0";
    write_file(pkg / "name", "package-0\n");
    write_file(pkg / "energy_uj", "1000000000000\n");
    write_file(pkg / "max_energy_range_uj", "9000000000000\n");
    const fs::path dram = pkg / "intel-rapl:0:2";
    write_file(dram / "name", "dram\n");
    write_file(dram / "energy_uj", "2000000000000\n");
    write_file(dram / "max_energy_range_uj", "9000000000000\n");
    fs::create_directory_symlink(dram, root() / "intel-rapl:0:2");
  }

  fs::path root() const { return dir_.path() / "powercap"; }
  std::string counters() const {
    return (root() / "intel-rapl:0" / "energy_uj").string() + "," +
           (root() / "intel-rapl:0" / "intel-rapl:0:2" / "energy_uj").string();
  }

  // Runs greenbench measure with the fake tree and the given options and command.
  CliResult measure(const std::vector<std::string>& options, const std::vector<std::string>& cmd) {
    std::string line = quote(std::string(GREENBENCH_BIN_DIR) + "/greenbench") + " measure" +
                       " --powercap-root " + quote(root().string()) +
                       " --perf-root /nonexistent --nvml-lib /nonexistent/libnvidia-ml.so.1";
    for (const auto& o : options) line += " " + quote(o);
    if (!cmd.empty()) line += " --";
    for (const auto& c : cmd) line += " " + quote(c);
    const fs::path err = dir_.path() / "stderr.txt";
    line += " 2>" + quote(err.string()) + " >" + quote((dir_.path() / "stdout.txt").string());
    const int status = std::system(line.c_str());
    CliResult r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = slurp(err);
    return r;
  }

  std::vector<std::string> workload(const std::vector<std::string>& steps) const {
    std::vector<std::string> v = {std::string(GREENBENCH_BIN_DIR) + "/fake_rapl_workload",
                                  counters()};
    v.insert(v.end(), steps.begin(), steps.end());
    return v;
  }

  fs::path path(const std::string& name) const { return dir_.path() / name; }

  TempDir dir_;
};

const json& phase(const json& record, const std::string& name) {
  for (const auto& p : record["phases"]) {
    if (p["name"] == name) return p;
  }
  throw std::runtime_error("no phase " + name);
}

double joules(const json& p, const std::string& domain) {
  return p["energy_j"][domain].get<double>();
}

TEST_F(MeasureCli, JoulesPerPhaseMatchTheCounterFile) {
  // The harness reads the counters when a marker arrives; the workload waits after each marker
  // before it moves the counters again, so that even on a loaded machine the reading falls
  // between the two. Ticks every 5 ms read in between as well and must not change the result.
  const auto r =
      measure({"--json", path("run.json").string(), "--interval-ms", "5"},
              workload({"add:1.5,0.5", "begin:setup", "sleep:100", "add:2,1", "end:setup",
                        "begin:train", "sleep:100", "add:10,3", "sleep:50", "add:20,6",
                        "metric:loss:0.5", "end:train", "sleep:100", "add:0.25,0"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(slurp(path("run.json")));
  ASSERT_EQ(j["sources"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["sources"][0]["name"], "rapl-powercap");
  const auto& run = phase(j, "run");
  const auto& setup = phase(j, "setup");
  const auto& train = phase(j, "train");
  EXPECT_NEAR(joules(setup, "cpu_package"), 2, 0.02);
  EXPECT_NEAR(joules(setup, "dram"), 1, 0.01);
  EXPECT_NEAR(joules(setup, "total"), 3, 0.03);
  EXPECT_NEAR(joules(train, "cpu_package"), 30, 0.3);
  EXPECT_NEAR(joules(train, "cpu_package:0"), 30, 0.3);
  EXPECT_NEAR(joules(train, "dram"), 9, 0.09);
  EXPECT_NEAR(joules(train, "total"), 39, 0.39);
  EXPECT_NEAR(joules(run, "cpu_package"), 33.75, 0.3375);
  EXPECT_NEAR(joules(run, "dram"), 10.5, 0.105);
  EXPECT_NEAR(joules(run, "total"), 44.25, 0.4425);
  EXPECT_EQ(train["quality"]["total"], "measured");
  EXPECT_GE(train["duration_s"].get<double>(), 0.14);
  EXPECT_EQ(j["metrics"][0]["name"], "loss");
  EXPECT_EQ(j["metrics"][0]["phase"], "train");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_TRUE(j["warnings"].empty()) << j["warnings"].dump();
  // The table on stderr has the phases and the measured values.
  EXPECT_THAT(r.err, HasSubstr("exited with status 0"));
  EXPECT_THAT(r.err, HasSubstr("39.000 J"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("(est.)")));
}

TEST_F(MeasureCli, StepMarkersGiveTheJoulesOfEachStep) {
  // Three steps of 3, 5 and 8 J (cpu_package + dram), then 1.5 J after the last step: the steps
  // add up to the phase's energy less what came after the last of them.
  const auto r = measure(
      {"--json", path("run.json").string(), "--interval-ms", "5"},
      workload({"begin:train", "sleep:100", "add:2,1", "step:0", "sleep:100", "add:4,1", "step:1",
                "sleep:100", "add:6,2", "step:2", "sleep:100", "add:1,0.5", "end:train"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(slurp(path("run.json")));
  ASSERT_EQ(j["steps"].size(), 3u) << j.dump(2);
  const std::vector<double> total = {3, 5, 8};
  const std::vector<double> dram = {1, 1, 2};
  double sum = 0;
  double previous_t = phase(j, "train")["start_s"].get<double>();
  for (std::size_t i = 0; i < 3; ++i) {
    const json& s = j["steps"][i];
    EXPECT_EQ(s["phase"], "train");
    EXPECT_EQ(s["index"], static_cast<int>(i));
    EXPECT_NEAR(joules(s, "total"), total[i], 0.01 * total[i]) << i;
    EXPECT_NEAR(joules(s, "dram"), dram[i], 0.01 * dram[i]) << i;
    EXPECT_EQ(s["quality"]["total"], "measured");
    EXPECT_GE(s["duration_s"].get<double>(), 0.05) << i;  // 100 ms of sleep; lines may be read late
    EXPECT_NEAR(s["t_s"].get<double>() - s["duration_s"].get<double>(), previous_t, 1e-9) << i;
    EXPECT_GT(s["energy_resolution_j"]["total"].get<double>(), 0);
    previous_t = s["t_s"].get<double>();
    sum += joules(s, "total");
  }
  EXPECT_NEAR(sum, joules(phase(j, "train"), "total") - 1.5, 0.05);
  EXPECT_TRUE(j["warnings"].empty()) << j["warnings"].dump();
  // About 1 ms (RAPL's update interval) x 50 W: the resolution of the median step.
  EXPECT_THAT(r.err, HasSubstr("steps in train: 3, total: first 3.000 J, median 5.000 J "
                               "(resolution 0.0"));
  EXPECT_THAT(r.err, HasSubstr(" J), last/first tenth 2.667\n"));
}

TEST_F(MeasureCli, CounterWrapThroughThePowercapBackend) {
  // Package counter 5 J below its range of 1e6 J; the workload sets it past the wrap.
  write_file(root() / "intel-rapl:0" / "max_energy_range_uj", "1000000000000\n");
  write_file(root() / "intel-rapl:0" / "energy_uj", "0999995000000\n");
  const auto r = measure(
      {"--json", path("run.json").string(), "--interval-ms", "5"},
      workload({"begin:a", "sleep:100", "set:0000001000000", "sleep:30", "add:2", "end:a"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(slurp(path("run.json")));
  EXPECT_NEAR(joules(phase(j, "a"), "cpu_package"), 5 + 1 + 2, 0.08);
  EXPECT_NEAR(joules(phase(j, "run"), "cpu_package"), 8, 0.08);
}

TEST_F(MeasureCli, WithoutMarkersTheWholeRunIsOnePhase) {
  const auto r = measure({"--json", path("run.json").string()}, workload({"add:7,1", "sleep:30"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(slurp(path("run.json")));
  ASSERT_EQ(j["phases"].size(), 1u);
  EXPECT_NEAR(joules(j["phases"][0], "total"), 8, 0.08);
}

TEST_F(MeasureCli, PhaseLeftOpenIsClosedAtExitAndMalformedLinesAreWarnings) {
  const auto r = measure({"--json", path("run.json").string()},
                         workload({"begin:open", "sleep:100", "add:4,0", "raw:begin Bad",
                                   "raw:hello world", "exit:3"}));
  EXPECT_EQ(r.rc, 3);
  const json j = json::parse(slurp(path("run.json")));
  const auto& open = phase(j, "open");
  EXPECT_TRUE(open["closed_at_exit"].get<bool>());
  EXPECT_NEAR(joules(open, "cpu_package"), 4, 0.04);
  const std::string warnings = j["warnings"].dump();
  EXPECT_THAT(warnings, HasSubstr("bad phase name 'Bad'"));
  EXPECT_THAT(warnings, HasSubstr("unknown verb 'hello'"));
  EXPECT_THAT(warnings, HasSubstr("left open"));
  EXPECT_EQ(j["exit_code"], 3);
}

TEST_F(MeasureCli, IdleBaselineAddsEnergyAboveIdle) {
  const auto r = measure({"--json", path("run.json").string(), "--idle-baseline", "0.1"},
                         workload({"add:5,0"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(slurp(path("run.json")));
  // The fake counters do not move while idle: idle power 0, energy above idle = energy.
  EXPECT_DOUBLE_EQ(j["idle_power_w"]["total"].get<double>(), 0);
  EXPECT_NEAR(j["phases"][0]["energy_above_idle_j"]["total"].get<double>(), 5, 0.05);
}

TEST_F(MeasureCli, TraceIsChromeTraceEventJson) {
  const auto r = measure({"--trace", path("run.trace.json").string(), "--interval-ms", "10"},
                         workload({"begin:a", "add:1,1", "sleep:100", "end:a"}));
  ASSERT_EQ(r.rc, 0) << r.err;
  const json t = json::parse(slurp(path("run.trace.json")));
  ASSERT_TRUE(t["traceEvents"].is_array());
  int complete = 0, counters = 0, meta = 0;
  for (const auto& e : t["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "X") {
      ++complete;
      EXPECT_TRUE(e.contains("dur"));
      EXPECT_TRUE(e["ts"].is_number());
    } else if (ph == "C") {
      ++counters;
      EXPECT_TRUE(e["args"]["W"].is_number());
    } else if (ph == "M") {
      ++meta;
    }
    EXPECT_EQ(e["pid"], 1);
  }
  EXPECT_EQ(complete, 2);
  EXPECT_GE(counters, 5);
  EXPECT_EQ(meta, 2);
}

TEST_F(MeasureCli, ExitStatusOfTheCommand) {
  EXPECT_EQ(measure({"--quiet"}, {"sh", "-c", "exit 3"}).rc, 3);
  EXPECT_EQ(measure({"--quiet"}, {"sh", "-c", "kill -TERM $$"}).rc, 128 + 15);
  const auto r = measure({}, {"sh", "-c", "kill -INT $$"});
  EXPECT_EQ(r.rc, 128 + 2);
  EXPECT_THAT(r.err, HasSubstr("killed by signal 2"));
}

TEST_F(MeasureCli, CommandThatCannotStart) {
  const auto r = measure({"--json", path("run.json").string()}, {"greenbench-no-such-program"});
  EXPECT_EQ(r.rc, 127);
  EXPECT_EQ(r.err,
            "greenbench measure: cannot start 'greenbench-no-such-program': No such file or "
            "directory\n");
  // The whole process is always the phase 'run', here of zero length.
  const json j = json::parse(slurp(path("run.json")));
  ASSERT_EQ(j["phases"].size(), 1U);
  EXPECT_EQ(j["phases"][0]["name"], "run");
  EXPECT_EQ(j["phases"][0]["duration_s"].get<double>(), 0.0);
  EXPECT_TRUE(j["phases"][0]["energy_j"].empty());
}

TEST_F(MeasureCli, BytesThatAreNotUtf8DoNotLoseTheRecord) {
  const auto r = measure({"--json", path("run.json").string(), "--trace", path("t.json").string()},
                         {"sh", "-c",
                          "printf 'info framework \\377\\376 bad\\n' >&$GREENBENCH_MARKER_FD; "
                          "printf 'begin a\\351\\n' >&$GREENBENCH_MARKER_FD",
                          "arg\xff"});
  EXPECT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(slurp(path("run.json")));  // throws on invalid UTF-8
  EXPECT_EQ(j["info"]["framework"], "\xEF\xBF\xBD\xEF\xBF\xBD bad");
  EXPECT_EQ(j["command"][3], "arg\xEF\xBF\xBD");
  EXPECT_NO_THROW(json::parse(slurp(path("t.json"))));
}

TEST_F(MeasureCli, CommandThatStopsItselfIsResumed) {
  // No terminal here: the stop cannot be passed on, so the command must be continued.
  const std::string line = quote(std::string(GREENBENCH_BIN_DIR) + "/greenbench") +
                           " measure --quiet --json " + quote(path("run.json").string()) +
                           " -- sh -c 'kill -TSTP $$; echo resumed' </dev/null >" +
                           quote(path("out.txt").string()) + " 2>&1";
  const int status = std::system(("timeout -k 2 20 " + line).c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(path("out.txt"));
  EXPECT_THAT(slurp(path("out.txt")), HasSubstr("resumed"));
  EXPECT_THAT(slurp(path("run.json")), HasSubstr("stopped (SIGTSTP"));
}

TEST_F(MeasureCli, CommandReadingItsTerminalGetsIt) {
  // In a pseudo-terminal (script(1)) measure is the foreground group: the command, in a group of
  // its own, must be given the terminal, or its read stops it (SIGTTIN) and measure waits forever.
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  const std::string inner =
      std::string(GREENBENCH_BIN_DIR) + "/greenbench measure --quiet -- " + "head -c1";
  const std::string line = "(sleep 1; printf 'x\\n') | timeout -k 2 20 script -qec " +
                           quote(inner) + " /dev/null >" + quote(path("out.txt").string()) +
                           " 2>&1";
  const int status = std::system(line.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(path("out.txt"));
  EXPECT_THAT(slurp(path("out.txt")), HasSubstr("x"));
}

TEST_F(MeasureCli, TimeoutExits124AsCoreutilsTimeoutDoes) {
  const auto r =
      measure({"--timeout", "0.2", "--json", path("run.json").string()}, {"sleep", "20"});
  EXPECT_EQ(r.rc, 124);
  EXPECT_THAT(r.err, HasSubstr("sleep 20 timed out after"));
  EXPECT_THAT(r.err, HasSubstr("exit status 124"));
  // The record keeps what happened to the command: SIGTERM, 128 + 15.
  const json j = json::parse(slurp(path("run.json")));
  EXPECT_TRUE(j["timed_out"].get<bool>());
  EXPECT_EQ(j["signal"], 15);
  EXPECT_EQ(j["exit_code"], 128 + 15);
  // A command that ends itself cleanly on the timeout's SIGTERM is still a timeout.
  EXPECT_EQ(
      measure({"--timeout", "0.2", "--quiet"}, {"sh", "-c", "trap 'exit 0' TERM; sleep 20 & wait"})
          .rc,
      124);
}

TEST_F(MeasureCli, TheCommandIsPrintedQuotedAsAShellReadsItBack) {
  const auto r = measure({}, {"sh", "-c", "exit 3", "it's"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_THAT(r.err,
              HasSubstr("greenbench measure: sh -c 'exit 3' 'it'\\''s' exited with status 3"));
}

TEST_F(MeasureCli, ASourceAskedForThatCannotBeReadIsAnErrorAndTheCommandDoesNotRun) {
  const fs::path marker = path("ran");
  const std::vector<std::string> cmd = {"sh", "-c", "touch " + quote(marker.string())};
  const std::string missing = (dir_.path() / "no-powercap").string();
  const auto r = measure({"--powercap-root", missing, "--source", "rapl-powercap"}, cmd);
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("greenbench measure: --source rapl-powercap: cannot be read here: "
                               "no powercap tree at " +
                               missing));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(marker));
  // The same in the repeated mode; a readable source asked for runs.
  const auto repeated =
      measure({"--powercap-root", missing, "--source", "rapl-powercap", "--runs", "2"}, cmd);
  EXPECT_EQ(repeated.rc, 2);
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_EQ(measure({"--quiet", "--source", "rapl-powercap"}, cmd).rc, 0);  // the fake tree
  EXPECT_TRUE(fs::exists(marker));
}

bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) return false;
  const auto paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

std::vector<pid_t> pids_in(const fs::path& file) {
  std::ifstream in(file);
  std::vector<pid_t> out;
  for (pid_t pid = 0; in >> pid;) out.push_back(pid);
  return out;
}

TEST_F(MeasureCli, KillingGreenbenchWithSigkillEndsTheMeasuredTree) {
  // The measured command holds three more processes: one in its group, one that left it by a
  // double fork into a new session, one in a new group that ignores SIGTERM. kill -9 of the
  // harness must take all four with it, through its watchdog.
  const fs::path pidfile = path("pids");
  const std::string helper = std::string(GREENBENCH_BIN_DIR) + "/leave_children";
  const std::string exe = std::string(GREENBENCH_BIN_DIR) + "/greenbench";
  std::vector<std::string> args = {exe,           "measure",        "--quiet", "--",
                                   helper,        pidfile.string(), "--hold",  "background",
                                   "double-fork", "orphan-group"};
  const pid_t harness = spawn(args);
  ASSERT_GE(harness, 0);
  std::vector<pid_t> pids;
  const auto started = std::chrono::steady_clock::now();
  while (pids.size() < 4 && std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    pids = pids_in(pidfile);
  }
  ASSERT_EQ(pids.size(), 4u);
  kill(harness, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  waitpid(harness, nullptr, 0);
  auto any_alive = [&pids] {
    for (pid_t pid : pids) {
      if (alive(pid)) return true;
    }
    return false;
  };
  while (any_alive() && std::chrono::steady_clock::now() - killed < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::printf("measured tree ended %.3f s after kill -9 of greenbench\n", took);
  for (pid_t pid : pids) {
    EXPECT_FALSE(alive(pid)) << "pid " << pid << " outlived kill -9 of greenbench";
    if (alive(pid)) kill(pid, SIGKILL);
  }
  EXPECT_LT(took, 2.0);
}

char state_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() ? text[paren + 2] : '?';
}

bool wait_for_state(pid_t pid, char state) {
  for (int i = 0; i < 300 && state_of(pid) != state; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return state_of(pid) == state;
}

TEST_F(MeasureCli, CtrlZWithoutTheTerminalStopsAndContinuesTheCommandWithUs) {
  // Without a terminal to lend (as in a study, whose runs read /dev/null), Ctrl-Z reaches only
  // greenbench: it stops the command's group and itself, and continues both.
  const fs::path pidfile = path("pids");
  const std::string helper = std::string(GREENBENCH_BIN_DIR) + "/leave_children";
  const std::string exe = std::string(GREENBENCH_BIN_DIR) + "/greenbench";
  std::vector<std::string> args = {exe,    "measure",        "--quiet", "--",
                                   helper, pidfile.string(), "--hold"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t harness = fork();
  ASSERT_GE(harness, 0);
  if (harness == 0) {
    setpgid(0, 0);  // a job of its own, as a shell starts it (an orphaned group ignores Ctrl-Z)
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::vector<pid_t> pids;
  for (int i = 0; i < 500 && pids.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    pids = pids_in(pidfile);
  }
  ASSERT_EQ(pids.size(), 1u);
  const pid_t command = pids[0];
  kill(harness, SIGTSTP);
  EXPECT_TRUE(wait_for_state(command, 'T'));
  EXPECT_TRUE(wait_for_state(harness, 'T'));
  kill(harness, SIGCONT);
  EXPECT_TRUE(wait_for_state(command, 'S'));
  kill(harness, SIGTERM);  // forwarded: the command ends, and greenbench with its status
  int status = 0;
  waitpid(harness, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM) << status;
  if (alive(command)) kill(command, SIGKILL);
}

TEST_F(MeasureCli, BadUsageIsOneLineAndExit2) {
  struct Case {
    std::vector<std::string> options;
    std::vector<std::string> cmd;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--bogus"}, {"true"}, "unknown option '--bogus'"},
      {{"--interval-ms", "0"}, {"true"}, "--interval-ms"},
      {{"--interval-ms", "fast"}, {"true"}, "--interval-ms"},
      {{"--timeout", "-1"}, {"true"}, "--timeout"},
      {{"--timeout", "abc"}, {"true"}, "--timeout"},
      {{"--idle-baseline", "x"}, {"true"}, "--idle-baseline"},
      {{"--json"}, {}, "--json: missing value"},
      {{"--cpu-watts-per-core", "lots"}, {"true"}, "--cpu-watts-per-core"},
      {{"--"}, {}, "missing command after '--'"},
      {{}, {}, "missing command"},
      {{"--json", "/nonexistent/dir/x.json"}, {"true"}, "--json: cannot open"},
      {{"--cpu-watts-per-core", "-2"}, {"true"}, "--cpu-watts-per-core"},
      {{"--json", path("same").string(), "--trace", path("same").string()},
       {"true"},
       "--json and --trace cannot both write"},
      {{"--json", path("same").string(), "--trace", (path("") / "." / "same").string()},
       {"true"},
       "--json and --trace cannot both write"},
  };
  for (const auto& c : cases) {
    const auto r = measure(c.options, c.cmd);
    EXPECT_EQ(r.rc, 2) << c.message;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(measure({"--help"}, {}).rc, 0);
  EXPECT_THAT(slurp(path("stdout.txt")), HasSubstr("--idle-baseline SECONDS"));
}

// A job scheduler (Slurm's scancel, a time limit) sends SIGTERM to every process of a job at
// once, the watchdog included. greenbench must still end as the command did, not die of SIGPIPE
// when it tells the dead watchdog that the run is over.
TEST_F(MeasureCli, SigtermToEveryProcessOfTheJobLeavesGreenbenchToReport) {
  const std::string exe = std::string(GREENBENCH_BIN_DIR) + "/greenbench";
  std::vector<std::string> args = {exe, "measure", "--quiet", "--", "/bin/sleep", "5"};
  const pid_t harness = spawn(args);
  ASSERT_GE(harness, 0);
  // Its children: the watchdog and the command (both appear once the run has started).
  auto children = [harness] {
    std::vector<pid_t> out;
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(e.path() / "stat");
      std::string line;
      std::getline(stat, line);
      const auto close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(line.substr(close + 2));
      char state = 0;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == harness) out.push_back(static_cast<pid_t>(std::stoi(name)));
    }
    return out;
  };
  std::vector<pid_t> kids;
  const auto started = std::chrono::steady_clock::now();
  while (kids.size() < 2 && std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kids = children();
  }
  ASSERT_EQ(kids.size(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (pid_t pid : kids) kill(pid, SIGTERM);
  kill(harness, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(harness, &status, 0), harness);
  ASSERT_FALSE(WIFSIGNALED(status)) << "greenbench died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

}  // namespace
