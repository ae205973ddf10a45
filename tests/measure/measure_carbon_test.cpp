// measure with conversion factors: the table and the JSON's "conversion", checked before the
// command runs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "report/process.hpp"

namespace greenbench {
namespace {

using testing::run_process;
const std::string kGreenbench = std::string(GREENBENCH_BIN_DIR) + "/greenbench";

TEST(MeasureCarbon, JsonRecordsFactorsAndConvertedTotals) {
  if (access(kGreenbench.c_str(), X_OK) != 0) GTEST_SKIP() << kGreenbench << " is not built";
  const auto r =
      run_process({kGreenbench, "measure", "--json", "-", "--pue", "1.25", "--carbon-intensity",
                   "400", "--price", "0.2", "--currency", "EUR", "--", "sh", "-c",
                   "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("conversion"));
  const auto& c = j["conversion"];
  EXPECT_EQ(c["factors"]["pue"], 1.25);
  EXPECT_EQ(c["factors"]["carbon_intensity_g_per_kwh"], 400);
  EXPECT_EQ(c["factors"]["currency"], "EUR");
  EXPECT_EQ(c["factors"]["origin"]["pue"], "--pue");
  ASSERT_GE(c["phases"].size(), 1u);
  const auto& run = c["phases"][0];
  EXPECT_EQ(run["name"], "run");
  EXPECT_EQ(run["energy_j"], j["phases"][0]["energy_j"]["total"]);
  const double kwh = run["energy_j"].get<double>() / 3.6e6 * 1.25;
  EXPECT_DOUBLE_EQ(run["kwh"].get<double>(), kwh);
  EXPECT_DOUBLE_EQ(run["co2e_g"].get<double>(), kwh * 400);
  EXPECT_DOUBLE_EQ(run["cost"].get<double>(), kwh * 0.2);
  // Estimated energy gives estimated converted values (this machine reads the CPU estimate).
  EXPECT_EQ(run["estimated"], j["phases"][0]["quality"]["total"] == "estimated");
  // The table (stderr) states the factors above the converted values.
  const auto factors = r.err.find("conversion: kWh = J / 3.6e6 x PUE 1.25 (--pue)");
  ASSERT_NE(factors, std::string::npos) << r.err;
  EXPECT_NE(r.err.find("g CO2e", factors), std::string::npos);
  // Without factors there is no conversion object and no conversion line.
  const auto plain = run_process({kGreenbench, "measure", "--json", "-", "--", "true"});
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_FALSE(nlohmann::json::parse(plain.out).contains("conversion"));
  EXPECT_EQ(plain.err.find("conversion:"), std::string::npos);
}

TEST(MeasureCarbon, BadFactorsStopBeforeTheCommandRuns) {
  if (access(kGreenbench.c_str(), X_OK) != 0) GTEST_SKIP() << kGreenbench << " is not built";
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--pue", "9"},
                                             {"--price", "-1"},
                                             {"--carbon-intensity", "x"},
                                             {"--region", "ZZ"},
                                             {"--region", "FR", "--carbon-intensity", "3"},
                                             {"--currency", "EUR"}}) {
    std::vector<std::string> argv = {kGreenbench, "measure"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--", "sh", "-c", "echo ran"});
    const auto r = run_process(argv);
    EXPECT_EQ(r.status, 2) << args[0];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out.find("ran"), std::string::npos) << args[0];
  }
  const auto list = run_process({kGreenbench, "measure", "--region", "list"});
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.out.find("year: 2024"), std::string::npos);
}

}  // namespace
}  // namespace greenbench
