// `greenbench compare` and `greenbench report` end to end: a store made by `greenbench import`
// from the fixture, then the commands' output files and their errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "greenbench/report.hpp"
#include "greenbench/store.hpp"
#include "report/fixture.hpp"
#include "report/process.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using testing::run_process;

const std::string kGreenbench = std::string(GREENBENCH_BIN_DIR) + "/greenbench";

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The fixture's measured runs as the long-format CSV `greenbench import` reads.
void write_csv(const ResultSet& rs, const fs::path& path, const std::string& only_framework = "") {
  std::ofstream out(path);
  out << "model,framework,phase,run,metric,value,unit,quality\n";
  for (const auto& o : rs.observations) {
    if (o.warmup) continue;  // the CSV has no warm-up column
    if (!only_framework.empty() && o.framework != only_framework) continue;
    char value[64];
    std::snprintf(value, sizeof value, "%.17g", o.value);
    out << o.model << "," << o.framework << "," << o.phase << "," << o.run << "," << o.metric << ","
        << value << "," << o.unit << "," << o.quality << "\n";
  }
}

class ReportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kGreenbench.c_str(), X_OK) != 0) {
      GTEST_SKIP() << kGreenbench << " is not built (build the greenbench_cli target)";
    }
    dir_ = fs::temp_directory_path() /
           ("greenbench-report-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Imports the fixture into dir_/name and returns the results directory.
  std::string make_store(const std::string& name, const std::string& only_framework = "") {
    write_csv(testing::fixture_results(), dir_ / (name + ".csv"), only_framework);
    const auto r = run_process({kGreenbench, "import", (dir_ / (name + ".csv")).string(), "--out",
                                (dir_ / name).string()});
    EXPECT_EQ(r.status, 0) << r.err;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

// A command-line error is one line on stderr and exit status 2.
void expect_one_line_error(const testing::ProcessResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST_F(ReportCli, CompareJsonMatchesTheLibrary) {
  const std::string store = make_store("s");
  const std::string json = (dir_ / "c.json").string();
  const auto r = run_process({kGreenbench, "compare", store, "--json", json});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("== train: pytorch (a) vs tensorflow (b)"), std::string::npos);
  EXPECT_NE(r.out.find("* estimated, not measured"), std::string::npos);
  const auto j = nlohmann::json::parse(read_file(json));
  const auto expected = comparison_json(compare_results(load_results(store)));
  EXPECT_EQ(j, expected);
  ASSERT_EQ(j["comparisons"].size(), 18u);
  // The fixture's values survive the store: same medians as the in-memory comparison.
  const auto mem = compare_results(testing::fixture_results());
  EXPECT_DOUBLE_EQ(j["comparisons"][0]["median_a"].get<double>(),
                   mem.comparisons[0].stats.median_a);
  EXPECT_EQ(j["comparisons"][0]["p_method"], "exact");
}

TEST_F(ReportCli, CompareOptions) {
  const std::string store = make_store("s");
  auto r = run_process({kGreenbench, "compare", store, "--json", "-", "--baseline", "tensorflow",
                        "--metric", "energy_*"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["comparisons"].size(), 12u);  // 2 models x 2 phases x 3 energy metrics
  for (const auto& c : j["comparisons"]) {
    EXPECT_EQ(c["b"], "tensorflow");
    EXPECT_EQ(c["metric"].get<std::string>().rfind("energy_", 0), 0u);
  }
  r = run_process({kGreenbench, "compare", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--baseline FRAMEWORK"), std::string::npos);
}

TEST_F(ReportCli, CompareErrors) {
  expect_one_line_error(run_process({kGreenbench, "compare", (dir_ / "nothing").string()}),
                        "nothing");
  expect_one_line_error(run_process({kGreenbench, "compare"}), "missing RESULTS");
  const std::string store = make_store("s");
  expect_one_line_error(run_process({kGreenbench, "compare", store, "--baseline", "jax"}),
                        "unknown baseline framework 'jax'");
  expect_one_line_error(run_process({kGreenbench, "compare", store, "--frobnicate"}),
                        "unknown option '--frobnicate'");
  const std::string single = make_store("single", "pytorch");
  expect_one_line_error(run_process({kGreenbench, "compare", single}), "at least two frameworks");
}

TEST_F(ReportCli, ReportWritesHtmlAndMarkdown) {
  const std::string store = make_store("s");
  auto r = run_process({kGreenbench, "report", store});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string html = read_file(fs::path(store) / "report.html");  // the default place
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg class=\"chart boxplot\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  const std::string out = (dir_ / "elsewhere.html").string();
  const std::string md = (dir_ / "r.md").string();
  r = run_process({kGreenbench, "report", store, "--out", out, "--markdown", md});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_NE(read_file(md).find("| model | package J | DRAM J | total J | time s |"),
            std::string::npos);
  expect_one_line_error(run_process({kGreenbench, "report", (dir_ / "nothing").string()}),
                        "nothing");
  r = run_process({kGreenbench, "report", "--help"});
  EXPECT_EQ(r.status, 0);
}

// --energy above-idle shows energy_above_idle_<domain> under energy_<domain>; gross (the default)
// never shows it; a store without it refuses above-idle in one line instead of showing gross.
TEST_F(ReportCli, EnergyAboveIdle) {
  const std::string plain = make_store("plain");
  expect_one_line_error(run_process({kGreenbench, "compare", plain, "--energy", "above-idle"}),
                        "no run has energy above idle");
  expect_one_line_error(run_process({kGreenbench, "report", plain, "--energy", "above-idle"}),
                        "no run has energy above idle");
  expect_one_line_error(run_process({kGreenbench, "compare", plain, "--energy", "net"}),
                        "--energy: want gross or above-idle, got 'net'");

  // The same runs with 30 J of idle energy in every energy_total.
  const ResultSet rs = testing::fixture_results();
  write_csv(rs, dir_ / "idle.csv");
  {
    std::ofstream out(dir_ / "idle.csv", std::ios::app);
    for (const auto& o : rs.observations) {
      if (o.warmup || o.metric != "energy_total") continue;
      char value[64];
      std::snprintf(value, sizeof value, "%.17g", o.value - 30);
      out << o.model << "," << o.framework << "," << o.phase << "," << o.run
          << ",energy_above_idle_total," << value << ",J," << o.quality << "\n";
    }
  }
  auto r = run_process(
      {kGreenbench, "import", (dir_ / "idle.csv").string(), "--out", (dir_ / "idle").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string store = (dir_ / "idle").string();
  r = run_process({kGreenbench, "compare", store, "--json", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto gross = nlohmann::json::parse(r.out);
  EXPECT_FALSE(gross["settings"].contains("energy_basis"));
  r = run_process({kGreenbench, "compare", store, "--json", "-", "--energy", "above-idle"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto above = nlohmann::json::parse(r.out);
  EXPECT_EQ(above["settings"]["energy_basis"], "above-idle");
  int totals = 0;
  for (const auto& c : gross["comparisons"]) {
    EXPECT_EQ(c["metric"].get<std::string>().find("above_idle"), std::string::npos);
    if (c["metric"] != "energy_total") continue;
    for (const auto& d : above["comparisons"]) {
      if (d["metric"] != "energy_total" || d["model"] != c["model"] || d["phase"] != c["phase"]) {
        continue;
      }
      ++totals;
      EXPECT_NEAR(d["median_a"].get<double>(), c["median_a"].get<double>() - 30, 1e-9);
    }
  }
  EXPECT_EQ(totals, 4);  // 2 models x 2 phases
  // Only the total has an above-idle value: the package is not shown gross in its place.
  for (const auto& d : above["comparisons"]) EXPECT_NE(d["metric"], "energy_cpu_package");
  r = run_process({kGreenbench, "compare", store, "--energy", "above-idle"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("energy above idle:"), std::string::npos);
  const std::string md = (dir_ / "r.md").string();
  r = run_process({kGreenbench, "report", store, "--energy", "above-idle", "--markdown", md});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(read_file(fs::path(store) / "report.html").find("<strong>above idle</strong>"),
            std::string::npos);
  EXPECT_NE(read_file(md).find("**above idle**"), std::string::npos);
}

TEST_F(ReportCli, ReportOfOneFrameworkHasNoComparisons) {
  const std::string single = make_store("single", "pytorch");
  const auto r = run_process({kGreenbench, "report", single});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("nothing to compare"), std::string::npos);
  const std::string html = read_file(fs::path(single) / "report.html");
  EXPECT_EQ(html.find("<svg class=\"chart boxplot\""), std::string::npos);
  EXPECT_NE(html.find("<svg class=\"chart scatter\""), std::string::npos);  // quality vs cost
}

}  // namespace
}  // namespace greenbench
