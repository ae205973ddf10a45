// greenbench-torch --profile FILE (workloads/common/MODELS.md, "Profiling") on tiny NCF: the JSON's
// ops and spans are consistent with the phase (passes, self times within the phase's time, spans
// inside their steps), training has backward and optimizer ops and inference has neither.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "workloads/worker_run.hpp"

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;

const char* const kTorch = "greenbench-torch";

class TorchWorkerProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = GREENBENCH_BIN_DIR;
    if (!fs::exists(bin_ / kTorch)) GTEST_SKIP() << kTorch << " was not built";
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');  // parameterised tests: "Name/0"
    dir_ = fs::temp_directory_path() /
           ("greenbench_torch_profile_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs a tiny model with --profile and returns the JSON.
  nlohmann::json profile(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--scale", "tiny",      "--threads",
                                     "1",       "--profile", (dir_ / "profile.json").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    last_ = test::run_worker(bin_, dir_, kTorch, args);
    EXPECT_EQ(last_.exit_code, 0) << last_.err;
    const std::string text = test::read_file(dir_ / "profile.json");
    EXPECT_FALSE(text.empty()) << last_.err;
    return nlohmann::json::parse(text);
  }

  // The checks every profile passes; returns the passes that have ops.
  static std::set<std::string> check_profile(const nlohmann::json& j, const std::string& phase,
                                             int64_t steps) {
    EXPECT_EQ(j.at("framework"), "pytorch");
    EXPECT_EQ(j.at("phase"), phase);
    EXPECT_EQ(j.at("steps").get<int64_t>(), steps);
    EXPECT_NE(j.at("profiler").get<std::string>().find("RecordFunction"), std::string::npos);
    const double phase_s = j.at("phase_s").get<double>();
    EXPECT_GT(phase_s, 0.0);
    const auto& ops = j.at("ops");
    EXPECT_FALSE(ops.empty());
    std::set<std::string> passes;
    std::set<std::pair<std::string, std::string>> seen;
    std::map<std::pair<std::string, std::string>, int64_t> calls;
    double self_s = 0;
    for (const auto& op : ops) {
      const std::string name = op.at("name"), pass = op.at("pass");
      EXPECT_TRUE(pass == "forward" || pass == "backward" || pass == "optimizer") << pass;
      EXPECT_TRUE(seen.insert({name, pass}).second) << name << " " << pass << " listed twice";
      // Autograd nodes and the optimizer scope are scopes, not ops.
      EXPECT_FALSE(name.empty());
      EXPECT_EQ(name.find("Backward0"), std::string::npos) << name;
      EXPECT_EQ(name.find("autograd::"), std::string::npos) << name;
      EXPECT_NE(name, "greenbench::optimizer");
      EXPECT_GE(op.at("self_s").get<double>(), 0.0) << name;
      EXPECT_GT(op.at("calls").get<int64_t>(), 0) << name;
      calls[{name, pass}] = op.at("calls").get<int64_t>();
      self_s += op.at("self_s").get<double>();
      passes.insert(pass);
    }
    EXPECT_NEAR(j.at("ops_self_s").get<double>(), self_s, 1e-9 * (1 + self_s));
    EXPECT_LE(self_s, phase_s);
    // Every op execution has a span (fewer than the 10^6 kept), inside its step.
    const auto& spans = j.at("spans");
    EXPECT_EQ(j.at("spans_total").get<int64_t>(), static_cast<int64_t>(spans.size()));
    const std::vector<double> step_start = j.at("step_start_s");
    const std::vector<double> step_s = j.at("step_s");
    EXPECT_EQ(static_cast<int64_t>(step_start.size()), steps);
    std::map<std::pair<std::string, std::string>, int64_t> span_calls;
    std::set<int64_t> steps_with_spans;
    for (const auto& span : spans) {
      const int64_t step = span.at("step");
      EXPECT_TRUE(step >= 0 && step < steps) << "span in step " << step;
      if (step < 0 || step >= steps) continue;
      const double start = span.at("start_s"), dur = span.at("dur_s");
      EXPECT_GE(dur, 0.0);
      EXPECT_GE(start, step_start[static_cast<size_t>(step)]);
      // The worker's clock starts inside start_profile(), the driver's just after it returns:
      // spans may read up to that gap (well under 0.1 ms) late against the step times.
      EXPECT_LE(start + dur,
                step_start[static_cast<size_t>(step)] + step_s[static_cast<size_t>(step)] + 1e-4);
      ++span_calls[{span.at("name").get<std::string>(), span.at("pass").get<std::string>()}];
      steps_with_spans.insert(step);
    }
    EXPECT_EQ(span_calls, calls);
    EXPECT_EQ(static_cast<int64_t>(steps_with_spans.size()), steps);
    return passes;
  }

  fs::path bin_;
  fs::path dir_;
  test::RunResult last_;  // the last profiled run
};

TEST_F(TorchWorkerProfileTest, TrainingHasForwardBackwardAndOptimizerOps) {
  const nlohmann::json j = profile({"--model", "ncf", "--phase", "train", "--steps", "4"});
  const std::set<std::string> passes = check_profile(j, "train", 4);
  EXPECT_EQ(passes, (std::set<std::string>{"forward", "backward", "optimizer"}));
  // NCF's parts, each in its pass: the embedding lookup and its gradient, the MLP's addmm in
  // forward and mm in backward, and Adam's sqrt and addcdiv_ in the optimizer.
  std::set<std::pair<std::string, std::string>> ops;
  for (const auto& op : j.at("ops")) {
    ops.emplace(op.at("name").get<std::string>(), op.at("pass").get<std::string>());
  }
  for (const auto& [name, pass] : std::vector<std::pair<std::string, std::string>>{
           {"aten::embedding", "forward"},
           {"aten::embedding_dense_backward", "backward"},
           {"aten::addmm", "forward"},
           {"aten::mm", "backward"},
           {"aten::sqrt", "optimizer"},
           {"aten::addcdiv_", "optimizer"}}) {
    EXPECT_TRUE(ops.count({name, pass})) << name << " (" << pass << ") missing";
  }
}

TEST_F(TorchWorkerProfileTest, InferenceHasForwardOpsOnly) {
  const nlohmann::json j = profile({"--model", "ncf", "--phase", "infer", "--eval-batches", "3"});
  const std::set<std::string> passes = check_profile(j, "infer", 3);
  EXPECT_EQ(passes, (std::set<std::string>{"forward"}));
}

// Profiling observes and changes nothing: fp16 NCF (loss scale, unscaling and the finiteness
// check in the optimizer scope) trains to the same loss and loss scale with and without it.
TEST_F(TorchWorkerProfileTest, ProfilingChangesNoResult) {
  const std::vector<std::string> args = {"--model",   "ncf", "--scale",     "tiny",
                                         "--threads", "1",   "--phase",     "train",
                                         "--steps",   "6",   "--precision", "fp16"};
  const test::RunResult plain = test::run_worker(bin_, dir_, kTorch, args);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const nlohmann::json j =
      profile({"--model", "ncf", "--phase", "train", "--steps", "6", "--precision", "fp16"});
  const test::RunResult profiled = last_;
  ASSERT_EQ(profiled.exit_code, 0) << profiled.err;
  check_profile(j, "train", 6);
  std::set<std::string> optimizer_ops;
  for (const auto& op : j.at("ops")) {
    if (op.at("pass") == "optimizer") optimizer_ops.insert(op.at("name").get<std::string>());
  }
  EXPECT_TRUE(optimizer_ops.count("aten::isfinite")) << "fp16's finiteness check";
  EXPECT_TRUE(optimizer_ops.count("aten::addcdiv_")) << "Adam's update";
  for (const char* metric : {"loss", "loss_first", "loss_scale_final", "hit_rate_10"}) {
    ASSERT_TRUE(plain.metrics.count(metric)) << metric;
    EXPECT_EQ(plain.metrics.at(metric), profiled.metrics.at(metric)) << metric;
  }
}

// Every op the models run, in training and inference, in each precision, has a pytorch row in the
// shared taxonomy (data/op_taxonomy.tsv), so that no op of a profile is reported as unmapped.
class TorchTaxonomyTest : public TorchWorkerProfileTest,
                          public ::testing::WithParamInterface<const char*> {};

TEST_P(TorchTaxonomyTest, MapsEveryOpOfTheModel) {
  std::set<std::string> mapped;
  std::ifstream table(fs::path(GREENBENCH_SOURCE_DIR) / "data" / "op_taxonomy.tsv");
  ASSERT_TRUE(table) << "data/op_taxonomy.tsv";
  std::string line;
  while (std::getline(table, line)) {
    if (line.rfind("pytorch\t", 0) == 0) mapped.insert(line.substr(8, line.find('\t', 8) - 8));
  }
  ASSERT_FALSE(mapped.empty());
  const std::string model = GetParam();
  for (const std::string phase : {"train", "infer"}) {
    // fp16 on the CPU runs every model but transformer_xl (README, Precision).
    std::vector<std::string> precisions = {"fp32", "bf16"};
    if (model != "transformer_xl") precisions.emplace_back("fp16");
    for (const std::string& precision : precisions) {
      std::vector<std::string> args = {"--model", model,         "--phase",
                                       phase,     "--precision", precision};
      const std::vector<std::string> one = phase == "train"
                                               ? std::vector<std::string>{"--steps", "1"}
                                               : std::vector<std::string>{"--eval-batches", "1"};
      args.insert(args.end(), one.begin(), one.end());
      const nlohmann::json j = profile(args);
      ASSERT_FALSE(j.at("ops").empty());
      for (const auto& op : j.at("ops")) {
        EXPECT_TRUE(mapped.count(op.at("name").get<std::string>()))
            << op.at("name") << " (" << model << " " << phase << " " << precision
            << ") has no pytorch row in data/op_taxonomy.tsv";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TorchTaxonomyTest,
                         ::testing::Values("ncf", "resnet50", "transformer_xl", "ssd", "gnmt",
                                           "mask_rcnn"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

}  // namespace
}  // namespace greenbench::workloads
