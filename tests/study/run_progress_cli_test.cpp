// `greenbench run` as a newcomer meets it: progress with an ETA, cooldowns that say what they
// wait for, source options like `measure`, errors that give the OS's reason, the resume hint.
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
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "greenbench/store.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kGreenbench = std::string(GREENBENCH_BIN_DIR) + "/greenbench";

struct Result {
  int status = -1;
  std::string output;
};

// Starts greenbench with `argv0` as its argv[0] (looked up in PATH when it has no '/').
pid_t spawn(const std::vector<std::string>& args, const std::string& log,
            const std::string& argv0 = kGreenbench) {
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("PATH", (std::string(GREENBENCH_BIN_DIR) + ":/usr/bin:/bin").c_str(), 1);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(argv0.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv0.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result wait_for(pid_t pid, const std::string& log) {
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(log)};
}

class RunProgressCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kGreenbench.c_str(), X_OK) != 0) GTEST_SKIP() << kGreenbench << " is not built";
    dir_ = (fs::temp_directory_path() / "greenbench-progress-XXXXXX").string();
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
  Result run(const std::vector<std::string>& args) {
    const std::string log = dir_ + "/greenbench.log";
    return wait_for(spawn(args, log), log);
  }
  std::string dir_;
};

std::string command(const std::string& framework, const std::string& argv) {
  return "[[command]]\nframework = \"" + framework + "\"\nmodel = \"m\"\nphase = \"train\"\n" +
         "argv = " + argv + "\n";
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(RunProgressCli, ProgressCountsRunsAndGivesAnEtaOnceARunFinished) {
  const std::string study =
      write("study.toml",
            "name = \"p\"\nrepetitions = 2\nwarmup = 0\nidle_baseline = 0\n"
            "cooldown = 1\ntimeout = 10\n" +
                command("a", "[\"/bin/sleep\", \"0.2\"]") + command("b", "[\"/bin/false\"]"));
  const Result r = run({"run", study, "--out", dir_ + "/out", "--source", "cpu-estimate"});
  EXPECT_EQ(r.status, 1) << r.output;  // b fails
  // Before any run finished nobody knows; then the finished runs' durations give one.
  EXPECT_THAT(r.output, HasSubstr("0 done, 0 failed, 4 left · ETA unknown"));
  EXPECT_TRUE(std::regex_search(r.output, std::regex("[12] done, [12] failed, 1 left · ETA \\d+s")))
      << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("3 left · ETA unknown")));  // the first run, failed or not
  // Cooldowns say what they wait for, and off a terminal at most once every ~10 s.
  EXPECT_THAT(r.output, HasSubstr("cooldown: 1 s left of 1 s"));
  EXPECT_EQ(count(r.output, "cooldown:"), 1) << r.output;
}

// On a terminal the cooldown is one line rewritten in place, counting down.
TEST_F(RunProgressCli, OnATerminalTheCooldownLineIsRewrittenInPlace) {
  if (access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "no script(1) to give a terminal";
  const std::string study = write("study.toml",
                                  "name = \"t\"\nrepetitions = 2\nwarmup = 0\nidle_baseline = 0\n"
                                  "cooldown = 2.5\ntimeout = 10\n" +
                                      command("a", "[\"/bin/true\"]"));
  const std::string typescript = dir_ + "/typescript";
  const std::string line =
      kGreenbench + " run " + study + " --out " + dir_ + "/out --source " + "cpu-estimate";
  const Result r =
      wait_for(spawn({"-qfec", line, typescript}, dir_ + "/script.log", "/usr/bin/script"),
               dir_ + "/script.log");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string text = slurp(typescript);
  EXPECT_THAT(text, HasSubstr("\r\033[Kcooldown: 3 s left of 2.5 s"));
  EXPECT_THAT(text, HasSubstr("\r\033[Kcooldown: 2 s left of 2.5 s"));
  EXPECT_THAT(text, HasSubstr("\r\033[Kcooldown: 1 s left of 2.5 s"));
}

TEST_F(RunProgressCli, SourcesAndThePowerModelComeFromTheStudyAndTheCommandLineWins) {
  const std::string study = write("study.toml",
                                  "name = \"s\"\nrepetitions = 1\nwarmup = 0\nidle_baseline = 0\n"
                                  "cooldown = 0\ntimeout = 10\nsources = [\"cpu-estimate\"]\n"
                                  "cpu_watts_per_core = 7\ncpu_idle_watts = 1.5\n" +
                                      command("a", "[\"/bin/true\"]"));
  Result r = run({"run", study, "--out", dir_ + "/study-keys"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sources cpu-estimate, CPU estimate 7 W/core"));
  ResultSet stored = load_results(dir_ + "/study-keys");
  EXPECT_EQ(stored.settings["sources"], nlohmann::json::array({"cpu-estimate"}));
  EXPECT_EQ(stored.settings["cpu_watts_per_core"], 7.0);
  EXPECT_EQ(stored.settings["cpu_idle_watts"], 1.5);
  EXPECT_THAT(stored.environment.dump(), HasSubstr("7 W per busy core"));

  r = run({"run", study, "--out", dir_ + "/cli", "--cpu-watts-per-core", "3"});
  ASSERT_EQ(r.status, 0) << r.output;
  stored = load_results(dir_ + "/cli");
  EXPECT_EQ(stored.settings["cpu_watts_per_core"], 3.0);
  EXPECT_EQ(stored.settings["cpu_idle_watts"], 1.5);
  EXPECT_THAT(stored.environment.dump(), HasSubstr("3 W per busy core"));

  // The same names and checks as measure.
  r = run({"run", study, "--out", dir_ + "/bad", "--source", "nosuch"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.output, HasSubstr("--source: unknown source 'nosuch'"));
  // A source that exists but cannot be read here is refused before anything runs.
  const std::string empty_root = dir_ + "/no-powercap";
  std::filesystem::create_directories(empty_root);
  r = run({"run", study, "--out", dir_ + "/unreadable", "--source", "rapl-powercap",
           "--powercap-root", empty_root});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--source rapl-powercap: cannot be read here"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/unreadable/results.sqlite"));
  const std::string bad = write("bad.toml", "sources = [\"rapl\"]\ncpu_watts_per_core = -1\n");
  r = run({"run", bad, "--dry-run"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.output, HasSubstr("key 'sources[0]'"));
  EXPECT_THAT(r.output, HasSubstr("key 'cpu_watts_per_core'"));
}

TEST_F(RunProgressCli, TheResumeHintUsesTheProgramAsItWasStarted) {
  const std::string study = write("study.toml",
                                  "name = \"h\"\nrepetitions = 3\nwarmup = 0\nidle_baseline = 0\n"
                                  "cooldown = 0\ntimeout = 30\n" +
                                      command("a", "[\"/bin/sleep\", \"0.3\"]"));
  const std::string out = dir_ + "/out";
  const std::string log = dir_ + "/hint.log";
  // Started as a bare name found on PATH, the way an installed greenbench is.
  const pid_t pid =
      spawn({"run", study, "--out", out, "--cpu-watts-per-core", "4"}, log, "greenbench");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      if (load_results(out).runs_total >= 1) break;
    } catch (const std::exception&) {
    }
  }
  kill(pid, SIGINT);
  const Result r = wait_for(pid, log);
  ASSERT_EQ(r.status, 130) << r.output;
  EXPECT_THAT(r.output, HasSubstr("continue with\n  greenbench run "));
  EXPECT_THAT(r.output, HasSubstr("--cpu-watts-per-core 4 --resume"));
}

TEST_F(RunProgressCli, FilesThatCannotBeReadSayWhyInOneLine) {
  Result r = run({"run", dir_ + "/nosuch.toml"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "greenbench run: cannot read study file " + dir_ +
                          "/nosuch.toml: No such file or directory\n");
  r = run({"import", dir_ + "/nosuch.csv", "--out", dir_ + "/imported"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "greenbench import: cannot read CSV file " + dir_ +
                          "/nosuch.csv: No such file or directory\n");
  for (const char* command : {"compare", "report", "export"}) {
    std::vector<std::string> args{command, dir_ + "/nosuch"};
    if (std::string(command) == "export") args.insert(args.end(), {"--csv", dir_ + "/x.csv"});
    r = run(args);
    EXPECT_EQ(r.status, 2) << command;
    EXPECT_EQ(r.output, "greenbench " + std::string(command) + ": cannot read results store " +
                            dir_ + "/nosuch: No such file or directory\n")
        << command;
  }
}

TEST_F(RunProgressCli, CompareWithAMetricThatMatchesNothingListsTheMetrics) {
  const std::string csv = write("in.csv",
                                "model,framework,phase,run,metric,value,unit\n"
                                "m,A,train,1,duration,1,s\nm,B,train,1,duration,2,s\n"
                                "m,A,train,2,duration,1.1,s\nm,B,train,2,duration,2.1,s\n"
                                "m,A,train,1,energy_total,1,J\nm,B,train,1,energy_total,2,J\n"
                                "m,A,train,2,energy_total,1.1,J\nm,B,train,2,energy_total,2.1,J\n");
  ASSERT_EQ(run({"import", csv, "--out", dir_ + "/imported"}).status, 0);
  Result r = run({"compare", dir_ + "/imported", "--metric", "nosuch*"});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_EQ(r.output,
            "greenbench compare: --metric 'nosuch*' matches no metric; available: duration, "
            "energy_total\n");
  r = run({"compare", dir_ + "/imported", "--metric", "nosuch*,dur*"});
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
}  // namespace greenbench
