// The terminal reporter of `greenbench compare`.
#include <ostream>

#include "greenbench/report.hpp"
#include "report/carbon_report.hpp"
#include "report/format.hpp"

namespace greenbench {

void print_comparison(const ComparisonSet& set, std::ostream& out) {
  const auto blocks = report::phase_blocks(set);
  if (blocks.empty()) {
    out << "no metric was measured for two frameworks on the same model and phase\n";
    return;
  }
  if (set.energy_basis == "above-idle") {
    out << "energy above idle: every energy_* value is the measured energy minus the study's idle "
           "power x duration\n\n";
  }
  for (const auto& block : blocks) {
    out << "== " << block.phase << ": " << block.a << " (a) vs " << block.b
        << (block.b == set.baseline ? " (b, baseline)" : " (b)")
        << ", warm-up runs excluded ==\n\n";
    if (!block.table_metrics.empty()) {
      out << "  means, " << block.a << " / " << block.b << "\n";
      out << report::render_text(report::means_table(block), "  ") << "\n";
    }
    out << "  statistics (Mann-Whitney U two-sided; p_holm: primary energy and duration in one "
           "family per phase, other metrics per metric across models; Â12 = P(a > b) + "
           "½P(a = b); ratio a/b: Hodges-Lehmann with its exact Mann-Whitney interval, level >= "
           "95%; verdict counted only for the primary energy metric and duration)\n";
    out << report::render_text(report::stats_table(block, set.alpha), "  ") << "\n";
  }
  out << report::carbon_text(set);
  if (!set.correlations.empty()) {
    out << "== energy vs run time ==\n\n";
    out << report::render_text(report::correlation_table(set), "  ") << "\n";
  }
  if (report::any_estimated(set)) out << "* estimated, not measured\n\n";
  if (set.warmup_excluded > 0) {
    out << set.warmup_excluded << " warm-up runs left out of the statistics.\n";
  }
  out << "bootstrap 95% CI of the ratio of medians (JSON ratio_ci_*): " << set.bootstrap_resamples
      << " resamples, seed " << set.bootstrap_seed << "\n";
  if (set.sequential) {
    out << "sequential replay: looks at " << set.sequential_options.min_n << ".."
        << set.sequential_options.max_n << " runs per side in run order, alpha "
        << set.sequential_options.alpha << " over all looks and the verdict family, equivalent "
        << "within 1 ± " << set.sequential_options.equivalence_margin << "\n";
  }
  if (!set.node_runs.empty()) {
    // Where the runs ran (run --slurm), and how the tests treat the nodes.
    out << "nodes:";
    for (const auto& [node, runs] : set.node_runs) out << " " << node << " " << runs << " runs;";
    out << " tests: " << set.node_method << "\n";
  }
  out << "\n";
  for (const auto& line : set.small_n_lines) out << line << "\n";
  if (!set.small_n_lines.empty()) out << "\n";
  if (!set.summary_lines.empty()) {
    out << "summary:\n";
    for (const auto& line : set.summary_lines) out << "  " << line << "\n";
  }
}

}  // namespace greenbench
