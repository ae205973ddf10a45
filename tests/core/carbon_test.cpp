// kWh, CO2e and cost: the arithmetic on exact numbers, validation, the region table, overrides.
#include "greenbench/carbon.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "greenbench/error.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;

const std::string kShippedTable = std::string(GREENBENCH_SOURCE_DIR) + "/data/carbon_intensity.csv";

// The message of the Error that `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

fs::path write_table(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() /
                     ("greenbench-carbon-" + std::to_string(getpid()) + "-" + name + ".csv");
  std::ofstream(p) << text;
  return p;
}

const std::string kSmallTable =
    "# source: a test table\n# year: 2024\n"
    "code,iso3,name,g_co2e_per_kwh\n"
    "FR,FRA,France,40.480\n"
    "XX,,Somewhere Else,500\n";

TEST(Carbon, ConvertsExactNumbers) {
  CarbonFactors f;
  EXPECT_EQ(joules_to_kwh(3.6e6), 1.0);
  EXPECT_EQ(facility_kwh(7.2e6, f), 2.0);  // no PUE given: 1
  EXPECT_FALSE(co2e_g(7.2e6, f));          // no intensity: no CO2e
  EXPECT_FALSE(energy_cost(7.2e6, f));     // no price: no cost
  f.pue = 1.25;
  f.intensity_g_per_kwh = 400;
  f.price_per_kwh = 0.2;
  EXPECT_EQ(facility_kwh(7.2e6, f), 2.5);  // PUE applied to energy first
  EXPECT_EQ(*co2e_g(7.2e6, f), 1000.0);    // 2.5 kWh x 400 g/kWh
  EXPECT_EQ(*energy_cost(7.2e6, f), 0.5);  // 2.5 kWh x 0.2
  EXPECT_EQ(*co2e_g(0, f), 0.0);
}

TEST(Carbon, RejectsValuesOutOfRangeNamingTheOption) {
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  for (double bad : {0.99, 3.01, nan, inf, -1.0}) {
    const auto m = error_of([&] { check_pue("--pue", bad); });
    EXPECT_NE(m.find("--pue: expected a PUE"), std::string::npos) << m;
    EXPECT_NE(m.find("from 1 to 3"), std::string::npos) << m;
  }
  EXPECT_EQ(check_pue("pue", 1), 1);
  EXPECT_EQ(check_pue("pue", 3), 3);
  for (double bad : {-0.001, nan, inf}) {
    EXPECT_NE(error_of([&] {
                check_carbon_intensity("carbon_intensity", bad);
              }).find("carbon_intensity: expected a carbon intensity"),
              std::string::npos);
    EXPECT_NE(error_of([&] { check_price("--price", bad); }).find("--price: expected a price"),
              std::string::npos);
  }
  EXPECT_EQ(check_carbon_intensity("x", 0), 0);
  EXPECT_EQ(check_price("x", 0), 0);
  EXPECT_EQ(parse_carbon_number("--pue", "1.5"), 1.5);
  for (const char* bad : {"", "abc", "1.5x", "1e999", "nan"}) {
    EXPECT_NE(error_of([&] { parse_carbon_number("--pue", bad); }).find("--pue: expected a number"),
              std::string::npos)
        << bad;
  }
}

TEST(Carbon, ResolvesARegionFromTheTable) {
  const auto path = write_table("small", kSmallTable);
  const CarbonTable table = load_carbon_table(path.string());
  ASSERT_EQ(table.regions.size(), 2u);
  EXPECT_EQ(table.source, "a test table");
  EXPECT_EQ(table.year, "2024");
  // Code, alpha-3 code and name, in any case.
  for (const char* key : {"FR", "fr", "FRA", "france"}) {
    ASSERT_NE(table.find(key), nullptr) << key;
    EXPECT_EQ(table.find(key)->g_per_kwh, 40.48);
  }
  EXPECT_EQ(table.find("ZZ"), nullptr);
  CarbonSettings s;
  s.region = "fra";
  s.pue = 1.1;
  const CarbonFactors f = resolve_carbon(s, "option", &table);
  EXPECT_EQ(*f.intensity_g_per_kwh, 40.48);
  EXPECT_EQ(f.region, "FR");
  EXPECT_EQ(f.intensity_source, "a test table, 2024");
  EXPECT_EQ(f.origin.at("carbon_intensity"), "--region FR");
  EXPECT_EQ(f.origin.at("pue"), "--pue");
  fs::remove(path);
}

TEST(Carbon, RefusesUnknownRegionsAndContradictions) {
  const auto path = write_table("small2", kSmallTable);
  const CarbonTable table = load_carbon_table(path.string());
  CarbonSettings s;
  s.region = "Atlantis";
  auto m = error_of([&] { resolve_carbon(s, "option", &table); });
  EXPECT_NE(m.find("--region: unknown region 'Atlantis'"), std::string::npos) << m;
  EXPECT_NE(m.find("--region list"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);  // one line
  m = error_of([&] { resolve_carbon(s, "study key", &table); });
  EXPECT_EQ(m.rfind("region: unknown region", 0), 0u) << m;
  EXPECT_NE(m.find("greenbench measure --region list"), std::string::npos) << m;
  s.region = "FR";
  s.carbon_intensity = 100;
  m = error_of([&] { resolve_carbon(s, "option", &table); });
  EXPECT_NE(m.find("--carbon-intensity and --region both set the carbon intensity"),
            std::string::npos)
      << m;
  CarbonSettings currency_only;
  currency_only.currency = "EUR";
  m = error_of([&] { resolve_carbon(currency_only, "study key", &table); });
  EXPECT_NE(m.find("currency names the currency of price"), std::string::npos) << m;
  CarbonSettings bad_pue;
  bad_pue.pue = 0.5;
  m = error_of([&] { resolve_carbon(bad_pue, "study key", &table); });
  EXPECT_EQ(m.rfind("pue: expected a PUE", 0), 0u) << m;
  fs::remove(path);
}

TEST(Carbon, MalformedTablesNameTheFileAndLine) {
  auto p = write_table("bad1", "# source: s\n# year: 1\ncode,name\n");
  EXPECT_NE(error_of([&] { load_carbon_table(p.string()); }).find(":3: expected the header"),
            std::string::npos);
  p = write_table("bad2", "# source: s\n# year: 1\ncode,iso3,name,g_co2e_per_kwh\nFR,FRA,F,-4\n");
  EXPECT_NE(error_of([&] {
              load_carbon_table(p.string());
            }).find(":4: g_co2e_per_kwh: expected a number >= 0, got '-4'"),
            std::string::npos);
  p = write_table("bad3", "code,iso3,name,g_co2e_per_kwh\nFR,FRA,F,4\n");
  EXPECT_NE(error_of([&] { load_carbon_table(p.string()); }).find("'# source:' and '# year:'"),
            std::string::npos);
  p = write_table("bad4",
                  "# source: s\n# year: 1\ncode,iso3,name,g_co2e_per_kwh\nFR,FRA,F,4\nfr,,G,5\n");
  EXPECT_NE(error_of([&] { load_carbon_table(p.string()); }).find(":5: region 'fr' twice"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_carbon_table("/nonexistent/table.csv"); }).find("cannot read"),
            std::string::npos);
}

TEST(Carbon, TheShippedTableNamesItsSourceAndYear) {
  const CarbonTable table = load_carbon_table(kShippedTable);
  EXPECT_NE(table.source.find("github.com/owid/energy-data"), std::string::npos);
  EXPECT_NE(table.source.find("carbon_intensity_elec"), std::string::npos);
  EXPECT_EQ(table.year, "2024");
  EXPECT_GE(table.regions.size(), 25u);
  std::set<std::string> codes;
  for (const auto& r : table.regions) {
    EXPECT_EQ(r.code.size(), 2u) << r.code;
    EXPECT_TRUE(codes.insert(r.code).second) << r.code;
    EXPECT_GT(r.g_per_kwh, 0);
    EXPECT_LT(r.g_per_kwh, 1200);
  }
  // Spot checks against owid-energy-data.csv (commit e7897aed), carbon_intensity_elec, 2024.
  EXPECT_EQ(table.find("US")->g_per_kwh, 383.780);
  EXPECT_EQ(table.find("FR")->g_per_kwh, 40.480);
  EXPECT_EQ(table.find("EU")->g_per_kwh, 211.203);
  EXPECT_EQ(table.find("IND")->g_per_kwh, 705.400);
}

TEST(Carbon, FindsTheTableOrSaysWhereItLooked) {
  setenv("GREENBENCH_CARBON_TABLE", "/nonexistent/x.csv", 1);
  EXPECT_NE(error_of([] { find_carbon_table(); }).find("GREENBENCH_CARBON_TABLE: no such file"),
            std::string::npos);
  setenv("GREENBENCH_CARBON_TABLE", kShippedTable.c_str(), 1);
  EXPECT_EQ(find_carbon_table(), kShippedTable);
  unsetenv("GREENBENCH_CARBON_TABLE");
  // Without the variable, the source tree's data/ is found (the test binary has no share/).
  EXPECT_NO_THROW(load_carbon_table(find_carbon_table()));
}

TEST(Carbon, CommandLineOverridesTheStudyAndSaysSo) {
  CarbonSettings study;
  study.carbon_intensity = 300;
  study.pue = 1.5;
  study.price = 0.1;
  study.currency = "EUR";
  const CarbonFactors stored = resolve_carbon(study, "study key");
  CarbonSettings cli;
  cli.pue = 1.2;
  const CarbonFactors f = override_carbon(stored, resolve_carbon(cli, "option"));
  EXPECT_EQ(*f.pue, 1.2);
  EXPECT_EQ(f.origin.at("pue"), "--pue, overriding the study's 1.5");
  EXPECT_EQ(*f.intensity_g_per_kwh, 300);  // not overridden: still the study's
  EXPECT_EQ(f.origin.at("carbon_intensity"), "study key carbon_intensity");
  EXPECT_EQ(f.currency, "EUR");
  const std::string line = describe_carbon(f);
  EXPECT_NE(line.find("PUE 1.2 (--pue, overriding the study's 1.5)"), std::string::npos) << line;
  EXPECT_NE(line.find("CO2e at 300 g/kWh (study key carbon_intensity)"), std::string::npos) << line;
  EXPECT_NE(line.find("cost at 0.1 EUR per kWh (study key price)"), std::string::npos) << line;
  // A new price drops the study's currency, which would be wrong for it.
  CarbonSettings cli_price;
  cli_price.price = 0.3;
  const CarbonFactors g = override_carbon(stored, resolve_carbon(cli_price, "option"));
  EXPECT_EQ(g.currency, "");
  EXPECT_EQ(g.origin.at("price"), "--price, overriding the study's 0.1");
}

TEST(Carbon, JsonRoundTrips) {
  CarbonSettings s;
  s.carbon_intensity = 123.5;
  s.pue = 1.3;
  s.price = 0.2;
  s.currency = "USD";
  const CarbonFactors f = resolve_carbon(s, "study key");
  const auto j = carbon_json(f);
  EXPECT_EQ(j["pue"], 1.3);
  EXPECT_EQ(j["pue_given"], true);
  EXPECT_EQ(j["carbon_intensity_g_per_kwh"], 123.5);
  const CarbonFactors back = carbon_from_json(j);
  EXPECT_EQ(back.intensity_g_per_kwh, f.intensity_g_per_kwh);
  EXPECT_EQ(back.pue, f.pue);
  EXPECT_EQ(back.price_per_kwh, f.price_per_kwh);
  EXPECT_EQ(back.currency, f.currency);
  EXPECT_EQ(back.origin, f.origin);
  // No PUE given: recorded as 1, not as given.
  const CarbonFactors none = carbon_from_json(carbon_json(CarbonFactors{}));
  EXPECT_FALSE(none.pue);
  EXPECT_FALSE(none.any());
  EXPECT_FALSE(carbon_from_json(nullptr).any());
}

}  // namespace
}  // namespace greenbench
