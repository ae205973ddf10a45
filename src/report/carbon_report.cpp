// Converted energy medians (kWh at the facility, g CO2e, cost) shown next to the joules.
#include "report/carbon_report.hpp"

#include <sstream>

namespace greenbench::report {
namespace {

std::string pair_cell(std::optional<double> a, bool est_a, std::optional<double> b, bool est_b,
                      bool cost = false) {
  if (!a || !b) return "-";
  auto one = [&](double x, bool est) {
    return (cost ? format_cost(x, "") : format_quantity(x)) + (est ? "*" : "");
  };
  return one(*a, est_a) + " / " + one(*b, est_b);
}

}  // namespace

Table carbon_table(const PhaseBlock& block, const CarbonFactors& f) {
  Table t;
  if (!f.any()) return t;
  const std::string cost_label = f.currency.empty() ? "cost" : "cost " + f.currency;
  t.header = {"model",     "metric",       "median J a / b",
              "kWh a / b", "g CO2e a / b", cost_label + " a / b"};
  t.right = {false, false, true, true, true, true};
  for (const auto* c : block.comparisons) {
    if (!is_convertible_energy(*c)) continue;
    const auto& s = c->stats;
    const bool ea = c->estimated_a, eb = c->estimated_b;
    t.rows.push_back(
        {c->model, c->metric, pair_cell(s.median_a, ea, s.median_b, eb),
         pair_cell(facility_kwh(s.median_a, f), ea, facility_kwh(s.median_b, f), eb),
         pair_cell(co2e_g(s.median_a, f), ea, co2e_g(s.median_b, f), eb),
         pair_cell(energy_cost(s.median_a, f), ea, energy_cost(s.median_b, f), eb, true)});
  }
  return t;
}

std::string carbon_text(const ComparisonSet& set) {
  if (!set.carbon.any()) return "";
  std::ostringstream out;
  out << "== energy as kWh, CO2e and cost (medians, warm-up excluded) ==\n\n"
      << "  " << describe_carbon(set.carbon) << "\n";
  for (const auto& block : phase_blocks(set)) {
    const Table t = carbon_table(block, set.carbon);
    if (t.rows.empty()) continue;
    out << "\n  " << block.phase << ": " << block.a << " (a) vs " << block.b << " (b)\n"
        << render_text(t, "  ");
  }
  out << "\n";
  return out.str();
}

std::string carbon_markdown(const ComparisonSet& set) {
  if (!set.carbon.any()) return "";
  std::ostringstream out;
  out << "## Energy as kWh, CO2e and cost\n\n"
      << markdown_text(describe_carbon(set.carbon))
      << ". Medians, warm-up excluded; \\* estimated, not measured.\n\n";
  for (const auto& block : phase_blocks(set)) {
    const Table t = carbon_table(block, set.carbon);
    if (t.rows.empty()) continue;
    out << "### " << markdown_text(block.phase) << ": " << markdown_text(block.a) << " vs "
        << markdown_text(block.b) << "\n\n"
        << render_markdown(t) << "\n";
  }
  return out.str();
}

std::string carbon_html(const ComparisonSet& set) {
  if (!set.carbon.any()) return "";
  std::ostringstream out;
  out << "<section id=\"conversion\"><h2>Energy as kWh, CO2e and cost</h2>\n<p>"
      << html_escape(describe_carbon(set.carbon))
      << ". Medians, warm-up excluded; * estimated, not measured.</p>\n";
  for (const auto& block : phase_blocks(set)) {
    const Table t = carbon_table(block, set.carbon);
    if (t.rows.empty()) continue;
    out << "<h3>" << html_escape(block.phase) << ": " << html_escape(block.a) << " vs "
        << html_escape(block.b) << "</h3>\n<table><thead><tr>";
    for (const auto& h : t.header) out << "<th>" << html_escape(h) << "</th>";
    out << "</tr></thead><tbody>";
    for (const auto& row : t.rows) {
      out << "<tr>";
      for (std::size_t i = 0; i < row.size(); ++i) {
        out << (t.right[i] ? "<td class=\"num\">" : "<td>") << html_escape(row[i]) << "</td>";
      }
      out << "</tr>";
    }
    out << "</tbody></table>\n";
  }
  out << "</section>\n";
  return out.str();
}

}  // namespace greenbench::report
