// `greenbench run` and `greenbench import` as a user runs them: a real process, real workloads
// (/bin/sleep, /bin/false), kill -9 in the middle of a study and --resume.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "greenbench/store.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kGreenbench = std::string(GREENBENCH_BIN_DIR) + "/greenbench";

struct Result {
  int status = -1;
  std::string output;
};

pid_t spawn(const std::vector<std::string>& args, const std::string& log,
            const std::vector<std::pair<std::string, std::string>>& env = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kGreenbench.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(kGreenbench.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

Result run(const std::vector<std::string>& args, const std::string& dir) {
  const std::string log = dir + "/greenbench.log";
  const pid_t pid = spawn(args, log);
  Result r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  r.output = text.str();
  return r;
}

class CliRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kGreenbench.c_str(), X_OK) != 0) {
      GTEST_SKIP() << kGreenbench << " is not built (cmake --build ... --target greenbench_cli)";
    }
    dir_ = (fs::temp_directory_path() / "greenbench-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

std::string command(const std::string& framework, const std::string& phase,
                    const std::string& argv) {
  return "[[command]]\nframework = \"" + framework + "\"\nmodel = \"m\"\nphase = \"" + phase +
         "\"\nargv = " + argv + "\n";
}

TEST_F(CliRunTest, KilledStudyResumesAndStoresEachRunExactlyOnce) {
  const std::string study = write("study.toml",
                                  "name = \"resume\"\nrepetitions = 4\nwarmup = 1\n"
                                  "idle_baseline = 0\ncooldown = 0\ntimeout = 10\n" +
                                      command("a", "train", "[\"/bin/sleep\", \"0.3\"]") +
                                      command("b", "train", "[\"/bin/sleep\", \"0.3\"]"));
  const std::string out = dir_ + "/out";
  const pid_t pid = spawn({"run", study, "--out", out}, dir_ + "/first.log");
  // Wait until a few runs are stored, then kill -9 in the middle of the next one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int stored = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      stored = load_results(out).runs_total;
    } catch (const std::exception&) {
      continue;  // not created yet
    }
    if (stored >= 3) break;
  }
  ASSERT_GE(stored, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  const int before = load_results(out).runs_total;
  ASSERT_LT(before, 10) << "the study finished before it could be killed";

  // Without --resume the existing store is refused.
  Result again = run({"run", study, "--out", out}, dir_);
  EXPECT_EQ(again.status, 2);
  EXPECT_THAT(again.output, HasSubstr("already exists (add --resume"));

  Result resumed = run({"run", study, "--out", out, "--resume"}, dir_);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("(" + std::to_string(before) + " stored before)"));
  ResultStore store = ResultStore::open(out + "/results.sqlite");
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 10u);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].position, int(i));
    EXPECT_EQ(runs[i].status, "ok");
  }
  EXPECT_THAT(resumed.output, HasSubstr("report: " + out + "/report.html"));
  EXPECT_GT(fs::file_size(out + "/report.html"), 0u);
  const ResultSet rs = load_results(out);
  EXPECT_EQ(rs.runs_ok, 10);
  for (const auto& o : rs.observations) {
    if (o.metric == "duration") EXPECT_NEAR(o.value, 0.3, 0.25);
  }
  // Resuming with other settings is refused in one line.
  Result other = run({"run", study, "--out", out, "--resume", "--reps", "3"}, dir_);
  EXPECT_EQ(other.status, 2);
  EXPECT_THAT(other.output, HasSubstr("with other settings (repetitions is 4 there, 3 here)"));

  // Running the finished study again (what a second `make run` does): complete, report anew.
  fs::remove(out + "/report.html");
  Result twice = run({"run", study, "--out", out}, dir_);
  EXPECT_EQ(twice.status, 0) << twice.output;
  EXPECT_THAT(twice.output, HasSubstr("study complete: all 10 runs are stored in"));
  EXPECT_TRUE(fs::exists(out + "/report.html"));
  EXPECT_EQ(load_results(out).runs_total, 10);

  // More repetitions: refused without --resume, an extension with it.
  Result more = run({"run", study, "--out", out, "--reps", "6"}, dir_);
  EXPECT_EQ(more.status, 2);
  EXPECT_THAT(more.output, HasSubstr("holds this study with 4 repetitions (add --resume to "
                                     "extend it to 6"));
  Result extended = run({"run", study, "--out", out, "--reps", "6", "--resume"}, dir_);
  EXPECT_EQ(extended.status, 0) << extended.output;
  EXPECT_THAT(extended.output, HasSubstr("extended the study from 4 to 6 repetitions"));
  EXPECT_THAT(extended.output, HasSubstr("4 ok, 0 failed, 0 timed out (10 stored before)"));
  EXPECT_EQ(load_results(out).runs_ok, 14);
}

TEST_F(CliRunTest, FailingAndHangingWorkloadsAreRecordedAndTheStudyGoesOn) {
  const std::string study = write("study.toml",
                                  "name = \"bad\"\nrepetitions = 2\nwarmup = 0\n"
                                  "idle_baseline = 0\ncooldown = 0\ntimeout = 0.5\n" +
                                      command("a", "infer", "[\"/bin/false\"]") +
                                      command("b", "infer", "[\"/bin/sleep\", \"30\"]") +
                                      command("c", "infer", "[\"/bin/sleep\", \"0.1\"]") +
                                      command("d", "infer", "[\"no-such-program-greenbench\"]"));
  const auto start = std::chrono::steady_clock::now();
  Result r = run({"run", study, "--out", dir_ + "/out"}, dir_);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, 1) << r.output;  // the study is stored and reported, but not all ok
  EXPECT_THAT(r.output, HasSubstr("6 runs of the study did not succeed (see the report)"));
  EXPECT_TRUE(fs::exists(dir_ + "/out/report.html"));
  EXPECT_LT(elapsed, 15);  // the hanging runs were stopped at their timeout
  EXPECT_THAT(r.output, HasSubstr("2 ok, 4 failed, 2 timed out"));
  ResultStore store = ResultStore::open(dir_ + "/out/results.sqlite");
  for (const auto& run : store.runs()) {
    if (run.framework == "a") {
      EXPECT_EQ(run.status, "failed");
      EXPECT_EQ(run.reason, "exit code 1");
    } else if (run.framework == "b") {
      EXPECT_EQ(run.status, "timeout");
      EXPECT_EQ(run.reason, "timed out after 0.5 s");
    } else if (run.framework == "c") {
      EXPECT_EQ(run.status, "ok");
    } else {
      EXPECT_EQ(run.status, "failed");
      EXPECT_THAT(run.reason, HasSubstr("exit code 127"));
      EXPECT_THAT(run.reason, HasSubstr("no-such-program-greenbench"));
    }
  }
  EXPECT_TRUE(fs::exists(dir_ + "/out/logs/0000-" + store.runs()[0].framework + "-m-infer-r" +
                         std::to_string(store.runs()[0].repetition) + ".err"));
}

// The continue command greenbench printed after "continue with".
std::string continue_command(const std::string& output) {
  const std::string head = "continue with\n  ";
  const auto at = output.find(head);
  if (at == std::string::npos) return "";
  const auto start = at + head.size();
  return output.substr(start, output.find('\n', start) - start);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST_F(CliRunTest, CtrlCEndsTheRunInFlightWithinASecondAndPrintsARunnableCommand) {
  // The workload ignores SIGINT and SIGTERM (and so do its children) until a flag file exists.
  const std::string flag = dir_ + "/flag";
  const std::string study =
      write("study.toml",
            "name = \"stop\"\nrepetitions = 2\nwarmup = 0\nidle_baseline = 0\n"
            "cooldown = 0\ntimeout = 60\n" +
                command("a", "train",
                        "[\"/bin/sh\", \"-c\", \"[ -e " + flag +
                            " ] && exit 0; trap '' INT TERM; sleep 30\"]"));
  const std::string out = dir_ + "/out dir";  // a space, which the printed command must quote
  const pid_t pid = spawn({"run", study, "--out", out}, dir_ + "/first.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto sent = std::chrono::steady_clock::now();
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  const double took = seconds_since(sent);
  std::ifstream in(dir_ + "/first.log");
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 130) << output;
  EXPECT_LT(took, 2.5) << output;  // SIGTERM ignored: SIGKILL 1 s after the stop
  const std::string line = continue_command(output);
  EXPECT_EQ(line.rfind(fs::canonical(kGreenbench).string() + " run " + study + " --out '" + out +
                           "' --resume",
                       0),
            0u)
      << output;
  EXPECT_EQ(load_results(out).runs_total, 0);  // the run in flight is not stored

  // As printed, from another directory.
  std::ofstream(flag) << "";
  const std::string shell = "cd / && " + line + " >" + dir_ + "/second.log 2>&1";
  const int rc = std::system(shell.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 0) << shell;
  EXPECT_EQ(load_results(out).runs_ok, 2);
}

TEST_F(CliRunTest, CtrlCDuringTheIdleBaselineStopsAtOnce) {
  // A fake powercap counter, so that idle power can be measured (for a minute).
  const fs::path pkg = fs::path(dir_) / "powercap" / "intel-rapl:0";
  fs::create_directories(pkg);
  std::ofstream(pkg / "name") << "package-0\n";
  std::ofstream(pkg / "energy_uj") << "1000\n";
  std::ofstream(pkg / "max_energy_range_uj") << "262143328850\n";
  const std::string study = write("study.toml",
                                  "name = \"idle\"\nrepetitions = 1\nwarmup = 0\n"
                                  "idle_baseline = 60\ncooldown = 0\n" +
                                      command("a", "train", "[\"/bin/true\"]"));
  const std::string out = dir_ + "/out";
  const pid_t pid = spawn({"run", study, "--out", out}, dir_ + "/idle.log",
                          {{"GREENBENCH_POWERCAP_ROOT", (fs::path(dir_) / "powercap").string()},
                           {"GREENBENCH_PERF_ROOT", "/nonexistent"},
                           {"GREENBENCH_NVML_LIB", "/nonexistent/libnvidia-ml.so.1"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto sent = std::chrono::steady_clock::now();
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  const double took = seconds_since(sent);
  std::ifstream in(dir_ + "/idle.log");
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(output, HasSubstr("measuring idle power for 60 s"));
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 130) << output;
  EXPECT_LT(took, 1.5) << output;
  // Nothing was stored yet: the study starts anew, so no --resume.
  const std::string line = continue_command(output);
  EXPECT_THAT(line, HasSubstr(" run " + study + " --out " + out));
  EXPECT_THAT(line, ::testing::Not(HasSubstr("--resume")));
}

TEST_F(CliRunTest, WithOnlyTheCpuEstimateNoIdleBaselineIsSpent) {
  const std::string study = write("study.toml",
                                  "name = \"est\"\nrepetitions = 1\nwarmup = 0\n"
                                  "idle_baseline = 30\ncooldown = \"adaptive\"\n" +
                                      command("a", "train", "[\"/bin/true\"]"));
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = spawn({"run", study, "--out", dir_ + "/out"}, dir_ + "/est.log",
                          {{"GREENBENCH_POWERCAP_ROOT", "/nonexistent"},
                           {"GREENBENCH_PERF_ROOT", "/nonexistent"},
                           {"GREENBENCH_NVML_LIB", "/nonexistent/libnvidia-ml.so.1"}});
  int status = 0;
  waitpid(pid, &status, 0);
  const double took = seconds_since(start);
  std::ifstream in(dir_ + "/est.log");
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_LT(took, 20) << output;  // not the 30 s baseline
  const std::string said = "cannot measure idle power";
  ASSERT_THAT(output, HasSubstr(said));
  EXPECT_EQ(output.find(said), output.rfind(said));
  EXPECT_THAT(output, HasSubstr("adaptive cooldown is skipped"));
  EXPECT_THAT(output, ::testing::Not(HasSubstr("idle power 0")));
}

TEST_F(CliRunTest, BadStudyFileAndOptionsAreOneLineErrors) {
  const std::string study = write("bad.toml", "name = \"x\"\nrepetitions = -3\n");
  Result r = run({"run", study}, dir_);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "greenbench run: " + study +
                          ":2: key 'repetitions': expected an integer from 1 to 10000, got -3\n");
  r = run({"run", "--reps", "x"}, dir_);
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.output, HasSubstr("--reps: expected a positive integer, got 'x'"));
  r = run({"run", "--frameworks", "jax"}, dir_);
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.output, HasSubstr("--frameworks: unknown framework 'jax'"));
  r = run({"run", "--help"}, dir_);
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("usage: greenbench run [STUDY.toml]"));
}

TEST_F(CliRunTest, AnAutoStudyStopsOnceDecidedAndCompareReplaysTheSameDecisions) {
  // A busy loop of about 0.02 s against ten times as long: both comparisons, duration and the
  // CPU estimate's energy, are decided long before 10 runs. (Two sleeps would leave the energy,
  // a process start's CPU time in each, to the machine's load.)
  const auto loop = [](int n) {
    return "[\"sh\", \"-c\", \"i=0; while [ $i -lt " + std::to_string(n) +
           " ]; do i=$((i+1)); done\"]";
  };
  const std::string study =
      write("auto.toml",
            "name = \"auto\"\nrepetitions = \"auto\"\nmin_repetitions = 4\n"
            "max_repetitions = 10\nwarmup = 0\nidle_baseline = 0\ncooldown = 0\n" +
                command("fast", "infer", loop(20000)) + command("slow", "infer", loop(200000)));
  const std::string out = dir_ + "/out";
  Result r = run({"run", study, "--out", out}, dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("up to 10 repetitions) = at most 20 runs"));
  EXPECT_THAT(r.output, HasSubstr("repetitions auto: looks from 4 to 10"));
  EXPECT_THAT(r.output, HasSubstr("planned runs were not needed"));

  const auto env = ResultStore::open(out + "/results.sqlite").environment();
  ASSERT_TRUE(env.contains("sequential")) << env.dump();
  std::size_t decided_at = 0;
  for (const auto& c : env["sequential"]["comparisons"]) {
    if (c["metric"] == "duration") {
      EXPECT_EQ(c["decision"], "a_cheaper");
      decided_at = c["decided_at"].get<std::size_t>();
    }
  }
  ASSERT_GE(decided_at, 4u);
  ASSERT_LT(decided_at, 10u);
  int measured = 0;
  for (const auto& run : ResultStore::open(out + "/results.sqlite").runs()) measured += !run.warmup;
  EXPECT_LT(measured, 20);

  // compare --sequential on the stored study: the same decision at the same look.
  r = run({"compare", out, "--sequential", "--json", "-"}, dir_);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto json = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  bool found = false;
  for (const auto& c : json["comparisons"]) {
    if (c["metric"] != "duration") continue;
    found = true;
    EXPECT_EQ(c["decision"], "a_cheaper");
    EXPECT_EQ(c["decided_at"], decided_at);
  }
  EXPECT_TRUE(found);

  // Finished: a second run runs nothing.
  r = run({"run", study, "--out", out}, dir_);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("study complete: every run its comparisons needed"));
}

TEST_F(CliRunTest, DryRunPrintsTheDefaultStudysOrder) {
  Result r = run({"run", "--dry-run"}, dir_);
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("24 configurations x (1 warm-up + 6 repetitions) = 168 runs"));
  EXPECT_THAT(r.output, HasSubstr("0139-"));
}

TEST_F(CliRunTest, ImportMakesAStoreAndReportsBadLines) {
  const std::string csv = write("m.csv",
                                "model,framework,phase,run,metric,value,unit\n"
                                "ncf,pytorch,infer,1,duration,1,s\n"
                                "ncf,tensorflow,infer,1,duration,2,s\n");
  Result r = run({"import", csv, "--out", dir_ + "/imp"}, dir_);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("imported 2 values of 2 runs"));
  EXPECT_EQ(load_results(dir_ + "/imp").observations.size(), 2u);
  const std::string bad = write("bad.csv",
                                "model,framework,phase,run,metric,value,unit\n"
                                "ncf,pytorch,infer,one,duration,1,s\n");
  r = run({"import", bad, "--out", dir_ + "/imp2"}, dir_);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output,
            "greenbench import: " + bad + ":2:4 (run): expected a positive integer, got \"one\"\n");
  r = run({"import", csv}, dir_);
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.output, HasSubstr("missing --out DIR"));
}

}  // namespace
}  // namespace greenbench
