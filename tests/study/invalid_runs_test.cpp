// Runs that are not measurements although their command succeeded (an energy source failed
// part-way, a metric came out NaN), and energy above the study's idle power, through run_study
// with real commands measured by measure_command.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "greenbench/error.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/report.hpp"
#include "greenbench/store.hpp"
#include "greenbench/study.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class InvalidRuns : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "greenbench-invalid-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    // A powercap tree with one package counter that a background writer keeps advancing.
    zone_ = dir_ + "/powercap/intel-rapl:0";
    fs::create_directories(zone_);
    std::ofstream(zone_ + "/name") << "package-0\n";
    std::ofstream(zone_ + "/energy_uj") << "000001000000\n";
    std::ofstream(dir_ + "/state") << "1000000\n";
    std::ofstream(zone_ + "/max_energy_range_uj") << "262143328850\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunnerOptions options() {
    RunnerOptions o;
    o.out_dir = dir_ + "/out";
    o.worker_dir = dir_;
    o.progress = &progress_;
    o.sources.powercap_root = dir_ + "/powercap";
    o.sources.only = {"rapl-powercap"};
    o.measure = [](const std::vector<std::string>& argv, const MeasureOptions& mo) {
      return measure_command(argv, mo);
    };
    o.idle_power = [](const MeasureOptions&, double) {
      return std::map<std::string, double>{{"cpu_package", 2.0}, {"total", 2.0}};
    };
    return o;
  }

  // Writes $e into the counter in place, fixed width, never truncating it: a reader must never
  // see the empty file a plain `echo > file` shows for an instant (the kernel's files never do).
  // (The text goes into a TOML basic string, so the backslash of printf's \n is escaped once more.)
  std::string write_counter() const {
    return "printf '%012d\\\\n' $e | dd of=" + zone_ + "/energy_uj conv=notrunc status=none";
  }

  // A shell command that advances the fake counter by `joules` per step, `steps` times, from
  // where the previous command left it.
  std::string counter_steps(int steps, int joules) const {
    std::ostringstream s;
    s << "e=$(cat " << dir_ << "/state); for i in $(seq " << steps << "); do e=$((e + "
      << joules * 1000000 << ")); echo $e > " << dir_ << "/state; " << write_counter()
      << "; sleep 0.05; done";
    return s.str();
  }

  std::string dir_, zone_;
  std::ostringstream progress_;
};

// One configuration measures fine; one reports a NaN loss (a diverged run); one has its energy
// counter become unreadable half-way (the file truncated, as a vanished sysfs file reads).
TEST_F(InvalidRuns, NanMetricAndFailedSourceMakeTheRunInvalidAndLeaveTheStatistics) {
  const std::string marker = " > /dev/fd/$GREENBENCH_MARKER_FD";
  const std::string study = R"(
repetitions = 2
warmup = 0
idle_baseline = 1
cooldown = 0
[[command]]
framework = "good"
model = "m"
phase = "infer"
argv = ["sh", "-c", ")" + counter_steps(3, 1) +
                            "; echo 'metric loss 0.5'" + marker + R"("]
[[command]]
framework = "diverged"
model = "m"
phase = "infer"
argv = ["sh", "-c", ")" + counter_steps(3, 1) +
                            "; echo 'metric loss nan'" + marker + R"("]
[[command]]
framework = "broken"
model = "m"
phase = "infer"
argv = ["sh", "-c", ")" + counter_steps(3, 1) +
                            "; : > " + zone_ + "/energy_uj; sleep 0.3; " + write_counter() +
                            "; echo 'metric loss 0.5'" + marker + R"("]
)";
  const StudyOutcome outcome = run_study(make_effective(parse_study(study)), options());
  EXPECT_EQ(outcome.ok, 2) << progress_.str();
  EXPECT_EQ(outcome.failed, 4) << progress_.str();

  ResultStore store = ResultStore::open(dir_ + "/out/results.sqlite");
  for (const auto& r : store.runs()) {
    SCOPED_TRACE(r.framework + " #" + std::to_string(r.repetition) + ": " + r.reason);
    if (r.framework == "good") {
      EXPECT_EQ(r.status, "ok");
    } else if (r.framework == "diverged") {
      EXPECT_EQ(r.status, "invalid");
      EXPECT_EQ(r.reason, "metric 'loss' is nan (phase 'run')");
      EXPECT_TRUE(r.observations.empty());
    } else {
      EXPECT_EQ(r.status, "invalid");
      EXPECT_THAT(r.reason, HasSubstr("energy not measured (cpu_package, total): source "
                                      "'rapl-powercap' failed "));
      EXPECT_THAT(r.reason, HasSubstr("cpu_package:0 not measured from then on"));
      EXPECT_THAT(r.reason, HasSubstr("empty file"));
      EXPECT_TRUE(r.observations.empty());
    }
  }
  const ResultSet rs = load_results(dir_ + "/out");
  EXPECT_EQ(rs.runs_ok, 2);
  EXPECT_EQ(rs.runs_failed, 4);
  ASSERT_EQ(rs.failures.size(), 4u);
  EXPECT_THAT(rs.failures[0], HasSubstr(": invalid: "));
  for (const auto& o : rs.observations) EXPECT_EQ(o.framework, "good") << o.metric;
  // Nothing left to compare: one framework.
  EXPECT_THROW(compare_results(rs), Error);
}

// The study's idle power reaches every stored run as energy above idle, which compare can use.
TEST_F(InvalidRuns, StudyIdlePowerGivesEnergyAboveIdle) {
  const std::string study = R"(
repetitions = 1
warmup = 0
idle_baseline = 1
cooldown = 0
[[command]]
framework = "a"
model = "m"
phase = "infer"
argv = ["sh", "-c", ")" + counter_steps(4, 2) +
                            R"("]
)";
  run_study(make_effective(parse_study(study)), options());
  const ResultSet gross = load_results(dir_ + "/out");
  const ResultSet above = load_results(dir_ + "/out", EnergyBasis::kAboveIdle);
  std::map<std::string, double> g, a;
  for (const auto& o : gross.observations) g[o.metric] = o.value;
  for (const auto& o : above.observations) a[o.metric] = o.value;
  ASSERT_EQ(g.count("energy_total"), 1u);
  ASSERT_EQ(a.count("energy_total"), 1u);
  EXPECT_NEAR(g["energy_total"], 8, 1e-6);  // four steps of 2 J
  EXPECT_NEAR(a["energy_total"], g["energy_total"] - 2.0 * g["duration"], 1e-6);
  EXPECT_NEAR(a["energy_cpu_package"], g["energy_cpu_package"] - 2.0 * g["duration"], 1e-6);
  EXPECT_EQ(above.energy_basis, "above-idle");
}

}  // namespace
}  // namespace greenbench
