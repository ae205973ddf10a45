// greenbench-tf --profile (MODELS.md, Profiling) end to end: the JSON of a profiled phase, its ops'
// passes, self times against the phase time, spans against the steps, and a row of
// data/op_taxonomy.tsv for every op each model produces.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "workloads/worker_run.hpp"

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kTf = "greenbench-tf";

// The tensorflow rows of the shared taxonomy: op name -> category.
std::map<std::string, std::string> tensorflow_taxonomy() {
  std::ifstream in(fs::path(GREENBENCH_SOURCE_DIR) / "data" / "op_taxonomy.tsv");
  std::map<std::string, std::string> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string framework, name, category;
    std::getline(fields, framework, '\t');
    std::getline(fields, name, '\t');
    std::getline(fields, category, '\t');
    if (framework == "tensorflow") rows[name] = category;
  }
  return rows;
}

class TfProfile : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = GREENBENCH_BIN_DIR;
    if (!fs::exists(bin_ / kTf)) {
      GTEST_SKIP() << kTf << " was not built (no " << (bin_ / kTf).string() << ")";
    }
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::temp_directory_path() /
           ("greenbench-tfprof-" + std::to_string(::getpid()) + "-" + name);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs the worker with --profile and returns the profile's JSON.
  json profile(std::vector<std::string> args) {
    const fs::path file = dir_ / "profile.json";
    args.insert(args.end(), {"--profile", file.string()});
    const test::RunResult r = test::run_worker(bin_, dir_, kTf, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return json();
    return json::parse(test::read_file(file));
  }

  // What every profile must satisfy (MODELS.md, Profiling).
  static void check_profile(const json& p, int64_t steps) {
    EXPECT_EQ(p.at("framework"), "tensorflow");
    EXPECT_EQ(p.at("profiler"), "TensorFlow RunMetadata step_stats (FULL_TRACE)");
    EXPECT_EQ(p.at("steps").get<int64_t>(), steps);
    const double phase_s = p.at("phase_s").get<double>();
    ASSERT_FALSE(p.at("ops").empty());
    double self_s = 0;
    std::set<std::pair<std::string, std::string>> keys;
    for (const json& op : p.at("ops")) {
      const std::string pass = op.at("pass");
      EXPECT_TRUE(pass == "forward" || pass == "backward" || pass == "optimizer") << pass;
      EXPECT_GT(op.at("calls").get<int64_t>(), 0) << op.dump();
      EXPECT_GE(op.at("self_s").get<double>(), 0.0) << op.dump();
      EXPECT_TRUE(keys.emplace(op.at("name"), pass).second) << "two entries for " << op.dump();
      self_s += op.at("self_s").get<double>();
    }
    EXPECT_NEAR(p.at("ops_self_s").get<double>(), self_s, 1e-9);
    EXPECT_GT(self_s, 0.0);
    EXPECT_LE(self_s, phase_s);

    // Every span lies in its step: the executor's wall-clock times and the driver's steady-clock
    // step starts agree to well under a millisecond.
    const std::vector<double> step_start = p.at("step_start_s");
    const std::vector<double> step_s = p.at("step_s");
    ASSERT_EQ(step_start.size(), static_cast<size_t>(steps));
    ASSERT_EQ(step_s.size(), static_cast<size_t>(steps));
    const json& spans = p.at("spans");
    EXPECT_EQ(p.at("spans_total").get<size_t>(), spans.size());
    std::vector<int64_t> per_step(static_cast<size_t>(steps), 0);
    double span_s = 0;
    for (const json& s : spans) {
      const int64_t step = s.at("step");
      ASSERT_GE(step, 0);
      ASSERT_LT(step, steps);
      ++per_step[static_cast<size_t>(step)];
      const double start = s.at("start_s"), dur = s.at("dur_s");
      const auto k = static_cast<size_t>(step);
      EXPECT_GE(start, step_start[k] - 1e-3) << s.dump();
      EXPECT_LE(start + dur, step_start[k] + step_s[k] + 1e-3) << s.dump();
      EXPECT_TRUE(keys.count({s.at("name"), s.at("pass")})) << s.dump();
      span_s += dur;
    }
    EXPECT_NEAR(span_s, self_s, 1e-6);
    for (int64_t n : per_step) EXPECT_GT(n, 0);
  }

  static std::set<std::string> passes(const json& p) {
    std::set<std::string> out;
    for (const json& op : p.at("ops")) out.insert(op.at("pass"));
    return out;
  }

  fs::path bin_, dir_;
};

TEST_F(TfProfile, NcfTrainingHasEveryPass) {
  const json p = profile({"--model", "ncf", "--phase", "train", "--steps", "4"});
  ASSERT_FALSE(p.is_null());
  EXPECT_EQ(p.at("phase"), "train");
  check_profile(p, 4);
  EXPECT_EQ(passes(p), (std::set<std::string>{"forward", "backward", "optimizer"}));
  // The model's matmuls run forward and backward; the Adam update only in the optimizer.
  std::map<std::string, std::set<std::string>> by_name;
  for (const json& op : p.at("ops")) by_name[op.at("name")].insert(op.at("pass"));
  EXPECT_TRUE(by_name.count("Sqrt") && by_name.at("Sqrt") == std::set<std::string>{"optimizer"});
  EXPECT_TRUE(by_name.count("ReluGrad") &&
              by_name.at("ReluGrad") == std::set<std::string>{"backward"});
  EXPECT_TRUE(by_name.count("GatherV2") &&
              by_name.at("GatherV2") == std::set<std::string>{"forward"});
}

TEST_F(TfProfile, NcfInferenceIsForwardOnly) {
  const json p = profile({"--model", "ncf", "--phase", "infer", "--eval-batches", "3"});
  ASSERT_FALSE(p.is_null());
  EXPECT_EQ(p.at("phase"), "infer");
  check_profile(p, 3);
  EXPECT_EQ(passes(p), std::set<std::string>{"forward"});
}

TEST_F(TfProfile, NoProfileWithoutTheOption) {
  const test::RunResult r = test::run_worker(
      bin_, dir_, kTf, {"--model", "ncf", "--phase", "infer", "--eval-batches", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "profile.json"));
}

// Every op type a model produces, in each phase and numerics, has a row in the taxonomy.
class TfProfileTaxonomy
    : public TfProfile,
      public ::testing::WithParamInterface<std::tuple<std::string, std::string, std::string>> {};

TEST_P(TfProfileTaxonomy, EveryOpIsMapped) {
  const auto& [model, phase, variant] = GetParam();
  std::vector<std::string> args{"--model", model, "--phase", phase};
  if (phase == "train") {
    args.insert(args.end(), {"--steps", "2"});
  } else {
    args.insert(args.end(), {"--eval-batches", "1"});
  }
  if (variant == "strict") args.insert(args.end(), {"--numerics", "strict"});
  if (variant == "bf16") args.insert(args.end(), {"--precision", "bf16"});
  const json p = profile(args);
  ASSERT_FALSE(p.is_null());
  check_profile(p, phase == "train" ? 2 : 1);
  const std::map<std::string, std::string> taxonomy = tensorflow_taxonomy();
  ASSERT_FALSE(taxonomy.empty());
  std::vector<std::string> unmapped;
  for (const json& op : p.at("ops")) {
    if (!taxonomy.count(op.at("name"))) unmapped.push_back(op.at("name"));
  }
  EXPECT_TRUE(unmapped.empty()) << "not in data/op_taxonomy.tsv: "
                                << ::testing::PrintToString(unmapped);
  if (phase == "infer") EXPECT_EQ(passes(p), std::set<std::string>{"forward"});
  if (phase == "train") {
    EXPECT_EQ(passes(p), (std::set<std::string>{"forward", "backward", "optimizer"}));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TfProfileTaxonomy,
                         ::testing::Combine(::testing::Values("ncf", "resnet50", "transformer_xl",
                                                              "ssd", "gnmt"),
                                            ::testing::Values("train", "infer"),
                                            ::testing::Values("default", "strict", "bf16")),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" +
                                  std::get<2>(info.param);
                         });

}  // namespace
}  // namespace greenbench::workloads
