// compare --csv: the comparison rows as CSV, equal to compare --json, with the converted
// columns when conversion factors are given; and the conversion shown by compare and report.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
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

// CSV rows (no quoted commas occur in the fixture's fields).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> row;
    std::stringstream fields(line);
    std::string f;
    while (std::getline(fields, f, ',')) row.push_back(f);
    if (!line.empty() && line.back() == ',') row.emplace_back();
    rows.push_back(row);
  }
  return rows;
}

// Each numeric CSV cell equals the JSON value exactly (empty = null); text cells equal strings.
void expect_rows_equal_json(const std::vector<std::vector<std::string>>& rows,
                            const nlohmann::json& json) {
  const auto& header = rows.at(0);
  ASSERT_EQ(rows.size() - 1, json["comparisons"].size());
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& c = json["comparisons"][r - 1];
    ASSERT_EQ(rows[r].size(), header.size()) << r;
    for (std::size_t k = 0; k < header.size(); ++k) {
      const std::string& name = header[k];
      const std::string& cell = rows[r][k];
      const nlohmann::json* v = nullptr;
      if (c.contains(name)) v = &c[name];
      if (name.rfind("kwh_", 0) == 0 || name.rfind("co2e_", 0) == 0 ||
          name.rfind("cost_", 0) == 0) {
        if (c.contains("converted")) v = &c["converted"][name];
      }
      if (v == nullptr) continue;  // a CSV-only column (domain, estimated, ...)
      if (v->is_null()) {
        EXPECT_EQ(cell, "") << name;
      } else if (v->is_number()) {
        ASSERT_FALSE(cell.empty()) << name;
        EXPECT_EQ(std::stod(cell), v->get<double>()) << name << " row " << r;
      } else if (v->is_boolean()) {
        EXPECT_EQ(cell, v->get<bool>() ? "true" : "false") << name;
      } else if (v->is_string()) {
        EXPECT_EQ(cell, v->get<std::string>()) << name;
      }
    }
  }
}

TEST(CompareCsv, RowsEqualTheJsonOfTheSameComparison) {
  const ComparisonSet set = compare_results(testing::fixture_results());
  std::ostringstream out;
  write_comparison_csv(set, out);
  const auto rows = parse_csv(out.str());
  ASSERT_EQ(rows.size(), set.comparisons.size() + 1);
  EXPECT_EQ(rows[0][0], "phase");
  EXPECT_EQ(std::count(rows[0].begin(), rows[0].end(), "kwh_median_a"), 0);  // no factors
  for (const char* column :
       {"metric", "domain", "a", "b", "median_a", "median_b", "hl_ratio", "hl_ci_low", "hl_ci_high",
        "p_value", "p_holm", "a12", "verdict", "estimated"}) {
    EXPECT_NE(std::find(rows[0].begin(), rows[0].end(), column), rows[0].end()) << column;
  }
  expect_rows_equal_json(rows, comparison_json(set));
  // The domain of energy_cpu_package is cpu_package; duration has none.
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r][2] == "energy_cpu_package") EXPECT_EQ(rows[r][3], "cpu_package");
    if (rows[r][2] == "duration") EXPECT_EQ(rows[r][3], "");
  }
}

TEST(CompareCsv, ConvertedColumnsUseTheFactors) {
  CompareSettings settings;
  settings.carbon.pue = 1.5;
  settings.carbon.intensity_g_per_kwh = 400;
  settings.carbon.price_per_kwh = 0.25;
  settings.carbon.currency = "EUR";
  const ComparisonSet set = compare_results(testing::fixture_results(), settings);
  std::ostringstream out;
  write_comparison_csv(set, out);
  const auto rows = parse_csv(out.str());
  const auto& h = rows[0];
  const auto col = [&](const char* name) {
    return static_cast<std::size_t>(std::find(h.begin(), h.end(), name) - h.begin());
  };
  ASSERT_LT(col("cost_median_b"), h.size());
  const auto json = comparison_json(set);
  expect_rows_equal_json(rows, json);
  EXPECT_EQ(json["settings"]["conversion"]["pue"], 1.5);
  int converted = 0;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& c = set.comparisons[r - 1];
    if (!is_convertible_energy(c)) {
      EXPECT_EQ(rows[r][col("kwh_median_a")], "");
      continue;
    }
    ++converted;
    const double kwh = c.stats.median_a / 3.6e6 * 1.5;
    EXPECT_DOUBLE_EQ(std::stod(rows[r][col("kwh_median_a")]), kwh);
    EXPECT_DOUBLE_EQ(std::stod(rows[r][col("co2e_g_median_a")]), kwh * 400);
    EXPECT_DOUBLE_EQ(std::stod(rows[r][col("cost_median_a")]), kwh * 0.25);
    EXPECT_EQ(rows[r][col("currency")], "EUR");
  }
  EXPECT_GT(converted, 0);
  // The terminal output prints the factors above the converted medians, estimated marked.
  std::ostringstream text;
  print_comparison(set, text);
  const std::string t = text.str();
  const auto factors = t.find("conversion: kWh = J / 3.6e6 x PUE 1.5");
  ASSERT_NE(factors, std::string::npos) << t;
  const auto table = t.find("g CO2e a / b", factors);
  EXPECT_NE(table, std::string::npos);
}

class CompareCsvCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kGreenbench.c_str(), X_OK) != 0) GTEST_SKIP() << kGreenbench << " is not built";
    dir_ = fs::temp_directory_path() /
           ("greenbench-compare-csv-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream csv(dir_ / "in.csv");
    csv << "model,framework,phase,run,metric,value,unit,quality\n";
    for (const auto& o : testing::fixture_results().observations) {
      if (o.warmup) continue;
      char value[64];
      std::snprintf(value, sizeof value, "%.17g", o.value);
      csv << o.model << "," << o.framework << "," << o.phase << "," << o.run << "," << o.metric
          << "," << value << "," << o.unit << "," << o.quality << "\n";
    }
    csv.close();
    store_ = (dir_ / "store").string();
    const auto r =
        run_process({kGreenbench, "import", (dir_ / "in.csv").string(), "--out", store_});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path dir_;
  std::string store_;
};

TEST_F(CompareCsvCli, CsvToStdoutAndFileEqualsJson) {
  const auto r = run_process({kGreenbench, "compare", store_, "--csv", "-", "--region", "FR"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto json_run =
      run_process({kGreenbench, "compare", store_, "--json", "-", "--region", "FR"});
  ASSERT_EQ(json_run.status, 0) << json_run.err;
  const auto json = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(json["settings"]["conversion"]["region"], "FR");
  EXPECT_EQ(json["settings"]["conversion"]["carbon_intensity_g_per_kwh"], 40.48);
  expect_rows_equal_json(parse_csv(r.out), json);
  const auto f = run_process({kGreenbench, "compare", store_, "--csv", (dir_ / "c.csv").string(),
                              "--carbon-intensity", "100"});
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_NE(f.out.find("CSV written to"), std::string::npos);
  EXPECT_NE(f.out.find("CO2e at 100 g/kWh (--carbon-intensity)"), std::string::npos) << f.out;
  std::ifstream in(dir_ / "c.csv");
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_EQ(parse_csv(s.str())[0].back(), "price_per_kwh");
}

TEST_F(CompareCsvCli, StudyFactorsAreShownAndOverridden) {
  // The store records a study's factors; the command line overrides one and says so.
  {
    auto store = ResultStore::open(store_file_path(store_));
    auto settings = store.settings();
    CarbonFactors f;
    f.pue = 1.5;
    f.intensity_g_per_kwh = 300;
    f.origin = {{"pue", "study key pue"}, {"carbon_intensity", "study key carbon_intensity"}};
    settings["conversion"] = carbon_json(f);
    store.update_study(settings, store.environment());
  }
  auto r = run_process({kGreenbench, "compare", store_});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("PUE 1.5 (study key pue)"), std::string::npos) << r.out;
  r = run_process({kGreenbench, "compare", store_, "--pue", "1.1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("PUE 1.1 (--pue, overriding the study's 1.5)"), std::string::npos) << r.out;
  const auto md = (dir_ / "r.md").string();
  r = run_process(
      {kGreenbench, "report", store_, "--out", (dir_ / "r.html").string(), "--markdown", md});
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in(md);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_NE(s.str().find("## Energy as kWh, CO2e and cost"), std::string::npos);
}

TEST_F(CompareCsvCli, Errors) {
  auto r = run_process({kGreenbench, "compare", store_, "--pue", "0.5"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--pue: expected a PUE"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = run_process({kGreenbench, "compare", store_, "--region", "Atlantis"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--region list"), std::string::npos) << r.err;
  r = run_process({kGreenbench, "compare", store_, "--csv", "-", "--json", "-"});
  EXPECT_EQ(r.status, 2);
  r = run_process({kGreenbench, "compare", "--region", "list"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("US    USA  United States"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace greenbench
