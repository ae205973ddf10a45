// Studies on GPUs without a GPU: the device and precision keys reach the workers, a whole study
// measures the fake NVML's GPUs (one with an energy counter, one with power samples only) and
// records which is which, and adaptive cooldown waits for the GPU's own idle power.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "greenbench-gpu-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

std::string fake_nvml() { return std::string(GREENBENCH_TEST_LIB_DIR) + "/libfake_nvml.so"; }

class GpuStudy : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"FAKE_NVML_GPUS", "FAKE_NVML_WATTS", "FAKE_NVML_STATE",
                          "FAKE_NVML_INIT_ERROR", "FAKE_NVML_SAMPLE_MS", "FAKE_NVML_PERSISTENCE",
                          "FAKE_NVML_OLD", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"}) {
      unsetenv(v);
    }
    dir_ = temp_dir();
    workers_ = dir_ + "/bin";
    fs::create_directories(workers_);
    for (const char* name : {"greenbench-torch", "greenbench-tf"}) {
      const std::string path = workers_ + "/" + name;
      std::ofstream(path) << "#!/bin/sh\n";
      chmod(path.c_str(), 0755);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir_, workers_;
};

std::string error_of(const std::string& text) {
  try {
    parse_study(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(GpuStudy, DeviceAndPrecisionKeysAreValidatedStoredAndPassedToTheWorkers) {
  StudySettings s =
      parse_study("models = [\"resnet50\"]\ndevice = \"cuda:1\"\nprecision = \"bf16\"");
  EXPECT_EQ(s.device, "cuda:1");
  EXPECT_EQ(s.precision, "bf16");
  const EffectiveSettings e = make_effective(s);
  EXPECT_EQ(to_json(e).at("device"), "cuda:1");
  EXPECT_EQ(to_json(e).at("precision"), "bf16");
  EXPECT_THAT(describe(e), HasSubstr("device cuda:1, precision bf16"));
  const auto plan = make_plan(e);
  const auto argv = run_argv(e, plan.at(0), "/w", "");
  EXPECT_THAT(std::vector<std::string>(argv.end() - 4, argv.end()),
              ElementsAre("--device", "cuda:1", "--precision", "bf16"));

  // The defaults: cpu and fp32, stored, and the workers called as before (their defaults).
  const EffectiveSettings d = make_effective(parse_study(""));
  EXPECT_EQ(to_json(d).at("device"), "cpu");
  EXPECT_EQ(to_json(d).at("precision"), "fp32");
  const auto plain = run_argv(d, make_plan(d).at(0), "/w", "");
  EXPECT_EQ(std::find(plain.begin(), plain.end(), "--device"), plain.end());
  EXPECT_EQ(std::find(plain.begin(), plain.end(), "--precision"), plain.end());
  EXPECT_EQ(parse_study("device = \"cuda\"\nprecision = \"tf32\"").precision, "tf32");
  EXPECT_EQ(parse_study("device = \"cuda:0\"").device, "cuda:0");
  EXPECT_EQ(parse_study("device = \"cuda:1023\"").device, "cuda:1023");
}

TEST_F(GpuStudy, BadDevicesAndPrecisionsAreOneLineEach) {
  for (const char* device :
       {"gpu", "cuda:", "cuda:-1", "cuda:01", "cuda:1024", "cuda:x", "CUDA", "cuda:99999999999"}) {
    const std::string message = error_of(std::string("device = \"") + device + "\"");
    EXPECT_EQ(message, std::string("study.toml:1: key 'device': expected \"cpu\", \"cuda\" or "
                                   "\"cuda:N\" (N a GPU index from 0 to 1023), got \"") +
                           device + "\"");
  }
  EXPECT_EQ(error_of("device = 0"), "study.toml:1: key 'device': expected a string, got 0");
  EXPECT_EQ(error_of("precision = \"fp64\""),
            "study.toml:1: key 'precision': unknown precision 'fp64' (did you mean 'fp32'?); "
            "expected one of fp32, tf32, bf16, fp16");
  EXPECT_EQ(error_of("\nprecision = \"tf32\""),
            "study.toml:2: key 'precision': tf32 is a mode of NVIDIA tensor cores; it needs "
            "device = \"cuda\" (on the CPU use fp32 or bf16)");
}

// A whole study, measured by the real measuring code through the fake NVML: GPU 0 has an energy
// counter (120 W), GPU 1 only power samples (80 W). The environment says which is which, and each
// run's energy is what the fake's GPUs drew while it ran.
TEST_F(GpuStudy, AStudyMeasuresGpusWithAndWithoutAnEnergyCounter) {
  setenv("FAKE_NVML_GPUS", "energy,power", 1);
  setenv("FAKE_NVML_WATTS", "120,80", 1);
  setenv("FAKE_NVML_SAMPLE_MS", "20,100", 1);
  StudySettings s;
  s.commands = {{"pytorch", "resnet50", "train", {"/bin/sleep", "0.6"}, ""}};
  s.base_dir = dir_;
  s.repetitions = 2;
  s.warmup = 0;
  s.idle_baseline_s = 0.5;
  s.cooldown_s = -1;
  s.cooldown_max_s = 5;
  s.threads = 1;
  s.device = "cuda";
  RunnerOptions o;
  o.out_dir = dir_ + "/out";
  o.worker_dir = workers_;
  o.sources.nvml_lib = fake_nvml();
  o.sources.powercap_root = dir_ + "/no-powercap";
  o.sources.perf_root = dir_ + "/no-perf";
  o.measure = measure_command;
  o.idle_power = measure_idle_power;
  std::ostringstream progress;
  o.progress = &progress;
  const StudyOutcome outcome = run_study(make_effective(s), o);
  ASSERT_EQ(outcome.ok, 2) << progress.str();

  const ResultSet results = load_results(o.out_dir);
  const nlohmann::json& env = results.environment;
  EXPECT_EQ(env.at("gpu_driver_version"), "550.54.15");
  EXPECT_EQ(env.at("gpu_cuda_version"), "12.4");
  ASSERT_EQ(env.at("gpus").size(), 2u) << env.dump();
  const nlohmann::json& counter = env["gpus"][0];
  const nlohmann::json& sampled = env["gpus"][1];
  EXPECT_EQ(counter.at("id"), "gpu:0");
  EXPECT_EQ(counter.at("name"), "Fake GPU 0 (energy)");
  EXPECT_EQ(counter.at("energy_counter"), true);
  EXPECT_EQ(counter.at("energy_read_as"), "energy counter");
  EXPECT_EQ(sampled.at("energy_counter"), false);
  EXPECT_EQ(sampled.at("energy_read_as"), "power samples");
  EXPECT_DOUBLE_EQ(sampled.at("power_sample_interval_s").get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(counter.at("power_limit_w").get<double>(), 250);
  EXPECT_DOUBLE_EQ(counter.at("power_limit_default_w").get<double>(), 350);
  EXPECT_EQ(counter.at("sm_clock_mhz"), 1410);
  EXPECT_EQ(counter.at("mem_clock_max_mhz"), 1593);
  EXPECT_EQ(counter.at("persistence_mode"), true);
  // Idle power per GPU, and cooldown compared against it.
  EXPECT_NEAR(env.at("idle_power_w").at("gpu:0").get<double>(), 120, 120 * 0.05);
  EXPECT_NEAR(env.at("idle_power_w").at("gpu:1").get<double>(), 80, 1e-6);

  // Each run's whole-process phase, per GPU, as stored.
  sqlite3* db = nullptr;
  ASSERT_EQ(
      sqlite3_open_v2((o.out_dir + "/results.sqlite").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
      SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT p.duration_s, e0.energy_j, e1.energy_j, e0.quality, "
                               "e1.quality, eg.energy_j FROM phases p "
                               "JOIN phase_energy e0 ON e0.run_id = p.run_id AND "
                               "e0.phase_seq = p.seq AND e0.domain = 'gpu:0' "
                               "JOIN phase_energy e1 ON e1.run_id = p.run_id AND "
                               "e1.phase_seq = p.seq AND e1.domain = 'gpu:1' "
                               "JOIN phase_energy eg ON eg.run_id = p.run_id AND "
                               "eg.phase_seq = p.seq AND eg.domain = 'gpu' "
                               "WHERE p.name = 'run'",
                               -1, &q, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  int rows = 0;
  while (sqlite3_step(q) == SQLITE_ROW) {
    ++rows;
    const double d = sqlite3_column_double(q, 0);
    EXPECT_GT(d, 0.55);
    // The counter, read at both ends of the phase: 120 W x duration, to within the counter's
    // whole millijoules and the sampler's timing (5%).
    EXPECT_NEAR(sqlite3_column_double(q, 1), 120 * d, 120 * d * 0.05);
    // The power samples, integrated: a constant 80 W.
    EXPECT_NEAR(sqlite3_column_double(q, 2), 80 * d, 80 * d * 0.05);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 3)), "measured");
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 4)), "measured");
    EXPECT_NEAR(sqlite3_column_double(q, 5), 200 * d, 200 * d * 0.05);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  EXPECT_EQ(rows, 2);
  // What compare reads: the GPUs' energy, measured.
  int observed = 0;
  for (const Observation& ob : results.observations) {
    if (ob.metric != "energy_gpu") continue;
    ++observed;
    EXPECT_EQ(ob.quality, "measured");
    EXPECT_GT(ob.value, 200 * 0.55 * 0.95);
  }
  EXPECT_EQ(observed, 2);
}

// The total comes back within tolerance of idle before the GPU does: cooldown waits for both.
TEST_F(GpuStudy, AdaptiveCooldownWaitsForTheGpusIdlePower) {
  StudySettings s;
  s.models = {"ncf"};
  s.models_given = true;
  s.frameworks = {"pytorch"};
  s.phases = {"train"};
  s.repetitions = 2;
  s.warmup = 0;
  s.threads = 1;
  s.cooldown_s = -1;
  s.cooldown_tolerance = 0.1;
  s.idle_baseline_s = 3;
  std::vector<std::map<std::string, double>> windows;
  RunnerOptions o;
  o.out_dir = dir_ + "/out";
  o.worker_dir = workers_;
  o.measure = [](const std::vector<std::string>& argv, const MeasureOptions&) {
    RunRecord r;
    r.command = argv;
    r.duration_s = 1;
    r.phases = {{"run", 0, 1, 1, {{"gpu", 300}, {"total", 400}}, {}}};
    return r;
  };
  int hot = 3;
  o.idle_power = [&](const MeasureOptions&, double) {
    std::map<std::string, double> now{{"total", 200}, {"cpu_package", 100}, {"gpu", 100}};
    if (!windows.empty()) {
      // After the run: total 6% above its idle (within 10%), the GPU still 30% above its own.
      now = hot-- > 0 ? std::map<std::string, double>{{"total", 212}, {"gpu", 130}}
                      : std::map<std::string, double>{{"total", 205}, {"gpu", 105}};
    }
    windows.push_back(now);
    return now;
  };
  run_study(make_effective(s), o);
  ASSERT_EQ(windows.size(), 5u);  // the baseline, 3 windows with a hot GPU, 1 cool one
}

}  // namespace
}  // namespace greenbench
