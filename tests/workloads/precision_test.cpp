// --precision and --device in both workers (workloads/common/MODELS.md, "Precision"): bf16 runs in
// both and the two agree within a tolerance set by bf16's 8-bit significand, while differing from
// fp32 by more than the fp32 tolerance (so 16-bit arithmetic was used); fp16's loss scale follows
// the same rule in both; every CUDA failure is one line naming its cause (a fake libcuda stands in
// for the driver; this machine has none).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "workloads/worker_run.hpp"

namespace greenbench::workloads {
namespace {

namespace fs = std::filesystem;

const char* const kTorch = "greenbench-torch";
const char* const kTf = "greenbench-tf";
const std::string kFakeCuda = std::string(GREENBENCH_TEST_LIB_DIR) + "/libfake_cuda.so";

// Relative to max |fp32 logit|. The cross-framework fp32 tolerance (cross_framework_test).
constexpr double kFp32Tolerance = 1e-4;
// bf16 keeps 8 significant bits: one rounding is off by up to u = 2^-8 relative. Both workers
// round the same float32 inputs to bf16 the same way (round to nearest even); they differ only in
// where their kernels round sums (float32 accumulation with one rounding of the output, or bf16
// partial sums), an error of a few u per 16-bit op that normalisation keeps from compounding.
// 8u = 2^-5 of the largest logit allows that and still fails a wrong cast or a wrong op.
constexpr double kBf16Tolerance = 1.0 / 32.0;

using test::read_file;
using test::RunResult;

std::vector<float> read_floats(const fs::path& p) {
  const std::string bytes = read_file(p);
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

double max_abs(const std::vector<float>& a) {
  double m = 0.0;
  for (float x : a) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    m = std::max(m, static_cast<double>(std::abs(a[i] - b[i])));
  }
  return m;
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = GREENBENCH_BIN_DIR;
    for (const char* worker : {kTorch, kTf}) {
      if (!fs::exists(bin_ / worker)) {
        GTEST_SKIP() << worker << " was not built; both framework wheels are needed";
      }
    }
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::temp_directory_path() /
           ("greenbench-precision-" + std::to_string(::getpid()) + "-" + name);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs a worker with `env` ("NAME=value ...") prepended to its command line.
  RunResult run(const char* worker, const std::vector<std::string>& args,
                const std::string& env = "") {
    return test::run_worker(bin_, dir_, worker, args, env);
  }

  // The logits of the first evaluation batch of the seed's initial weights.
  std::vector<float> logits(const char* worker, const std::string& model,
                            const std::string& precision, const std::string& numerics) {
    const fs::path file = dir_ / (std::string(worker) + "-" + precision + ".bin");
    const RunResult r = run(
        worker, {"--model", model, "--phase", "infer", "--eval-batches", "1", "--threads", "2",
                 "--numerics", numerics, "--precision", precision, "--dump-logits", file.string()});
    EXPECT_EQ(r.exit_code, 0) << worker << " " << precision << ": " << r.err;
    return read_floats(file);
  }

  // Expects exit status 2 and exactly one line on stderr that contains `text`.
  static void expect_one_line(const RunResult& r, const std::string& text, const char* worker) {
    EXPECT_EQ(r.exit_code, 2) << worker << ": " << r.err;
    ASSERT_FALSE(r.err.empty()) << worker;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << worker << ": " << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << worker << ": " << r.err;
  }

  fs::path bin_;
  fs::path dir_;
};

// --- bf16 logits --------------------------------------------------------------------------------

class Bf16Logits : public WorkerTest,
                   public ::testing::WithParamInterface<std::tuple<std::string, std::string>> {};

TEST_P(Bf16Logits, AgreeAcrossWorkersAndDifferFromFp32) {
  const auto& [model, numerics] = GetParam();
  const std::vector<float> torch32 = logits(kTorch, model, "fp32", numerics);
  const std::vector<float> tf32 = logits(kTf, model, "fp32", numerics);
  const std::vector<float> torch16 = logits(kTorch, model, "bf16", numerics);
  const std::vector<float> tf16 = logits(kTf, model, "bf16", numerics);
  ASSERT_FALSE(torch32.empty());
  const double scale = max_abs(torch32);
  const double fp32_diff = max_diff(torch32, tf32) / scale;
  const double bf16_diff = max_diff(torch16, tf16) / scale;
  const double torch_shift = max_diff(torch16, torch32) / scale;
  const double tf_shift = max_diff(tf16, tf32) / scale;
  std::cout << model << " " << numerics << ": max|logit| " << scale << "; relative max |torch-tf|"
            << " fp32 " << fp32_diff << ", bf16 " << bf16_diff << "; |bf16-fp32| torch "
            << torch_shift << ", tf " << tf_shift << "\n";
  EXPECT_LE(fp32_diff, kFp32Tolerance);
  EXPECT_LE(bf16_diff, kBf16Tolerance) << "bf16 logits differ between the workers";
  EXPECT_GT(torch_shift, kFp32Tolerance) << "greenbench-torch --precision bf16 computed in fp32";
  EXPECT_GT(tf_shift, kFp32Tolerance) << "greenbench-tf --precision bf16 computed in fp32";
}

// Not mask_rcnn: its dump is the detections after score ranking and NMS, and in bf16 a box
// within rounding of a cut is kept or dropped, so rows differ by whole boxes (relative 0.84 in
// strict numerics, between the workers and against fp32 alike). Its fp32 rows are matched box by
// box in cross_framework_test; here its bf16 training runs in both workers (Bf16Training).
INSTANTIATE_TEST_SUITE_P(
    Models, Bf16Logits,
    ::testing::Combine(::testing::Values("ncf", "resnet50", "transformer_xl", "ssd", "gnmt"),
                       ::testing::Values("strict", "default")),
    [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

// --- training -----------------------------------------------------------------------------------

class Bf16Training : public WorkerTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(Bf16Training, RunsInBothWorkers) {
  for (const char* worker : {kTorch, kTf}) {
    const RunResult r =
        run(worker, {"--model", GetParam(), "--phase", "train", "--steps", "3", "--eval-batches",
                     "1", "--threads", "2", "--precision", "bf16"});
    EXPECT_EQ(r.exit_code, 0) << worker << ": " << r.err;
    ASSERT_TRUE(r.metrics.count("loss_first")) << worker << ": " << r.out;
    EXPECT_TRUE(std::isfinite(r.metrics.at("loss_first"))) << worker;
    std::cout << worker << " " << GetParam() << " bf16 loss_first " << r.metrics.at("loss_first")
              << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Bf16Training,
                         ::testing::Values("ncf", "resnet50", "transformer_xl", "ssd", "gnmt",
                                           "mask_rcnn"),
                         [](const auto& info) { return info.param; });

// fp16: the driver's loss scale skips the same steps in both workers. ResNet-50's first steps
// overflow float16 gradients at 2^15, so the scale backs off; NCF's never do.
TEST_F(WorkerTest, Fp16LossScaleSkipsTheSameStepsInBothWorkers) {
  for (const char* model : {"ncf", "resnet50"}) {
    std::map<std::string, double> skipped, scale;
    for (const char* worker : {kTorch, kTf}) {
      const RunResult r =
          run(worker, {"--model", model, "--phase", "train", "--steps", "6", "--eval-batches", "1",
                       "--threads", "2", "--numerics", "strict", "--precision", "fp16"});
      ASSERT_EQ(r.exit_code, 0) << worker << " " << model << ": " << r.err;
      ASSERT_TRUE(r.metrics.count("skipped_steps")) << worker << ": " << r.out;
      skipped[worker] = r.metrics.at("skipped_steps");
      scale[worker] = r.metrics.at("loss_scale_final");
      EXPECT_EQ(scale[worker], 32768.0 / std::pow(2.0, skipped[worker])) << worker << " " << model;
    }
    EXPECT_EQ(skipped[kTorch], skipped[kTf]) << model;
    std::cout << model << " fp16: skipped " << skipped[kTorch] << " of 6 steps, final scale "
              << scale[kTorch] << "\n";
  }
}

TEST_F(WorkerTest, Fp16TransformerXlOnTheCpuIsRefusedInOneLine) {
  for (const char* worker : {kTorch, kTf}) {
    expect_one_line(
        run(worker, {"--model", "transformer_xl", "--phase", "train", "--precision", "fp16"}),
        "transformer_xl needs --device cuda (TensorFlow's CPU build has no float16 BatchMatMulV3 "
        "kernel",
        worker);
  }
}

TEST_F(WorkerTest, DescribeRecordsPrecisionAndDevice) {
  for (const char* worker : {kTorch, kTf}) {
    const RunResult r = run(worker, {"--model", "ncf", "--describe", "--precision", "bf16"});
    ASSERT_EQ(r.exit_code, 0) << worker << ": " << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["settings"]["precision"], "bf16") << worker;
    EXPECT_EQ(j["settings"]["device"], "cpu") << worker;
    EXPECT_EQ(j["framework_options"]["compute_dtype"], "bfloat16") << worker;
    EXPECT_EQ(j["framework_options"]["precision"], "bf16") << worker;
    const RunResult d = run(worker, {"--model", "ncf", "--describe"});
    EXPECT_EQ(nlohmann::json::parse(d.out)["settings"]["precision"], "fp32") << worker;
  }
}

TEST_F(WorkerTest, BadPrecisionOrDeviceIsOneLine) {
  for (const char* worker : {kTorch, kTf}) {
    expect_one_line(run(worker, {"--model", "ncf", "--phase", "train", "--precision", "fp8"}),
                    "option --precision: unknown value 'fp8' (expected fp32, tf32, bf16, fp16)",
                    worker);
    expect_one_line(run(worker, {"--model", "ncf", "--phase", "train", "--device", "gpu"}),
                    "option --device: unknown value 'gpu' (expected cpu, cuda or cuda:N)", worker);
    expect_one_line(run(worker, {"--model", "ncf", "--phase", "train", "--device", "cuda:x"}),
                    "option --device: unknown value 'cuda:x'", worker);
  }
}

// --- CUDA failures
// --------------------------------------------------------------------------------

class CudaErrors : public WorkerTest {
 protected:
  void SetUp() override {
    WorkerTest::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists(kFakeCuda)) GTEST_SKIP() << kFakeCuda << " was not built";
  }
  RunResult cuda(const char* worker, const std::string& device, const std::string& fake_env) {
    return run(worker, {"--model", "ncf", "--phase", "train", "--steps", "1", "--device", device},
               "GREENBENCH_CUDA_LIB=" + kFakeCuda + " " + fake_env);
  }
  // Whether a real NVIDIA driver is installed here (then "no driver" cannot be shown).
  static bool have_driver() {
    void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (lib != nullptr) dlclose(lib);
    return lib != nullptr;
  }
};

TEST_F(CudaErrors, NoDriverOnThisMachine) {
  if (have_driver()) GTEST_SKIP() << "libcuda.so.1 loads here: this machine has a driver";
  for (const char* worker : {kTorch, kTf}) {
    expect_one_line(run(worker, {"--model", "ncf", "--phase", "train", "--device", "cuda"}),
                    "--device cuda:0: no NVIDIA driver (libcuda.so.1 cannot be loaded", worker);
  }
}

TEST_F(CudaErrors, NoGpu) {
  for (const char* worker : {kTorch, kTf}) {
    const std::string line =
        "--device cuda:0: no NVIDIA GPU (the driver is installed but finds no device)";
    expect_one_line(cuda(worker, "cuda", "FAKE_CUDA_DEVICES=0"), line, worker);
    expect_one_line(cuda(worker, "cuda", "FAKE_CUDA_INIT_ERROR=100"), line, worker);
  }
}

TEST_F(CudaErrors, DriverFailsToInitialise) {
  for (const char* worker : {kTorch, kTf}) {
    expect_one_line(cuda(worker, "cuda:0", "FAKE_CUDA_INIT_ERROR=999"),
                    "--device cuda:0: the NVIDIA driver failed to initialise (cuInit error 999 "
                    "CUDA_ERROR_UNKNOWN)",
                    worker);
  }
}

TEST_F(CudaErrors, IndexOutOfRange) {
  for (const char* worker : {kTorch, kTf}) {
    expect_one_line(cuda(worker, "cuda:3", "FAKE_CUDA_DEVICES=1"),
                    "--device cuda:3: out of range: this machine has 1 GPU (cuda:0)", worker);
  }
}

// LibTorch knows its CUDA version from its wheel (torch/version.py), so a driver of an older
// CUDA major version is named before any CUDA library loads.
TEST_F(CudaErrors, DriverTooOldForLibTorch) {
  expect_one_line(cuda(kTorch, "cuda", "FAKE_CUDA_DRIVER=11080"),
                  "--device cuda:0: the NVIDIA driver is too old: it supports CUDA 11.8, LibTorch",
                  kTorch);
}

// With a (fake) GPU present, what is missing is the frameworks' CUDA support: LibTorch's CUDA
// libraries (cuBLAS, cuDNN, ... are not installed here) and TensorFlow's (tensorflow-cpu).
TEST_F(CudaErrors, MissingCudaSupportSaysRunSetupGpu) {
  if (have_driver()) GTEST_SKIP() << "a real driver is installed: the frameworks would use it";
  // A driver new enough for any wheel, so what is left is the libraries.
  const RunResult torch = cuda(kTorch, "cuda", "FAKE_CUDA_DEVICES=1 FAKE_CUDA_DRIVER=99000");
  expect_one_line(torch, "--device cuda:0: LibTorch's CUDA libraries are not installed (", kTorch);
  EXPECT_NE(torch.err.find("): run scripts/setup.sh --gpu"), std::string::npos) << torch.err;
  expect_one_line(cuda(kTf, "cuda", "FAKE_CUDA_DEVICES=1 FAKE_CUDA_DRIVER=99000"),
                  "has no CUDA support: run scripts/setup.sh --gpu and rebuild", kTf);
}

// --- TensorFlow's pooled inputs (its GPU input path), run on the CPU
// ------------------------------

// On a GPU, greenbench-tf keeps every prepared batch in device variables and slices a step's
// batch out by a fed offset, as LibTorch keeps its prepared batches on the device (MODELS.md).
// GREENBENCH_TF_POOLED_INPUTS=1 takes that path on the CPU: it must train to the same weights and
// predict the same logits, bit for bit, as feeding the batches.
class PooledInputs : public WorkerTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(PooledInputs, TrainToTheSameWeightsAndLogitsAsFedBatches) {
  const std::string& model = GetParam();
  std::map<std::string, std::string> checkpoint, logits;
  for (const std::string pooled : {"0", "1"}) {
    const fs::path ckpt = dir_ / ("ckpt-" + pooled);
    const fs::path dump = dir_ / ("logits-" + pooled);
    const RunResult train = run(kTf,
                                {"--model", model, "--phase", "train", "--steps", "12", "--threads",
                                 "2", "--numerics", "strict", "--checkpoint", ckpt.string()},
                                "GREENBENCH_TF_POOLED_INPUTS=" + pooled);
    ASSERT_EQ(train.exit_code, 0) << "pooled " << pooled << ": " << train.err;
    const RunResult infer =
        run(kTf,
            {"--model", model, "--phase", "infer", "--threads", "2", "--numerics", "strict",
             "--checkpoint", ckpt.string(), "--dump-logits", dump.string()},
            "GREENBENCH_TF_POOLED_INPUTS=" + pooled);
    ASSERT_EQ(infer.exit_code, 0) << "pooled " << pooled << ": " << infer.err;
    checkpoint[pooled] = read_file(ckpt);
    logits[pooled] = read_file(dump);
  }
  ASSERT_FALSE(checkpoint["0"].empty());
  ASSERT_FALSE(logits["0"].empty());
  EXPECT_TRUE(checkpoint["0"] == checkpoint["1"]) << model << ": trained weights differ";
  EXPECT_TRUE(logits["0"] == logits["1"]) << model << ": logits differ";
}

TEST_F(WorkerTest, PooledInputsAreNamedInTheFrameworkOptions) {
  const RunResult fed = run(kTf, {"--model", "ncf", "--describe"});
  const RunResult pooled =
      run(kTf, {"--model", "ncf", "--describe"}, "GREENBENCH_TF_POOLED_INPUTS=1");
  ASSERT_EQ(fed.exit_code, 0) << fed.err;
  ASSERT_EQ(pooled.exit_code, 0) << pooled.err;
  EXPECT_EQ(nlohmann::json::parse(fed.out)["framework_options"]["batches"],
            "host tensors fed to each step");
  EXPECT_NE(
      nlohmann::json::parse(pooled.out)["framework_options"]["batches"].get<std::string>().find(
          "device variables"),
      std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Models, PooledInputs,
                         ::testing::Values("ncf", "resnet50", "transformer_xl", "ssd", "gnmt",
                                           "mask_rcnn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace greenbench::workloads
