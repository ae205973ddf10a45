// The results store: round trip, observations mapping, traces, schema checks.
#include "greenbench/store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "greenbench/error.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "greenbench-store-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

RunRecord record(double package_j, double duration_s) {
  RunRecord r;
  r.command = {"w", "--phase", "train"};
  r.duration_s = duration_s + 1;
  r.phases = {
      {"run", 0, duration_s + 1, duration_s + 1, {{"cpu_package", package_j + 10}}, {}},
      {"train",
       1,
       duration_s + 1,
       duration_s,
       {{"cpu_package", package_j},
        {"cpu_package:0", package_j},
        {"dram", 2},
        {"gpu", 3},
        {"total", package_j + 5}},
       {{"cpu_package", "measured"}, {"dram", "measured"}, {"gpu", "estimated"}}},
  };
  r.phases[1].energy_above_idle_j = {{"cpu_package", package_j / 2}};
  r.metrics = {{"accuracy_top1", 0.5, "", "train"}, {"samples_per_s", 100, "samples/s", "train"}};
  r.trace_domains = {"cpu_package", "gpu"};
  r.trace = {{0.1, {10, 1}}, {0.2, {package_j, 2}}};
  return r;
}

StoredRun stored(int position, int rep, bool warmup, double package_j) {
  StoredRun s;
  s.position = position;
  s.framework = "pytorch";
  s.model = "resnet50";
  s.phase = "train";
  s.repetition = rep;
  s.warmup = warmup;
  s.started_at = 1.7e9 + position;
  s.duration_s = 4;
  s.record = record(package_j, 3);
  s.observations = observations_from_record(s.record, "train");
  return s;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir(); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST(Observations, UseTheConfiguredMarkerPhase) {
  const auto obs = observations_from_record(record(40, 3), "train");
  std::map<std::string, Observation> by_metric;
  for (const auto& o : obs) {
    EXPECT_EQ(o.phase, "train");
    by_metric[o.metric] = o;
  }
  EXPECT_EQ(by_metric.size(), 8u);
  EXPECT_DOUBLE_EQ(by_metric["energy_cpu_package"].value, 40);
  EXPECT_DOUBLE_EQ(by_metric["energy_above_idle_cpu_package"].value, 20);
  EXPECT_EQ(by_metric["energy_cpu_package"].unit, "J");
  EXPECT_EQ(by_metric["energy_cpu_package"].quality, "measured");
  EXPECT_EQ(by_metric["energy_gpu"].quality, "estimated");
  // total holds an estimated part, so it is estimated too, whatever the record says.
  EXPECT_EQ(by_metric["energy_total"].quality, "estimated");
  EXPECT_DOUBLE_EQ(by_metric["duration"].value, 3);
  EXPECT_EQ(by_metric["duration"].unit, "s");
  EXPECT_DOUBLE_EQ(by_metric["accuracy_top1"].value, 0.5);
  EXPECT_EQ(by_metric["samples_per_s"].unit, "samples/s");
  EXPECT_EQ(by_metric.count("energy_cpu_package:0"), 0u);
}

TEST(Observations, FallBackToTheWholeRunWithoutMarkers) {
  RunRecord r = record(40, 3);
  r.phases.resize(1);
  const auto obs = observations_from_record(r, "infer");
  std::map<std::string, double> values;
  for (const auto& o : obs) values[o.metric] = o.value;
  EXPECT_DOUBLE_EQ(values["energy_cpu_package"], 50);
  EXPECT_DOUBLE_EQ(values["duration"], 4);
}

TEST_F(StoreTest, RoundTripThroughLoadResults) {
  const nlohmann::json settings = {{"name", "s"}, {"repetitions", 3}};
  const nlohmann::json env = {{"cpu_model", "test cpu"}};
  {
    ResultStore store = ResultStore::create(dir_ + "/results.sqlite", settings, env);
    store.add_run(stored(0, 1, true, 10));
    store.add_run(stored(1, 1, false, 30));
    StoredRun failed = stored(2, 2, false, 0);
    failed.status = "failed";
    failed.reason = "exit code 1: boom";
    failed.observations.clear();
    store.add_run(failed, nlohmann::json{{"cpu_model", "test cpu"}, {"extra", 1}});
  }
  const ResultSet rs = load_results(dir_);
  EXPECT_EQ(rs.settings, settings);
  EXPECT_EQ(rs.environment["extra"], 1);
  EXPECT_EQ(rs.runs_total, 3);
  EXPECT_EQ(rs.runs_ok, 2);
  EXPECT_EQ(rs.runs_failed, 1);
  ASSERT_EQ(rs.failures.size(), 1u);
  EXPECT_EQ(rs.failures[0], "resnet50/pytorch/train #2: exit code 1: boom");
  ASSERT_EQ(rs.observations.size(), 14u);
  EXPECT_TRUE(rs.observations[0].warmup);
  EXPECT_FALSE(rs.observations[7].warmup);
  EXPECT_GT(rs.observations[0].run_id, 0);
  for (const auto& o : rs.observations) {
    EXPECT_EQ(o.model, "resnet50");
    EXPECT_EQ(o.framework, "pytorch");
    if (o.metric == "energy_cpu_package") EXPECT_DOUBLE_EQ(o.value, o.warmup ? 10 : 30);
  }
  // The same through the .sqlite path.
  EXPECT_EQ(load_results(dir_ + "/results.sqlite").observations.size(), 14u);

  ResultStore reopened = ResultStore::open(dir_ + "/results.sqlite");
  const auto runs = reopened.runs();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[2].status, "failed");
  EXPECT_EQ(runs[1].observations.size(), 8u);  // with energy_above_idle_cpu_package
  EXPECT_DOUBLE_EQ(runs[1].started_at, 1.7e9 + 1);

  // The raw tables keep what the observations leave out.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/results.sqlite").c_str(), &db), SQLITE_OK);
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    sqlite3_step(st);
    const double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
  };
  EXPECT_DOUBLE_EQ(scalar("SELECT energy_j FROM phase_energy WHERE domain = 'cpu_package:0' AND "
                          "run_id = 2"),
                   30);
  EXPECT_DOUBLE_EQ(scalar("SELECT energy_above_idle_j FROM phase_energy WHERE domain = "
                          "'cpu_package' AND phase_seq = 1 AND run_id = 2"),
                   15);
  EXPECT_DOUBLE_EQ(scalar("SELECT count(*) FROM power_samples"), 12);
  EXPECT_DOUBLE_EQ(scalar("SELECT count(*) FROM metrics"), 6);
  EXPECT_DOUBLE_EQ(scalar("SELECT version FROM schema_version"), kStoreSchemaVersion);
  sqlite3_close(db);
}

TEST_F(StoreTest, EnergyResolutionIsStoredPerPhaseAndDomainAndReachesTheObservations) {
  StoredRun run = stored(0, 1, false, 30);
  run.record.phases[1].energy_resolution_j = {
      {"cpu_package", 0.25}, {"cpu_package:0", 0.25}, {"dram", 0.05}, {"total", 0.4}};
  run.observations = observations_from_record(run.record, "train");
  {
    ResultStore store = ResultStore::create(dir_ + "/results.sqlite", {{"name", "s"}}, {});
    store.add_run(run);
    const auto back = store.runs();
    ASSERT_EQ(back.size(), 1u);
    std::map<std::string, double> got;
    for (const auto& o : back[0].observations) got[o.metric] = o.resolution;
    EXPECT_DOUBLE_EQ(got.at("energy_cpu_package"), 0.25);
    EXPECT_DOUBLE_EQ(got.at("energy_above_idle_cpu_package"), 0.25);
  }
  std::map<std::string, double> resolution;
  for (const auto& o : load_results(dir_).observations) resolution[o.metric] = o.resolution;
  EXPECT_DOUBLE_EQ(resolution.at("energy_cpu_package"), 0.25);
  EXPECT_DOUBLE_EQ(resolution.at("energy_dram"), 0.05);
  EXPECT_DOUBLE_EQ(resolution.at("energy_total"), 0.4);
  EXPECT_DOUBLE_EQ(resolution.at("energy_gpu"), 0);  // the record gave none: unknown
  EXPECT_DOUBLE_EQ(resolution.at("duration"), 0);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/results.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT resolution_j FROM phase_energy WHERE domain = 'cpu_package:0' AND "
                     "phase_seq = 1",
                     -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(st, 0), 0.25);
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "SELECT resolution_j FROM phase_energy WHERE domain = 'gpu'", -1, &st,
                     nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_type(st, 0), SQLITE_NULL);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(StoreTest, StepsAreStoredWithTheirEnergyPerDomain) {
  StoredRun run = stored(0, 1, false, 30);
  StepRecord first;
  first.phase = "train";
  first.index = 0;
  first.t_s = 1.5;
  first.duration_s = 0.5;
  first.energy_j = {{"cpu_package", 4}, {"total", 6}};
  first.quality = {{"cpu_package", "estimated"}, {"total", "estimated"}};
  first.energy_resolution_j = {{"cpu_package", 0.1}};
  StepRecord failed = first;
  failed.index = 9223372036854775807;
  failed.count = 3;
  failed.t_s = 2;
  failed.energy_j = {{"cpu_package", 5}};
  failed.quality = {{"cpu_package", "estimated"}, {"total", "failed"}};
  run.record.steps = {first, failed};
  {
    ResultStore store = ResultStore::create(dir_ + "/results.sqlite", {}, {});
    store.add_run(run);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/results.sqlite").c_str(), &db), SQLITE_OK);
  auto rows = [&](const char* sql) {
    std::vector<std::string> out;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sql;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* text = sqlite3_column_text(st, c);
        row +=
            (c ? "|" : "") + (text == nullptr ? std::string("NULL")
                                              : std::string(reinterpret_cast<const char*>(text)));
      }
      out.push_back(row);
    }
    sqlite3_finalize(st);
    return out;
  };
  EXPECT_EQ(
      rows("SELECT seq, phase, step_index, step_count, t_s, duration_s FROM steps ORDER BY seq"),
      (std::vector<std::string>{"0|train|0|1|1.5|0.5", "1|train|9223372036854775807|3|2.0|0.5"}));
  EXPECT_EQ(
      rows("SELECT step_seq, domain, energy_j, quality, resolution_j FROM step_energy "
           "ORDER BY step_seq, domain"),
      (std::vector<std::string>{"0|cpu_package|4.0|estimated|0.1", "0|total|6.0|estimated|NULL",
                                "1|cpu_package|5.0|estimated|0.1", "1|total|NULL|failed|NULL"}));
  sqlite3_close(db);
}

TEST_F(StoreTest, RepresentativeTraceIsTheMedianRun) {
  {
    ResultStore store = ResultStore::create(dir_ + "/results.sqlite", {}, {});
    store.add_run(stored(0, 1, true, 1000));  // a warm-up never represents its configuration
    store.add_run(stored(1, 1, false, 50));
    store.add_run(stored(2, 2, false, 10));
    store.add_run(stored(3, 3, false, 30));
    store.add_run(stored(4, 4, false, 70));
  }
  const auto traces = load_traces(dir_);
  ASSERT_EQ(traces.size(), 1u);
  // Totals 15, 35, 55, 75: the lower median of an even count is an actual run, 35 (rep 3).
  EXPECT_EQ(traces[0].run, 3);
  EXPECT_EQ(traces[0].domains, (std::vector<std::string>{"cpu_package", "gpu"}));
  ASSERT_EQ(traces[0].t_s.size(), 2u);
  EXPECT_DOUBLE_EQ(traces[0].t_s[1], 0.2);
  EXPECT_DOUBLE_EQ(traces[0].power_w[1][0], 30);
  EXPECT_DOUBLE_EQ(traces[0].power_w[1][1], 2);
  ASSERT_EQ(traces[0].phases.size(), 2u);
  EXPECT_EQ(traces[0].phases[1].first, "train");
  EXPECT_DOUBLE_EQ(traces[0].phases[1].second.first, 1);
  EXPECT_DOUBLE_EQ(traces[0].phases[1].second.second, 4);
  EXPECT_EQ(load_traces(dir_, false).size(), 4u);
}

TEST_F(StoreTest, RefusesWhatIsNotAStore) {
  EXPECT_THROW(load_results(dir_), Error);  // no results.sqlite yet
  const std::string file = dir_ + "/results.sqlite";
  std::ofstream(file) << "not a database at all, just some text that is long enough";
  EXPECT_THROW(load_results(dir_), Error);
  fs::remove(file);
  ResultStore::create(file, {}, {});
  try {
    ResultStore::create(file, {}, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("already exists"));
  }
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  try {
    load_results(file);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("written by a newer greenbench (schema version 99"));
  }
  EXPECT_THROW(ResultStore::open(file), Error);
}

TEST_F(StoreTest, PositionIsUniqueSoARunCannotBeStoredTwice) {
  ResultStore store = ResultStore::create(dir_ + "/results.sqlite", {}, {});
  store.add_run(stored(0, 1, false, 1));
  EXPECT_THROW(store.add_run(stored(0, 1, false, 1)), Error);
  // The failed transaction left nothing behind.
  EXPECT_EQ(load_results(dir_).observations.size(), 7u);
  EXPECT_EQ(load_results(dir_).runs_total, 1);
}

TEST_F(StoreTest, TextThatIsNotUtf8IsStoredNotFatal) {
  ResultStore store = ResultStore::create(dir_ + "/results.sqlite", {}, {});
  StoredRun run = stored(0, 1, false, 1);
  run.record.info["framework_version"] = "\xc3";  // a cut-off two-byte character
  run.record.command.push_back("\xff\xfe");
  run.record.warnings.push_back("bad byte \x80 here");
  ASSERT_NO_THROW(store.add_run(run));
  EXPECT_EQ(load_results(dir_).runs_total, 1);
}

// A run whose energy source failed part-way and whose loss diverged: stored with everything it
// produced (NaN as NULL, infinity as itself, the failed energy as quality 'failed' without a
// value), listed among the failures, and never part of the statistics.
TEST_F(StoreTest, InvalidRunIsStoredAsItIsAndLeftOutOfStatistics) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  {
    ResultStore store = ResultStore::create(dir_ + "/results.sqlite", {}, {});
    store.add_run(stored(0, 1, false, 30));
    StoredRun bad = stored(1, 2, false, 40);
    bad.record.metrics.push_back({"loss", nan, "", "train"});
    bad.record.metrics.push_back({"grad_norm", inf, "", "train"});
    bad.record.phases[1].energy_j.erase("gpu");
    bad.record.phases[1].energy_j.erase("total");
    bad.record.phases[1].quality["gpu"] = "failed";
    bad.record.phases[1].quality["total"] = "failed";
    bad.record.trace[1].power_w[1] = nan;
    const auto why = invalid_reason(bad.record);
    ASSERT_TRUE(why.has_value());
    bad.status = "invalid";
    bad.reason = *why;  // observations left as computed: the store must still not use them
    store.add_run(bad);
  }
  const ResultSet rs = load_results(dir_);
  EXPECT_EQ(rs.runs_total, 2);
  EXPECT_EQ(rs.runs_ok, 1);
  EXPECT_EQ(rs.runs_failed, 1);
  ASSERT_EQ(rs.failures.size(), 1u);
  EXPECT_THAT(rs.failures[0], HasSubstr("resnet50/pytorch/train #2: invalid: energy not "
                                        "measured (gpu, total)"));
  EXPECT_THAT(rs.failures[0], HasSubstr("metric 'loss' is nan (phase 'train')"));
  EXPECT_THAT(rs.failures[0], HasSubstr("metric 'grad_norm' is inf"));
  for (const auto& o : rs.observations) EXPECT_EQ(o.run, 1) << o.metric;

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/results.sqlite").c_str(), &db), SQLITE_OK);
  auto column = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    std::pair<int, double> out{SQLITE_NULL, 0};
    if (sqlite3_step(st) == SQLITE_ROW)
      out = {sqlite3_column_type(st, 0), sqlite3_column_double(st, 0)};
    sqlite3_finalize(st);
    return out;
  };
  EXPECT_EQ(column("SELECT value FROM metrics WHERE run_id = 2 AND name = 'loss'").first,
            SQLITE_NULL);
  const auto grad = column("SELECT value FROM metrics WHERE run_id = 2 AND name = 'grad_norm'");
  EXPECT_EQ(grad.first, SQLITE_FLOAT);
  EXPECT_TRUE(std::isinf(grad.second));
  EXPECT_EQ(column("SELECT energy_j FROM phase_energy WHERE run_id = 2 AND phase_seq = 1 AND "
                   "domain = 'total' AND quality = 'failed'")
                .first,
            SQLITE_NULL);
  EXPECT_EQ(column("SELECT count(*) FROM power_samples WHERE run_id = 2").second, 3);
  EXPECT_EQ(column("SELECT count(*) FROM runs WHERE status = 'invalid'").second, 1);
  sqlite3_close(db);
}

// A store of schema version 1 (written before 'invalid' existed) opens, is migrated in place,
// keeps its runs and then takes an invalid run.
TEST_F(StoreTest, SchemaVersion1IsMigrated) {
  const std::string file = dir_ + "/results.sqlite";
  fs::copy_file(std::string(GREENBENCH_SOURCE_DIR) + "/tests/store/data/schema_v1_import.sqlite",
                file);
  {
    ResultStore store = ResultStore::open(file);
    EXPECT_EQ(store.runs().size(), 2u);
    StoredRun bad = stored(5, 1, false, 40);
    bad.status = "invalid";
    bad.reason = "metric 'loss' is nan (phase 'train')";
    bad.record.metrics.push_back({"loss", std::numeric_limits<double>::quiet_NaN(), "", "train"});
    store.add_run(bad);
  }
  const ResultSet rs = load_results(file);
  EXPECT_EQ(rs.runs_total, 3);
  EXPECT_EQ(rs.runs_failed, 1);
  EXPECT_EQ(rs.observations.size(), 3u);  // the imported values, nothing of the invalid run
  for (const auto& o : rs.observations) EXPECT_EQ(o.resolution, 0) << o.metric;  // not known
  // Migrated to the current version: the step tables exist (empty for the old runs).
  {
    ResultStore store = ResultStore::open(file);
    StoredRun with_steps = stored(6, 2, false, 40);
    with_steps.record.steps.push_back(
        {"train", 3, 1, 1, 1, {{"total", 2}}, {{"total", "measured"}}, {}});
    store.add_run(with_steps);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM step_energy", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(StoreTest, EnergyBasisAboveIdleReplacesTheEnergyObservations) {
  {
    ResultStore store = ResultStore::create(dir_ + "/results.sqlite", {}, {});
    store.add_run(stored(0, 1, false, 30));
  }
  const ResultSet gross = load_results(dir_);
  EXPECT_EQ(gross.energy_basis, "gross");
  std::map<std::string, double> g;
  for (const auto& o : gross.observations) g[o.metric] = o.value;
  EXPECT_DOUBLE_EQ(g.at("energy_cpu_package"), 30);
  EXPECT_EQ(g.count("energy_above_idle_cpu_package"), 0u);

  const ResultSet above = load_results(dir_, EnergyBasis::kAboveIdle);
  EXPECT_EQ(above.energy_basis, "above-idle");
  std::map<std::string, double> a;
  for (const auto& o : above.observations) a[o.metric] = o.value;
  EXPECT_DOUBLE_EQ(a.at("energy_cpu_package"), 15);
  // No idle power for the other domains: they have no above-idle value, and are not shown gross.
  EXPECT_EQ(a.count("energy_total"), 0u);
  EXPECT_EQ(a.count("energy_above_idle_cpu_package"), 0u);
  EXPECT_DOUBLE_EQ(a.at("duration"), 3);
}

TEST_F(StoreTest, EnergyBasisAboveIdleWithoutIdlePowerIsRefused) {
  {
    ResultStore store = ResultStore::create(dir_ + "/results.sqlite", {}, {});
    StoredRun run = stored(0, 1, false, 30);
    for (auto& p : run.record.phases) p.energy_above_idle_j.clear();
    run.observations = observations_from_record(run.record, "train");
    store.add_run(run);
  }
  try {
    load_results(dir_, EnergyBasis::kAboveIdle);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no run has energy above idle"));
    EXPECT_THAT(e.what(), HasSubstr("use --energy gross"));
  }
  EXPECT_THROW(parse_energy_basis("net"), Error);
}

TEST(Record, SetIdlePowerFillsEnergyAboveIdlePerPhaseAndDomain) {
  RunRecord r = record(40, 3);
  for (auto& p : r.phases) p.energy_above_idle_j.clear();
  set_idle_power(&r, {{"cpu_package", 2}, {"total", 4}, {"psys", 1}});
  EXPECT_DOUBLE_EQ(r.idle_power_w.at("cpu_package"), 2);
  // run: 50 J over 4 s; train: 40 J (total 45 J) over 3 s.
  EXPECT_DOUBLE_EQ(r.phases[0].energy_above_idle_j.at("cpu_package"), 42);
  EXPECT_DOUBLE_EQ(r.phases[1].energy_above_idle_j.at("cpu_package"), 34);
  EXPECT_DOUBLE_EQ(r.phases[1].energy_above_idle_j.at("total"), 33);
  EXPECT_EQ(r.phases[1].energy_above_idle_j.count("dram"), 0u);  // no idle power for it
  EXPECT_EQ(r.phases[1].energy_above_idle_j.count("psys"), 0u);  // no energy for it
}

TEST(Record, InvalidReasonNamesTheFailedSourceOrTheNonFiniteMetric) {
  RunRecord r = record(40, 3);
  EXPECT_FALSE(invalid_reason(r).has_value());
  r.metrics.push_back({"loss", -std::numeric_limits<double>::infinity(), "", "train"});
  EXPECT_EQ(invalid_reason(r).value_or(""), "metric 'loss' is -inf (phase 'train')");
  r.metrics.pop_back();
  r.phases[1].quality["gpu:0"] = "failed";
  r.phases[1].quality["gpu"] = "failed";
  r.phases[1].energy_j.erase("gpu");
  r.warnings = {"something else",
                "source 'nvml' failed 2.000 s into the run (last good reading at 1.950 s); gpu:0 "
                "not measured from then on: ...: boom"};
  EXPECT_EQ(invalid_reason(r).value_or(""),
            "energy not measured (gpu): source 'nvml' failed 2.000 s into the run (last good "
            "reading at 1.950 s); gpu:0 not measured from then on: ...: boom");
}

TEST(Record, NonFiniteMetricsAndMissingPowerSurviveTheJsonRoundTrip) {
  RunRecord r = record(40, 3);
  r.metrics.push_back({"loss", std::numeric_limits<double>::quiet_NaN(), "", "train"});
  r.metrics.push_back({"loss", std::numeric_limits<double>::infinity(), "", "train"});
  r.trace[1].power_w[1] = std::numeric_limits<double>::quiet_NaN();
  const nlohmann::json j = to_json(r, true);
  EXPECT_EQ(j["metrics"][2]["value"], "nan");
  EXPECT_EQ(j["metrics"][3]["value"], "inf");
  EXPECT_TRUE(j["trace"]["samples"][1]["power_w"][1].is_null());
  const RunRecord back = run_record_from_json(nlohmann::json::parse(j.dump()));
  EXPECT_TRUE(std::isnan(back.metrics[2].value));
  EXPECT_TRUE(std::isinf(back.metrics[3].value));
  EXPECT_TRUE(std::isnan(back.trace[1].power_w[1]));
  EXPECT_DOUBLE_EQ(back.trace[1].power_w[0], 40);
}

}  // namespace
}  // namespace greenbench
