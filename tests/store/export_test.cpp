// export -> import round trip: the long CSV carries every measured value exactly, and the
// comparison of the re-imported store equals the original's.
#include <gtest/gtest.h>

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

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gb-export-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ExportTest, EveryMeasuredValueReadsBackAsTheSameDouble) {
  ResultSet rs = testing::fixture_results();
  // Values that need all 17 significant digits, and a label that needs CSV quoting.
  rs.observations[0].value = 1.0 / 3.0;
  rs.observations[1].value = 0.1 + 0.2;
  Observation odd = rs.observations[2];
  odd.metric = "accuracy_top1";
  odd.unit = "a,\"b\"";
  odd.run = 42;
  rs.observations.push_back(odd);

  ExportSummary summary;
  const std::string csv = to_long_csv(rs, &summary);
  const std::vector<Observation> back = parse_long_csv(csv, "export.csv");

  std::vector<const Observation*> measured;
  for (const auto& o : rs.observations) {
    if (!o.warmup) measured.push_back(&o);
  }
  ASSERT_EQ(back.size(), measured.size());
  EXPECT_EQ(summary.values, int(measured.size()));
  EXPECT_GT(summary.warmup_skipped, 0);
  for (size_t i = 0; i < back.size(); ++i) {
    SCOPED_TRACE(measured[i]->metric);
    EXPECT_EQ(back[i].model, measured[i]->model);
    EXPECT_EQ(back[i].framework, measured[i]->framework);
    EXPECT_EQ(back[i].phase, measured[i]->phase);
    EXPECT_EQ(back[i].run, measured[i]->run);
    EXPECT_EQ(back[i].metric, measured[i]->metric);
    EXPECT_EQ(back[i].value, measured[i]->value);  // bit for bit, not within a tolerance
    EXPECT_EQ(back[i].unit, measured[i]->unit);
    EXPECT_EQ(back[i].quality, measured[i]->quality);
  }
}

TEST_F(ExportTest, ValuesThatImportCannotHoldAreCountedNotWritten) {
  ResultSet rs = testing::fixture_results();
  rs.observations[5].value = std::nan("");
  rs.observations[5].warmup = false;
  ExportSummary summary;
  const std::string csv = to_long_csv(rs, &summary);
  EXPECT_EQ(summary.nonfinite_skipped, 1);
  EXPECT_EQ(csv.find("nan"), std::string::npos);
  EXPECT_NO_THROW(parse_long_csv(csv, "export.csv"));
}

TEST_F(ExportTest, ExportImportCompareGivesTheSameComparison) {
  // A store made by import of the fixture, exported by the CLI and imported again.
  const ResultSet rs = testing::fixture_results();
  {
    std::ofstream f(dir_ / "first.csv");
    f << to_long_csv(rs);
  }
  import_csv((dir_ / "first.csv").string(), (dir_ / "one").string());
  const auto r =
      testing::run_process({std::string(GREENBENCH_BIN_DIR) + "/greenbench", "export",
                            (dir_ / "one").string(), "--csv", (dir_ / "second.csv").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("exported"), std::string::npos) << r.err;
  import_csv((dir_ / "second.csv").string(), (dir_ / "two").string());

  CompareSettings settings;
  settings.baseline = "pytorch";
  const ComparisonSet original = compare_results(rs, settings);
  const ComparisonSet again = compare_results(load_results((dir_ / "two").string()), settings);
  ASSERT_EQ(again.comparisons.size(), original.comparisons.size());
  for (size_t i = 0; i < original.comparisons.size(); ++i) {
    const auto& x = original.comparisons[i];
    const auto& y = again.comparisons[i];
    SCOPED_TRACE(x.model + " " + x.phase + " " + x.metric);
    EXPECT_EQ(y.model, x.model);
    EXPECT_EQ(y.metric, x.metric);
    EXPECT_EQ(y.values_a, x.values_a);
    EXPECT_EQ(y.values_b, x.values_b);
    EXPECT_EQ(y.estimated_a, x.estimated_a);
    EXPECT_EQ(y.estimated_b, x.estimated_b);
    EXPECT_EQ(y.stats.p_value, x.stats.p_value);
    EXPECT_EQ(y.stats.p_holm, x.stats.p_holm);
    EXPECT_EQ(y.stats.a12, x.stats.a12);
    EXPECT_EQ(y.stats.ratio_median, x.stats.ratio_median);
  }
  // The CSV of the re-imported store is the CSV it was made from.
  std::ifstream second(dir_ / "second.csv");
  std::stringstream text;
  text << second.rdbuf();
  EXPECT_EQ(to_long_csv(load_results((dir_ / "two").string())), text.str());
}

TEST_F(ExportTest, BadInvocationsGiveOneLine) {
  const std::string exe = std::string(GREENBENCH_BIN_DIR) + "/greenbench";
  auto one_line = [](const std::string& err) {
    return !err.empty() && err.find('\n') == err.size() - 1;
  };
  auto r = testing::run_process({exe, "export", (dir_ / "none").string(), "--csv", "-"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  r = testing::run_process({exe, "export", (dir_ / "none").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--csv"), std::string::npos) << r.err;
  r = testing::run_process({exe, "export", "--bogus"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
}

}  // namespace
}  // namespace greenbench
