// Both marker clients, run as real commands under measure_command: what they announce must
// arrive as the phases, metrics and info of the record.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_source.hpp"
#include "greenbench/measure.hpp"
#include "measure/run.hpp"

namespace greenbench::measure {
namespace {

using greenbench::testing::counter;
using greenbench::testing::FakeSource;

RunRecord run(const std::vector<std::string>& argv, MeasureOptions options = {}) {
  auto s = std::make_unique<FakeSource>("fake", std::vector{counter("cpu_package", 0)});
  s->run_at({10});
  std::vector<std::unique_ptr<EnergySource>> v;
  v.push_back(std::move(s));
  return measure_with_sources(argv, options, std::move(v));
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

std::vector<std::string> phase_names(const RunRecord& r) {
  std::vector<std::string> out;
  for (const auto& p : r.phases) out.push_back(p.name);
  return out;
}

const MetricRecord& metric(const RunRecord& r, const std::string& name) {
  for (const auto& m : r.metrics) {
    if (m.name == name) return m;
  }
  throw std::runtime_error("no metric " + name);
}

void expect_common_phases(const RunRecord& r) {
  ASSERT_EQ(r.exit_code, 0) << joined(r.warnings);
  EXPECT_TRUE(r.warnings.empty()) << joined(r.warnings);
  ASSERT_GE(r.phases.size(), 4u);
  EXPECT_EQ(r.phases[1].name, "setup");
  EXPECT_EQ(r.phases[2].name, "train");
  EXPECT_EQ(r.phases[3].name, "epoch-1");
  EXPECT_GE(r.phases[1].duration_s, 0.015);  // 30 ms of sleep, less two lines read late
  EXPECT_GE(r.phases[3].duration_s, 0.015);
  // Nesting: epoch-1 lies inside train, and setup ended before train began.
  EXPECT_LE(r.phases[2].start_s, r.phases[3].start_s);
  EXPECT_GE(r.phases[2].end_s, r.phases[3].end_s);
  EXPECT_LE(r.phases[1].end_s, r.phases[2].start_s);
  for (const auto& p : r.phases) {
    EXPECT_FALSE(p.closed_at_exit) << p.name;
    EXPECT_NEAR(p.energy_j.at("cpu_package"), 10 * p.duration_s, 0.02) << p.name;
  }
  EXPECT_EQ(metric(r, "loss").phase, "epoch-1");
  EXPECT_DOUBLE_EQ(metric(r, "loss").value, 0.25);
  EXPECT_EQ(metric(r, "samples").phase, "train");
  EXPECT_EQ(metric(r, "samples").unit, "samples");
  EXPECT_DOUBLE_EQ(metric(r, "samples").value, 51200);
  EXPECT_EQ(metric(r, "accuracy_top1").phase, "run");
  EXPECT_DOUBLE_EQ(metric(r, "accuracy_top1").value, 0.734);
}

// The workloads mark `count` steps in epoch-1, sleeping 10 ms before each; the fake counter runs
// at 10 W, so each step has 10 W x its duration. A step's duration is what the harness saw
// between two lines, so one line read late shortens the next step: only the chain of steps
// from the phase's begin is exact, not each step's 10 ms.
void expect_steps(const RunRecord& r, int count) {
  ASSERT_EQ(r.steps.size(), static_cast<std::size_t>(count));
  const PhaseRecord* epoch = nullptr;
  for (const auto& p : r.phases) {
    if (p.name == "epoch-1") epoch = &p;
  }
  ASSERT_NE(epoch, nullptr);
  double previous_end = epoch->start_s;
  for (int t = 0; t < count; ++t) {
    const StepRecord& s = r.steps[static_cast<std::size_t>(t)];
    EXPECT_EQ(s.phase, "epoch-1");
    EXPECT_EQ(s.index, t);
    EXPECT_GE(s.duration_s, 0) << t;
    EXPECT_NEAR(s.t_s - s.duration_s, previous_end, 1e-6) << t;
    previous_end = s.t_s;
    EXPECT_NEAR(s.energy_j.at("cpu_package"), 10 * s.duration_s, 0.02) << t;
    EXPECT_EQ(s.quality.at("cpu_package"), "measured");
  }
  EXPECT_GT(previous_end, epoch->start_s);
  EXPECT_LE(previous_end, epoch->end_s);
}

TEST(MarkerClients, CppHeader) {
  const auto r = run({std::string(GREENBENCH_BIN_DIR) + "/marker_client_workload"});
  expect_common_phases(r);
  EXPECT_EQ(phase_names(r), (std::vector<std::string>{"run", "setup", "train", "epoch-1"}));
  EXPECT_EQ(r.info.at("client"), "c++ header second line");
  EXPECT_EQ(r.metrics.size(), 3u);
  expect_steps(r, 3);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(MarkerClients, CppHeaderWritesTheProtocolLines) {
  // The descriptor may be any file: here a plain one, to read back exactly what was written.
  const std::string out = ::testing::TempDir() + "/cpp_markers.txt";
  const std::string cmd = "GREENBENCH_MARKER_FD=7 " + std::string(GREENBENCH_BIN_DIR) +
                          "/marker_client_workload 7>" + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(slurp(out),
            "info client c++ header second line\n"
            "begin setup\n"
            "end setup\n"
            "begin train\n"
            "begin epoch-1\n"
            "step 0\n"
            "step 1\n"
            "step 2\n"
            "metric loss 0.25\n"
            "end epoch-1\n"
            "metric samples 51200 samples\n"
            "end train\n"
            "metric accuracy_top1 0.734\n");
}

TEST(MarkerClients, PythonWritesTheProtocolLines) {
  const std::string out = ::testing::TempDir() + "/py_markers.txt";
  const std::string cmd =
      "GREENBENCH_MARKER_FD=7 PYTHONPATH=" + std::string(GREENBENCH_SOURCE_DIR) +
      "/python python3 -c 'import greenbench_markers as gb\n"
      "with gb.phase(\"train\"):\n gb.step(0)\n gb.step(9223372036854775807)\n"
      " gb.metric(\"accuracy_top1\", 0.734)\n"
      "gb.metric(\"samples\", 51200, \"samples\")\ngb.info(\"k\", \"a\\nb\")\n"
      "gb.metric(\"loss\", float(\"nan\"))\ngb.metric(\"loss\", float(\"-inf\"))' 7>" +
      out;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(slurp(out),
            "begin train\n"
            "step 0\n"
            "step 9223372036854775807\n"
            "metric accuracy_top1 0.734\n"
            "end train\n"
            "metric samples 51200.0 samples\n"
            "info k a b\n"
            "metric loss nan\n"
            "metric loss -inf\n");
}

// The workers are marker clients too: a step line after each training step and each
// evaluation batch, in the phase that runs it.
TEST(MarkerClients, WorkersMarkEachTrainingStepAndEvaluationBatch) {
  MeasureOptions quiet;
  quiet.stdout_path = "/dev/null";  // the worker's metric lines
  int ran = 0;
  for (const char* worker : {"greenbench-torch", "greenbench-tf"}) {
    const std::string path = std::string(GREENBENCH_BIN_DIR) + "/" + worker;
    if (!std::filesystem::exists(path)) continue;  // built without that framework
    ++ran;
    const auto train = run({path, "--model", "ncf", "--phase", "train", "--scale", "tiny",
                            "--steps", "7", "--eval-batches", "3", "--threads", "1"},
                           quiet);
    ASSERT_EQ(train.exit_code, 0) << worker << "\n" << joined(train.warnings);
    std::vector<std::string> got;
    for (const auto& s : train.steps) got.push_back(s.phase + " " + std::to_string(s.index));
    EXPECT_EQ(got, (std::vector<std::string>{"train 0", "train 1", "train 2", "train 3", "train 4",
                                             "train 5", "train 6", "eval 0", "eval 1", "eval 2"}))
        << worker;
    const auto infer = run({path, "--model", "ncf", "--phase", "infer", "--scale", "tiny",
                            "--eval-batches", "4", "--threads", "1"},
                           quiet);
    ASSERT_EQ(infer.exit_code, 0) << worker << "\n" << joined(infer.warnings);
    got.clear();
    for (const auto& s : infer.steps) got.push_back(s.phase + " " + std::to_string(s.index));
    EXPECT_EQ(got, (std::vector<std::string>{"infer 0", "infer 1", "infer 2", "infer 3"}))
        << worker;
  }
  if (ran == 0) GTEST_SKIP() << "no worker built (GREENBENCH_WITH_TORCH/TENSORFLOW off)";
}

TEST(MarkerClients, CppHeaderIsSilentWhenNotMeasured) {
  // Run directly, without a marker descriptor: it must still succeed (and write nothing).
  const std::string cmd = "env -u GREENBENCH_MARKER_FD " + std::string(GREENBENCH_BIN_DIR) +
                          "/marker_client_workload 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(MarkerClients, Python) {
  MeasureOptions o;
  o.extra_env = {"PYTHONPATH=" + std::string(GREENBENCH_SOURCE_DIR) + "/python",
                 "PYTHONDONTWRITEBYTECODE=1"};
  const auto r = run(
      {"python3", std::string(GREENBENCH_SOURCE_DIR) + "/tests/measure/python_client_workload.py"},
      o);
  expect_common_phases(r);
  EXPECT_EQ(phase_names(r),
            (std::vector<std::string>{"run", "setup", "train", "epoch-1", "failing"}));
  EXPECT_FALSE(r.phases[4].closed_at_exit);
  EXPECT_THAT(r.info.at("client"), ::testing::MatchesRegex("python [0-9]+\\.[0-9]+"));
  // 3000 two-byte characters do not fit: cut at a character boundary to fit 4096 bytes.
  const std::string& long_text = r.info.at("long");
  EXPECT_EQ(long_text.size() % 2, 0u);
  EXPECT_EQ(long_text.size(), 4096u - 1 - 10 - 1);  // "info long " + text + "\n" <= 4096
  EXPECT_EQ(r.metrics.size(), 3u + 4 * 50);
  for (int i = 0; i < 4; ++i) {
    int count = 0;
    for (const auto& m : r.metrics) count += m.name == "t" + std::to_string(i) ? 1 : 0;
    EXPECT_EQ(count, 50);
  }
  expect_steps(r, 3);
}

TEST(MarkerClients, PythonIsSilentWhenNotMeasured) {
  const std::string cmd =
      "env -u GREENBENCH_MARKER_FD PYTHONPATH=" + std::string(GREENBENCH_SOURCE_DIR) +
      "/python python3 -c 'import greenbench_markers as gb; "
      "assert not gb.enabled(); gb.begin(\"a\"); gb.metric(\"x\", 1); gb.end(\"a\")'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace greenbench::measure
