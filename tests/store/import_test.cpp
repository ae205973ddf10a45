// greenbench import: long-format CSV into a store, and every error with its line and column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "greenbench/error.hpp"
#include "greenbench/store.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string error_of(const std::string& text) {
  try {
    parse_long_csv(text, "data.csv");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kHeader = "model,framework,phase,run,metric,value,unit\n";

TEST(ImportCsv, ParsesConvertsUnitsAndKeepsQuality) {
  const auto obs = parse_long_csv(
      "model,framework,phase,run,metric,value,unit,quality\r\n"
      "ncf,pytorch,train,1,energy_cpu_package,327.561,kJ,measured\r\n"
      "ncf,pytorch,train,1,duration,98.35,min,\r\n"
      "ncf,pytorch,train,1,energy_gpu,0.5,Wh,estimated\r\n"
      "\"ncf\",pytorch,train,2,hit_rate_10,\"0.62\",\"\",\r\n"
      "\r\n",
      "data.csv");
  ASSERT_EQ(obs.size(), 4u);
  EXPECT_DOUBLE_EQ(obs[0].value, 327561);
  EXPECT_EQ(obs[0].unit, "J");
  EXPECT_EQ(obs[0].quality, "measured");
  EXPECT_DOUBLE_EQ(obs[1].value, 98.35 * 60);
  EXPECT_EQ(obs[1].unit, "s");
  EXPECT_DOUBLE_EQ(obs[2].value, 1800);
  EXPECT_EQ(obs[2].quality, "estimated");
  EXPECT_EQ(obs[3].model, "ncf");
  EXPECT_EQ(obs[3].run, 2);
  EXPECT_DOUBLE_EQ(obs[3].value, 0.62);
  EXPECT_FALSE(obs[3].warmup);
}

TEST(ImportCsv, HeaderMustBeTheLongFormat) {
  EXPECT_EQ(error_of("model,framework,phase,run,metric,value\nncf,pytorch,train,1,duration,1\n"),
            "data.csv:1: header: expected \"model,framework,phase,run,metric,value,unit[,quality]"
            "\", got \"model,framework,phase,run,metric,value\"");
  EXPECT_EQ(error_of(""), "data.csv: empty file; expected a header line");
  EXPECT_EQ(error_of(kHeader), "data.csv: no data rows after the header");
}

TEST(ImportCsv, EveryBadFieldIsNamedWithLineAndColumn) {
  const std::string text = std::string(kHeader) +
                           "ncf,pytorch,train,1,duration,3.5,s\n"
                           "ncf,pytorch,train,zero,duration,3.5,s\n"
                           "ncf,pytorch,train,2,duration,fast,s\n"
                           "ncf,pytorch,train,3,energy_total,12,calories\n"
                           "ncf,pytorch,train,4,duration,1,parsecs\n"
                           "ncf,pytorch,train,5,duration,1\n"
                           "ncf,pytorch,train,1,duration,3.6,s\n"
                           "ncf,py torch,train,6,energy total,1,J\n";
  EXPECT_EQ(error_of(text),
            "data.csv:3:4 (run): expected a positive integer, got \"zero\"\n"
            "data.csv:4:6 (value): expected a finite number, got \"fast\"\n"
            "data.csv:5:7 (unit): energy needs a unit of J, mJ, kJ, MJ, Wh or kWh, got "
            "\"calories\"\n"
            "data.csv:6:7 (unit): duration needs a unit of s, ms, us, min or h, got \"parsecs\"\n"
            "data.csv:7: expected 7 fields, got 6\n"
            "data.csv:8: duplicate of line 2 (ncf pytorch train run 1 duration)\n"
            "data.csv:9:2 (framework): \"py torch\" is not a label (1 to 64 characters A-Z a-z "
            "0-9 _ . -, starting with a letter or digit)\n"
            "data.csv:9:5 (metric): expected a metric name such as energy_total, got \"energy "
            "total\"");
}

TEST(ImportCsv, QuotedFieldsMayHoldCommasQuotesAndNewlines) {
  EXPECT_EQ(error_of(std::string(kHeader) + "ncf,pytorch,train,1,x,1,\"a,b\"\"c\nd\"\n"
                                            "ncf,pytorch,train,nope,x,1,u\n"),
            "data.csv:4:4 (run): expected a positive integer, got \"nope\"");
  const auto obs =
      parse_long_csv(std::string(kHeader) + "ncf,pytorch,train,1,x,1,\"a,b\"\"c\"\n", "data.csv");
  EXPECT_EQ(obs[0].unit, "a,b\"c");
  EXPECT_EQ(error_of(std::string(kHeader) + "ncf,pytorch,train,1,x,1,\"open\n"),
            "data.csv:2: a quoted field is never closed");
}

// -5 J once gave a negative ratio, 1e308 kWh an infinity that broke compare.
TEST(ImportCsv, EnergiesAndDurationsAreFiniteAndNonNegative) {
  EXPECT_EQ(error_of(std::string(kHeader) + "ncf,pytorch,train,1,energy_total,-5,J\n"),
            "data.csv:2:6 (value): expected a non-negative energy, got \"-5\"");
  EXPECT_EQ(error_of(std::string(kHeader) + "ncf,pytorch,train,1,energy_total,1e308,kWh\n"),
            "data.csv:2:6 (value): \"1e308 kWh\" is not a finite number of J");
  EXPECT_EQ(error_of(std::string(kHeader) + "ncf,pytorch,train,1,duration,-0.5,ms\n"),
            "data.csv:2:6 (value): expected a non-negative duration, got \"-0.5\"");
  EXPECT_EQ(error_of(std::string(kHeader) + "ncf,pytorch,train,1,duration,1e307,h\n"),
            "data.csv:2:6 (value): \"1e307 h\" is not a finite number of s");
  EXPECT_THAT(error_of(std::string(kHeader) + "ncf,pytorch,train,1,energy_gpu,inf,J\n"),
              HasSubstr("expected a finite number, got \"inf\""));
  // Zero, -0 and the largest finite amounts are kept; other metrics may be negative (a loss).
  const auto obs = parse_long_csv(std::string(kHeader) +
                                      "ncf,pytorch,train,1,energy_total,-0,J\n"
                                      "ncf,pytorch,train,1,duration,1.7976931348623157e308,s\n"
                                      "ncf,pytorch,train,1,loss,-2.5,\n",
                                  "data.csv");
  ASSERT_EQ(obs.size(), 3u);
  EXPECT_EQ(obs[0].value, 0);
  EXPECT_FALSE(std::signbit(obs[0].value));
  EXPECT_EQ(obs[1].value, 1.7976931348623157e308);
  EXPECT_EQ(obs[2].value, -2.5);
}

TEST(ImportCsv, MessagesCutLongValuesAndEscapeControlCharacters) {
  const std::string message = error_of(std::string(kHeader) + "ncf,\"\x1b[2J" +
                                       std::string(500, 'p') + "\",train,1,x,1,\n");
  EXPECT_THAT(message, HasSubstr("\"\\x1b[2J" + std::string(53, 'p') + "\u2026\" is not a label"));
  EXPECT_LT(message.size(), 200u);
  for (const char c : message) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << message;
}

TEST(ImportCsv, BecomesAStoreThatLoadResultsReads) {
  std::string dir = (fs::temp_directory_path() / "greenbench-import-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string csv = dir + "/icse.csv";
  std::ofstream(csv) << kHeader
                     << "ncf,pytorch,infer,1,energy_cpu_package,16697,J\n"
                        "ncf,pytorch,infer,1,duration,159,s\n"
                        "ncf,tensorflow,infer,1,energy_cpu_package,11275,J\n"
                        "ncf,pytorch,infer,2,energy_cpu_package,16000,J\n"
                        "ncf,tensorflow,infer,1,duration,113,s\n";
  const ImportSummary summary = import_csv(csv, dir + "/out");
  EXPECT_EQ(summary.observations, 5);
  EXPECT_EQ(summary.runs, 3);
  const ResultSet rs = load_results(dir + "/out");
  EXPECT_EQ(rs.runs_total, 3);
  EXPECT_EQ(rs.runs_ok, 3);
  EXPECT_EQ(rs.settings["name"], "icse");
  ASSERT_EQ(rs.observations.size(), 5u);
  for (const auto& o : rs.observations) {
    EXPECT_EQ(o.run_id, 0);  // imported data has no store run ids
    EXPECT_EQ(o.phase, "infer");
    EXPECT_FALSE(o.warmup);
  }
  EXPECT_EQ(rs.observations[0].framework, "pytorch");
  EXPECT_EQ(rs.observations[0].metric, "duration");  // ordered by run, then metric
  EXPECT_DOUBLE_EQ(rs.observations[0].value, 159);
  EXPECT_TRUE(load_traces(dir + "/out").empty());
  // A second import into the same directory is refused.
  EXPECT_THROW(import_csv(csv, dir + "/out"), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace greenbench
