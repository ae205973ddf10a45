// JSON form of a RunRecord (the `measure --json` contract).
#include "greenbench/record.hpp"

#include <nlohmann/json.hpp>

#include "greenbench/error.hpp"

namespace greenbench {

using nlohmann::json;

json to_json(const RunRecord& r, bool with_trace) {
  json j;
  j["command"] = r.command;
  j["exit_code"] = r.exit_code;
  if (r.term_signal != 0) j["signal"] = r.term_signal;
  if (r.timed_out) j["timed_out"] = true;
  j["duration_s"] = r.duration_s;
  j["sources"] = json::array();
  for (const auto& s : r.sources) {
    json js = {{"name", s.name}, {"quality", s.quality}, {"domains", s.domains}};
    if (!s.parameters.empty()) js["parameters"] = s.parameters;
    j["sources"].push_back(std::move(js));
  }
  j["phases"] = json::array();
  for (const auto& p : r.phases) {
    json jp = {{"name", p.name},         {"start_s", p.start_s},
               {"end_s", p.end_s},       {"duration_s", p.duration_s},
               {"energy_j", p.energy_j}, {"quality", p.quality}};
    if (!p.energy_above_idle_j.empty()) jp["energy_above_idle_j"] = p.energy_above_idle_j;
    if (p.closed_at_exit) jp["closed_at_exit"] = true;
    j["phases"].push_back(std::move(jp));
  }
  j["metrics"] = json::array();
  for (const auto& m : r.metrics) {
    j["metrics"].push_back(
        {{"name", m.name}, {"value", m.value}, {"unit", m.unit}, {"phase", m.phase}});
  }
  j["idle_power_w"] = r.idle_power_w;
  j["warnings"] = r.warnings;
  j["info"] = r.info;
  if (with_trace) {
    json jt = {{"domains", r.trace_domains}, {"samples", json::array()}};
    for (const auto& s : r.trace) jt["samples"].push_back({{"t_s", s.t_s}, {"power_w", s.power_w}});
    j["trace"] = std::move(jt);
  }
  return j;
}

namespace {

template <typename T>
T field(const json& j, const char* name, const std::string& where) {
  auto it = j.find(name);
  if (it == j.end()) throw Error(where + ": missing field '" + name + "'");
  try {
    return it->get<T>();
  } catch (const json::exception& e) {
    throw Error(where + ": field '" + name + "' has the wrong type (" + e.what() + ")");
  }
}

template <typename T>
T optional_field(const json& j, const char* name, const std::string& where, T fallback) {
  return j.contains(name) ? field<T>(j, name, where) : fallback;
}

}  // namespace

RunRecord run_record_from_json(const json& j) {
  if (!j.is_object()) throw Error("run record: expected a JSON object");
  RunRecord r;
  const std::string top = "run record";
  r.command = field<std::vector<std::string>>(j, "command", top);
  r.exit_code = field<int>(j, "exit_code", top);
  r.term_signal = optional_field<int>(j, "signal", top, 0);
  r.timed_out = optional_field<bool>(j, "timed_out", top, false);
  r.duration_s = field<double>(j, "duration_s", top);
  for (const auto& js : field<json>(j, "sources", top)) {
    r.sources.push_back({field<std::string>(js, "name", "sources[]"),
                         field<std::string>(js, "quality", "sources[]"),
                         field<std::vector<std::string>>(js, "domains", "sources[]"),
                         optional_field<std::string>(js, "parameters", "sources[]", "")});
  }
  for (const auto& jp : field<json>(j, "phases", top)) {
    PhaseRecord p;
    const std::string where = "phases[]";
    p.name = field<std::string>(jp, "name", where);
    p.start_s = field<double>(jp, "start_s", where);
    p.end_s = field<double>(jp, "end_s", where);
    p.duration_s = field<double>(jp, "duration_s", where);
    p.energy_j = field<std::map<std::string, double>>(jp, "energy_j", where);
    p.quality = field<std::map<std::string, std::string>>(jp, "quality", where);
    p.energy_above_idle_j =
        optional_field<std::map<std::string, double>>(jp, "energy_above_idle_j", where, {});
    p.closed_at_exit = optional_field<bool>(jp, "closed_at_exit", where, false);
    r.phases.push_back(std::move(p));
  }
  for (const auto& jm : field<json>(j, "metrics", top)) {
    r.metrics.push_back({field<std::string>(jm, "name", "metrics[]"),
                         field<double>(jm, "value", "metrics[]"),
                         optional_field<std::string>(jm, "unit", "metrics[]", ""),
                         optional_field<std::string>(jm, "phase", "metrics[]", "run")});
  }
  r.idle_power_w = optional_field<std::map<std::string, double>>(j, "idle_power_w", top, {});
  r.warnings = optional_field<std::vector<std::string>>(j, "warnings", top, {});
  r.info = optional_field<std::map<std::string, std::string>>(j, "info", top, {});
  if (j.contains("trace")) {
    const json& jt = j["trace"];
    r.trace_domains = field<std::vector<std::string>>(jt, "domains", "trace");
    for (const auto& js : field<json>(jt, "samples", "trace")) {
      r.trace.push_back({field<double>(js, "t_s", "trace.samples[]"),
                         field<std::vector<double>>(js, "power_w", "trace.samples[]")});
    }
  }
  return r;
}

}  // namespace greenbench
