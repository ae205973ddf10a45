// The runner with an injected measuring function: order, checkpoints, statuses, stop and resume,
// cooldown. No process is started and no energy source read.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "greenbench/error.hpp"
#include "greenbench/profile.hpp"
#include "greenbench/report.hpp"
#include "greenbench/store.hpp"
#include "greenbench/study.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "greenbench-runner-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

std::string arg_after(const std::vector<std::string>& argv, const std::string& flag) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) return argv[i + 1];
  }
  return "";
}

// A record like a worker's: a setup phase, then the configured phase, with energies and metrics.
RunRecord fake_record(const std::vector<std::string>& argv, const std::string& phase,
                      double joules) {
  RunRecord r;
  r.command = argv;
  r.duration_s = 2;
  PhaseRecord run{"run",
                  0,
                  2,
                  2,
                  {{"cpu_package", joules + 5}, {"total", joules + 6}},
                  {{"cpu_package", "measured"}, {"total", "measured"}}};
  PhaseRecord setup{"setup", 0, 0.5, 0.5, {{"cpu_package", 5}}, {{"cpu_package", "measured"}}};
  PhaseRecord work{
      phase,
      0.5,
      2,
      1.5,
      {{"cpu_package", joules}, {"cpu_package:0", joules}, {"dram", 1}, {"total", joules + 1}},
      {{"cpu_package", "measured"}, {"dram", "measured"}, {"total", "measured"}}};
  r.phases = {run, setup, work};
  r.metrics = {{"loss", 2.0, "", phase}, {"loss", 1.5, "", phase}, {"hit_rate_10", 0.5, "", phase}};
  r.info["framework_version"] = "9.9";
  r.sources = {{"fake", "measured", {"cpu_package:0"}, ""}};
  r.trace_domains = {"cpu_package", "total"};
  r.trace = {{0.5, {10, 12}}, {1.0, {20, 22}}, {1.5, {15, 16}}};
  return r;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir();
    workers_ = dir_ + "/bin";
    fs::create_directories(workers_);
    for (const char* name : {"greenbench-torch", "greenbench-tf"}) {
      const std::string path = workers_ + "/" + name;
      std::ofstream(path) << "#!/bin/sh\n";
      chmod(path.c_str(), 0755);
    }
    out_ = dir_ + "/out";
  }
  void TearDown() override { fs::remove_all(dir_); }

  StudySettings small_study() {
    StudySettings s;
    s.models = {"ncf"};
    s.models_given = true;
    s.repetitions = 3;
    s.warmup = 1;
    s.idle_baseline_s = 0;
    s.cooldown_s = 0;
    s.threads = 2;
    return s;
  }

  RunnerOptions options() {
    RunnerOptions o;
    o.out_dir = out_;
    o.worker_dir = workers_;
    o.progress = &progress_;
    o.measure = [this](const std::vector<std::string>& argv, const MeasureOptions& mo) {
      calls_.push_back(argv);
      last_options_ = mo;
      const std::string phase = arg_after(argv, "--phase");
      const std::string checkpoint = arg_after(argv, "--checkpoint");
      if (phase == "train" && !checkpoint.empty()) std::ofstream(checkpoint) << "weights";
      if (phase == "infer") {
        EXPECT_FALSE(checkpoint.empty()) << "infer run without a checkpoint";
        EXPECT_TRUE(fs::exists(checkpoint)) << checkpoint;
      }
      return fake_record(argv, phase, 100 + double(calls_.size()));
    };
    return o;
  }

  std::string dir_, workers_, out_;
  std::ostringstream progress_;
  std::vector<std::vector<std::string>> calls_;
  MeasureOptions last_options_;
};

TEST_F(RunnerTest, RunsThePlanInOrderAndStoresEveryRun) {
  const auto e = make_effective(small_study());
  const auto plan = make_plan(e);
  const StudyOutcome outcome = run_study(e, options());
  EXPECT_EQ(outcome.planned, 16);
  EXPECT_EQ(outcome.ok, 16);
  EXPECT_FALSE(outcome.interrupted);
  ASSERT_EQ(calls_.size(), 16u);
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& c = e.configurations[size_t(plan[i].configuration)];
    EXPECT_EQ(arg_after(calls_[i], "--model"), c.model);
    EXPECT_EQ(arg_after(calls_[i], "--phase"), c.phase);
    EXPECT_EQ(calls_[i][0],
              workers_ + (c.framework == "pytorch" ? "/greenbench-torch" : "/greenbench-tf"));
  }
  EXPECT_DOUBLE_EQ(last_options_.timeout_s, 600);
  EXPECT_THAT(last_options_.stdout_path, HasSubstr("/logs/" + plan.back().id + ".out"));
  EXPECT_THAT(progress_.str(), HasSubstr("[16/16] "));
  EXPECT_THAT(progress_.str(), HasSubstr("· ETA "));

  const ResultSet rs = load_results(out_);
  EXPECT_EQ(rs.runs_total, 16);
  EXPECT_EQ(rs.runs_ok, 16);
  EXPECT_EQ(rs.settings, to_json(e));
  EXPECT_EQ(rs.environment["framework_versions"]["pytorch"], "9.9");
  EXPECT_EQ(rs.environment["sources"][0]["name"], "fake");
  // Per run: energy_cpu_package, energy_dram, energy_total, duration, hit_rate_10, loss.
  EXPECT_EQ(rs.observations.size(), 16u * 6u);
  int warmups = 0;
  for (const auto& o : rs.observations) {
    EXPECT_EQ(o.model, "ncf");
    EXPECT_NE(o.metric, "energy_cpu_package:0");
    if (o.warmup) ++warmups;
    if (o.metric == "duration") EXPECT_DOUBLE_EQ(o.value, 1.5);  // the marker phase, not `run`
    if (o.metric == "loss") EXPECT_DOUBLE_EQ(o.value, 1.5);      // the last value reported
  }
  EXPECT_EQ(warmups, 4 * 6);
}

TEST_F(RunnerTest, InferLoadsTheLatestCheckpointOfItsModel) {
  auto e = make_effective(small_study());
  run_study(e, options());
  std::map<std::string, std::string> latest;
  for (const auto& argv : calls_) {
    const std::string fw = argv[0].find("torch") != std::string::npos ? "pytorch" : "tensorflow";
    const std::string ckpt = arg_after(argv, "--checkpoint");
    if (arg_after(argv, "--phase") == "train") {
      EXPECT_THAT(ckpt, HasSubstr("/checkpoints/" + fw + "-ncf-"));
      latest[fw] = ckpt;
    } else {
      EXPECT_EQ(ckpt, latest[fw]);
    }
  }
  // A study of inference alone uses the workers' initial weights: no checkpoint is passed.
  calls_.clear();
  StudySettings s = small_study();
  s.phases = {"infer"};
  out_ = dir_ + "/infer-only";
  RunnerOptions o = options();
  o.measure = [this](const std::vector<std::string>& argv, const MeasureOptions&) {
    calls_.push_back(argv);
    return fake_record(argv, "infer", 1);
  };
  run_study(make_effective(s), o);
  for (const auto& argv : calls_) EXPECT_EQ(arg_after(argv, "--checkpoint"), "");
}

TEST_F(RunnerTest, InferWithoutAnySuccessfulTrainRunFailsWithReason) {
  RunnerOptions o = options();
  o.measure = [this](const std::vector<std::string>& argv, const MeasureOptions& mo) {
    calls_.push_back(argv);
    RunRecord r = fake_record(argv, arg_after(argv, "--phase"), 1);
    const std::string checkpoint = arg_after(argv, "--checkpoint");
    if (arg_after(argv, "--phase") == "train") std::ofstream(checkpoint) << "weights";
    if (argv[0].find("torch") != std::string::npos && arg_after(argv, "--phase") == "train") {
      std::ofstream(mo.stderr_path) << "starting\nRuntimeError: out of memory\n\n";
      r.exit_code = 1;
    }
    return r;
  };
  const StudyOutcome outcome = run_study(make_effective(small_study()), o);
  const ResultSet rs = load_results(out_);
  EXPECT_EQ(rs.runs_total, 16);
  EXPECT_EQ(rs.runs_ok, 8);  // tensorflow train and infer
  ASSERT_EQ(rs.failures.size(), 8u);
  int train_failures = 0, infer_failures = 0, not_run = 0;
  for (const auto& f : rs.failures) {
    if (f.find("ncf/pytorch/train") == 0) {
      EXPECT_THAT(f, HasSubstr("exit code 1: RuntimeError: out of memory"));
      ++train_failures;
    } else {
      EXPECT_THAT(f, HasSubstr("ncf/pytorch/infer"));
      EXPECT_THAT(f, HasSubstr("no checkpoint: no train run of pytorch ncf has succeeded"));
      ++infer_failures;
    }
    if (f.find("not run: every warm-up of this configuration failed") != std::string::npos) {
      ++not_run;
    }
  }
  EXPECT_EQ(train_failures, 4);
  EXPECT_EQ(infer_failures, 4);
  // Both pytorch configurations failed their only warm-up: their 3 repetitions each are stored
  // as not run, and only the train warm-up was ever started.
  EXPECT_EQ(not_run, 6);
  EXPECT_EQ(outcome.skipped, 6);
  EXPECT_EQ(calls_.size(), 9u);
  for (const auto& o : rs.observations) EXPECT_EQ(o.framework, "tensorflow");
}

TEST_F(RunnerTest, AConfigurationWhoseWarmupsAllFailIsStoppedAndSaysWhy) {
  StudySettings s = small_study();
  s.frameworks = {"pytorch"};
  s.phases = {"train"};
  s.warmup = 2;
  s.repetitions = 5;
  RunnerOptions o = options();
  o.measure = [this](const std::vector<std::string>& argv, const MeasureOptions& mo) {
    calls_.push_back(argv);
    std::ofstream(mo.stderr_path) << "ImportError: libtorch_cpu.so: cannot open shared object\n";
    RunRecord r = fake_record(argv, "train", 1);
    r.exit_code = 1;
    return r;
  };
  const StudyOutcome outcome = run_study(make_effective(s), o);
  EXPECT_EQ(calls_.size(), 2u);  // the two warm-ups, then nothing
  EXPECT_EQ(outcome.failed, 2);
  EXPECT_EQ(outcome.skipped, 5);
  const std::string log = out_ + "/logs/0001-pytorch-ncf-train-w2.err";
  EXPECT_THAT(progress_.str(),
              HasSubstr("error: pytorch ncf train: every warm-up failed (exit code 1: "
                        "ImportError: libtorch_cpu.so: cannot open shared object), so its 5 "
                        "remaining runs are not run; see " +
                        log));
  ResultStore store = ResultStore::open(out_ + "/results.sqlite");
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 7u);
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, "failed");
    if (!r.warmup)
      EXPECT_THAT(r.reason, HasSubstr("not run: every warm-up of this configuration "
                                      "failed (exit code 1: ImportError"));
  }
  // One warm-up that works is enough to go on.
  fs::remove_all(out_);
  calls_.clear();
  int count = 0;
  o.measure = [&](const std::vector<std::string>& argv, const MeasureOptions&) {
    calls_.push_back(argv);
    RunRecord r = fake_record(argv, "train", 1);
    r.exit_code = ++count == 1 ? 1 : 0;
    return r;
  };
  EXPECT_EQ(run_study(make_effective(s), o).skipped, 0);
  EXPECT_EQ(calls_.size(), 7u);
}

TEST_F(RunnerTest, FailedAndTimedOutRunsAreRecordedAndTheStudyGoesOn) {
  StudySettings s = parse_study(R"(
repetitions = 2
warmup = 0
idle_baseline = 0
cooldown = 0
timeout = 7
[[command]]
framework = "a"
model = "m"
phase = "infer"
argv = ["fail"]
[[command]]
framework = "b"
model = "m"
phase = "infer"
argv = ["hang"]
[[command]]
framework = "c"
model = "m"
phase = "infer"
argv = ["segv"]
)");
  RunnerOptions o = options();
  o.measure = [](const std::vector<std::string>& argv, const MeasureOptions& mo) {
    RunRecord r = fake_record(argv, "infer", 1);
    if (argv[0] == "fail") {
      r.exit_code = 3;
      std::ofstream(mo.stderr_path) << "bad input\n";
    } else if (argv[0] == "hang") {
      r.timed_out = true;
      r.term_signal = SIGTERM;
      r.exit_code = 128 + SIGTERM;
    } else {
      r.term_signal = SIGSEGV;
      r.exit_code = 128 + SIGSEGV;
    }
    return r;
  };
  const StudyOutcome outcome = run_study(make_effective(s), o);
  EXPECT_EQ(outcome.failed, 4);
  EXPECT_EQ(outcome.timed_out, 2);
  EXPECT_FALSE(outcome.interrupted);
  const ResultSet rs = load_results(out_);
  EXPECT_EQ(rs.runs_total, 6);
  EXPECT_EQ(rs.runs_failed, 6);
  EXPECT_TRUE(rs.observations.empty());
  std::set<std::string> reasons;
  for (const auto& f : rs.failures) reasons.insert(f.substr(f.find(": ") + 2));
  EXPECT_EQ(reasons, (std::set<std::string>{"exit code 3: bad input", "timed out after 7 s",
                                            "killed by signal 11 (SIGSEGV)"}));
  ResultStore store = ResultStore::open(out_ + "/results.sqlite");
  std::map<std::string, int> statuses;
  for (const auto& r : store.runs()) ++statuses[r.status];
  EXPECT_EQ(statuses["failed"], 4);
  EXPECT_EQ(statuses["timeout"], 2);
}

TEST_F(RunnerTest, StopKeepsFinishedRunsAndResumeRunsTheRestOnce) {
  std::atomic<bool> stop{false};
  RunnerOptions o = options();
  o.stop = &stop;
  auto measure = o.measure;
  int count = 0;
  o.measure = [&](const std::vector<std::string>& argv, const MeasureOptions& mo) {
    RunRecord r = measure(argv, mo);
    // The fifth run is cut short by Ctrl-C: the signal reached the worker too.
    if (++count == 5) {
      stop = true;
      r.term_signal = SIGINT;
      r.exit_code = 130;
    }
    return r;
  };
  const auto e = make_effective(small_study());
  const StudyOutcome first = run_study(e, o);
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.ok, 4);
  EXPECT_EQ(load_results(out_).runs_total, 4);

  // Without --resume the store is not touched.
  stop = false;
  try {
    run_study(e, o);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_THAT(err.what(), HasSubstr("already exists (add --resume"));
  }

  // Resume from a moved directory: stored checkpoints are found relative to it.
  const std::string moved = dir_ + "/moved";
  fs::rename(out_, moved);
  out_ = moved;
  o.out_dir = moved;
  o.resume = true;
  calls_.clear();
  o.measure = measure;
  const StudyOutcome second = run_study(e, o);
  EXPECT_FALSE(second.interrupted);
  EXPECT_EQ(second.already_stored, 4);
  EXPECT_EQ(second.ok, 12);
  EXPECT_EQ(calls_.size(), 12u);
  ResultStore store = ResultStore::open(out_ + "/results.sqlite");
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 16u);
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].position, int(i));
}

TEST_F(RunnerTest, ResumeRefusesOtherSettingsAndMissingStores) {
  RunnerOptions o = options();
  o.resume = true;
  EXPECT_THROW(run_study(make_effective(small_study()), o), Error);
  o.resume = false;
  run_study(make_effective(small_study()), o);
  StudySettings other = small_study();
  other.repetitions = 2;  // fewer: stored runs would fall out of the plan
  o.resume = true;
  try {
    run_study(make_effective(other), o);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_THAT(err.what(), HasSubstr("with other settings (repetitions is 3 there, 2 here)"));
  }
  other = small_study();
  other.seed = 7;
  try {
    run_study(make_effective(other), o);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_THAT(err.what(), HasSubstr("with other settings (seed is 1 there, 7 here)"));
  }
}

TEST_F(RunnerTest, AStoreFromBeforeANewKeyResumesWhenTheKeyIsAtItsDefault) {
  RunnerOptions o = options();
  run_study(make_effective(small_study()), o);
  {
    // What a greenbench without the device and precision keys stored.
    ResultStore store = ResultStore::open(out_ + "/results.sqlite");
    nlohmann::json older = store.settings();
    older.erase("device");
    older.erase("precision");
    store.update_study(older, store.environment());
  }
  o.resume = true;
  calls_.clear();
  const StudyOutcome again = run_study(make_effective(small_study()), o);
  EXPECT_TRUE(again.complete);
  EXPECT_TRUE(calls_.empty());
  // Asked for anything but the default, the older store is another study.
  StudySettings cuda = small_study();
  cuda.device = "cuda";
  try {
    run_study(make_effective(cuda), o);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_THAT(err.what(), HasSubstr("with other settings (device is missing there)"));
  }
}

TEST_F(RunnerTest, ASettingsMismatchIsReportedBeforeAnyIdleMeasurement) {
  StudySettings s = small_study();
  s.idle_baseline_s = 30;
  int idle_calls = 0;
  RunnerOptions o = options();
  o.idle_power = [&](const MeasureOptions&, double) {
    ++idle_calls;
    return std::map<std::string, double>{{"total", 10}};
  };
  run_study(make_effective(s), o);
  EXPECT_EQ(idle_calls, 1);
  s.seed = 7;
  for (const bool resume : {false, true}) {
    o.resume = resume;
    EXPECT_THROW(run_study(make_effective(s), o), Error);
  }
  EXPECT_EQ(idle_calls, 1);
}

TEST_F(RunnerTest, ASecondRunOnAFinishedStudyIsCompleteAndChangesNothing) {
  StudySettings s = small_study();
  s.idle_baseline_s = 30;
  int idle_calls = 0;
  RunnerOptions o = options();
  o.idle_power = [&](const MeasureOptions&, double) {
    ++idle_calls;
    return std::map<std::string, double>{{"total", 10}};
  };
  const StudyOutcome first = run_study(make_effective(s), o);
  EXPECT_FALSE(first.complete);
  calls_.clear();
  for (const bool resume : {false, true}) {
    o.resume = resume;
    const StudyOutcome again = run_study(make_effective(s), o);
    EXPECT_TRUE(again.complete);
    EXPECT_EQ(again.already_stored, 16);
    EXPECT_EQ(again.failed_before, 0);
  }
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(idle_calls, 1);  // no baseline spent on a study with nothing left to run
}

TEST_F(RunnerTest, ResumeWithMoreRepetitionsExtendsTheStudy) {
  RunnerOptions o = options();
  run_study(make_effective(small_study()), o);
  const auto before = ResultStore::open(out_ + "/results.sqlite").runs();
  ASSERT_EQ(before.size(), 16u);

  // 3 -> 5 repetitions, stopped after three of the eight new runs ...
  StudySettings more = small_study();
  more.repetitions = 5;
  std::atomic<bool> stop{false};
  o.resume = true;
  o.stop = &stop;
  auto measure = o.measure;
  int count = 0;
  o.measure = [&](const std::vector<std::string>& argv, const MeasureOptions& mo) {
    if (++count == 3) stop = true;
    return measure(argv, mo);
  };
  calls_.clear();
  const StudyOutcome partial = run_study(make_effective(more), o);
  EXPECT_TRUE(partial.interrupted);
  EXPECT_EQ(partial.extended_from, 3);
  EXPECT_EQ(partial.ok, 2);

  // ... and finished by a second resume with the same settings.
  stop = false;
  o.measure = measure;
  const StudyOutcome rest = run_study(make_effective(more), o);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.extended_from, 0);  // already extended
  EXPECT_EQ(rest.already_stored, 18);
  EXPECT_EQ(rest.ok, 6);

  ResultStore store = ResultStore::open(out_ + "/results.sqlite");
  EXPECT_EQ(store.settings()["repetitions"], 5);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 24u);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].position, int(i));
    EXPECT_EQ(runs[i].status, "ok");
    if (i < before.size()) {
      // The stored runs keep their places; the new ones are repetitions 4 and 5, after them.
      EXPECT_EQ(runs[i].framework, before[i].framework);
      EXPECT_EQ(runs[i].phase, before[i].phase);
      EXPECT_EQ(runs[i].repetition, before[i].repetition);
      EXPECT_EQ(runs[i].warmup, before[i].warmup);
    } else {
      EXPECT_FALSE(runs[i].warmup);
      EXPECT_GE(runs[i].repetition, 4);
    }
  }
  // Complete now with 5; and it cannot shrink back to 3.
  EXPECT_TRUE(run_study(make_effective(more), o).complete);
  EXPECT_THROW(run_study(make_effective(small_study()), o), Error);
}

// An auto study of commands "work MODEL FRAMEWORK": on "big" framework b costs twice what a
// does, on "same" both cost the same within ±0.1%, on "noisy" both come from one distribution
// ±30% wide. The value depends only on the configuration and the repetition (read from the run's
// log name), so an interrupted and resumed study measures the same values.
class AutoStudyTest : public RunnerTest {
 protected:
  StudySettings auto_study() {
    StudySettings s;
    s.name = "auto";
    s.frameworks = {"a", "b"};
    s.repetitions_auto = true;
    s.min_repetitions = 5;
    s.max_repetitions = 12;
    s.repetitions = 12;
    s.warmup = 1;
    s.idle_baseline_s = 0;
    s.cooldown_s = 0;
    s.threads = 1;
    for (const char* model : {"big", "same", "noisy"}) {
      for (const char* f : {"a", "b"})
        s.commands.push_back({f, model, "infer", {"work", model, f}});
    }
    return s;
  }

  RunnerOptions auto_options() {
    RunnerOptions o = options();
    o.measure = [this](const std::vector<std::string>& argv, const MeasureOptions& mo) {
      calls_.push_back(argv);
      const std::string& model = argv.at(1);
      const std::string& framework = argv.at(2);
      // ".../logs/0007-a-big-infer-r3.out" -> 3 (warm-ups "-w1" get 0)
      const std::string name = fs::path(mo.stdout_path).stem().string();
      const std::size_t dash = name.rfind('-');
      const int rep = name[dash + 1] == 'r' ? std::stoi(name.substr(dash + 2)) : 0;
      std::uint64_t h =
          std::hash<std::string>{}(model + "/" + framework + "/" + std::to_string(rep));
      h ^= h >> 31;
      h *= 0x9E3779B97F4A7C15ULL;
      const double u = double(h >> 11) / double(1ULL << 53) - 0.5;  // in [-0.5, 0.5)
      double level = 100, spread = 0.002;
      if (model == "big" && framework == "b") level = 200;
      if (model == "big") spread = 0.02;
      if (model == "noisy") spread = 0.6;
      const double value = level * (1 + spread * u);
      RunRecord r = fake_record(argv, "infer", value);
      r.phases[2].duration_s = value / 100;
      return r;
    };
    return o;
  }

  // The measured runs stored per configuration "framework/model".
  std::map<std::string, int> measured_runs() {
    std::map<std::string, int> count;
    for (const auto& r : ResultStore::open(out_ + "/results.sqlite").runs()) {
      if (!r.warmup && r.status == "ok") ++count[r.framework + "/" + r.model];
    }
    return count;
  }

  // compare --sequential on the stored study, with the study's own sequential settings.
  std::map<std::string, std::pair<std::string, std::size_t>> replayed() {
    const ResultSet results = load_results(out_ + "/results.sqlite");
    CompareSettings cs;
    cs.sequential = true;
    cs.sequential_options.min_n = results.settings["min_repetitions"].get<std::size_t>();
    cs.sequential_options.max_n = results.settings["max_repetitions"].get<std::size_t>();
    std::map<std::string, std::pair<std::string, std::size_t>> out;
    for (const auto& c : compare_results(results, cs).comparisons) {
      if (!c.decision.empty()) out[c.model + "/" + c.metric] = {c.decision, c.decided_at};
    }
    return out;
  }
};

TEST_F(AutoStudyTest, DecidedConfigurationsStopAndTheReplayGivesTheSameDecisions) {
  const StudyOutcome outcome = run_study(make_effective(auto_study()), auto_options());
  EXPECT_FALSE(outcome.interrupted);
  EXPECT_EQ(outcome.planned, 6 * 13);

  const auto runs = measured_runs();
  const auto replay = replayed();
  ASSERT_EQ(replay.size(), 6u);  // energy and duration of 3 models, one Holm family
  // b's double cost is decided before the last look, and its configurations stop there.
  const std::size_t big_at = replay.at("big/duration").second;
  EXPECT_EQ(replay.at("big/duration").first, "a_cheaper");
  EXPECT_EQ(replay.at("big/energy_total").first, "a_cheaper");
  EXPECT_GE(big_at, 5u);
  EXPECT_LT(big_at, 12u);
  EXPECT_EQ(std::size_t(runs.at("a/big")), std::max(big_at, replay.at("big/energy_total").second));
  EXPECT_EQ(runs.at("b/big"), runs.at("a/big"));
  // Equal within ±0.1%: equivalent (within ±2%), and stopped at that look.
  EXPECT_EQ(replay.at("same/duration").first, "equivalent");
  EXPECT_EQ(replay.at("same/energy_total").first, "equivalent");
  EXPECT_LT(runs.at("a/same"), 12);
  EXPECT_EQ(runs.at("b/same"), runs.at("a/same"));
  // One distribution ±30% wide: neither different nor provably equivalent in 12 runs.
  EXPECT_EQ(replay.at("noisy/duration").first, "undecided");
  EXPECT_EQ(replay.at("noisy/energy_total").first, "undecided");
  EXPECT_EQ(runs.at("a/noisy"), 12);
  EXPECT_EQ(runs.at("b/noisy"), 12);
  EXPECT_EQ(outcome.undecided, 2);
  EXPECT_EQ(outcome.not_needed, 2 * (12 - runs.at("a/big")) + 2 * (12 - runs.at("a/same")));
  EXPECT_THAT(progress_.str(), HasSubstr("rep 12/12 · 2 undecided"));

  // Stored: the decisions of the last look, as compare --sequential replays them.
  const auto env = ResultStore::open(out_ + "/results.sqlite").environment();
  ASSERT_TRUE(env.contains("sequential"));
  EXPECT_EQ(env["sequential"]["look"], 12);
  EXPECT_EQ(env["sequential"]["undecided"], 2);
  ASSERT_EQ(env["sequential"]["comparisons"].size(), 6u);
  for (const auto& c : env["sequential"]["comparisons"]) {
    const std::string key = c["model"].get<std::string>() + "/" + c["metric"].get<std::string>();
    ASSERT_TRUE(replay.count(key)) << key;
    EXPECT_EQ(c["decision"], replay.at(key).first) << key;
    EXPECT_EQ(c["decided_at"], replay.at(key).second) << key;
  }

  // A second run finds nothing left to do.
  calls_.clear();
  const StudyOutcome again = run_study(make_effective(auto_study()), auto_options());
  EXPECT_TRUE(again.complete);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(AutoStudyTest, AnInterruptedAutoStudyResumesToTheSameRunsAndDecisions) {
  run_study(make_effective(auto_study()), auto_options());
  const auto whole_runs = measured_runs();
  const auto whole_decisions = replayed();
  const auto whole_env = ResultStore::open(out_ + "/results.sqlite").environment()["sequential"];

  out_ = dir_ + "/resumed";
  // Stopped twice: inside the first blocks, and after some configurations stopped.
  for (const int stop_after : {9, 40}) {
    std::atomic<bool> stop{false};
    RunnerOptions o = auto_options();
    o.out_dir = out_;
    o.resume = fs::exists(out_ + "/results.sqlite");
    o.stop = &stop;
    auto measure = o.measure;
    int count = 0;
    o.measure = [&](const std::vector<std::string>& argv, const MeasureOptions& mo) {
      if (++count == stop_after) stop = true;
      return measure(argv, mo);
    };
    EXPECT_TRUE(run_study(make_effective(auto_study()), o).interrupted);
  }
  RunnerOptions o = auto_options();
  o.out_dir = out_;
  o.resume = true;
  const StudyOutcome rest = run_study(make_effective(auto_study()), o);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.undecided, 2);
  EXPECT_EQ(measured_runs(), whole_runs);
  EXPECT_EQ(replayed(), whole_decisions);
  EXPECT_EQ(ResultStore::open(out_ + "/results.sqlite").environment()["sequential"], whole_env);
}

TEST_F(RunnerTest, StopDuringTheIdleBaselineEndsItAtOnce) {
  StudySettings s = small_study();
  s.idle_baseline_s = 60;
  std::atomic<bool> stop{false};
  RunnerOptions o = options();
  o.stop = &stop;
  // Like measure_idle_power: reads until the time is up or the stop flag is set.
  o.idle_power = [](const MeasureOptions& mo, double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until && !(mo.stop && mo.stop->load())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::map<std::string, double>{{"total", 10}};
  };
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  const auto start = std::chrono::steady_clock::now();
  const StudyOutcome outcome = run_study(make_effective(s), o);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stopper.join();
  EXPECT_TRUE(outcome.interrupted);
  EXPECT_LT(took, 2.0);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(RunnerTest, StopDuringACooldownEndsItAtOnce) {
  for (const double cooldown : {30.0, -1.0}) {  // fixed, then adaptive
    StudySettings s = small_study();
    s.frameworks = {"pytorch"};
    s.phases = {"train"};
    s.warmup = 0;
    s.cooldown_s = cooldown;
    s.cooldown_max_s = 60;
    s.idle_baseline_s = 0.1;
    std::atomic<bool> stop{false};
    RunnerOptions o = options();
    o.stop = &stop;
    int windows = 0;
    o.idle_power = [&](const MeasureOptions& mo, double seconds) {
      // The baseline says 10 W; every cooldown window after it finds the machine still hot.
      const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
      while (std::chrono::steady_clock::now() < until && !(mo.stop && mo.stop->load())) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return std::map<std::string, double>{{"total", ++windows == 1 ? 10.0 : 50.0}};
    };
    auto measure = o.measure;
    std::thread stopper;
    o.measure = [&](const std::vector<std::string>& argv, const MeasureOptions& mo) {
      if (!stopper.joinable()) {
        stopper = std::thread([&stop] {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          stop = true;
        });
      }
      return measure(argv, mo);
    };
    const auto start = std::chrono::steady_clock::now();
    const StudyOutcome outcome = run_study(make_effective(s), o);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stopper.join();
    EXPECT_TRUE(outcome.interrupted) << cooldown;
    EXPECT_EQ(outcome.ok, 1) << cooldown;
    EXPECT_LT(took, 2.0) << cooldown;
    fs::remove_all(out_);
  }
}

TEST_F(RunnerTest, NoIdleBaselineIsSpentWhereIdlePowerCannotBeMeasured) {
  StudySettings s = small_study();
  s.idle_baseline_s = 30;
  s.cooldown_s = -1;
  int idle_calls = 0;
  RunnerOptions o = options();
  o.idle_power = [&](const MeasureOptions&, double) {
    ++idle_calls;
    return std::map<std::string, double>{};
  };
  o.idle_power_measurable = [](const MeasureOptions&) { return false; };
  EXPECT_EQ(run_study(make_effective(s), o).ok, 16);
  EXPECT_EQ(idle_calls, 0);
  const std::string text = progress_.str();
  EXPECT_THAT(text, ::testing::Not(HasSubstr("measuring idle power")));
  const std::string said = "cannot measure idle power";
  EXPECT_THAT(text, HasSubstr(said + " (the CPU estimate counts only the runs' own CPU time): no "
                                     "idle baseline, and adaptive cooldown is skipped\n"));
  EXPECT_EQ(text.find(said), text.rfind(said));
  EXPECT_FALSE(load_results(out_).environment.contains("idle_power_w"));
}

TEST_F(RunnerTest, RunsGetNoTerminalTheStopFlagAndTheSessionsRunId) {
  std::atomic<bool> stop{false};
  RunnerOptions o = options();
  o.stop = &stop;
  run_study(make_effective(small_study()), o);
  EXPECT_EQ(last_options_.stdin_path, "/dev/null");
  EXPECT_EQ(last_options_.stop, &stop);
  EXPECT_EQ(last_options_.run_id.rfind("gb-", 0), 0u);
  std::ifstream lock(out_ + "/.lock");
  std::string id;
  lock >> id;
  EXPECT_EQ(id, last_options_.run_id);
}

TEST_F(RunnerTest, ProcessesLeftByAnEarlierGreenbenchAreEndedFirst) {
  // A greenbench killed together with its watchdog: its run is still going, marked with the run
  // id the lock file names.
  fs::create_directories(out_);
  std::ofstream(out_ + "/.lock") << "gb-earlier-1234\n";
  const pid_t leftover = fork();
  ASSERT_GE(leftover, 0);
  if (leftover == 0) {
    setenv("GREENBENCH_RUN_ID", "gb-earlier-1234", 1);
    execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  run_study(make_effective(small_study()), options());
  int status = 0;
  ASSERT_EQ(waitpid(leftover, &status, WNOHANG), leftover) << "the leftover is still running";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_THAT(progress_.str(),
              HasSubstr("warning: ended 1 process still running from an earlier greenbench"));
}

TEST_F(RunnerTest, ASecondRunnerOnTheSameDirectoryIsRefused) {
  fs::create_directories(out_);
  const int fd = open((out_ + "/.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX), 0);
  try {
    run_study(make_effective(small_study()), options());
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_THAT(err.what(), HasSubstr("another greenbench is running a study in this directory"));
  }
  EXPECT_TRUE(calls_.empty());
  close(fd);  // released: now it runs
  EXPECT_EQ(run_study(make_effective(small_study()), options()).ok, 16);
}

TEST_F(RunnerTest, MissingWorkerIsRefusedBeforeAnythingRuns) {
  fs::remove(workers_ + "/greenbench-tf");
  try {
    run_study(make_effective(small_study()), options());
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_THAT(err.what(), HasSubstr("greenbench-tf: the tensorflow worker is not there"));
  }
  EXPECT_TRUE(calls_.empty());
  EXPECT_FALSE(fs::exists(out_ + "/results.sqlite"));
}

TEST_F(RunnerTest, AdaptiveCooldownWaitsUntilPowerIsBackNearIdle) {
  StudySettings s = small_study();
  s.frameworks = {"pytorch"};
  s.phases = {"train"};
  s.repetitions = 2;
  s.warmup = 0;
  s.cooldown_s = -1;
  s.idle_baseline_s = 3;
  s.cooldown_tolerance = 0.1;
  std::vector<double> windows;
  int hot_windows = 3;
  RunnerOptions o = options();
  o.idle_power = [&](const MeasureOptions&, double seconds) {
    windows.push_back(seconds);
    if (windows.size() == 1) return std::map<std::string, double>{{"total", 10}, {"gpu", 1}};
    // Hot for a few windows after the run, then within 10% of the idle 10 W.
    const double watts = hot_windows-- > 0 ? 30 : 10.9;
    return std::map<std::string, double>{{"total", watts}};
  };
  run_study(make_effective(s), o);
  ASSERT_EQ(windows.size(), 5u);  // the baseline, 3 hot windows and 1 cool one
  EXPECT_DOUBLE_EQ(windows[0], 3);
  EXPECT_DOUBLE_EQ(windows[1], 0.5);
  EXPECT_EQ(load_results(out_).environment["idle_power_w"]["total"], 10);
  // It says what it waits for; off a terminal once, not once per window.
  const std::string text = progress_.str();
  EXPECT_THAT(text, HasSubstr("cooldown: total 30.0 W, waiting for <= 11.0 W (idle 10.0 W + 10%), "
                              "at most 60 s more\n"));
  EXPECT_EQ(text.find("cooldown:"), text.rfind("cooldown:")) << text;
}

TEST_F(RunnerTest, AdaptiveCooldownStopsAtItsMaximum) {
  StudySettings s = small_study();
  s.frameworks = {"pytorch"};
  s.phases = {"train"};
  s.repetitions = 2;
  s.warmup = 0;
  s.cooldown_s = -1;
  s.idle_baseline_s = 1;
  s.cooldown_max_s = 0.2;
  int windows = 0;
  RunnerOptions o = options();
  o.idle_power = [&](const MeasureOptions&, double seconds) {
    ++windows;
    usleep(useconds_t(seconds * 1e5));  // a tenth of the window, to keep the test short
    return std::map<std::string, double>{{"total", windows == 1 ? 10.0 : 50.0}};
  };
  run_study(make_effective(s), o);
  EXPECT_GE(windows, 2);  // the baseline and at least one window, however slow the machine
  EXPECT_LE(windows, 8);  // but stopped after 0.2 s of 0.05 s windows
  EXPECT_THAT(progress_.str(), HasSubstr("warning: total power 50 W did not come back within "
                                         "10% of the idle 10 W in cooldown_max = 0.2 s"));
}

TEST_F(RunnerTest, FixedCooldownSleepsBetweenRuns) {
  StudySettings s = small_study();
  s.frameworks = {"pytorch"};
  s.phases = {"train"};
  s.repetitions = 3;
  s.warmup = 0;
  s.cooldown_s = 0.2;
  const auto start = std::chrono::steady_clock::now();
  run_study(make_effective(s), options());
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(elapsed, 0.4);  // two cooldowns between three runs
  EXPECT_LT(elapsed, 3.0);
}

}  // namespace
}  // namespace greenbench

namespace greenbench {
namespace {

TEST_F(RunnerTest, InPlaceProgressShowsTheWorkersPhase) {
  StudySettings s = small_study();
  s.frameworks = {"pytorch"};
  s.phases = {"train"};
  s.repetitions = 2;
  s.warmup = 0;
  RunnerOptions o = options();
  o.progress_in_place = true;
  auto measure = o.measure;
  o.measure = [&](const std::vector<std::string>& argv, const MeasureOptions& mo) {
    EXPECT_TRUE(mo.on_marker);
    if (mo.on_marker) {
      mo.on_marker("info framework_version 1");
      mo.on_marker("begin train");
    }
    return measure(argv, mo);
  };
  run_study(make_effective(s), o);
  const std::string text = progress_.str();
  EXPECT_THAT(text, HasSubstr("\r\033[K[1/2] pytorch ncf train rep "));
  EXPECT_THAT(text, HasSubstr(" · train · 0 done, 0 failed, 2 left · ETA unknown\r\033[K[2/2] "
                              "pytorch ncf train rep "));
  EXPECT_THAT(text, HasSubstr(" · train · 0 done, 0 failed, 2 left · ETA unknown"));
  EXPECT_THAT(text, HasSubstr(" · train · 1 done, 0 failed, 1 left · ETA "));
  EXPECT_EQ(text.back(), '\n');
}

// profile = true: one profiled run per built-in configuration after the measured ones; stored
// apart (never an observation), its op categories splitting the measured runs' median energy.
TEST_F(RunnerTest, ProfileStudyAddsOneProfiledRunPerConfigurationOutsideTheStatistics) {
  const std::string taxonomy = dir_ + "/taxonomy.tsv";
  std::ofstream(taxonomy) << "framework\tname\tcategory\n"
                          << "pytorch\taten::addmm\tmatmul\n"
                          << "pytorch\taten::add_\telementwise\n"
                          << "tensorflow\tMatMul\tmatmul\n"
                          << "tensorflow\tAddV2\telementwise\n";
  ::setenv("GREENBENCH_OP_TAXONOMY", taxonomy.c_str(), 1);
  StudySettings s = small_study();
  s.profile = true;
  const auto e = make_effective(s);
  EXPECT_EQ(to_json(e)["profile"], true);
  RunnerOptions o = options();
  std::vector<std::vector<std::string>> profiled;
  auto measure = o.measure;
  o.measure = [&](const std::vector<std::string>& argv, const MeasureOptions& mo) {
    const std::string file = arg_after(argv, "--profile");
    if (file.empty()) {
      RunRecord r = measure(argv, mo);
      const std::string phase = arg_after(argv, "--phase");
      r.metrics.push_back(
          {phase == "train" ? "step_s_median" : "batch_s_median", 0.25, "s", phase});
      return r;
    }
    profiled.push_back(argv);
    const bool torch = argv[0].find("greenbench-torch") != std::string::npos;
    const bool train = arg_after(argv, "--phase") == "train";
    // A step of 0.5 s, against the measured runs' 0.25 s: a profiler overhead of +100%.
    nlohmann::json ops = nlohmann::json::array();
    ops.push_back({{"name", torch ? "aten::addmm" : "MatMul"},
                   {"pass", "forward"},
                   {"self_s", 0.6},
                   {"calls", 2}});
    ops.push_back({{"name", torch ? "aten::add_" : "AddV2"},
                   {"pass", train ? "optimizer" : "forward"},
                   {"self_s", 0.2},
                   {"calls", 2}});
    const nlohmann::json worker = {{"framework", torch ? "pytorch" : "tensorflow"},
                                   {"framework_version", "9.9"},
                                   {"profiler", "fake"},
                                   {"model", arg_after(argv, "--model")},
                                   {"scale", "tiny"},
                                   {"phase", arg_after(argv, "--phase")},
                                   {"device", "cpu"},
                                   {"precision", "fp32"},
                                   {"threads", 2},
                                   {"steps", 2},
                                   {"phase_s", 1.0},
                                   {"ops_self_s", 0.8},
                                   {"step_s", {0.5, 0.5}},
                                   {"step_start_s", {0.0, 0.5}},
                                   {"ops", ops},
                                   {"spans_total", 0},
                                   {"spans", nlohmann::json::array()}};
    std::ofstream(file) << worker.dump();
    return fake_record(argv, arg_after(argv, "--phase"), 1);
  };
  const StudyOutcome outcome = run_study(e, o);
  ::unsetenv("GREENBENCH_OP_TAXONOMY");
  EXPECT_EQ(outcome.ok, 16);
  ASSERT_EQ(profiled.size(), 4u);  // 2 frameworks x ncf x 2 phases
  for (const auto& argv : profiled) {
    EXPECT_THAT(arg_after(argv, "--profile"), HasSubstr("/profiles/"));
    if (arg_after(argv, "--phase") == "infer")
      EXPECT_FALSE(arg_after(argv, "--checkpoint").empty());
  }
  EXPECT_THAT(progress_.str(), HasSubstr("[profile 4/4] "));

  const ResultSet rs = load_results(out_);
  EXPECT_EQ(rs.observations.size(), 16u * 7u);  // the profiled runs add no observation
  ASSERT_EQ(rs.profiles.size(), 4u);
  for (const nlohmann::json& j : rs.profiles) {
    const Profile p = profile_from_json(j);
    // The measured runs' median energy_total of this configuration (each run's is its index
    // in the plan plus 101, plus 1 J in the phase).
    std::vector<double> energies;
    for (const auto& ob : rs.observations) {
      if (!ob.warmup && ob.metric == "energy_total" && ob.framework == p.framework &&
          ob.phase == p.phase)
        energies.push_back(ob.value);
    }
    ASSERT_EQ(energies.size(), 3u);
    std::sort(energies.begin(), energies.end());
    EXPECT_DOUBLE_EQ(p.phase_energy_j, energies[1]) << p.framework << " " << p.phase;
    EXPECT_DOUBLE_EQ(p.categories.at("matmul").share, 0.6);
    EXPECT_NEAR(p.categories.at("matmul").energy_j, 0.6 * energies[1], 1e-9);
    EXPECT_DOUBLE_EQ(p.categories.count("optimizer") ? p.categories.at("optimizer").share : 0,
                     p.phase == "train" ? 0.2 : 0.0);
    EXPECT_NEAR(p.framework_overhead_s, 0.2, 1e-12);
    EXPECT_NEAR(p.profiler_overhead, 1.0, 1e-12);
    EXPECT_TRUE(p.unmapped.empty());
  }
  std::ostringstream html, md;
  const ComparisonSet set = compare_results(rs);
  write_html_report(rs, set, {}, html);
  write_markdown_report(rs, set, md);
  EXPECT_THAT(html.str(), HasSubstr("<section id=\"profiles\">"));
  EXPECT_THAT(html.str(), HasSubstr("class=\"chart profile\""));
  EXPECT_THAT(md.str(), HasSubstr("## Where the time goes (profiled runs)"));
  EXPECT_THAT(md.str(), HasSubstr("Profiler overhead (profiled / unprofiled median step − 1): "));

  // Finished, profiles included: a second run does nothing.
  profiled.clear();
  o.resume = true;
  const StudyOutcome again = run_study(e, o);
  EXPECT_TRUE(again.complete);
  EXPECT_TRUE(profiled.empty());
}

// A finished study whose profiles are missing (its profiled runs failed, or profile was added to
// a finished study's options is refused as other settings; here the runs fail) runs only them on
// --resume.
TEST_F(RunnerTest, ResumeRunsOnlyTheMissingProfiles) {
  StudySettings s = small_study();
  s.profile = true;
  s.frameworks = {"pytorch"};
  s.phases = {"train"};
  const auto e = make_effective(s);
  RunnerOptions o = options();
  auto measure = o.measure;
  int profiled = 0;
  bool fail_profiles = true;
  o.measure = [&](const std::vector<std::string>& argv, const MeasureOptions& mo) {
    if (arg_after(argv, "--profile").empty()) return measure(argv, mo);
    ++profiled;
    RunRecord r = fake_record(argv, "train", 1);
    if (fail_profiles) {
      r.exit_code = 1;
      return r;
    }
    std::ofstream(arg_after(argv, "--profile")) << nlohmann::json{
        {"framework", "pytorch"},
        {"framework_version", "9.9"},
        {"profiler", "fake"},
        {"model", "ncf"},
        {"scale", "tiny"},
        {"phase", "train"},
        {"device", "cpu"},
        {"precision", "fp32"},
        {"threads", 2},
        {"steps", 1},
        {"phase_s", 1.0},
        {"ops_self_s", 0.0},
        {"step_s", {1.0}},
        {"step_start_s", {0.0}},
        {"ops", nlohmann::json::array()},
        {"spans_total", 0},
        {"spans", nlohmann::json::array()}}.dump();
    return r;
  };
  run_study(e, o);
  EXPECT_EQ(profiled, 1);
  EXPECT_THAT(progress_.str(), HasSubstr("the profiled run failed (exit code 1"));
  EXPECT_TRUE(load_results(out_).profiles.empty());
  calls_.clear();
  fail_profiles = false;
  o.resume = true;
  const StudyOutcome again = run_study(e, o);
  EXPECT_FALSE(again.complete);
  EXPECT_EQ(profiled, 2);
  EXPECT_TRUE(calls_.empty());  // no measured run again
  EXPECT_EQ(load_results(out_).profiles.size(), 1u);
}

TEST(Environment, NamesTheMachineAndVersions) {
  const nlohmann::json env = capture_environment();
  EXPECT_FALSE(env["cpu_model"].get<std::string>().empty());
  EXPECT_GE(env["cpu_cores_online"].get<int>(), 1);
  EXPECT_THAT(env["kernel"].get<std::string>(), HasSubstr("Linux"));
  EXPECT_FALSE(env["greenbench_version"].get<std::string>().empty());
  EXPECT_FALSE(env["greenbench_git_revision"].get<std::string>().empty());
  EXPECT_TRUE(env.contains("cpu_governor"));  // null where the kernel has no cpufreq
}

}  // namespace
}  // namespace greenbench
