// The Perfetto/Chrome trace of a run: exact events for a small hand-made record.
#include "greenbench/trace.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace greenbench {
namespace {

using nlohmann::json;

RunRecord small_record() {
  RunRecord r;
  r.command = {"train.py", "--epochs", "1"};
  r.duration_s = 0.25;
  PhaseRecord run;
  run.name = "run";
  run.end_s = run.duration_s = 0.25;
  run.energy_j = {{"total", 5.0}, {"cpu_package", 5.0}};
  run.quality = {{"total", "estimated"}, {"cpu_package", "estimated"}};
  PhaseRecord train;
  train.name = "train";
  train.start_s = 0.1;
  train.end_s = 0.2;
  train.duration_s = 0.1;
  train.energy_j = {{"total", 2.0}};
  train.quality = {{"total", "measured"}};
  train.closed_at_exit = true;
  r.phases = {run, train};
  r.metrics = {{"loss", 0.5, "", "train"}};
  r.info = {{"framework", "torch"}};
  r.trace_domains = {"total", "cpu_package"};
  r.trace = {{0.1, {10, 8}}, {0.2, {20, 18}}};
  return r;
}

json trace_of(const RunRecord& r) {
  std::ostringstream out;
  write_chrome_trace(r, out);
  return json::parse(out.str());
}

TEST(ChromeTrace, MetadataPhasesAndCounters) {
  const json t = trace_of(small_record());
  const json& ev = t.at("traceEvents");
  ASSERT_EQ(ev.size(), 2u + 2u + 3u * 2u);
  EXPECT_EQ(ev[0], json::parse(R"({"name":"process_name","ph":"M","pid":1,"tid":1,
                                    "args":{"name":"greenbench measure: train.py --epochs 1"}})"));
  EXPECT_EQ(ev[1]["name"], "thread_name");
  // Phases as complete events in microseconds, run first.
  EXPECT_EQ(ev[2]["name"], "run");
  EXPECT_EQ(ev[2]["ph"], "X");
  EXPECT_DOUBLE_EQ(ev[2]["ts"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(ev[2]["dur"].get<double>(), 250000);
  EXPECT_DOUBLE_EQ(ev[2]["args"]["energy_j total (estimated)"].get<double>(), 5);
  EXPECT_EQ(ev[3]["name"], "train");
  EXPECT_DOUBLE_EQ(ev[3]["ts"].get<double>(), 100000);
  EXPECT_DOUBLE_EQ(ev[3]["dur"].get<double>(), 100000);
  EXPECT_DOUBLE_EQ(ev[3]["args"]["energy_j total"].get<double>(), 2);
  EXPECT_EQ(ev[3]["args"]["closed_at_exit"], true);
  // Power: each average placed at the start of its interval, the last repeated at its end.
  const double expected[][3] = {{0, 10, 8}, {100000, 20, 18}, {200000, 20, 18}};
  for (int i = 0; i < 3; ++i) {
    const json& total = ev[4 + 2 * i];
    const json& pkg = ev[5 + 2 * i];
    EXPECT_EQ(total["ph"], "C");
    EXPECT_EQ(total["name"], "power total");
    EXPECT_EQ(pkg["name"], "power cpu_package");
    EXPECT_DOUBLE_EQ(total["ts"].get<double>(), expected[i][0]);
    EXPECT_DOUBLE_EQ(total["args"]["W"].get<double>(), expected[i][1]);
    EXPECT_DOUBLE_EQ(pkg["args"]["W"].get<double>(), expected[i][2]);
  }
  EXPECT_EQ(t["displayTimeUnit"], "ms");
  EXPECT_EQ(t["otherData"]["metric loss"], "0.5 (phase train)");
  EXPECT_EQ(t["otherData"]["info framework"], "torch");
}

TEST(ChromeTrace, WithoutTraceOnlyPhases) {
  RunRecord r = small_record();
  r.trace.clear();
  const json t = trace_of(r);
  for (const auto& e : t["traceEvents"]) EXPECT_NE(e["ph"], "C");
  EXPECT_EQ(t["traceEvents"].size(), 4u);
}

}  // namespace
}  // namespace greenbench
