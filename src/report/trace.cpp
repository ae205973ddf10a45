// Chrome trace-event JSON (the format ui.perfetto.dev and chrome://tracing import) of one run.
#include "greenbench/trace.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace greenbench {

namespace {

using nlohmann::json;

constexpr int kPhaseTid = 1;

double to_us(double seconds) { return seconds * 1e6; }

json counter_event(const std::string& domain, double t_s, double watts, int pid) {
  return {
      {"name", "power " + domain}, {"ph", "C"}, {"ts", to_us(t_s)}, {"pid", pid}, {"cat", "power"},
      {"args", {{"W", watts}}}};
}

// Appends the events of one run as process `pid`, and its otherData entries.
void append_run(const TraceRun& run, int pid, json& events, json& other) {
  const RunRecord& record = *run.record;
  std::string command;
  for (const auto& a : record.command) command += (command.empty() ? "" : " ") + a;
  events.push_back({{"name", "process_name"},
                    {"ph", "M"},
                    {"pid", pid},
                    {"tid", kPhaseTid},
                    {"args", {{"name", run.process_name}}}});
  events.push_back({{"name", "thread_name"},
                    {"ph", "M"},
                    {"pid", pid},
                    {"tid", kPhaseTid},
                    {"args", {{"name", "phases"}}}});

  // Phases: "run" first, then marker phases in order of beginning, which is the order a viewer
  // needs to nest complete events that start at the same instant.
  for (const auto& p : record.phases) {
    json args = json::object();
    args["duration_s"] = p.duration_s;
    for (const auto& [domain, joules] : p.energy_j) {
      auto q = p.quality.find(domain);
      const bool estimated = q != p.quality.end() && q->second == "estimated";
      args["energy_j " + domain + (estimated ? " (estimated)" : "")] = joules;
    }
    for (const auto& [domain, quality] : p.quality) {
      if (quality == "failed") args["energy_j " + domain] = "failed: its source stopped";
    }
    for (const auto& [domain, joules] : p.energy_above_idle_j) {
      args["energy_above_idle_j " + domain] = joules;
    }
    if (p.closed_at_exit) args["closed_at_exit"] = true;
    events.push_back({{"name", p.name},
                      {"cat", "phase"},
                      {"ph", "X"},
                      {"ts", to_us(p.start_s)},
                      {"dur", to_us(p.duration_s)},
                      {"pid", pid},
                      {"tid", kPhaseTid},
                      {"args", std::move(args)}});
  }

  // A power sample is the average over the interval that ends at its t_s; a counter value holds
  // from its timestamp to the next one, so each value is placed at the start of its interval,
  // and the last one is repeated at the end so that its interval has a width.
  // A domain without a value (its source failed) gets no counter events from then on.
  double interval_start = 0;
  for (const auto& sample : record.trace) {
    for (std::size_t d = 0; d < record.trace_domains.size() && d < sample.power_w.size(); ++d) {
      if (std::isnan(sample.power_w[d])) continue;
      events.push_back(
          counter_event(record.trace_domains[d], interval_start, sample.power_w[d], pid));
    }
    interval_start = sample.t_s;
  }
  if (!record.trace.empty()) {
    const auto& last = record.trace.back();
    for (std::size_t d = 0; d < record.trace_domains.size() && d < last.power_w.size(); ++d) {
      if (std::isnan(last.power_w[d])) continue;
      events.push_back(counter_event(record.trace_domains[d], last.t_s, last.power_w[d], pid));
    }
  }

  int tid = kPhaseTid;
  for (const auto& track : run.tracks) {
    ++tid;
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"tid", tid},
                      {"args", {{"name", track.name}}}});
    for (const auto& span : track.spans) {
      json args = json::object();
      for (const auto& [key, value] : span.numbers) args[key] = value;
      for (const auto& [key, value] : span.texts) args[key] = value;
      events.push_back({{"name", span.name},
                        {"cat", span.category},
                        {"ph", "X"},
                        {"ts", to_us(span.start_s)},
                        {"dur", to_us(span.duration_s)},
                        {"pid", pid},
                        {"tid", tid},
                        {"args", std::move(args)}});
    }
  }

  // Viewers show otherData as a table of strings: metrics and info go there, flattened.
  const std::string& pre = run.other_prefix;
  other[pre + "command"] = command;
  other[pre + "exit_code"] = std::to_string(record.exit_code);
  other[pre + "duration_s"] = std::to_string(record.duration_s);
  for (const auto& m : record.metrics) {
    char value[64];
    std::snprintf(value, sizeof value, "%.10g", m.value);
    other[pre + "metric " + m.name] =
        std::string(value) + (m.unit.empty() ? "" : " " + m.unit) + " (phase " + m.phase + ")";
  }
  for (const auto& [key, text] : record.info) other[pre + "info " + key] = text;
  for (std::size_t i = 0; i < record.warnings.size(); ++i) {
    other[pre + "warning " + std::to_string(i + 1)] = record.warnings[i];
  }
}

}  // namespace

void write_chrome_trace(const std::vector<TraceRun>& runs, std::ostream& out) {
  json events = json::array();
  json other = json::object();
  int pid = 0;
  for (const auto& run : runs) {
    if (run.record != nullptr) append_run(run, ++pid, events, other);
  }
  json doc = {{"traceEvents", std::move(events)},
              {"displayTimeUnit", "ms"},
              {"otherData", std::move(other)}};
  // Replace, not throw on, bytes that are not UTF-8 (a command's argv may hold any bytes).
  out << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

void write_chrome_trace(const RunRecord& record, std::ostream& out) {
  std::string command;
  for (const auto& a : record.command) command += (command.empty() ? "" : " ") + a;
  TraceRun run;
  run.record = &record;
  run.process_name = "greenbench measure: " + command;
  write_chrome_trace(std::vector<TraceRun>{run}, out);
}

}  // namespace greenbench
