// The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched), so
// it can be mailed, archived with the results and opened offline years later.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <ostream>
#include <set>
#include <string>

#include "core/json_dump.hpp"
#include "greenbench/report.hpp"
#include "report/carbon_report.hpp"
#include "report/format.hpp"
#include "report/nodes.hpp"
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
.figures { display: flex; flex-wrap: wrap; gap: 0 12px; }
.fig-stats { font-size: 11px; color: #555; margin: 0 0 0 4px; font-variant-numeric: tabular-nums; }
figure { margin: 0 0 12px; border: 1px solid #e3e7eb; border-radius: 4px; padding: 6px 6px 2px; }
figcaption { font-size: 13px; font-weight: 600; margin: 0 0 2px 4px; }
svg { display: block; font-family: system-ui, sans-serif; }
svg .grid { stroke: #e5e9ed; stroke-width: 1; }
svg .frame { stroke: #9aa4ad; stroke-width: 1; }
svg .tick { font-size: 10px; fill: #555; }
svg .axis { font-size: 11px; fill: #333; }
svg .label { font-size: 11px; fill: #222; }
svg .phase-label { font-size: 11px; fill: #555; }
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
      << results.runs_total << " runs: " << results.runs_ok << " succeeded, " << results.runs_failed
      << " failed &middot; frameworks ";
  for (std::size_t i = 0; i < set.frameworks.size(); ++i) {
    out << (i == 0 ? "" : ", ") << "<span style=\"color:" << framework_color(set, set.frameworks[i])
        << ";font-weight:600\">" << html_escape(set.frameworks[i]) << "</span>";
  }
  out << "</p>\n";
  if (results.energy_basis == "above-idle") {
    out << "<p class=\"meta\">Energy is <strong>above idle</strong>: the measured energy minus the "
           "study's idle power &times; duration.</p>\n";
  }
  out << "<nav><a href=\"#summary\">Summary</a><a href=\"#tables\">Tables</a>"
      << "<a href=\"#boxplots\">Box plots</a><a href=\"#quality\">Quality vs cost</a>"
      << "<a href=\"#traces\">Power traces</a><a href=\"#failed\">Failed runs</a>"
      << "<a href=\"#settings\">Settings</a><a href=\"#environment\">Environment</a></nav>\n"
      << "</header>\n";

  if (report::all_cpu_energy_estimated(results)) {
    out << "<div class=\"banner\" id=\"estimated-banner\">All CPU energy values in this report "
           "are estimated, not measured (a power model applied where no CPU energy counter "
           "could be read; see the settings and environment). Treat CPU energy differences "
           "with care.</div>\n";
  }
  out << "<div class=\"legend\"><strong>Legend.</strong> Cells read <em>a / b</em>: the first "
         "framework of the pair, then the second (the reference when a baseline is given). "
      << kEstimatedBadge << " = estimated, not measured";
  out << (estimated ? " (present in this report)" : " (none in this report)")
      << ". Â12 = P(a &gt; b) + ½P(a = b); p_holm is Holm-adjusted within each "
      << "metric of a phase, across models (" << set.family_count
      << " families); ratio = median a / median b with a bootstrap "
      << "95% CI (" << set.bootstrap_resamples << " resamples, seed " << set.bootstrap_seed
      << "); warm-up runs excluded (" << set.warmup_excluded << " runs).</div>\n";

  out << "<section id=\"summary\"><h2>Summary</h2>\n<ul class=\"summary\">";
  for (const auto& line : set.summary_lines) out << "<li>" << html_escape(line) << "</li>";
  if (set.summary_lines.empty()) out << "<li>No cost metric was compared.</li>";
  out << "</ul></section>\n";

  out << "<section id=\"tables\"><h2>Comparison tables</h2>\n";
  for (const auto& block : blocks) {
    out << "<h3 id=\"" << anchor("t-", block.phase, block.a + "-" + block.b) << "\">"
        << html_escape(block.phase) << ": " << html_escape(block.a) << " vs "
        << html_escape(block.b) << "</h3>\n";
    if (!block.table_metrics.empty()) {
      out << "<p>Means, " << html_escape(block.a) << " / " << html_escape(block.b) << ".</p>\n"
          << html_table(report::means_table(block));
    }
    out << html_table(report::stats_table(block, set.alpha));
  }
  if (!set.correlations.empty()) {
    out << "<h3>Energy vs run time (Spearman ρ per framework)</h3>\n"
        << html_table(report::correlation_table(set));
  }
  out << "</section>\n";

  out << report::carbon_html(set);
  out << "<section id=\"boxplots\"><h2>Box plots</h2>\n<p>One box per framework: median, "
         "quartiles, whiskers at 1.5 IQR, and every run as a point.</p>\n";
  for (const auto& block : blocks) {
    for (const auto& model : block.models) {
      out << "<h3>" << html_escape(block.phase) << " · " << html_escape(model) << " ("
          << html_escape(block.a) << " vs " << html_escape(block.b) << ")</h3>\n"
          << "<div class=\"figures\">";
      for (const auto* c : block.comparisons) {
        if (c->model != model) continue;
        out << "<figure><figcaption>" << html_escape(c->metric)
            << (c->estimated_a || c->estimated_b ? kEstimatedBadge : "") << "</figcaption>"
            << "<div class=\"fig-stats\">p_holm " << report::format_p(c->stats.p_holm) << " · Â12 "
            << report::format_fixed(c->stats.a12, 2) << " " << html_escape(c->stats.magnitude)
            << "<br>a/b " << report::format_ratio(c->stats) << "</div>"
            << report::box_plot_svg(
                   {{c->a, c->values_a, framework_color(set, c->a), c->estimated_a},
                    {c->b, c->values_b, framework_color(set, c->b), c->estimated_b}},
                   report::metric_label(c->metric, c->unit))
            << "</figure>";
      }
      out << "</div>\n";
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
          << html_escape(e) << (est ? kEstimatedBadge : "") << "</figcaption>"
          << report::scatter_svg(series, e + " (J)", q) << "</figure>";
    }
    out << "</div>\n";
  }
  out << "</section>\n";

  out << "<section id=\"traces\"><h2>Power traces</h2>\n";
  if (traces.empty()) {
    out << "<p>No power trace was stored.</p>\n";
  } else {
    out << "<p>The representative run of each configuration (the run with the median energy); "
           "phases shaded.</p>\n";
  }
  for (const auto& trace : traces) {
    const auto est = estimated_domains(results, trace);
    out << "<figure><figcaption>" << html_escape(trace.phase) << " · " << html_escape(trace.model)
        << " · " << html_escape(trace.framework) << " · run " << trace.run
        << (est.empty() ? "" : kEstimatedBadge) << "</figcaption>" << report::trace_svg(trace, est)
        << "</figure>\n";
  }
  out << "</section>\n";

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
  out << "<section id=\"settings\"><h2>Settings (effective)</h2>\n"
      << json_html(results.settings) << "</section>\n";
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
