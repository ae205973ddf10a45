// The Python marker client as users get it: installed with pip from python/, used as a context
// manager and as a decorator, and the example training script measured end to end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/process.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;

const std::string kGreenbench = std::string(GREENBENCH_BIN_DIR) + "/greenbench";
const std::string kSource = GREENBENCH_SOURCE_DIR;
const std::string kDebianPython = "/usr/bin/python3";

class PythonPackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gb-pypkg-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  nlohmann::json measure(const std::vector<std::string>& env, const std::vector<std::string>& cmd) {
    const std::string json = (dir_ / "run.json").string();
    std::vector<std::string> argv{"env"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {kGreenbench, "measure", "--json", json, "--"});
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    const auto r = testing::run_process(argv);
    EXPECT_EQ(r.status, 0) << r.err;
    std::ifstream in(json);
    return nlohmann::json::parse(in);
  }

  static std::vector<std::string> phase_names(const nlohmann::json& record) {
    std::vector<std::string> out;
    for (const auto& p : record.at("phases")) out.push_back(p.at("name").get<std::string>());
    return out;
  }

  fs::path dir_;
};

TEST_F(PythonPackageTest, PipInstallsTheClientAndPhaseWorksAsDecoratorAndBlock) {
  // Built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
  fs::copy(kSource + "/python", dir_ / "src", fs::copy_options::recursive);
  // Debian's Python: its setuptools and wheel packages build the client offline (without
  // --no-build-isolation pip would fetch them from PyPI for every install).
  const auto pip = testing::run_process(
      {kDebianPython, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
       "--no-index", "--disable-pip-version-check", "--break-system-packages",
       "--root-user-action=ignore", "--target", (dir_ / "site").string(), (dir_ / "src").string()});
  ASSERT_EQ(pip.status, 0) << pip.err;
  ASSERT_TRUE(fs::exists(dir_ / "site" / "greenbench_markers.py"));

  const std::string code =
      "import greenbench_markers as gb\n"
      "gb.info('module', gb.__file__)\n"
      "@gb.phase('step')\n"
      "def step(n):\n"
      "    return sum(range(n))\n"
      "with gb.phase('train'):\n"
      "    step(1000)\n"
      "    step(2000)\n"
      "gb.metric('steps', 2)\n";
  // -s: a copy in the user site-packages cannot stand in; the info line says which was used.
  const nlohmann::json record =
      measure({"PYTHONPATH=" + (dir_ / "site").string()}, {kDebianPython, "-s", "-c", code});
  EXPECT_EQ(phase_names(record), (std::vector<std::string>{"run", "train", "step", "step"}));
  bool from_site = false;
  for (const auto& [key, value] : record.at("info").items()) {
    if (key == "module") {
      from_site = value.get<std::string>().find((dir_ / "site").string()) == 0;
    }
  }
  EXPECT_TRUE(from_site) << record.at("info").dump();
}

TEST_F(PythonPackageTest, ExampleTrainingScriptMarksItsPhasesAndLearns) {
  const nlohmann::json record =
      measure({}, {"python3", kSource + "/python/examples/train.py", "--epochs", "2"});
  EXPECT_EQ(phase_names(record), (std::vector<std::string>{"run", "setup", "train", "eval"}));
  double accuracy = -1;
  for (const auto& m : record.at("metrics")) {
    if (m.at("name") == "accuracy_top1") accuracy = m.at("value").get<double>();
  }
  // Two classes: chance is 0.5; the planted weights make 0.8 reachable in two epochs.
  EXPECT_GT(accuracy, 0.75);
}

}  // namespace
}  // namespace greenbench
