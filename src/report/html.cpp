// The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched), so
// it can be mailed, archived with the results and opened offline years later.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <tuple>

#include "core/json_dump.hpp"
#include "greenbench/report.hpp"
#include "report/carbon_report.hpp"
#include "report/format.hpp"
#include "report/nodes.hpp"
#include "report/profile_report.hpp"
#include "report/quality.hpp"
#include "report/svg.hpp"

namespace greenbench {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

namespace {

constexpr const char* kEstimatedBadge =
    "<span class=\"est\" title=\"estimated, not measured\">est.</span>";

constexpr const char* kStyle = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2327;
  margin: 0 auto; max-width: 1320px; padding: 0 24px 48px; background: #fff; }
h1 { font-size: 26px; margin: 24px 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #d7dde3; }
h3 { font-size: 16px; margin: 22px 0 8px; }
p.meta { color: #555; margin: 0 0 12px; }
nav { margin: 10px 0 0; font-size: 13px; }
nav a { margin-right: 14px; color: #0060a0; text-decoration: none; }
.banner { background: #fff4d6; border-left: 6px solid #d89b00; padding: 10px 14px; margin: 16px 0;
  font-weight: 600; }
.legend { background: #f5f7f9; border: 1px solid #dde3e8; padding: 8px 12px; margin: 12px 0;
  font-size: 13px; }
.est { display: inline-block; background: #fff4d6; color: #7a5300; border: 1px solid #d89b00;
  border-radius: 3px; font-size: 10px; font-weight: 700; padding: 0 3px; margin-left: 2px;
  vertical-align: 1px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 13px; }
th, td { padding: 3px 9px; border-bottom: 1px solid #e3e7eb; text-align: left; vertical-align: top; }
th { background: #f0f3f6; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { background: none; color: #444; font-weight: 600; }
table.kv table.kv { margin: 0; }
ul.summary li { margin: 3px 0; }
.warning { background: #fdecea; border-left: 6px solid #c62828; padding: 8px 14px; margin: 12px 0; }
.warning ul { margin: 4px 0; padding-left: 20px; }
p.counts { margin: 4px 0 8px; }
table.verdicts td, table.verdicts th { padding: 4px 10px; }
table.verdicts th.group { text-align: center; border-bottom: 2px solid #c9d1d9; }
td.cheaper { font-weight: 700; }
td.none { color: #666; }
td.evidence { color: #444; font-size: 12px; }
details { margin: 8px 0 14px; }
details > summary { cursor: pointer; color: #0060a0; font-size: 13px; margin: 4px 0; }
.shared { columns: 3 260px; font-size: 13px; margin: 6px 0 12px; }
.shared div { break-inside: avoid; padding: 1px 0; }
.shared b { font-weight: 600; color: #444; }
.figures { display: flex; flex-wrap: wrap; gap: 0 12px; }
.fig-stats { font-size: 11px; color: #555; margin: 0 0 0 4px; font-variant-numeric: tabular-nums; }
figure { margin: 0 0 12px; border: 1px solid #e3e7eb; border-radius: 4px; padding: 6px 6px 2px; }
figcaption { font-size: 13px; font-weight: 600; margin: 0 0 2px 4px; }
svg { display: block; font-family: system-ui, sans-serif; max-width: 100%; height: auto; }
svg .grid { stroke: #e5e9ed; stroke-width: 1; }
svg .frame { stroke: #9aa4ad; stroke-width: 1; }
svg .tick { fill: #555; }
svg .axis { fill: #333; }
svg .label { fill: #222; }
svg .phase-label { fill: #555; }
svg .box line, svg .box rect { stroke-width: 1.4; }
svg .median { stroke-width: 2.6 !important; }
svg .point { fill-opacity: 0.75; }
.failed li { font-family: ui-monospace, monospace; font-size: 13px; }
)";

// Tables: text is escaped; in numeric columns a trailing "*" (estimated) becomes a badge.
std::string html_table(const report::Table& t, const std::string& css_class = "") {
  std::string out = "<div class=\"scroll\"><table" +
                    (css_class.empty() ? std::string() : " class=\"" + css_class + "\"") +
                    "><thead><tr>";
  for (std::size_t i = 0; i < t.header.size(); ++i) {
    const bool right = i < t.right.size() && t.right[i];
    out += std::string(right ? "<th class=\"num\">" : "<th>") + html_escape(t.header[i]) + "</th>";
  }
  out += "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const bool right = i < t.right.size() && t.right[i];
      std::string cell = html_escape(row[i]);
      if (right) {
        std::string marked;
        for (char ch : cell) {
          if (ch == '*') {
            marked += kEstimatedBadge;
          } else {
            marked += ch;
          }
        }
        cell = marked;
      }
      out += std::string(right ? "<td class=\"num\">" : "<td>") + cell + "</td>";
    }
    out += "</tr>";
  }
  out += "</tbody></table></div>\n";
  return out;
}

// Settings and environment as nested key/value tables.
std::string json_html(const nlohmann::json& j) {
  if (j.is_object()) {
    if (j.empty()) return "<em>none</em>";
    std::string out = "<table class=\"kv\">";
    for (const auto& [key, value] : j.items()) {
      out += "<tr><th>" + html_escape(key) + "</th><td>" + json_html(value) + "</td></tr>";
    }
    return out + "</table>";
  }
  if (j.is_array()) {
    const bool scalars = std::all_of(j.begin(), j.end(), [](const nlohmann::json& e) {
      return !e.is_object() && !e.is_array();
    });
    std::string out;
    for (const auto& e : j) {
      if (!out.empty()) out += scalars ? ", " : "";
      out += json_html(e);
    }
    return out.empty() ? "<em>none</em>" : out;
  }
  if (j.is_string()) return html_escape(j.get<std::string>());
  return html_escape(dump_json(j));
}

std::string framework_color(const ComparisonSet& set, const std::string& framework) {
  const auto it = std::find(set.frameworks.begin(), set.frameworks.end(), framework);
  return report::palette(static_cast<std::size_t>(it - set.frameworks.begin()));
}

std::string anchor(const std::string& prefix, const std::string& a, const std::string& b = "") {
  std::string out = prefix;
  for (char ch : a + (b.empty() ? "" : "-" + b)) {
    out += std::isalnum(static_cast<unsigned char>(ch)) != 0 ? ch : '-';
  }
  return out;
}

// The energy domains of a trace whose values for that run are estimated.
std::set<std::string> estimated_domains(const ResultSet& results, const RunTrace& trace) {
  std::set<std::string> out;
  for (const auto& o : results.observations) {
    const bool same_run = trace.run_id != 0
                              ? o.run_id == trace.run_id
                              : o.model == trace.model && o.framework == trace.framework &&
                                    o.phase == trace.phase && o.run == trace.run;
    if (same_run && o.quality == "estimated" && o.metric.rfind("energy_", 0) == 0) {
      out.insert(o.metric.substr(7));
    }
  }
  return out;
}

// A metric as a chart's axis title: what it is, its unit, and "est." where estimated.
std::string axis_title(const std::string& metric, const std::string& unit, bool estimated) {
  static const std::map<std::string, std::string> kNames = {
      {"energy_cpu_package", "CPU package energy"},
      {"energy_dram", "DRAM energy"},
      {"energy_gpu", "GPU energy"},
      {"energy_total", "total energy"},
      {"duration", "run time"},
  };
  std::string name = metric;
  if (auto it = kNames.find(metric); it != kNames.end()) {
    name = it->second;
  } else if (metric.rfind("energy_", 0) == 0) {
    name = metric.substr(7) + " energy";
  }
  std::string parts = unit;
  if (estimated) parts += parts.empty() ? "est." : ", est.";
  return parts.empty() ? name : name + " (" + parts + ")";
}

// The ratio of a comparison oriented so that it is at least 1: "pytorch uses 1.21× [1.17,
// 1.25]" (the same numbers as the verdict sentences of `compare`).
std::string ratio_phrase(const MetricComparison& c) {
  const auto& s = c.stats;
  double ratio = s.hl_ratio, low = s.hl_ci_low, high = s.hl_ci_high;
  if (std::isnan(ratio)) {
    ratio = s.ratio_median;
    low = s.ratio_ci_low;
    high = s.ratio_ci_high;
  }
  if (std::isnan(ratio)) return "n/a";
  const bool a_first = !(ratio < 1);
  if (!a_first) {
    ratio = 1 / ratio;
    std::swap(low, high);
    low = 1 / low;
    high = 1 / high;
  }
  const std::string verb = c.role == "duration" || c.metric == "duration" ? " takes " : " uses ";
  std::string out = (a_first ? c.a : c.b) + verb + report::format_fixed(ratio, 2) + "×";
  if (!std::isnan(low) && !std::isnan(high) && low != high) {
    out += " [" + report::format_fixed(low, 2) + ", " + report::format_fixed(high, 2) + "]";
  }
  return out;
}

// Verdict of a comparison in a few words, and whether it names a winner.
std::pair<std::string, bool> verdict_words(const MetricComparison& c) {
  if (c.verdict == "a_cheaper") return {c.a + " cheaper", true};
  if (c.verdict == "b_cheaper") return {c.b + " cheaper", true};
  if (c.verdict == "not_significant") return {"no clear difference", false};
  if (c.verdict == "identical") return {"identical", false};
  if (c.verdict == "within_resolution") return {"within resolution", false};
  if (c.verdict == "not_comparable") return {"not comparable (measured vs estimated)", false};
  if (c.verdict == "estimated_only") return {"no verdict: estimated on both sides", false};
  return {c.verdict, false};
}

// "Is it real": the adjusted p-value and the effect size behind the verdict.
std::string evidence(const MetricComparison& c, double alpha) {
  const auto& s = c.stats;
  std::string out = "p_holm " + report::format_p(s.p_holm) + " (" +
                    (s.p_holm < alpha ? "&lt; " : "&ge; ") + report::format_p(alpha) + ") · Â12 " +
                    report::format_fixed(s.a12, 2) + " " + html_escape(s.magnitude) + " · n " +
                    std::to_string(s.n_a) + "/" + std::to_string(s.n_b);
  return out;
}

// One column of the verdict table: the header within its group, and the cell (HTML) of a
// model's comparison; a new cost (carbon, money) is one more group or column.
struct VerdictColumn {
  std::string header;
  std::string css_class;  // of the cells
  std::function<std::string(const MetricComparison&)> cell;
};
struct VerdictGroup {
  std::string role;   // MetricComparison::role whose comparison fills the group
  std::string title;  // over the group's columns
  std::vector<VerdictColumn> columns;
};

std::vector<VerdictGroup> verdict_groups(const ComparisonSet& set) {
  const double alpha = set.alpha;
  auto verdict_cell = [&set](const MetricComparison& c) {
    const auto [words, winner] = verdict_words(c);
    std::string out = html_escape(words);
    if (winner) {
      const std::string& fw = c.verdict == "a_cheaper" ? c.a : c.b;
      out = "<span style=\"color:" + framework_color(set, fw) + "\">" + out + "</span>";
    }
    return out;
  };
  auto ratio_cell = [](const MetricComparison& c) {
    return html_escape(ratio_phrase(c)) +
           (c.estimated_a || c.estimated_b ? std::string(kEstimatedBadge) : std::string());
  };
  auto evidence_cell = [alpha](const MetricComparison& c) { return evidence(c, alpha); };
  auto metric_cell = [](const MetricComparison& c) {
    return html_escape(axis_title(c.metric, "", false)) +
           (c.estimated_a || c.estimated_b ? std::string(kEstimatedBadge) : std::string());
  };
  return {
      {"energy",
       "Energy",
       {{"measured as", "", metric_cell},
        {"verdict", "verdict", verdict_cell},
        {"by how much", "num", ratio_cell},
        {"is it real", "evidence", evidence_cell}}},
      {"duration",
       "Run time",
       {{"verdict", "verdict", verdict_cell},
        {"by how much", "num", ratio_cell},
        {"is it real", "evidence", evidence_cell}}},
  };
}

// Per model, which framework is cheaper, by how much and how sure: one table per phase × pair.
std::string verdict_table(const report::PhaseBlock& block, const ComparisonSet& set) {
  const auto groups = verdict_groups(set);
  std::string out = "<div class=\"scroll\"><table class=\"verdicts\"><thead><tr><th></th>";
  for (const auto& g : groups) {
    out += "<th class=\"group\" colspan=\"" + std::to_string(g.columns.size()) + "\">" +
           html_escape(g.title) + "</th>";
  }
  out += "</tr><tr><th>model</th>";
  for (const auto& g : groups) {
    for (const auto& col : g.columns) out += "<th>" + html_escape(col.header) + "</th>";
  }
  out += "</tr></thead><tbody>";
  for (const auto& model : block.models) {
    out += "<tr><td>" + html_escape(model) + "</td>";
    for (const auto& g : groups) {
      const MetricComparison* c = nullptr;
      for (const auto* x : block.comparisons) {
        if (x->model == model && x->role == g.role) c = x;
      }
      for (const auto& col : g.columns) {
        if (c == nullptr) {
          out += "<td class=\"none\">-</td>";
          continue;
        }
        std::string cls = col.css_class;
        if (cls == "verdict") cls = verdict_words(*c).second ? "cheaper" : "none";
        out += (cls.empty() ? std::string("<td>") : "<td class=\"" + cls + "\">") + col.cell(*c) +
               "</td>";
      }
    }
    out += "</tr>";
  }
  return out + "</tbody></table></div>\n";
}

// "Energy: tensorflow cheaper for 1 of 3 models, pytorch for 0, 2 no clear difference."
std::string count_sentence(const VerdictCount& v) {
  const int total = v.a_cheaper + v.b_cheaper + v.not_significant + v.not_comparable;
  std::string out = std::string(v.metric == "energy" ? "Energy" : "Run time") + ": " + v.a +
                    " cheaper for " + std::to_string(v.a_cheaper) + " of " + std::to_string(total) +
                    (total == 1 ? " model" : " models") + ", " + v.b + " for " +
                    std::to_string(v.b_cheaper) + "; " + std::to_string(v.not_significant) +
                    " no clear difference";
  if (v.not_comparable > 0) {
    out += "; " + std::to_string(v.not_comparable) + " without a verdict (estimated energy)";
  }
  return out + ".";
}

// A configuration of the study: model × phase × framework.
struct ConfigKey {
  std::string phase, model, framework;
  bool operator<(const ConfigKey& o) const {
    return std::make_tuple(report::phase_sort_key(phase), model, framework) <
           std::make_tuple(report::phase_sort_key(o.phase), o.model, o.framework);
  }
};

std::string setting_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : " ") + setting_text(e);
    return out;
  }
  return dump_json(v);
}

// The study's settings: those shared by every configuration once, then one row per
// configuration with the settings that differ between them (and its runs).
void write_configurations(const ResultSet& results, std::ostream& out) {
  std::map<ConfigKey, std::map<std::string, std::string>> configs;
  // From the study file: argv and cwd of command configurations.
  if (results.settings.contains("configurations") &&
      results.settings["configurations"].is_array()) {
    for (const auto& c : results.settings["configurations"]) {
      if (!c.is_object()) continue;
      ConfigKey key{c.value("phase", ""), c.value("model", ""), c.value("framework", "")};
      auto& row = configs[key];
      for (const auto& [k, v] : c.items()) {
        if (k != "phase" && k != "model" && k != "framework") row[k] = setting_text(v);
      }
    }
  }
  // What the workers said about themselves (framework version and options, data, threads).
  for (const auto& ci : results.config_info) {
    auto& row = configs[{ci.phase, ci.model, ci.framework}];
    for (const auto& [k, v] : ci.info) {
      if (k == "framework" || k == "model") continue;  // the row's own key, or the model's name
      std::string name = k.rfind("framework_option.", 0) == 0 ? k.substr(17) : k;
      row[name] = v;
    }
  }
  std::map<ConfigKey, std::pair<int, int>> runs;  // measured runs that succeeded, failed
  std::set<std::tuple<std::string, std::string, std::string, long long>> seen;
  for (const auto& o : results.observations) {
    if (o.warmup) continue;
    const ConfigKey key{o.phase, o.model, o.framework};
    configs[key];
    if (seen.insert({o.phase, o.model, o.framework, o.run_id != 0 ? o.run_id : -o.run}).second) {
      ++runs[key].first;
    }
  }
  for (const auto& f : results.failures) {  // "model/framework/phase #run: reason"
    for (const auto& [key, row] : configs) {
      if (f.rfind(key.model + "/" + key.framework + "/" + key.phase + " #", 0) == 0) {
        ++runs[key].second;
      }
    }
  }
  // Framework versions from the environment where the workers did not report one.
  if (results.environment.contains("framework_versions") &&
      results.environment["framework_versions"].is_object()) {
    const auto& versions = results.environment["framework_versions"];
    for (auto& [key, row] : configs) {
      if (!row.contains("framework_version") && versions.contains(key.framework)) {
        row["framework_version"] = setting_text(versions[key.framework]);
      }
    }
  }
  // Columns: the settings whose value is not the same in every configuration.
  std::set<std::string> keys;
  for (const auto& [key, row] : configs) {
    for (const auto& [k, v] : row) keys.insert(k);
  }
  std::vector<std::string> differ;
  std::map<std::string, std::string> shared_info;
  for (const auto& k : keys) {
    std::set<std::string> values;
    bool everywhere = true;
    for (const auto& [key, row] : configs) {
      auto it = row.find(k);
      everywhere = everywhere && it != row.end();
      values.insert(it == row.end() ? "" : it->second);
    }
    if (everywhere && values.size() == 1) {
      shared_info[k] = *values.begin();
    } else {
      differ.push_back(k);
    }
  }

  out << "<section id=\"settings\"><h2>Configurations and settings</h2>\n";
  out << "<p>Shared by every configuration:</p><div class=\"shared\">";
  if (results.settings.is_object()) {
    for (const auto& [k, v] : results.settings.items()) {
      if (k == "configurations" || k == "frameworks" || k == "models" || k == "phases") continue;
      out << "<div><b>" << html_escape(k) << "</b> " << html_escape(setting_text(v)) << "</div>";
    }
  }
  for (const auto& [k, v] : shared_info) {
    // A worker's report of a study setting (threads, numerics) that agrees is said once.
    if (results.settings.is_object() && results.settings.contains(k) &&
        setting_text(results.settings[k]) == v) {
      continue;
    }
    out << "<div><b>" << html_escape(k) << "</b> " << html_escape(v) << "</div>";
  }
  out << "</div>\n";
  out << "<p>" << configs.size() << " configurations; the columns after <em>runs</em> are the "
      << "settings that differ between them (- = not reported).</p>\n";
  out << "<div class=\"scroll\"><table class=\"configs\"><thead><tr><th>phase</th><th>model</th>"
         "<th>framework</th><th class=\"num\">runs ok</th><th class=\"num\">failed</th>";
  for (const auto& k : differ) out << "<th>" << html_escape(k) << "</th>";
  out << "</tr></thead><tbody>";
  for (const auto& [key, row] : configs) {
    out << "<tr><td>" << html_escape(key.phase) << "</td><td>" << html_escape(key.model)
        << "</td><td>" << html_escape(key.framework) << "</td><td class=\"num\">" << runs[key].first
        << "</td><td class=\"num\">" << runs[key].second << "</td>";
    for (const auto& k : differ) {
      auto it = row.find(k);
      out << "<td>" << (it == row.end() ? "-" : html_escape(it->second)) << "</td>";
    }
    out << "</tr>";
  }
  out << "</tbody></table></div>\n</section>\n";
}

// The sources that gave estimated values, with their model ("10 W per busy core x ...").
std::vector<std::string> estimate_models(const ResultSet& results) {
  std::vector<std::string> out;
  if (!results.environment.contains("sources") || !results.environment["sources"].is_array()) {
    return out;
  }
  for (const auto& s : results.environment["sources"]) {
    if (!s.is_object() || s.value("quality", "") != "estimated") continue;
    std::string line = s.value("name", "an estimate");
    if (s.contains("parameters") && s["parameters"].is_string()) {
      line += ": " + s["parameters"].get<std::string>();
    }
    out.push_back(line);
  }
  return out;
}

}  // namespace

void write_html_report(const ResultSet& results, const ComparisonSet& set,
                       const std::vector<RunTrace>& traces, std::ostream& out) {
  std::string name = "results";
  if (results.settings.contains("name") && results.settings["name"].is_string()) {
    name = results.settings["name"].get<std::string>();
  }
  const auto blocks = report::phase_blocks(set);
  const bool estimated = report::any_estimated(set);

  // The policy makes "self-contained" enforceable: a browser blocks (and logs) any fetch or script.
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>greenbench report: " << html_escape(name) << "</title>\n<style>" << kStyle
      << "</style>\n</head>\n<body>\n";
  out << "<header><h1>greenbench report: " << html_escape(name) << "</h1>\n";
  out << "<p class=\"meta\">results " << html_escape(results.path) << " &middot; "
      << results.runs_total << " runs: " << results.runs_ok << " succeeded, ";
  if (results.runs_failed > 0) {
    out << "<a href=\"#failed\">" << results.runs_failed << " failed</a>";
  } else {
    out << "0 failed";
  }
  out << " &middot; frameworks ";
  for (std::size_t i = 0; i < set.frameworks.size(); ++i) {
    out << (i == 0 ? "" : ", ") << "<span style=\"color:" << framework_color(set, set.frameworks[i])
        << ";font-weight:600\">" << html_escape(set.frameworks[i]) << "</span>";
  }
  out << "</p>\n";
  if (results.energy_basis == "above-idle") {
    out << "<p class=\"meta\">Energy is <strong>above idle</strong>: the measured energy minus the "
           "study's idle power &times; duration.</p>\n";
  }
  out << "<nav><a href=\"#summary\">Verdicts</a><a href=\"#tables\">Means and statistics</a>"
      << "<a href=\"#boxplots\">Box plots</a><a href=\"#quality\">Quality vs cost</a>"
      << "<a href=\"#traces\">Power traces</a><a href=\"#settings\">Configurations</a>"
      << "<a href=\"#failed\">Failed runs</a><a href=\"#environment\">Environment</a></nav>\n"
      << "</header>\n";

  const auto models = estimate_models(results);
  if (report::all_cpu_energy_estimated(results)) {
    out << "<div class=\"banner\" id=\"estimated-banner\">All CPU energy values in this report "
           "are estimated, not measured (a power model applied where no CPU energy counter "
           "could be read). Treat CPU energy differences with care: no energy verdict is given "
           "on estimates.";
    for (const auto& m : models)
      out << "<br><span style=\"font-weight:400\">" << html_escape(m) << "</span>";
    out << "</div>\n";
  }
  if (!set.small_n_lines.empty()) {
    out << "<div class=\"warning\" id=\"small-n\"><strong>Too few runs for a verdict.</strong><ul>";
    for (const auto& line : set.small_n_lines) out << "<li>" << html_escape(line) << "</li>";
    out << "</ul></div>\n";
  }

  out << "<section id=\"summary\"><h2>Verdicts: which framework is cheaper</h2>\n";
  out << "<p>Per model, on its primary energy metric and on run time. <em>By how much</em>: the "
         "ratio of the two frameworks (Hodges–Lehmann, with its distribution-free interval at "
         "level &ge; 95%). <em>Is it real</em>: a side is cheaper only when p_holm &lt; "
      << report::format_p(set.alpha)
      << " (Mann–Whitney U, Holm-adjusted over the verdicts of the phase) and Â12 points its "
         "way; Â12 = P(a &gt; b) + ½P(a = b), 0.5 = no effect."
      << (estimated ? std::string(" ") + kEstimatedBadge + " = estimated, not measured." : "")
      << "</p>\n";
  if (blocks.empty()) out << "<p>No cost metric was compared.</p>\n";
  for (const auto& block : blocks) {
    out << "<h3>" << html_escape(block.phase) << ": " << html_escape(block.a) << " vs "
        << html_escape(block.b) << "</h3>\n";
    for (const auto& v : set.summary) {
      if (v.phase == block.phase && v.a == block.a && v.b == block.b) {
        out << "<p class=\"counts\">" << html_escape(count_sentence(v)) << "</p>\n";
      }
    }
    out << verdict_table(block, set);
  }
  out << "</section>\n";

  out << "<section id=\"tables\"><h2>Means and statistics</h2>\n";
  out << "<div class=\"legend\"><strong>Legend.</strong> Cells read <em>a / b</em>: the first "
         "framework of the pair, then the second (the reference when a baseline is given). "
      << kEstimatedBadge << " = estimated, not measured";
  out << (estimated ? " (present in this report)" : " (none in this report)")
      << ". Â12 = P(a &gt; b) + ½P(a = b); p_holm is Holm-adjusted within its family ("
      << set.family_count
      << " families: the verdicts of a phase, and each other metric of a phase across models); "
         "ratio a/b = Hodges–Lehmann estimate with its exact Mann–Whitney interval (level "
         "&ge; 95%; the JSON adds the ratio of medians with a bootstrap 95% CI, "
      << set.bootstrap_resamples << " resamples, seed " << set.bootstrap_seed
      << "); warm-up runs excluded (" << set.warmup_excluded << " runs).</div>\n";
  for (const auto& block : blocks) {
    out << "<h3 id=\"" << anchor("t-", block.phase, block.a + "-" + block.b) << "\">"
        << html_escape(block.phase) << ": " << html_escape(block.a) << " vs "
        << html_escape(block.b) << "</h3>\n";
    if (!block.table_metrics.empty()) {
      out << "<p>Means, " << html_escape(block.a) << " / " << html_escape(block.b)
          << " (J for energy, s for time).</p>\n"
          << html_table(report::means_table(block));
    }
    // Costs first; the workers' diagnostics and quality metrics folded away below them.
    report::PhaseBlock costs = block, others = block;
    std::erase_if(costs.comparisons, [](const MetricComparison* c) { return !c->cost; });
    std::erase_if(others.comparisons, [](const MetricComparison* c) { return c->cost; });
    if (!costs.comparisons.empty()) out << html_table(report::stats_table(costs, set.alpha));
    if (!others.comparisons.empty()) {
      out << "<details><summary>Other metrics (" << others.comparisons.size()
          << "): quality and the workers' diagnostics</summary>"
          << html_table(report::stats_table(others, set.alpha)) << "</details>\n";
    }
  }
  if (!set.correlations.empty()) {
    out << "<h3>Energy vs run time (Spearman ρ per framework)</h3>\n"
        << html_table(report::correlation_table(set));
  }
  out << "</section>\n";

  out << report::carbon_html(set);
  out << "<section id=\"boxplots\"><h2>Box plots</h2>\n<p>One box per framework: median, "
         "quartiles, whiskers at 1.5 IQR, and every run as a point; dashed = estimated.</p>\n";
  for (const auto& block : blocks) {
    for (const auto& model : block.models) {
      out << "<h3>" << html_escape(block.phase) << " · " << html_escape(model) << " ("
          << html_escape(block.a) << " vs " << html_escape(block.b) << ")</h3>\n";
      std::string cost_figures, other_figures;
      std::size_t other_count = 0;
      for (const auto* c : block.comparisons) {
        if (c->model != model) continue;
        const bool est = c->estimated_a || c->estimated_b;
        std::string fig =
            "<figure><figcaption>" + html_escape(axis_title(c->metric, "", false)) +
            (est ? kEstimatedBadge : "") + "</figcaption><div class=\"fig-stats\">" +
            html_escape(c->a) + " / " + html_escape(c->b) + " " + report::format_ratio(c->stats) +
            "<br>p_holm " + report::format_p(c->stats.p_holm) + " · Â12 " +
            report::format_fixed(c->stats.a12, 2) + " " + html_escape(c->stats.magnitude) +
            "</div>" +
            report::box_plot_svg({{c->a, c->values_a, framework_color(set, c->a), c->estimated_a},
                                  {c->b, c->values_b, framework_color(set, c->b), c->estimated_b}},
                                 axis_title(c->metric, c->unit, est)) +
            "</figure>";
        if (c->cost) {
          cost_figures += fig;
        } else {
          other_figures += fig;
          ++other_count;
        }
      }
      out << "<div class=\"figures\">" << cost_figures << "</div>\n";
      if (other_count > 0) {
        out << "<details><summary>Other metrics (" << other_count
            << ")</summary><div class=\"figures\">" << other_figures << "</div></details>\n";
      }
    }
  }
  out << "</section>\n";

  out << "<section id=\"quality\"><h2>Quality next to cost</h2>\n";
  const auto quality = report::quality_table(results, set);
  if (quality.rows.empty()) {
    out << "<p>No quality metric was reported.</p>\n";
  } else {
    out << "<p>Medians over the runs, warm-up excluded.</p>\n" << html_table(quality);
    // One scatter per model × phase: each run's main quality metric against its energy.
    std::map<std::pair<std::string, std::string>, std::vector<report::ConfigRuns>> by_config;
    for (auto& c : report::config_runs(results)) {
      by_config[{report::phase_sort_key(c.phase) + "\x1f" + c.model, c.phase}].push_back(c);
    }
    out << "<div class=\"figures\">";
    for (const auto& [key, configs] : by_config) {
      std::set<std::string> metrics;
      for (const auto& c : configs) {
        for (const auto& [m, v] : c.values) metrics.insert(m);
      }
      const std::string q = report::primary_quality_metric(metrics);
      const std::string e = report::headline_energy_metric(metrics);
      if (q.empty() || e.empty()) continue;
      std::vector<report::ScatterSeries> series;
      bool est = false;
      for (const auto& c : configs) {
        if (!c.values.contains(q) || !c.values.contains(e)) continue;
        report::ScatterSeries s{c.framework, framework_color(set, c.framework), {}};
        for (const auto& [run, energy] : c.values.at(e)) {
          auto it = c.values.at(q).find(run);
          if (it != c.values.at(q).end()) s.points.emplace_back(energy, it->second);
        }
        est = est || c.estimated.at(e);
        series.push_back(std::move(s));
      }
      if (series.empty()) continue;
      out << "<figure><figcaption>" << html_escape(key.second) << " · "
          << html_escape(configs.front().model) << ": " << html_escape(q) << " vs "
          << html_escape(axis_title(e, "", false)) << (est ? kEstimatedBadge : "")
          << "</figcaption>" << report::scatter_svg(series, axis_title(e, "J", est), q)
          << "</figure>";
    }
    out << "</div>\n";
  }
  out << "</section>\n";

  report::write_profiles_html(results, out, [](const report::Table& t) { return html_table(t); });

  out << "<section id=\"traces\"><h2>Power traces</h2>\n";
  if (traces.empty()) {
    out << "<p>No power trace was stored.</p>\n";
  } else {
    out << "<p>The representative run of each configuration (the run with the median energy); "
           "phases shaded and named above the plot; dashed = estimated.</p>\n";
  }
  for (const auto& trace : traces) {
    const auto est = estimated_domains(results, trace);
    out << "<figure><figcaption>" << html_escape(trace.phase) << " · " << html_escape(trace.model)
        << " · " << html_escape(trace.framework) << " · run " << trace.run
        << (est.empty() ? "" : kEstimatedBadge) << "</figcaption>" << report::trace_svg(trace, est)
        << "</figure>\n";
  }
  out << "</section>\n";

  write_configurations(results, out);

  out << "<section id=\"failed\"><h2>Failed runs</h2>\n";
  if (results.failures.empty()) {
    out << "<p>None.</p>\n";
  } else {
    out << "<ul class=\"failed\">";
    for (const auto& f : results.failures) out << "<li>" << html_escape(f) << "</li>";
    out << "</ul>\n";
  }
  out << "</section>\n";
  report::write_nodes_html(results, set, out);
  // Idle power that was never measured must not read as a measured 0 W: a study without an
  // idle baseline stores none, and the CPU estimate (which follows one process tree) gives 0.
  nlohmann::json environment = results.environment;
  if (environment.is_object()) {
    for (const char* key : {"idle_power_w", "idle_power_w_on_resume"}) {
      if (!environment.contains(key) || !environment[key].is_object()) continue;
      bool all_zero = true;
      for (const auto& [domain, watts] : environment[key].items()) {
        all_zero = all_zero && watts.is_number() && watts.get<double>() == 0;
      }
      if (all_zero) environment[key] = "not measured (no source gave an idle reading)";
    }
    if (!environment.contains("idle_power_w") && environment.contains("idle_baseline_s")) {
      environment["idle_power_w"] = "not measured (idle_baseline = 0)";
    }
  }
  out << "<section id=\"environment\"><h2>Environment</h2>\n"
      << json_html(environment) << "</section>\n";
  out << "</body>\n</html>\n";
}

}  // namespace greenbench
