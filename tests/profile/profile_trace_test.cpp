// The trace of several runs with extra tracks (greenbench profile --trace): one process per run,
// its phases, power counters and span tracks; the single-run trace stays as it was.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "greenbench/trace.hpp"

namespace greenbench {
namespace {

using nlohmann::json;

RunRecord record(double watts) {
  RunRecord r;
  r.command = {"worker", "--profile", "p.json"};
  r.duration_s = 1;
  PhaseRecord run;
  run.name = "run";
  run.end_s = run.duration_s = 1;
  PhaseRecord train;
  train.name = "train";
  train.start_s = 0.5;
  train.end_s = 0.9;
  train.duration_s = 0.4;
  r.phases = {run, train};
  r.trace_domains = {"total"};
  r.trace = {{0.5, {watts}}, {1.0, {watts + 1}}};
  r.info = {{"framework", "x"}};
  return r;
}

TEST(ProfileTrace, OneProcessPerRunWithSpanTracks) {
  const RunRecord a = record(10), b = record(20);
  TraceRun ra{&a, "profiled a", "a: ", {}};
  TraceTrack ops{"ops a", {}};
  TraceSpan span;
  span.name = "aten::mm";
  span.category = "matmul";
  span.start_s = 0.5 + 0.001;
  span.duration_s = 0.002;
  span.numbers["step"] = 3;
  span.texts["pass"] = "backward";
  ops.spans.push_back(span);
  ra.tracks.push_back(ops);
  TraceRun rb{&b, "profiled b", "b: ", {}};
  std::ostringstream out;
  write_chrome_trace(std::vector<TraceRun>{ra, rb}, out);
  const json t = json::parse(out.str());
  const json& ev = t.at("traceEvents");
  int spans = 0, counters_a = 0, counters_b = 0;
  bool track_named = false;
  for (const auto& e : ev) {
    if (e["ph"] == "M" && e["name"] == "process_name") {
      EXPECT_EQ(e["args"]["name"], e["pid"] == 1 ? "profiled a" : "profiled b");
    }
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["args"]["name"] == "ops a") {
      track_named = true;
      EXPECT_EQ(e["pid"], 1);
      EXPECT_EQ(e["tid"], 2);
    }
    if (e["ph"] == "C") (e["pid"] == 1 ? counters_a : counters_b)++;
    if (e["ph"] == "X" && e["cat"] == "matmul") {
      ++spans;
      EXPECT_EQ(e["pid"], 1);
      EXPECT_EQ(e["tid"], 2);
      EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 501000);
      EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 2000);
      EXPECT_EQ(e["args"]["step"], 3);
      EXPECT_EQ(e["args"]["pass"], "backward");
    }
  }
  EXPECT_TRUE(track_named);
  EXPECT_EQ(spans, 1);
  EXPECT_EQ(counters_a, 3);
  EXPECT_EQ(counters_b, 3);
  EXPECT_EQ(t["otherData"]["a: info framework"], "x");
  EXPECT_EQ(t["otherData"]["b: command"], "worker --profile p.json");
}

TEST(ProfileTrace, SingleRunTraceUnchanged) {
  const RunRecord a = record(10);
  std::ostringstream one, many;
  write_chrome_trace(a, one);
  write_chrome_trace(
      std::vector<TraceRun>{{&a, "greenbench measure: worker --profile p.json", "", {}}}, many);
  EXPECT_EQ(one.str(), many.str());
  EXPECT_EQ(json::parse(one.str())["otherData"]["command"], "worker --profile p.json");
}

}  // namespace
}  // namespace greenbench
