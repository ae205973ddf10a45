// The Markdown report: the terminal tables as GitHub-flavoured Markdown, for pasting into
// papers' supplementary material and issues.
#include <ostream>
#include <string>

#include "greenbench/report.hpp"
#include "report/carbon_report.hpp"
#include "report/format.hpp"
#include "report/profile_report.hpp"
#include "report/quality.hpp"

namespace greenbench {
namespace {

std::string md_text(const std::string& s) { return report::markdown_text(s); }

}  // namespace

void write_markdown_report(const ResultSet& results, const ComparisonSet& set, std::ostream& out) {
  std::string name = "results";
  if (results.settings.contains("name") && results.settings["name"].is_string()) {
    name = results.settings["name"].get<std::string>();
  }
  out << "# greenbench report: " << md_text(name) << "\n\n";
  if (report::all_cpu_energy_estimated(results)) {
    out << "> **All CPU energy values are estimated, not measured** (a power model applied where "
           "no CPU energy counter could be read). Treat CPU energy differences with care.\n\n";
  }
  out << "Results: " << md_text(results.path) << " — " << results.runs_total << " runs, "
      << results.runs_ok << " succeeded, " << results.runs_failed << " failed.\n\n";
  if (results.energy_basis == "above-idle") {
    out << "Energy is **above idle**: the measured energy minus the study's idle power × "
           "duration.\n\n";
  }

  for (const auto& line : set.small_n_lines)
    out << "> **Too few runs:** " << md_text(line) << "\n\n";
  if (!set.summary_lines.empty()) {
    out << "## Summary\n\n";
    for (const auto& line : set.summary_lines) out << "- " << md_text(line) << "\n";
    out << "\n";
  }
  for (const auto& block : report::phase_blocks(set)) {
    out << "## " << md_text(block.phase) << ": " << md_text(block.a) << " vs " << md_text(block.b)
        << "\n\n";
    if (!block.table_metrics.empty()) {
      out << "Means (" << md_text(block.a) << " / " << md_text(block.b)
          << "), warm-up runs excluded.\n\n";
      out << report::render_markdown(report::means_table(block)) << "\n";
    }
    out << "Mann–Whitney U two-sided; p_holm is Holm-adjusted within each metric of a phase, "
           "across models ("
        << set.family_count
        << " families); Â12 = P(a > b) + ½P(a = b); ratio of medians a/b with a seeded "
           "bootstrap 95% CI.\n\n";
    out << report::render_markdown(report::stats_table(block, set.alpha)) << "\n";
  }
  out << report::carbon_markdown(set);
  if (!set.correlations.empty()) {
    out << "## Energy vs run time\n\n"
        << report::render_markdown(report::correlation_table(set)) << "\n";
  }
  const auto quality = report::quality_table(results, set);
  if (!quality.rows.empty()) {
    out << "## Quality next to cost\n\nMedians over the runs, warm-up excluded.\n\n"
        << report::render_markdown(quality) << "\n";
  }
  if (report::any_estimated(set)) out << "\\* estimated, not measured\n\n";
  report::write_profiles_markdown(results, out);
  if (!set.node_runs.empty()) {
    out << "## Nodes\n\nMeasured runs per Slurm node:";
    for (const auto& [node, runs] : set.node_runs)
      out << " " << md_text(node) << " " << runs << ";";
    out << " tests: " << md_text(set.node_method) << ".\n\n";
  }
  out << "## Failed runs\n\n";
  if (results.failures.empty()) out << "None.\n";
  for (const auto& f : results.failures) out << "- " << md_text(f) << "\n";
  out << "\n";
  out << "Bootstrap: " << set.bootstrap_resamples << " resamples, seed " << set.bootstrap_seed
      << ". Warm-up runs left out: " << set.warmup_excluded << ".\n";
}

}  // namespace greenbench
