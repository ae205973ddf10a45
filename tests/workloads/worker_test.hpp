#pragma once
// Tests of one built worker: a fixture that runs it in a temporary directory (skipped where the
// worker was not built), and what its --describe must say of a model: the specification's
// parameters, in order and shape, and its trainable parameter count (the first evidence that two
// workers build the same model).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/models.hpp"
#include "workloads/worker_run.hpp"

namespace greenbench::workloads::test {

/// A test of the worker `worker` (e.g. "greenbench-torch"), named `tag` in its directory.
class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest(const char* worker, const char* tag) : worker_(worker), tag_(tag) {}
  void SetUp() override {
    bin_ = GREENBENCH_BIN_DIR;
    if (!std::filesystem::exists(bin_ / worker_)) {
      GTEST_SKIP() << worker_ << " was not built (its framework's wheel was not found)";
    }
    dir_ = std::filesystem::temp_directory_path() /
           (std::string(tag_) + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  /// Runs the worker with `args` (and `env`, "NAME=value ...").
  RunResult run(const std::vector<std::string>& args, const std::string& env = "") {
    return run_worker(bin_, dir_, worker_, args, env);
  }
  std::filesystem::path bin_, dir_;

 private:
  const char* worker_;
  const char* tag_;
};

/// Checks one --describe run of `framework`'s worker for `model` at `scale`.
inline void expect_describe_matches_spec(const RunResult& r, const std::string& framework,
                                         const std::string& model, const std::string& scale) {
  SCOPED_TRACE(model + " " + scale);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("framework"), framework);
  const ModelSpec spec = make_model_spec(model, scale);
  EXPECT_EQ(j.at("parameter_count").get<int64_t>(), spec.trainable_parameter_count());
  ASSERT_EQ(j.at("layers").size(), spec.params.size());
  for (size_t i = 0; i < spec.params.size(); ++i) {
    EXPECT_EQ(j.at("layers")[i].at("name"), spec.params[i].name);
    EXPECT_EQ(j.at("layers")[i].at("shape").get<std::vector<int64_t>>(), spec.params[i].shape);
  }
}

}  // namespace greenbench::workloads::test
