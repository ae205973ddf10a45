// Runs greenbench-torch and greenbench-tf side by side and checks that they implement the same
// models: equal parameter counts, equal logits on the same weights and input, equal weights after
// one optimizer step (which checks TensorFlow's symbolic gradients against autograd), training
// that learns, checkpoints that evaluate the same in either worker, and one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/checkpoint.hpp"
#include "common/models.hpp"

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;

const char* const kTorch = "greenbench-torch";
const char* const kTf = "greenbench-tf";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::map<std::string, double> metrics;  ///< "name value [unit]" lines of stdout
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class CrossFramework : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    bin_ = GREENBENCH_BIN_DIR;
    for (const char* worker : {kTorch, kTf}) {
      if (!fs::exists(bin_ / worker)) {
        GTEST_SKIP() << worker << " was not built (no " << (bin_ / worker).string()
                     << "); both framework wheels are needed for this comparison";
      }
    }
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ =
        fs::temp_directory_path() / ("greenbench-xfw-" + std::to_string(::getpid()) + "-" + name);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  RunResult run(const char* worker, const std::vector<std::string>& args) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    std::string cmd = quote((bin_ / worker).string());
    for (const std::string& a : args) cmd += " " + quote(a);
    cmd += " >" + quote(out.string()) + " 2>" + quote(err.string()) + " </dev/null";
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string name;
      double value = 0.0;
      if (fields >> name >> value) r.metrics[name] = value;
    }
    return r;
  }

  // Runs a worker that must succeed on tiny scale with two threads.
  RunResult ok(const char* worker, std::vector<std::string> args) {
    args.insert(args.begin(), {"--model", GetParam(), "--scale", "tiny", "--threads", "2"});
    RunResult r = run(worker, args);
    EXPECT_EQ(r.exit_code, 0) << worker << " failed: " << r.err;
    return r;
  }

  static std::vector<float> read_floats(const fs::path& p) {
    const std::string bytes = read_file(p);
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
  }

  fs::path bin_;
  fs::path dir_;
};

// The metric each model's quality is judged by, and whether larger is better.
std::pair<std::string, bool> quality_metric(const std::string& model) {
  if (model == "ncf") return {"hit_rate_10", true};
  if (model == "resnet50") return {"accuracy_top1", true};
  return {"perplexity", false};
}

TEST_P(CrossFramework, ParameterCountsAndLayersAreEqual) {
  const RunResult torch = ok(kTorch, {"--describe"});
  const RunResult tf = ok(kTf, {"--describe"});
  ASSERT_EQ(torch.exit_code, 0);
  ASSERT_EQ(tf.exit_code, 0);
  const auto a = nlohmann::json::parse(torch.out);
  const auto b = nlohmann::json::parse(tf.out);
  EXPECT_EQ(a.at("framework"), "pytorch");
  EXPECT_EQ(b.at("framework"), "tensorflow");
  const int64_t expected = make_model_spec(GetParam(), "tiny").trainable_parameter_count();
  EXPECT_EQ(a.at("parameter_count").get<int64_t>(), expected);
  EXPECT_EQ(b.at("parameter_count").get<int64_t>(), expected);
  EXPECT_EQ(a.at("layers"), b.at("layers"));
  std::printf("[ info ] %s parameter_count torch %lld tf %lld\n", GetParam().c_str(),
              static_cast<long long>(a.at("parameter_count").get<int64_t>()),
              static_cast<long long>(b.at("parameter_count").get<int64_t>()));
}

TEST_P(CrossFramework, LogitsAgreeOnTheSameWeightsAndInput) {
  const fs::path lt = dir_ / "torch.logits", lf = dir_ / "tf.logits";
  const RunResult torch = ok(kTorch, {"--phase", "infer", "--dump-logits", lt.string()});
  const RunResult tf = ok(kTf, {"--phase", "infer", "--dump-logits", lf.string()});
  const std::vector<float> a = read_floats(lt), b = read_floats(lf);
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  float max_abs = 0.0f, max_diff = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) {
    max_abs = std::max(max_abs, std::abs(a[i]));
    max_diff = std::max(max_diff, std::abs(a[i] - b[i]));
  }
  std::printf("[ info ] %s logits: max|torch - tf| %.3g, max|logit| %.3g\n", GetParam().c_str(),
              max_diff, max_abs);
  EXPECT_GT(max_abs, 0.0f);
  EXPECT_LE(max_diff, 1e-4f * max_abs);
  // The whole evaluation pass (for Transformer-XL: with the memory carried across segments).
  EXPECT_NEAR(torch.metrics.at("eval_loss"), tf.metrics.at("eval_loss"),
              1e-4 * std::abs(torch.metrics.at("eval_loss")));
}

TEST_P(CrossFramework, OneOptimizerStepGivesTheSameWeights) {
  const fs::path ct = dir_ / "torch.ckpt", cf = dir_ / "tf.ckpt";
  const RunResult torch =
      ok(kTorch, {"--phase", "train", "--steps", "1", "--checkpoint", ct.string()});
  const RunResult tf = ok(kTf, {"--phase", "train", "--steps", "1", "--checkpoint", cf.string()});
  ASSERT_EQ(torch.exit_code, 0);
  ASSERT_EQ(tf.exit_code, 0);
  EXPECT_NEAR(torch.metrics.at("loss_first"), tf.metrics.at("loss_first"),
              1e-5 * std::abs(torch.metrics.at("loss_first")));
  const ModelSpec spec = make_model_spec(GetParam(), "tiny");
  const Weights a = load_checkpoint(ct.string(), spec);
  const Weights b = load_checkpoint(cf.string(), spec);
  ASSERT_EQ(a.size(), b.size());
  // A parameter's step is about lr for Adam and lr·|g| for SGD; the tolerance is 2e-4 of the
  // tensor's largest weight (at least 1e-2, for biases that start at zero), so a wrong or missing
  // gradient (a step of 1e-3 … 1e-1) fails while float rounding passes. (ResNet-50's stem kernel,
  // whose gradient crosses the whole network, differs by about 5e-5 of its scale.)
  double worst = 0.0;
  std::string worst_name;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].name, b[i].name);
    ASSERT_EQ(a[i].value.f32.size(), b[i].value.f32.size());
    float scale = 0.0f, diff = 0.0f;
    for (size_t j = 0; j < a[i].value.f32.size(); ++j) {
      scale = std::max(scale, std::abs(a[i].value.f32[j]));
      diff = std::max(diff, std::abs(a[i].value.f32[j] - b[i].value.f32[j]));
    }
    const double rel = diff / std::max(scale, 1e-2f);
    if (rel > worst) {
      worst = rel;
      worst_name = a[i].name;
    }
    EXPECT_LE(diff, 2e-4f * std::max(scale, 1e-2f))
        << a[i].name << ": max|torch - tf| " << diff << " (max|w| " << scale << ")";
  }
  std::printf("[ info ] %s one step: worst max|Δw|/max|w| %.3g (%s)\n", GetParam().c_str(), worst,
              worst_name.c_str());
}

// The first step of Transformer-XL runs with an empty memory; a few more steps check the
// attention over the memory (relative shift, mask) and the memory update in training too.
class CrossFrameworkMemory : public CrossFramework {};

TEST_P(CrossFrameworkMemory, StepsWithMemoryGiveTheSameWeights) {
  const fs::path ct = dir_ / "torch.ckpt", cf = dir_ / "tf.ckpt";
  const RunResult torch =
      ok(kTorch, {"--phase", "train", "--steps", "4", "--checkpoint", ct.string()});
  const RunResult tf = ok(kTf, {"--phase", "train", "--steps", "4", "--checkpoint", cf.string()});
  ASSERT_EQ(torch.exit_code, 0);
  ASSERT_EQ(tf.exit_code, 0);
  EXPECT_NEAR(torch.metrics.at("loss"), tf.metrics.at("loss"), 1e-4 * torch.metrics.at("loss"));
  const ModelSpec spec = make_model_spec(GetParam(), "tiny");
  const Weights a = load_checkpoint(ct.string(), spec);
  const Weights b = load_checkpoint(cf.string(), spec);
  for (size_t i = 0; i < a.size(); ++i) {
    float scale = 0.0f, diff = 0.0f;
    for (size_t j = 0; j < a[i].value.f32.size(); ++j) {
      scale = std::max(scale, std::abs(a[i].value.f32[j]));
      diff = std::max(diff, std::abs(a[i].value.f32[j] - b[i].value.f32[j]));
    }
    EXPECT_LE(diff, 1e-3f * std::max(scale, 1e-2f)) << a[i].name << ": max|torch - tf| " << diff;
  }
}

TEST_P(CrossFramework, TrainingLearnsAndCheckpointsEvaluateTheSameInEitherWorker) {
  const auto [metric, higher_better] = quality_metric(GetParam());
  const ModelSpec spec = make_model_spec(GetParam(), "tiny");
  double chance = 0.0;
  if (GetParam() == "ncf") chance = static_cast<double>(spec.ncf.top_k) / 101.0;
  if (GetParam() == "resnet50") chance = 1.0 / static_cast<double>(spec.resnet.num_classes);
  if (GetParam() == "transformer_xl") chance = static_cast<double>(spec.txl.n_token);

  const fs::path ckpt[2] = {dir_ / "torch.ckpt", dir_ / "tf.ckpt"};
  const char* workers[2] = {kTorch, kTf};
  for (int w = 0; w < 2; ++w) {
    const RunResult r = ok(workers[w], {"--phase", "train", "--checkpoint", ckpt[w].string()});
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_LT(r.metrics.at("loss"), r.metrics.at("loss_first")) << workers[w];
    const double q = r.metrics.at(metric);
    std::printf("[ info ] %s %s trained: loss %.4g -> %.4g, %s %.4g (chance %.4g)\n",
                GetParam().c_str(), workers[w], r.metrics.at("loss_first"), r.metrics.at("loss"),
                metric.c_str(), q, chance);
    if (higher_better) {
      EXPECT_GT(q, 2.0 * chance) << workers[w] << " " << metric;
    } else {
      EXPECT_LT(q, 0.5 * chance) << workers[w] << " " << metric;
    }
  }
  // Each checkpoint, evaluated by both workers, gives the same quality.
  for (const fs::path& c : ckpt) {
    const RunResult a = ok(kTorch, {"--phase", "infer", "--checkpoint", c.string()});
    const RunResult b = ok(kTf, {"--phase", "infer", "--checkpoint", c.string()});
    ASSERT_EQ(a.exit_code, 0);
    ASSERT_EQ(b.exit_code, 0);
    EXPECT_NEAR(a.metrics.at("eval_loss"), b.metrics.at("eval_loss"),
                1e-4 * std::abs(a.metrics.at("eval_loss")))
        << c.filename();
    // Ranking metrics may differ only where two scores are within float rounding of each other.
    EXPECT_NEAR(a.metrics.at(metric), b.metrics.at(metric),
                higher_better ? 0.01 : 1e-4 * a.metrics.at(metric))
        << c.filename();
  }
}

INSTANTIATE_TEST_SUITE_P(Memory, CrossFrameworkMemory, ::testing::Values("transformer_xl"),
                         [](const auto& info) { return info.param; });

INSTANTIATE_TEST_SUITE_P(Models, CrossFramework,
                         ::testing::Values("ncf", "resnet50", "transformer_xl"),
                         [](const auto& info) { return info.param; });

// Bad input gives a one-line error and a non-zero exit status, in both workers.
class WorkerErrors : public CrossFramework {};

TEST_P(WorkerErrors, BadInputGivesOneLineErrors) {
  const char* worker = GetParam() == "torch" ? kTorch : kTf;
  auto expect_error = [&](const std::vector<std::string>& args, const std::string& needle) {
    const RunResult r = run(worker, args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_NE(r.exit_code, 0) << worker << " " << joined;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
        << worker << " " << joined << ": stderr was: " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos)
        << worker << " " << joined << ": stderr was: " << r.err;
  };
  expect_error({"--model", "alexnet", "--phase", "train"}, "alexnet");
  expect_error({"--model", "ncf", "--phase", "fly"}, "fly");
  expect_error({"--model", "ncf", "--phase", "train", "--scale", "huge"}, "huge");
  expect_error({"--model", "ncf", "--phase", "train", "--device", "cuda"}, "cuda");

  // A real NCF checkpoint offered to ResNet-50, and the same file truncated.
  const fs::path ckpt = dir_ / "ncf.ckpt";
  const RunResult trained = run(worker, {"--model", "ncf", "--phase", "train", "--steps", "1",
                                         "--checkpoint", ckpt.string()});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  expect_error({"--model", "resnet50", "--phase", "infer", "--checkpoint", ckpt.string()},
               ckpt.string());
  const std::string bytes = read_file(ckpt);
  const fs::path cut = dir_ / "cut.ckpt";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_error({"--model", "ncf", "--phase", "infer", "--checkpoint", cut.string()}, cut.string());
}

INSTANTIATE_TEST_SUITE_P(Workers, WorkerErrors, ::testing::Values("torch", "tf"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace greenbench::workloads
