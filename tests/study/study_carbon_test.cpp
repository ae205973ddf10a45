// The study keys carbon_intensity, region, pue, price and currency: parsed, validated, resolved
// and recorded in the settings a results store keeps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "greenbench/carbon.hpp"
#include "greenbench/error.hpp"
#include "greenbench/report.hpp"
#include "greenbench/store.hpp"
#include "greenbench/study.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::string& text) {
  try {
    make_effective(parse_study(text, "s.toml"));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(StudyCarbon, KeysAreParsedValidatedAndRecorded) {
  const auto s =
      parse_study("carbon_intensity = 250\npue = 1.4\nprice = 0.3\ncurrency = \"EUR\"\n");
  ASSERT_TRUE(s.carbon.carbon_intensity);
  EXPECT_EQ(*s.carbon.carbon_intensity, 250);
  EXPECT_EQ(*s.carbon.pue, 1.4);
  const auto e = make_effective(s);
  const auto j = to_json(e);
  ASSERT_TRUE(j.contains("conversion"));
  EXPECT_EQ(j["conversion"]["carbon_intensity_g_per_kwh"], 250);
  EXPECT_EQ(j["conversion"]["pue"], 1.4);
  EXPECT_EQ(j["conversion"]["price_per_kwh"], 0.3);
  EXPECT_EQ(j["conversion"]["currency"], "EUR");
  EXPECT_EQ(j["conversion"]["origin"]["pue"], "study key pue");
  // Without the keys nothing is recorded (and nothing is shown).
  EXPECT_FALSE(to_json(make_effective(parse_study(""))).contains("conversion"));
}

TEST(StudyCarbon, RegionIsResolvedFromTheShippedTable) {
  const auto e = make_effective(parse_study("region = \"de\"\n"));
  EXPECT_EQ(e.carbon.region, "DE");
  EXPECT_EQ(*e.carbon.intensity_g_per_kwh, 336.380);
  EXPECT_NE(e.carbon.intensity_source.find("2024"), std::string::npos);
}

TEST(StudyCarbon, BadValuesAreOneLineNamingTheKey) {
  auto m = error_of("pue = 5\n");
  EXPECT_NE(m.find("key 'pue': expected a PUE from 1 to 3, got 5"), std::string::npos) << m;
  m = error_of("carbon_intensity = -3\n");
  EXPECT_NE(m.find("key 'carbon_intensity': expected g CO2e per kWh"), std::string::npos) << m;
  m = error_of("price = \"cheap\"\n");
  EXPECT_NE(m.find("key 'price'"), std::string::npos) << m;
  m = error_of("region = \"Atlantis\"\n");
  EXPECT_NE(m.find("region: unknown region 'Atlantis'"), std::string::npos) << m;
  m = error_of("region = \"FR\"\ncarbon_intensity = 10\n");
  EXPECT_NE(m.find("carbon_intensity and region both set"), std::string::npos) << m;
}

TEST(StudyCarbon, FactorsRoundTripThroughTheStore) {
  const auto e = make_effective(parse_study("region = \"NO\"\npue = 1.2\nprice = 0.5\n"));
  const fs::path file = fs::temp_directory_path() /
                        ("greenbench-study-carbon-" + std::to_string(getpid()) + ".sqlite");
  fs::remove(file);
  { ResultStore::create(file.string(), to_json(e), nlohmann::json::object()); }
  const ResultSet rs = load_results(file.string());
  const CarbonFactors f = carbon_from_json(rs.settings["conversion"]);
  EXPECT_EQ(f.region, "NO");
  EXPECT_EQ(*f.intensity_g_per_kwh, 29.660);
  EXPECT_EQ(*f.pue, 1.2);
  EXPECT_EQ(*f.price_per_kwh, 0.5);
  EXPECT_EQ(f.origin, e.carbon.origin);
  fs::remove(file);
}

}  // namespace
}  // namespace greenbench
