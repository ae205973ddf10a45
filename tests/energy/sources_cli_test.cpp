// `greenbench sources`, run as a user runs it, against fake trees and the fake NVML.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "energy/fake_sysfs.hpp"

namespace greenbench {
namespace {

using greenbench::testing::make_two_socket_powercap;
using greenbench::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs greenbench with `args` (already shell-quoted) in a clean source environment.
Result run(const std::string& env, const std::string& args) {
  static TempDir dir;
  const auto out = dir.path() / "out";
  const auto err = dir.path() / "err";
  const std::string command =
      "env -u GREENBENCH_POWERCAP_ROOT -u GREENBENCH_PERF_ROOT -u GREENBENCH_NVML_LIB "
      "-u CUDA_VISIBLE_DEVICES " +
      env + " " + GREENBENCH_BIN_DIR + "/greenbench sources " + args + " >" + out.string() + " 2>" +
      err.string();
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

const std::string kNoHardware =
    "--powercap-root /nonexistent/powercap --perf-root /nonexistent/perf "
    "--nvml-lib /nonexistent/libnvidia-ml.so.1";

TEST(SourcesCli, MachineWithoutCountersSaysSoAndUsesTheEstimate) {
  const auto r = run("", kNoHardware + " --cpu-watts-per-core 8");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rapl-powercap  not readable"));
  EXPECT_THAT(r.out, HasSubstr("no powercap tree at /nonexistent/powercap"));
  EXPECT_THAT(r.out, HasSubstr("cannot load /nonexistent/libnvidia-ml.so.1"));
  EXPECT_THAT(r.out, HasSubstr("cpu-estimate   used, estimated"));
  EXPECT_THAT(r.out, HasSubstr("model: 8 W per busy core"));
  EXPECT_THAT(r.out, HasSubstr("No CPU energy counter is readable here: CPU energy is estimated"));
  EXPECT_THAT(r.out, HasSubstr("No GPU energy is measured here."));
}

TEST(SourcesCli, FakeHardwareIsListedWithDomains) {
  TempDir dir;
  make_two_socket_powercap(dir.path());
  const auto r = run("FAKE_NVML_GPUS=energy,power GREENBENCH_NVML_LIB=" +
                         std::string(GREENBENCH_TEST_LIB_DIR) + "/libfake_nvml.so",
                     "--powercap-root=" + dir.path().string() + " --perf-root /nonexistent");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rapl-powercap  used, measured"));
  EXPECT_THAT(r.out, HasSubstr("cpu_package:1"));
  EXPECT_THAT(r.out, HasSubstr("psys"));
  EXPECT_THAT(r.out, HasSubstr("not in total"));
  EXPECT_THAT(r.out, HasSubstr("rapl-perf      not readable"));
  EXPECT_THAT(r.out, HasSubstr("nvml           used, measured"));
  EXPECT_THAT(r.out, HasSubstr("gpu:1"));
  EXPECT_THAT(r.out, HasSubstr("power gauge"));
  EXPECT_THAT(r.out, HasSubstr("cpu-estimate   readable, not used"));
  EXPECT_THAT(r.out, Not(HasSubstr("No CPU energy counter")));
  EXPECT_THAT(r.out, Not(HasSubstr("No GPU energy")));
}

TEST(SourcesCli, JsonListsEveryBackend) {
  const auto r = run("", kNoHardware + " --json --cpu-idle-watts 15");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["sources"].size(), 4U);
  EXPECT_EQ(j["sources"][0]["name"], "rapl-powercap");
  EXPECT_EQ(j["sources"][0]["readable"], false);
  EXPECT_EQ(j["sources"][3]["name"], "cpu-estimate");
  EXPECT_EQ(j["sources"][3]["used"], true);
  EXPECT_EQ(j["sources"][3]["quality"], "estimated");
  EXPECT_THAT(j["sources"][3]["parameters"].get<std::string>(), HasSubstr("15 W idle"));
  EXPECT_EQ(j["options"]["powercap_root"], "/nonexistent/powercap");
}

TEST(SourcesCli, ZeroWattsPerCoreIsKeptNotReplacedByTheDefault) {
  const auto r = run("", kNoHardware + " --cpu-watts-per-core 0");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("model: 0 W per busy core"));
}

TEST(SourcesCli, BadOptionsAreOneLineErrorsWithExitTwo) {
  auto r = run("", "--frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "greenbench sources: unknown option '--frobnicate' (see greenbench sources --help)\n");
  EXPECT_TRUE(r.out.empty());
  r = run("", "--cpu-watts-per-core lots");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--cpu-watts-per-core: expected a non-negative number of watts"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = run("", "--cpu-watts-per-core -3");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--cpu-watts-per-core: expected a non-negative number of watts"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = run("", "--nvml-lib");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--nvml-lib: missing value"));
  r = run("", "--source gpu");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown source 'gpu'"));
}

TEST(SourcesCli, HelpListsTheSourceOptions) {
  const auto r = run("", "--help");
  EXPECT_EQ(r.code, 0);
  for (const char* option : {"--powercap-root", "--perf-root", "--nvml-lib", "--cpu-watts-per-core",
                             "--cpu-idle-watts", "--source", "--json"}) {
    EXPECT_THAT(r.out, HasSubstr(option));
  }
}

TEST(SourcesCli, EnvironmentSelectsTheRoots) {
  const auto r = run("GREENBENCH_POWERCAP_ROOT=/from/env", "--perf-root /nonexistent");
  EXPECT_THAT(r.out, HasSubstr("no powercap tree at /from/env"));
}

}  // namespace
}  // namespace greenbench
