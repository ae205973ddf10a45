// `greenbench run` and `greenbench import` as a user runs them: a real process, real workloads
// (/bin/sleep, /bin/false), kill -9 in the middle of a study and --resume.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
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
  Result other = run({"run", study, "--out", out, "--resume", "--reps", "5"}, dir_);
  EXPECT_EQ(other.status, 2);
  EXPECT_THAT(other.output, HasSubstr("with other settings (repetitions is 4 there, 5 here)"));
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
  EXPECT_EQ(r.status, 0) << r.output;
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

TEST_F(CliRunTest, DryRunPrintsTheDefaultStudysOrder) {
  Result r = run({"run", "--dry-run"}, dir_);
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("12 configurations x (1 warm-up + 5 repetitions) = 72 runs"));
  EXPECT_THAT(r.output, HasSubstr("0071-"));
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
