// Phases and energy attribution with a fake source whose counters the test sets by hand.
#include "measure/session.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "fake_source.hpp"

namespace greenbench::measure {
namespace {

using greenbench::testing::counter;
using greenbench::testing::FakeSource;
using greenbench::testing::gauge;

struct Rig {
  std::vector<std::string> warnings;
  FakeSource* source = nullptr;
  std::unique_ptr<Meter> meter;
  std::unique_ptr<Session> session;

  explicit Rig(std::vector<DomainInfo> domains, std::vector<double> start_values) {
    auto s = std::make_unique<FakeSource>("fake", std::move(domains));
    source = s.get();
    source->set(std::move(start_values));
    std::vector<std::unique_ptr<EnergySource>> sources;
    sources.push_back(std::move(s));
    meter = std::make_unique<Meter>(std::move(sources), &warnings);
    meter->start(100.0);
    session = std::make_unique<Session>(meter.get(), &warnings);
  }
  RunRecord record() const {
    RunRecord r;
    session->fill(&r, true);
    return r;
  }
};

const PhaseRecord& phase(const RunRecord& r, const std::string& name) {
  for (const auto& p : r.phases) {
    if (p.name == name) return p;
  }
  throw std::runtime_error("no phase " + name);
}

TEST(Session, EnergyPerPhaseIsTheCounterDeltaAtTheMarkers) {
  Rig rig({counter("cpu_package", 0), counter("dram", 0)}, {10, 5});
  rig.source->set({12, 6});
  rig.session->feed("begin setup\n", 101.0);
  rig.source->set({20, 7});
  rig.meter->sample(101.5);  // a tick inside the phase must not change its energy
  rig.session->tick(101.5);
  rig.source->set({32, 9});
  rig.session->feed("end setup\nbegin train\n", 102.0);
  rig.source->set({72, 19});
  rig.session->feed("end train\n", 104.0);
  rig.source->set({75, 20});
  rig.session->finish(104.5);
  const RunRecord r = rig.record();
  ASSERT_EQ(r.phases.size(), 3u);
  EXPECT_EQ(r.phases[0].name, "run");
  EXPECT_DOUBLE_EQ(r.phases[0].duration_s, 4.5);
  EXPECT_DOUBLE_EQ(r.phases[0].energy_j.at("cpu_package"), 65);
  EXPECT_DOUBLE_EQ(r.phases[0].energy_j.at("dram"), 15);
  EXPECT_DOUBLE_EQ(r.phases[0].energy_j.at("total"), 80);
  const auto& setup = phase(r, "setup");
  EXPECT_DOUBLE_EQ(setup.start_s, 1.0);
  EXPECT_DOUBLE_EQ(setup.end_s, 2.0);
  EXPECT_DOUBLE_EQ(setup.energy_j.at("cpu_package"), 20);
  EXPECT_DOUBLE_EQ(setup.energy_j.at("cpu_package:0"), 20);
  EXPECT_DOUBLE_EQ(setup.energy_j.at("dram"), 3);
  EXPECT_DOUBLE_EQ(setup.energy_j.at("total"), 23);
  EXPECT_EQ(setup.quality.at("total"), "measured");
  const auto& train = phase(r, "train");
  EXPECT_DOUBLE_EQ(train.duration_s, 2.0);
  EXPECT_DOUBLE_EQ(train.energy_j.at("total"), 50);
  EXPECT_FALSE(train.closed_at_exit);
  EXPECT_TRUE(rig.warnings.empty());
  // The trace's one tick: average power over 1.5 s since the start.
  ASSERT_EQ(r.trace.size(), 1u);
  EXPECT_EQ(r.trace_domains[0], "total");
  EXPECT_DOUBLE_EQ(r.trace[0].power_w[0], (10 + 2) / 1.5);
}

TEST(Session, SumsPerDomainAndTotalLeavesOutCoreUncoreAndPsys) {
  Rig rig({counter("cpu_package", 0), counter("cpu_package", 1), counter("cpu_core", 0),
           counter("psys", 0), counter("gpu", 1), counter("cpu_uncore", 0)},
          {0, 0, 0, 0, 0, 0});
  rig.source->set({10, 20, 5, 100, 40, 1});
  rig.session->finish(101);
  const auto r = rig.record();
  const auto& e = r.phases[0].energy_j;
  EXPECT_DOUBLE_EQ(e.at("cpu_package:0"), 10);
  EXPECT_DOUBLE_EQ(e.at("cpu_package:1"), 20);
  EXPECT_DOUBLE_EQ(e.at("cpu_package"), 30);
  EXPECT_DOUBLE_EQ(e.at("cpu_core"), 5);
  EXPECT_DOUBLE_EQ(e.at("psys"), 100);
  EXPECT_DOUBLE_EQ(e.at("gpu"), 40);
  EXPECT_DOUBLE_EQ(e.at("gpu:1"), 40);
  EXPECT_DOUBLE_EQ(e.at("total"), 70);
  EXPECT_EQ(e.count("dram"), 0u) << "a domain no source provides is absent, not zero";
}

TEST(Session, EveryEnergyCarriesItsResolution) {
  // cpu_package: 0.5 J steps, readings up to 10 ms old; dram: 0.1 J steps, 1 ms.
  DomainInfo package = counter("cpu_package", 0);
  package.resolution_j = 0.5;
  package.update_interval_s = 0.01;
  DomainInfo dram = counter("dram", 0);
  dram.resolution_j = 0.1;
  dram.update_interval_s = 0.001;
  Rig rig({package, dram}, {0, 0});
  rig.session->feed("begin train\n", 100.0);
  rig.source->set({40, 4});
  rig.session->feed("end train\n", 102.0);
  rig.session->finish(102.0);
  const RunRecord record = rig.record();  // phase() refers into it: keep it alive
  const auto& train = phase(record, "train");
  const double eps = 4 * std::numeric_limits<double>::epsilon();
  // Two steps (one reading at each end) + update interval × mean power + float rounding.
  EXPECT_DOUBLE_EQ(train.energy_resolution_j.at("cpu_package"), 2 * 0.5 + 0.01 * 20 + 40 * eps);
  EXPECT_DOUBLE_EQ(train.energy_resolution_j.at("cpu_package:0"), 2 * 0.5 + 0.01 * 20 + 40 * eps);
  EXPECT_DOUBLE_EQ(train.energy_resolution_j.at("dram"), 2 * 0.1 + 0.001 * 2 + 4 * eps);
  // A sum: the parts' steps, the slowest part's interval × the sum's power.
  EXPECT_DOUBLE_EQ(train.energy_resolution_j.at("total"), 2 * 0.5 + 2 * 0.1 + 0.01 * 22 + 44 * eps);
  // In the record's JSON and back.
  const RunRecord back = run_record_from_json(to_json(rig.record()));
  EXPECT_EQ(phase(back, "train").energy_resolution_j, train.energy_resolution_j);
}

TEST(Session, CounterWrapIsCountedOnce) {
  // 262144 J range: 262000 -> 100 is 244 J, not a negative number or a huge one.
  Rig rig({counter("cpu_package", 0, 262144)}, {261900});
  rig.source->set({262000});
  rig.session->feed("begin a\n", 101);
  rig.source->set({100});
  rig.meter->sample(101.5);
  rig.source->set({300});
  rig.session->feed("end a\n", 102);
  rig.session->finish(102);
  const auto r = rig.record();
  EXPECT_DOUBLE_EQ(phase(r, "a").energy_j.at("cpu_package"), 244 + 200);
  EXPECT_DOUBLE_EQ(r.phases[0].energy_j.at("cpu_package"), 100 + 244 + 200);
}

TEST(Session, PowerGaugeIsIntegratedWithTheTrapezoidRuleIncludingAtMarkers) {
  Rig rig({gauge("gpu", 0)}, {100});
  rig.source->set({200});
  rig.session->feed("begin a\n", 102);  // 0..2 s: (100+200)/2*2 = 300 J
  rig.source->set({200});
  rig.session->feed("end a\n", 103);  // 2..3 s: 200 J
  rig.source->set({0});
  rig.session->finish(104);  // 3..4 s: 100 J
  const auto r = rig.record();
  EXPECT_DOUBLE_EQ(phase(r, "a").energy_j.at("gpu"), 200);
  EXPECT_DOUBLE_EQ(r.phases[0].energy_j.at("gpu"), 600);
  EXPECT_DOUBLE_EQ(r.phases[0].energy_j.at("total"), 600);
}

TEST(Session, EstimatedQualityPropagatesToSumsAndTotal) {
  Rig rig({counter("cpu_package", 0, 0, Quality::kEstimated), counter("gpu", 0)}, {0, 0});
  rig.source->set({5, 7});
  rig.session->finish(101);
  const auto r = rig.record();
  EXPECT_EQ(r.phases[0].quality.at("cpu_package"), "estimated");
  EXPECT_EQ(r.phases[0].quality.at("cpu_package:0"), "estimated");
  EXPECT_EQ(r.phases[0].quality.at("gpu"), "measured");
  EXPECT_EQ(r.phases[0].quality.at("total"), "estimated");
}

TEST(Session, PhasesNestInLifoOrder) {
  Rig rig({counter("cpu_package", 0)}, {0});
  rig.source->set({1});
  rig.session->feed("begin outer\n", 101);
  rig.source->set({3});
  rig.session->feed("begin inner\nmetric loss 0.5\n", 102);
  rig.source->set({7});
  rig.session->feed("end outer\n", 103);  // not the innermost: ignored with a warning
  rig.session->feed("end inner\n", 103);
  rig.source->set({15});
  rig.session->feed("metric acc 0.9 ratio\nend outer\nmetric after 1\n", 104);
  rig.session->finish(105);
  const auto r = rig.record();
  ASSERT_EQ(r.phases.size(), 3u);
  EXPECT_EQ(r.phases[1].name, "outer");
  EXPECT_EQ(r.phases[2].name, "inner");
  EXPECT_DOUBLE_EQ(r.phases[1].energy_j.at("cpu_package"), 14);
  EXPECT_DOUBLE_EQ(r.phases[2].energy_j.at("cpu_package"), 4);
  EXPECT_DOUBLE_EQ(r.phases[2].end_s, 3);
  ASSERT_EQ(rig.warnings.size(), 1u);
  EXPECT_NE(rig.warnings[0].find("marker line 4 ignored: end of phase 'outer' but the innermost "
                                 "open phase is 'inner'"),
            std::string::npos)
      << rig.warnings[0];
  ASSERT_EQ(r.metrics.size(), 3u);
  EXPECT_EQ(r.metrics[0].phase, "inner");
  EXPECT_EQ(r.metrics[1].phase, "outer");
  EXPECT_EQ(r.metrics[1].unit, "ratio");
  EXPECT_EQ(r.metrics[2].phase, "run");
  EXPECT_EQ(rig.session->malformed_lines(), 1u);
}

TEST(Session, EndWithoutBeginIsMalformed) {
  Rig rig({counter("cpu_package", 0)}, {0});
  rig.session->feed("end x\n", 101);
  rig.session->finish(102);
  EXPECT_EQ(rig.session->malformed_lines(), 1u);
  ASSERT_EQ(rig.warnings.size(), 1u);
  EXPECT_NE(rig.warnings[0].find("no phase is open"), std::string::npos);
}

TEST(Session, PhasesLeftOpenAreClosedAtExitAndFlagged) {
  Rig rig({counter("cpu_package", 0)}, {0});
  rig.session->feed("begin a\nbegin b\n", 101);
  rig.source->set({9});
  rig.session->finish(103);
  const auto r = rig.record();
  ASSERT_EQ(r.phases.size(), 3u);
  for (int i = 1; i <= 2; ++i) {
    EXPECT_TRUE(r.phases[i].closed_at_exit);
    EXPECT_DOUBLE_EQ(r.phases[i].end_s, 3);
    EXPECT_DOUBLE_EQ(r.phases[i].energy_j.at("cpu_package"), 9);
  }
  EXPECT_FALSE(r.phases[0].closed_at_exit);
  ASSERT_EQ(rig.warnings.size(), 1u);
  EXPECT_NE(rig.warnings[0].find("phases 'b', 'a' left open"), std::string::npos)
      << rig.warnings[0];
}

TEST(Session, MalformedLinesAreCountedAndReportedButNotFatal) {
  Rig rig({counter("cpu_package", 0)}, {0});
  std::string junk;
  for (int i = 0; i < 30; ++i) junk += "bogus line " + std::to_string(i) + "\n";
  rig.session->feed(junk + "begin ok\nmetric x notanumber\ninfo Bad key\n", 101);
  rig.session->feed(std::string(5000, 'z') + "\nend ok\ninfo threads 2\n", 102);
  rig.session->finish(103);
  const auto r = rig.record();
  EXPECT_EQ(rig.session->malformed_lines(), 33u);
  ASSERT_EQ(r.phases.size(), 2u);
  EXPECT_EQ(r.phases[1].name, "ok");
  EXPECT_FALSE(r.phases[1].closed_at_exit);
  EXPECT_EQ(r.info.at("threads"), "2");
  // 20 individual warnings and one total.
  ASSERT_EQ(rig.warnings.size(), kMaxLineWarnings + 1);
  EXPECT_NE(rig.warnings.front().find("marker line 1 ignored: unknown verb 'bogus'"),
            std::string::npos);
  EXPECT_NE(rig.warnings.back().find("33 malformed marker lines"), std::string::npos);
}

TEST(Session, UnterminatedLastLineIsStillRead) {
  Rig rig({counter("cpu_package", 0)}, {0});
  rig.session->feed("begin a\nend a", 101);
  rig.session->finish(102);
  const auto r = rig.record();
  ASSERT_EQ(r.phases.size(), 2u);
  EXPECT_FALSE(r.phases[1].closed_at_exit);
  EXPECT_TRUE(rig.warnings.empty());
}

// A source that stops being readable part-way: phases that end before its last good reading
// keep their values; every phase that spans the failure, and the run, get quality `failed` and
// no value for its domains and for total (never a frozen or zero value labelled measured).
TEST(Session, StepEnergyIsTheCounterDeltaSinceThePreviousStepOrTheBegin) {
  Rig rig({counter("cpu_package", 0), counter("dram", 0)}, {10, 5});
  rig.source->set({12, 6});
  rig.session->feed("begin train\n", 101.0);
  rig.source->set({15, 6});
  rig.meter->sample(101.5);  // a tick inside a step must not change its energy
  rig.session->tick(101.5);
  rig.source->set({20, 7});
  rig.session->feed("step 0\n", 102.0);
  rig.source->set({35, 9});
  rig.session->feed("step 1\n", 103.0);
  rig.source->set({40, 10});
  rig.session->feed("end train\n", 104.0);
  rig.session->finish(104.0);
  const RunRecord r = rig.record();
  ASSERT_EQ(r.steps.size(), 2u);
  const StepRecord& s0 = r.steps[0];
  EXPECT_EQ(s0.phase, "train");
  EXPECT_EQ(s0.index, 0);
  EXPECT_DOUBLE_EQ(s0.t_s, 2.0);
  EXPECT_DOUBLE_EQ(s0.duration_s, 1.0);  // from the begin
  EXPECT_DOUBLE_EQ(s0.energy_j.at("cpu_package"), 8);
  EXPECT_DOUBLE_EQ(s0.energy_j.at("cpu_package:0"), 8);
  EXPECT_DOUBLE_EQ(s0.energy_j.at("dram"), 1);
  EXPECT_DOUBLE_EQ(s0.energy_j.at("total"), 9);
  EXPECT_EQ(s0.quality.at("total"), "measured");
  EXPECT_EQ(s0.energy_resolution_j.count("total"), 1u);
  const StepRecord& s1 = r.steps[1];
  EXPECT_EQ(s1.index, 1);
  EXPECT_DOUBLE_EQ(s1.t_s, 3.0);
  EXPECT_DOUBLE_EQ(s1.duration_s, 1.0);
  EXPECT_DOUBLE_EQ(s1.energy_j.at("total"), 17);
  // The steps add up to the phase's energy less what came after the last step.
  EXPECT_DOUBLE_EQ(s0.energy_j.at("total") + s1.energy_j.at("total"),
                   phase(r, "train").energy_j.at("total") - (50 - 44));
  EXPECT_TRUE(rig.warnings.empty());
}

TEST(Session, StepsBelongToTheInnermostPhaseAndEachPhaseCountsItsOwn) {
  Rig rig({counter("cpu_package", 0)}, {0});
  rig.source->set({1});
  rig.session->feed("step 0\n", 101.0);  // no phase open: a step of "run" from the start
  rig.source->set({3});
  rig.session->feed("begin train\n", 102.0);
  rig.source->set({6});
  rig.session->feed("step 0\n", 103.0);
  rig.source->set({10});
  rig.session->feed("begin eval\n", 104.0);
  rig.source->set({15});
  rig.session->feed("step 0\n", 105.0);  // eval's first step: from eval's begin
  rig.source->set({21});
  rig.session->feed("end eval\n", 106.0);
  rig.source->set({28});
  rig.session->feed("step 1\n", 107.0);  // train's: since train's step 0, eval included
  rig.session->feed("end train\n", 108.0);
  rig.source->set({36});
  rig.session->feed("step 1\n", 109.0);  // run's: since run's step 0
  rig.session->finish(110.0);
  const RunRecord r = rig.record();
  ASSERT_EQ(r.steps.size(), 5u);
  const std::vector<std::string> phases = {"run", "train", "eval", "train", "run"};
  const std::vector<double> joules = {1, 3, 5, 22, 35};
  const std::vector<double> seconds = {1, 1, 1, 4, 8};
  for (std::size_t i = 0; i < r.steps.size(); ++i) {
    EXPECT_EQ(r.steps[i].phase, phases[i]) << i;
    EXPECT_DOUBLE_EQ(r.steps[i].energy_j.at("cpu_package"), joules[i]) << i;
    EXPECT_DOUBLE_EQ(r.steps[i].duration_s, seconds[i]) << i;
  }
}

TEST(Session, StepLinesReadTogetherShareOneReadingAndAreFlagged) {
  Rig rig({counter("cpu_package", 0)}, {0});
  rig.source->set({4});
  rig.session->feed("begin infer\nstep 0\n", 101.0);
  rig.source->set({9});
  rig.session->feed("step 1\nstep 2\n", 102.0);
  rig.session->feed("end infer\n", 102.0);
  rig.session->finish(102.0);
  const RunRecord r = rig.record();
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_DOUBLE_EQ(r.steps[0].duration_s, 0);
  EXPECT_DOUBLE_EQ(r.steps[0].energy_j.at("cpu_package"), 0);
  EXPECT_DOUBLE_EQ(r.steps[1].duration_s, 1);
  EXPECT_DOUBLE_EQ(r.steps[1].energy_j.at("cpu_package"), 5);
  EXPECT_DOUBLE_EQ(r.steps[2].energy_j.at("cpu_package"), 0);
  ASSERT_EQ(rig.warnings.size(), 1u);
  EXPECT_NE(rig.warnings[0].find("2 step lines arrived in the same read"), std::string::npos)
      << rig.warnings[0];
}

TEST(Session, APhaseWithVeryManyStepsKeepsBoundedRecordsThatAddUp) {
  Rig rig({counter("cpu_package", 0)}, {0});
  rig.session->feed("begin train\n", 100.5);
  const int64_t n = 2 * static_cast<int64_t>(kMaxStepRecords) + 1003;
  for (int64_t i = 0; i < n; ++i) {
    rig.source->set({i == 0 ? 10.0 : 10.0 + static_cast<double>(i)});  // 10 J, then 1 J a step
    rig.session->feed("step " + std::to_string(i) + "\n", 101.0 + 0.001 * static_cast<double>(i));
  }
  rig.session->feed("end train\n", 200);
  rig.session->finish(200);
  const RunRecord r = rig.record();
  ASSERT_LE(r.steps.size(), kMaxStepRecords + 1);
  ASSERT_GE(r.steps.size(), kMaxStepRecords / 2);
  EXPECT_EQ(r.steps.front().count, 1);
  EXPECT_EQ(r.steps.front().index, 0);
  EXPECT_DOUBLE_EQ(r.steps.front().energy_j.at("cpu_package"), 10);
  const int64_t stride = r.steps[1].count;
  EXPECT_EQ(stride, 4);  // merged twice: 10 001 records, then 10 001 again
  int64_t lines = 0;
  double joules = 0, seconds = 0;
  for (std::size_t i = 0; i < r.steps.size(); ++i) {
    const StepRecord& s = r.steps[i];
    lines += s.count;
    joules += s.energy_j.at("cpu_package");
    seconds += s.duration_s;
    if (i == 0) continue;
    EXPECT_EQ(s.index, r.steps[i - 1].index + s.count) << i;  // consecutive, none lost
    if (i + 1 < r.steps.size()) EXPECT_EQ(s.count, stride) << i;
    EXPECT_NEAR(s.energy_j.at("cpu_package"), static_cast<double>(s.count), 1e-6) << i;
  }
  EXPECT_LE(r.steps.back().count, stride);
  EXPECT_EQ(r.steps.back().index, n - 1);
  EXPECT_EQ(lines, n);
  EXPECT_NEAR(joules, 10 + static_cast<double>(n - 1), 1e-6);
  EXPECT_NEAR(seconds, 0.5 + 0.001 * static_cast<double>(n - 1), 1e-6);
  const auto sums = summarize_steps(r);
  ASSERT_EQ(sums.size(), 1u);
  EXPECT_EQ(sums[0].steps, static_cast<std::size_t>(n));
  EXPECT_DOUBLE_EQ(sums[0].first_j, 10);
  EXPECT_NEAR(sums[0].median_j, 1, 1e-9);  // per step, not per merged record
  // The merged records survive the JSON round trip with their count.
  const RunRecord back = run_record_from_json(to_json(r));
  ASSERT_EQ(back.steps.size(), r.steps.size());
  EXPECT_EQ(back.steps[1].count, stride);
}

TEST(Session, StepQualityFollowsItsSources) {
  std::vector<std::string> warnings;
  auto good = std::make_unique<FakeSource>(
      "estimate", std::vector{counter("cpu_package", 0, 0, Quality::kEstimated)});
  auto bad = std::make_unique<FakeSource>("bad", std::vector{counter("gpu", 0)});
  FakeSource* g = good.get();
  FakeSource* b = bad.get();
  b->fail_after(3);  // start() and two readings succeed
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::move(good));
  sources.push_back(std::move(bad));
  Meter meter(std::move(sources), &warnings);
  meter.start(0);
  Session session(&meter, &warnings);
  session.feed("begin train\n", 0.5);
  g->set({2});
  b->set({3});
  session.feed("step 0\n", 1);
  g->set({5});
  session.feed("step 1\n", 2);  // the GPU source fails here
  session.feed("end train\n", 3);
  session.finish(3);
  RunRecord r;
  session.fill(&r, false);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].quality.at("cpu_package"), "estimated");
  EXPECT_EQ(r.steps[0].quality.at("gpu"), "measured");
  EXPECT_EQ(r.steps[0].quality.at("total"), "estimated");
  EXPECT_DOUBLE_EQ(r.steps[0].energy_j.at("total"), 5);
  EXPECT_EQ(r.steps[1].quality.at("gpu"), "failed");
  EXPECT_EQ(r.steps[1].quality.at("total"), "failed");
  EXPECT_EQ(r.steps[1].energy_j.count("total"), 0u);
  EXPECT_DOUBLE_EQ(r.steps[1].energy_j.at("cpu_package"), 3);
}

TEST(Record, StepsRoundTripThroughJson) {
  Rig rig({counter("cpu_package", 0, 0, Quality::kEstimated), counter("gpu", 0)}, {0, 0});
  rig.source->set({1.5, 2.25});
  rig.session->feed("begin train\nstep 0\n", 101.0);
  rig.source->set({4, 5});
  rig.session->feed("step 9223372036854775807\n", 102.5);
  rig.session->finish(103.0);
  const RunRecord r = rig.record();
  const nlohmann::json j = to_json(r);
  ASSERT_EQ(j.at("steps").size(), 2u);
  EXPECT_EQ(j.at("steps")[1].at("index").get<int64_t>(), INT64_MAX);
  EXPECT_EQ(j.at("steps")[0].at("quality").at("total"), "estimated");
  const RunRecord back = run_record_from_json(j);
  ASSERT_EQ(back.steps.size(), r.steps.size());
  for (std::size_t i = 0; i < r.steps.size(); ++i) {
    EXPECT_EQ(back.steps[i].phase, r.steps[i].phase);
    EXPECT_EQ(back.steps[i].index, r.steps[i].index);
    EXPECT_DOUBLE_EQ(back.steps[i].t_s, r.steps[i].t_s);
    EXPECT_DOUBLE_EQ(back.steps[i].duration_s, r.steps[i].duration_s);
    EXPECT_EQ(back.steps[i].energy_j, r.steps[i].energy_j);
    EXPECT_EQ(back.steps[i].quality, r.steps[i].quality);
    EXPECT_EQ(back.steps[i].energy_resolution_j, r.steps[i].energy_resolution_j);
  }
  EXPECT_EQ(to_json(back), j);
  // A record written before step markers existed reads back without steps.
  nlohmann::json old = j;
  old.erase("steps");
  EXPECT_TRUE(run_record_from_json(old).steps.empty());
  // A step without its index, or with a negative one, is refused with the field named.
  nlohmann::json bad = j;
  bad["steps"][0].erase("index");
  EXPECT_THROW(
      {
        try {
          run_record_from_json(bad);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("steps[]: missing field 'index'"), std::string::npos)
              << e.what();
          throw;
        }
      },
      Error);
  bad = j;
  bad["steps"][0]["index"] = -3;
  EXPECT_THROW(run_record_from_json(bad), Error);
}

StepRecord step_of(const std::string& phase, double joules, const std::string& quality) {
  StepRecord s;
  s.phase = phase;
  s.energy_j = {{"total", joules}, {"cpu_package", joules}};
  s.quality = {{"total", quality}, {"cpu_package", quality}};
  return s;
}

TEST(Record, StepSummaryGivesFirstMedianAndDriftPerPhase) {
  RunRecord r;
  // train: a costly first step, then 19 steps rising from 1 J to 1.9 J; a tenth is 2 steps.
  r.steps.push_back(step_of("train", 10, "measured"));
  for (int i = 1; i < 20; ++i) r.steps.push_back(step_of("train", 1 + 0.05 * (i - 1), "measured"));
  // eval, interleaved: one estimated step among measured ones makes the summary estimated.
  r.steps.insert(r.steps.begin() + 3, step_of("eval", 2, "measured"));
  r.steps.push_back(step_of("eval", 4, "estimated"));
  r.steps.push_back(step_of("eval", 3, "measured"));
  const auto sums = summarize_steps(r);
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0].phase, "train");
  EXPECT_EQ(sums[0].key, "total");
  EXPECT_EQ(sums[0].quality, "measured");
  EXPECT_EQ(sums[0].steps, 20u);
  EXPECT_DOUBLE_EQ(sums[0].first_j, 10);
  // Sorted: 1, 1.05, ..., 1.9, 10: the median is the mean of the 10th and 11th (1.45 and 1.5).
  EXPECT_DOUBLE_EQ(sums[0].median_j, (1.45 + 1.5) / 2);
  // Last tenth {1.85, 1.9}, first tenth {10, 1}: medians 1.875 and 5.5.
  EXPECT_DOUBLE_EQ(sums[0].drift, 1.875 / 5.5);
  EXPECT_TRUE(std::isnan(sums[0].median_resolution_j)) << "no step gave a resolution";
  EXPECT_EQ(sums[1].phase, "eval");
  EXPECT_EQ(sums[1].quality, "estimated");
  EXPECT_EQ(sums[1].steps, 3u);
  EXPECT_DOUBLE_EQ(sums[1].first_j, 2);
  EXPECT_DOUBLE_EQ(sums[1].median_j, 3);
  EXPECT_DOUBLE_EQ(sums[1].drift, 3.0 / 2);
  // The median of the resolutions the steps give (one step gives none).
  r.steps.back().energy_resolution_j = {{"total", 0.5}};
  r.steps[3].energy_resolution_j = {{"total", 0.25}, {"cpu_package", 9}};
  EXPECT_DOUBLE_EQ(summarize_steps(r)[1].median_resolution_j, (0.25 + 0.5) / 2);
  // One step: no drift. No "total" (no source in the sum): the first key there is.
  RunRecord one;
  StepRecord s;
  s.phase = "infer";
  s.energy_j = {{"psys", 7}};
  s.quality = {{"psys", "measured"}};
  one.steps.push_back(s);
  const auto single = summarize_steps(one);
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].key, "psys");
  EXPECT_TRUE(std::isnan(single[0].drift));
}

TEST(Meter, SourceThatFailsMidRunIsFailedInEveryPhaseItTouches) {
  std::vector<std::string> warnings;
  auto good = std::make_unique<FakeSource>("good", std::vector{counter("cpu_package", 0)});
  auto bad = std::make_unique<FakeSource>("bad", std::vector{counter("gpu", 0)});
  FakeSource* g = good.get();
  FakeSource* b = bad.get();
  b->fail_after(3);  // start() and two readings succeed
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::move(good));
  sources.push_back(std::move(bad));
  Meter meter(std::move(sources), &warnings);
  meter.start(0);
  Session session(&meter, &warnings);
  g->set({10});
  b->set({4});
  session.feed("begin early\n", 1);  // reading 2
  g->set({15});
  b->set({6});
  session.feed("end early\nbegin middle\n", 2);  // reading 3, the last good one
  g->set({20});
  b->set({100});  // never seen: the read throws
  meter.sample(3);
  session.tick(3);
  session.feed("end middle\nbegin late\n", 4);
  g->set({30});
  session.feed("end late\n", 5);
  session.finish(6);
  RunRecord r;
  session.fill(&r, true);
  ASSERT_EQ(r.phases.size(), 4u);
  const auto& early = phase(r, "early");
  EXPECT_DOUBLE_EQ(early.energy_j.at("gpu"), 2);
  EXPECT_DOUBLE_EQ(early.energy_j.at("total"), 7);
  EXPECT_EQ(early.quality.at("total"), "measured");
  for (const char* name : {"run", "middle", "late"}) {
    const auto& p = phase(r, name);
    EXPECT_EQ(p.energy_j.count("gpu"), 0u) << name;
    EXPECT_EQ(p.energy_j.count("gpu:0"), 0u) << name;
    EXPECT_EQ(p.energy_j.count("total"), 0u) << name;
    EXPECT_EQ(p.quality.at("gpu"), "failed") << name;
    EXPECT_EQ(p.quality.at("gpu:0"), "failed") << name;
    EXPECT_EQ(p.quality.at("total"), "failed") << name;
    EXPECT_EQ(p.quality.at("cpu_package"), "measured") << name;
  }
  EXPECT_DOUBLE_EQ(phase(r, "run").energy_j.at("cpu_package"), 30);
  EXPECT_DOUBLE_EQ(phase(r, "late").energy_j.at("cpu_package"), 10);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("source 'bad' failed 3.000 s into the run (last good reading at "
                             "2.000 s); gpu:0 not measured"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("fake read failure"), std::string::npos) << warnings[0];
  // The trace shows no value for gpu and total after the failure, not 0 W.
  ASSERT_FALSE(r.trace.empty());
  const auto& keys = r.trace_domains;
  const auto& last = r.trace.back().power_w;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].rfind("cpu_package", 0) == 0) {
      EXPECT_FALSE(std::isnan(last[i]));
    } else {
      EXPECT_TRUE(std::isnan(last[i])) << keys[i];
    }
  }
}

TEST(Meter, SourceThatFailsAtStartIsAbsent) {
  std::vector<std::string> warnings;
  auto bad = std::make_unique<FakeSource>("bad", std::vector{counter("gpu", 0)});
  bad->fail_after(0);
  auto good = std::make_unique<FakeSource>("good", std::vector{counter("dram", 0)});
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::move(bad));
  sources.push_back(std::move(good));
  Meter meter(std::move(sources), &warnings);
  meter.start(0);
  meter.sample(1);
  const auto e = meter.aggregate(std::vector<double>(2, 0), meter.cumulative_j());
  EXPECT_EQ(e.energy_j.count("gpu"), 0u);
  EXPECT_EQ(e.energy_j.count("total"), 1u);
  ASSERT_EQ(meter.source_records().size(), 1u);
  EXPECT_EQ(meter.source_records()[0].name, "good");
  EXPECT_EQ(meter.keys(), (std::vector<std::string>{"total", "dram", "dram:0"}));
}

TEST(Meter, IntervalLimitComesFromTheFastestWrappingCounter) {
  std::vector<std::string> warnings;
  std::vector<std::unique_ptr<EnergySource>> sources;
  // 262144 J at 500 W wraps in 524 s; 10 J at 400 W in 25 ms: read every 12.5 ms at most.
  sources.push_back(std::make_unique<FakeSource>(
      "fake", std::vector{counter("cpu_package", 0, 262144, Quality::kMeasured, 500),
                          counter("dram", 0, 10, Quality::kMeasured, 400)}));
  Meter meter(std::move(sources), &warnings);
  EXPECT_DOUBLE_EQ(meter.max_interval_s(), 0.0125);
}

}  // namespace
}  // namespace greenbench::measure
