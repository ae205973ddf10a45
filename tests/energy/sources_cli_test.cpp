// `greenbench sources`, run as a user runs it, against fake trees and the fake NVML.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "energy/diagnosis.hpp"
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

// Each GPU: its energy counter, or power samples and how often they are taken.
TEST(SourcesCli, SaysForEachGpuHowItsEnergyIsRead) {
  const std::string env =
      "FAKE_NVML_GPUS=energy,power FAKE_NVML_SAMPLE_MS=20,100 "
      "GREENBENCH_NVML_LIB=" +
      std::string(GREENBENCH_TEST_LIB_DIR) + "/libfake_nvml.so";
  const auto r = run(env, "--powercap-root /nonexistent --perf-root /nonexistent");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(Fake GPU 0 (energy))\n"
                               "                     has an energy counter: its energy is read "
                               "from it\n"));
  EXPECT_THAT(r.out, HasSubstr("(Fake GPU 1 (power))\n"
                               "                     no energy counter: its energy is integrated "
                               "from power samples, read every 50 ms (--interval-ms); the driver "
                               "samples power every 100 ms (10 Hz)\n"));
  const auto j = run(env, "--powercap-root /nonexistent --perf-root /nonexistent --json");
  const auto gpus = nlohmann::json::parse(j.out).at("gpus");
  ASSERT_EQ(gpus.size(), 2U);
  EXPECT_EQ(gpus[0]["energy_counter"], true);
  EXPECT_EQ(gpus[1]["energy_counter"], false);
  EXPECT_DOUBLE_EQ(gpus[1]["power_sample_interval_s"].get<double>(), 0.1);
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

// `greenbench measure` with a powercap counter that stops being readable part-way (its file
// emptied, as a vanished sysfs file reads): the phase before keeps its measured value; the phase
// during and the whole run get quality `failed` and no value, for cpu_package and total alike.
TEST(SourcesCli, MeasureNeverShowsAFailedCounterAsMeasured) {
  TempDir dir;
  const auto root = dir.path() / "powercap";
  greenbench::testing::add_zone(root, "intel-rapl:0", "package-0", 1000000);
  const std::string counter = (root / "intel-rapl:0" / "energy_uj").string();
  // Counter values are written in place at a fixed width, never truncating the file: a reader
  // must not see the empty file a plain `echo > file` shows for an instant.
  greenbench::testing::write_file(counter, "000001000000\n");
  auto write_counter = [&](const char* uj) {
    return std::string("printf ") + uj + " | dd of=" + counter + " conv=notrunc status=none";
  };
  const std::string json = (dir.path() / "run.json").string();
  // Escaped: the outer shell must leave the variable to the measured one.
  const std::string marker = " > /dev/fd/\\$GREENBENCH_MARKER_FD; ";
  const std::string script =
      "echo 'begin early'" + marker + "sleep 0.1; " + write_counter("000002000000") +
      "; sleep 0.2; echo 'end early'" + marker + "echo 'begin late'" + marker + "sleep 0.1; : > " +
      counter + "; sleep 0.3; " + write_counter("000003000000") + "; echo 'end late'" + marker;
  const std::string command = "env -u GREENBENCH_POWERCAP_ROOT " + std::string(GREENBENCH_BIN_DIR) +
                              "/greenbench measure --powercap-root " + root.string() +
                              " --source rapl-powercap --json " + json + " -- sh -c \"" + script +
                              "\" > " + (dir.path() / "out").string() + " 2>&1";
  const int status = std::system(command.c_str());
  const std::string text = slurp(dir.path() / "out");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
  const auto j = nlohmann::json::parse(slurp(json));
  std::map<std::string, nlohmann::json> phases;
  for (const auto& p : j["phases"]) phases[p["name"].get<std::string>()] = p;
  ASSERT_EQ(phases.size(), 3u) << j.dump(2);
  EXPECT_DOUBLE_EQ(phases["early"]["energy_j"]["total"].get<double>(), 1.0);
  EXPECT_EQ(phases["early"]["quality"]["total"], "measured");
  for (const char* name : {"late", "run"}) {
    EXPECT_FALSE(phases[name]["energy_j"].contains("total")) << name;
    EXPECT_FALSE(phases[name]["energy_j"].contains("cpu_package")) << name;
    EXPECT_EQ(phases[name]["quality"]["total"], "failed") << name;
    EXPECT_EQ(phases[name]["quality"]["cpu_package:0"], "failed") << name;
  }
  bool warned = false;
  for (const auto& w : j["warnings"]) {
    const std::string text_w = w.get<std::string>();
    warned = warned || (text_w.find("source 'rapl-powercap' failed") != std::string::npos &&
                        text_w.find("cpu_package:0 not measured") != std::string::npos &&
                        text_w.find("s into the run") != std::string::npos);
  }
  EXPECT_TRUE(warned) << j["warnings"].dump();
  EXPECT_THAT(text, HasSubstr("failed"));
}

TEST(SourcesCli, TheEstimateIsNotCalledACounterAndItsModelAndBiasAreShown) {
  const auto r = run("", kNoHardware + " --cpu-watts-per-core 8 --cpu-idle-watts 2");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("estimate from CPU time (not an energy counter)"));
  EXPECT_THAT(r.out, Not(HasSubstr("energy counter, ")));
  EXPECT_THAT(r.out, HasSubstr("energy = 8 W per busy core x CPU seconds of the measured "
                               "processes + 2 W idle x elapsed seconds"));
  EXPECT_THAT(r.out, HasSubstr("Known bias:"));
  EXPECT_THAT(r.out, HasSubstr("spin-wait"));
}

TEST(SourcesCli, SaysInPlainWordsWhyThereIsNoCounterAndWhatToDo) {
  const auto r = run("", kNoHardware);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Why there is no CPU energy counter here:"));
  EXPECT_THAT(r.out, HasSubstr("no /nonexistent/powercap/intel-rapl*"));
  EXPECT_THAT(r.out, HasSubstr("virtual machine"));
  EXPECT_THAT(r.out, HasSubstr("no RAPL 'power' PMU"));
  EXPECT_THAT(r.out, HasSubstr("What you can do: run on bare metal"));

  // Where a counter is measured, there is nothing to explain.
  TempDir dir;
  make_two_socket_powercap(dir.path());
  const auto measured = run("", "--powercap-root " + dir.path().string() +
                                    " --perf-root /nonexistent --nvml-lib /nonexistent");
  EXPECT_THAT(measured.out, Not(HasSubstr("Why there is no CPU energy counter")));
}

TEST(SourcesCli, JsonKeepsItsFieldsAndAddsTheDiagnosisAndTheEstimate) {
  const auto r = run("", kNoHardware + " --json --cpu-watts-per-core 8");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("options"));
  ASSERT_TRUE(j["sources"].is_array());
  for (const auto& s : j["sources"]) {
    for (const char* key :
         {"name", "readable", "used", "quality", "domains", "reason", "fix", "parameters"}) {
      EXPECT_TRUE(s.contains(key)) << key;
    }
  }
  EXPECT_EQ(j["cpu_counter_readable"], false);
  std::vector<std::string> causes;
  for (const auto& d : j["cpu_counter_diagnosis"]) causes.push_back(d["cause"]);
  EXPECT_THAT(causes, ::testing::ElementsAre("no-rapl-zones", "no-perf-pmu"));
  EXPECT_EQ(j["cpu_estimate"]["watts_per_core"], 8.0);
  EXPECT_THAT(j["cpu_estimate"]["bias"].get<std::string>(), HasSubstr("spin"));
}

// Root-only counters and a paranoid perf, as a normal user (uid 1000) sees them.
TEST(CounterDiagnosis, RootOnlyZonesAndParanoidPerfAreNamedWithTheirFix) {
  TempDir dir;
  make_two_socket_powercap(dir.path() / "powercap");
  for (const char* zone : {"intel-rapl:0", "intel-rapl:1", "intel-rapl:2"}) {
    std::filesystem::permissions(dir.path() / "powercap" / zone / "energy_uj",
                                 std::filesystem::perms::owner_read);
  }
  greenbench::testing::write_file(dir.path() / "perf" / "power" / "type", "23\n");
  greenbench::testing::write_file(dir.path() / "paranoid", "2\n");
  const auto found = energy::diagnose_cpu_counters((dir.path() / "powercap").string(),
                                                   (dir.path() / "perf").string(),
                                                   (dir.path() / "paranoid").string(), 1000);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].cause, "root-only");
  EXPECT_THAT(found[0].fix, HasSubstr("udev rule"));
  EXPECT_EQ(found[1].cause, "perf-paranoid");
  EXPECT_THAT(found[1].explanation, HasSubstr("perf_event_paranoid is 2"));
  EXPECT_THAT(found[1].fix, HasSubstr("kernel.perf_event_paranoid=0"));

  // Readable by all, and perf allowed: nothing to say.
  for (const char* zone : {"intel-rapl:0", "intel-rapl:1", "intel-rapl:2"}) {
    std::filesystem::permissions(dir.path() / "powercap" / zone / "energy_uj",
                                 std::filesystem::perms::owner_read |
                                     std::filesystem::perms::group_read |
                                     std::filesystem::perms::others_read);
  }
  greenbench::testing::write_file(dir.path() / "paranoid", "0\n");
  EXPECT_TRUE(energy::diagnose_cpu_counters((dir.path() / "powercap").string(),
                                            (dir.path() / "perf").string(),
                                            (dir.path() / "paranoid").string(), 1000)
                  .empty());
}

}  // namespace
}  // namespace greenbench
