// Golden-output tests of the terminal table, the compare JSON and the Markdown report.
//
// The goldens live in tests/report/golden/. After an intended change of the output, regenerate
// them with
//   GREENBENCH_UPDATE_GOLDEN=1 build/bin/report_golden_test
// and review the diff (git diff tests/report/golden) before committing it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "greenbench/report.hpp"
#include "report/fixture.hpp"

namespace greenbench {
namespace {

const std::string kGoldenDir = std::string(GREENBENCH_SOURCE_DIR) + "/tests/report/golden/";

bool updating() {
  const char* v = std::getenv("GREENBENCH_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Returns the golden text, or writes `actual` as the new golden in update mode.
std::string golden(const std::string& name, const std::string& actual) {
  const std::string path = kGoldenDir + name;
  if (updating()) {
    std::ofstream(path) << actual;
    return actual;
  }
  std::ifstream probe(path);
  if (!probe) {
    ADD_FAILURE() << "missing golden " << path << " (GREENBENCH_UPDATE_GOLDEN=1 creates it)";
    return "";
  }
  return read_file(path);
}

// Numbers compared with a relative tolerance: the last bits of a p-value may differ between
// C libraries, and that is not a change of the output.
void expect_json_near(const nlohmann::json& expected, const nlohmann::json& actual,
                      const std::string& where) {
  if (expected.is_number()) {
    ASSERT_TRUE(actual.is_number()) << where << ": " << actual;
    const double e = expected.get<double>(), a = actual.get<double>();
    EXPECT_NEAR(a, e, 1e-9 * std::max(1.0, std::fabs(e))) << where;
    return;
  }
  ASSERT_EQ(expected.type(), actual.type()) << where;
  if (expected.is_object()) {
    ASSERT_EQ(expected.size(), actual.size()) << where;
    for (const auto& [k, v] : expected.items()) {
      ASSERT_TRUE(actual.contains(k)) << where << "." << k;
      expect_json_near(v, actual[k], where + "." + k);
    }
  } else if (expected.is_array()) {
    ASSERT_EQ(expected.size(), actual.size()) << where;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      expect_json_near(expected[i], actual[i], where + "[" + std::to_string(i) + "]");
    }
  } else {
    EXPECT_EQ(expected, actual) << where;
  }
}

TEST(ReportGolden, TerminalTable) {
  const auto set = compare_results(testing::fixture_results());
  std::ostringstream out;
  print_comparison(set, out);
  EXPECT_EQ(out.str(), golden("compare.txt", out.str()));
}

TEST(ReportGolden, TerminalTableWithBaseline) {
  const auto set = compare_results(testing::fixture_results(), "pytorch");
  std::ostringstream out;
  print_comparison(set, out);
  EXPECT_EQ(out.str(), golden("compare_baseline.txt", out.str()));
}

TEST(ReportGolden, Json) {
  const auto j = comparison_json(compare_results(testing::fixture_results()));
  const std::string text = golden("compare.json", j.dump(2) + "\n");
  if (text.empty()) return;
  expect_json_near(nlohmann::json::parse(text), j, "$");
}

TEST(ReportGolden, Markdown) {
  const auto rs = testing::fixture_results();
  std::ostringstream out;
  write_markdown_report(rs, compare_results(rs), out);
  EXPECT_EQ(out.str(), golden("report.md", out.str()));
}

// The goldens must not silently follow the code: outside update mode a changed fixture fails.
TEST(ReportGolden, ADifferentResultSetDoesNotMatch) {
  if (updating()) GTEST_SKIP() << "updating goldens";
  auto rs = testing::fixture_results();
  rs.observations[10].value *= 3;
  std::ostringstream out;
  print_comparison(compare_results(rs), out);
  EXPECT_NE(out.str(), read_file(kGoldenDir + "compare.txt"));
}

}  // namespace
}  // namespace greenbench
