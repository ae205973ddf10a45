// JSON form of a RunRecord (the `measure --json` contract).
#include "greenbench/record.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "greenbench/error.hpp"

namespace greenbench {

using nlohmann::json;

namespace {

// JSON has no NaN or infinity: such a value is written as a string, so it reads back as it was.
json number_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

}  // namespace

namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

std::vector<StepSummary> summarize_steps(const RunRecord& record) {
  // The phases in order of their first step, each with its steps.
  std::vector<std::pair<std::string, std::vector<const StepRecord*>>> groups;
  for (const auto& s : record.steps) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == s.phase; });
    if (it == groups.end()) {
      groups.push_back({s.phase, {}});
      it = groups.end() - 1;
    }
    it->second.push_back(&s);
  }
  std::vector<StepSummary> out;
  for (const auto& [phase, steps] : groups) {
    StepSummary sum;
    sum.phase = phase;
    for (const StepRecord* s : steps) {
      if (s->energy_j.count("total") != 0) sum.key = "total";
    }
    if (sum.key.empty()) {
      for (const StepRecord* s : steps) {
        if (!s->energy_j.empty()) {
          sum.key = s->energy_j.begin()->first;
          break;
        }
      }
    }
    std::vector<double> joules;
    std::vector<double> resolutions;
    bool estimated = false;
    for (const StepRecord* s : steps) {
      const auto e = s->energy_j.find(sum.key);
      if (e == s->energy_j.end()) continue;
      const double count = static_cast<double>(std::max<int64_t>(1, s->count));
      joules.push_back(e->second / count);
      sum.steps += static_cast<std::size_t>(count);
      const auto r = s->energy_resolution_j.find(sum.key);
      if (r != s->energy_resolution_j.end()) resolutions.push_back(r->second / count);
      const auto q = s->quality.find(sum.key);
      estimated = estimated || (q != s->quality.end() && q->second == "estimated");
    }
    sum.quality = estimated ? "estimated" : "measured";
    sum.drift = std::numeric_limits<double>::quiet_NaN();
    sum.median_resolution_j =
        resolutions.empty() ? std::numeric_limits<double>::quiet_NaN() : median_of(resolutions);
    if (!joules.empty()) {
      sum.first_j = joules.front();
      sum.median_j = median_of(joules);
      const std::size_t tenth = std::max<std::size_t>(1, joules.size() / 10);
      if (joules.size() >= 2) {
        const double first = median_of({joules.begin(), joules.begin() + long(tenth)});
        const double last = median_of({joules.end() - long(tenth), joules.end()});
        if (first != 0) sum.drift = last / first;
      }
    }
    out.push_back(std::move(sum));
  }
  return out;
}

void set_idle_power(RunRecord* record, const std::map<std::string, double>& idle_power_w) {
  record->idle_power_w = idle_power_w;
  for (auto& p : record->phases) {
    p.energy_above_idle_j.clear();
    for (const auto& [key, joules] : p.energy_j) {
      const auto it = idle_power_w.find(key);
      if (it != idle_power_w.end()) p.energy_above_idle_j[key] = joules - it->second * p.duration_s;
    }
  }
}

std::optional<std::string> invalid_reason(const RunRecord& record) {
  std::vector<std::string> reasons;
  // Energy: the domains (not per-device ids) that a failed source left without a value.
  std::set<std::string> failed_domains;
  for (const auto& p : record.phases) {
    for (const auto& [key, quality] : p.quality) {
      if (quality == "failed" && key.find(':') == std::string::npos) failed_domains.insert(key);
    }
  }
  if (!failed_domains.empty()) {
    std::string domains;
    for (const auto& d : failed_domains) domains += (domains.empty() ? "" : ", ") + d;
    std::string why = "energy not measured (" + domains + ")";
    // The meter's warning names the source, its domains and the time it failed.
    for (const auto& w : record.warnings) {
      if (w.rfind("source '", 0) == 0 && w.find(" into the run") != std::string::npos) {
        why += ": " + w;
        break;
      }
    }
    reasons.push_back(why);
  }
  for (const auto& m : record.metrics) {
    if (std::isfinite(m.value)) continue;
    reasons.push_back("metric '" + m.name + "' is " + number_json(m.value).get<std::string>() +
                      " (phase '" + m.phase + "')");
  }
  if (reasons.empty()) return std::nullopt;
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

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
    if (!p.energy_resolution_j.empty()) jp["energy_resolution_j"] = p.energy_resolution_j;
    if (p.closed_at_exit) jp["closed_at_exit"] = true;
    j["phases"].push_back(std::move(jp));
  }
  j["metrics"] = json::array();
  for (const auto& m : r.metrics) {
    j["metrics"].push_back(
        {{"name", m.name}, {"value", number_json(m.value)}, {"unit", m.unit}, {"phase", m.phase}});
  }
  j["steps"] = json::array();
  for (const auto& s : r.steps) {
    json js = {{"phase", s.phase},    {"index", s.index},           {"count", s.count},
               {"t_s", s.t_s},        {"duration_s", s.duration_s}, {"energy_j", s.energy_j},
               {"quality", s.quality}};
    if (!s.energy_resolution_j.empty()) js["energy_resolution_j"] = s.energy_resolution_j;
    j["steps"].push_back(std::move(js));
  }
  j["idle_power_w"] = r.idle_power_w;
  j["warnings"] = r.warnings;
  j["info"] = r.info;
  if (with_trace) {
    json jt = {{"domains", r.trace_domains}, {"samples", json::array()}};
    for (const auto& s : r.trace) {
      json power = json::array();
      for (const double w : s.power_w) power.push_back(std::isnan(w) ? json(nullptr) : json(w));
      jt["samples"].push_back({{"t_s", s.t_s}, {"power_w", std::move(power)}});
    }
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

// A number, or one of the strings number_json writes for NaN and infinity.
double number_field(const json& j, const char* name, const std::string& where) {
  auto it = j.find(name);
  if (it == j.end()) throw Error(where + ": missing field '" + name + "'");
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
  }
  throw Error(where + ": field '" + name + "' is not a number (nor \"nan\", \"inf\", \"-inf\")");
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
    p.energy_resolution_j =
        optional_field<std::map<std::string, double>>(jp, "energy_resolution_j", where, {});
    p.closed_at_exit = optional_field<bool>(jp, "closed_at_exit", where, false);
    r.phases.push_back(std::move(p));
  }
  for (const auto& jm : field<json>(j, "metrics", top)) {
    r.metrics.push_back({field<std::string>(jm, "name", "metrics[]"),
                         number_field(jm, "value", "metrics[]"),
                         optional_field<std::string>(jm, "unit", "metrics[]", ""),
                         optional_field<std::string>(jm, "phase", "metrics[]", "run")});
  }
  // Records written before step markers existed have no "steps".
  for (const auto& js : optional_field<json>(j, "steps", top, json::array())) {
    StepRecord s;
    const std::string where = "steps[]";
    s.phase = field<std::string>(js, "phase", where);
    s.index = field<int64_t>(js, "index", where);
    if (s.index < 0) {
      throw Error(where + ": field 'index' is negative (" + std::to_string(s.index) + ")");
    }
    s.count = optional_field<int64_t>(js, "count", where, 1);
    if (s.count < 1) {
      throw Error(where + ": field 'count' is less than 1 (" + std::to_string(s.count) + ")");
    }
    s.t_s = field<double>(js, "t_s", where);
    s.duration_s = field<double>(js, "duration_s", where);
    s.energy_j = field<std::map<std::string, double>>(js, "energy_j", where);
    s.quality = field<std::map<std::string, std::string>>(js, "quality", where);
    s.energy_resolution_j =
        optional_field<std::map<std::string, double>>(js, "energy_resolution_j", where, {});
    r.steps.push_back(std::move(s));
  }
  r.idle_power_w = optional_field<std::map<std::string, double>>(j, "idle_power_w", top, {});
  r.warnings = optional_field<std::vector<std::string>>(j, "warnings", top, {});
  r.info = optional_field<std::map<std::string, std::string>>(j, "info", top, {});
  if (j.contains("trace")) {
    const json& jt = j["trace"];
    r.trace_domains = field<std::vector<std::string>>(jt, "domains", "trace");
    for (const auto& js : field<json>(jt, "samples", "trace")) {
      PowerSample sample{field<double>(js, "t_s", "trace.samples[]"), {}};
      for (const auto& w : field<json>(js, "power_w", "trace.samples[]")) {
        if (!w.is_null() && !w.is_number()) {
          throw Error("trace.samples[]: field 'power_w' holds something not a number or null");
        }
        sample.power_w.push_back(w.is_null() ? std::numeric_limits<double>::quiet_NaN()
                                             : w.get<double>());
      }
      r.trace.push_back(std::move(sample));
    }
  }
  return r;
}

}  // namespace greenbench
