#pragma once
/// Comparing frameworks in a result set and presenting the comparison: terminal table, JSON
/// (contract), Markdown and a self-contained HTML report with inline SVG charts.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "greenbench/results.hpp"
#include "greenbench/stats.hpp"

namespace greenbench {

/// One comparison of framework a against framework b on one model × phase × metric.
struct MetricComparison {
  std::string model, phase, metric;
  std::string a, b;          ///< a is compared against b; ratios are a / b
  std::string unit;          ///< the unit of the observations ("J", "s", ...), may be empty
  bool cost = false;         ///< energy_* or duration: lower is better
  bool estimated_a = false;  ///< some of a's values (warm-up excluded) are estimated
  bool estimated_b = false;  ///< some of b's values (warm-up excluded) are estimated
  std::vector<double> values_a, values_b;  ///< the samples compared (warm-up excluded)
  stats::Comparison stats;                 ///< p_holm / p_bonferroni within its family
};

/// Spearman's ρ between energy and duration over the runs of one framework on one model × phase.
struct EnergyTimeCorrelation {
  std::string model, phase, framework;
  std::string energy_metric;  ///< energy_total where present, else energy_cpu_package
  stats::Correlation rho;
};

/// How one framework pair fared on one kind of cost in one phase. Only cost metrics count
/// (energy_* and duration, lower is better); quality metrics are compared but never "cheaper".
/// A framework is cheaper in a comparison when p_holm < alpha and Â12 points its way.
/// kind "energy" counts one comparison per model, on energy_total where the model has it, else
/// energy_cpu_package (domains are nested or summed, so counting each would count energy twice);
/// "duration" counts the run-time comparisons; "cost" every energy_* and duration comparison.
struct SummaryCount {
  std::string phase, a, b;
  std::string kind;     ///< "energy" (headline energy metric per model) | "duration" | "cost"
  int comparisons = 0;  ///< comparisons counted (with a p-value)
  int a_cheaper = 0;    ///< p_holm < alpha and Â12 < 0.5 (a tends to lower values)
  int b_cheaper = 0;    ///< p_holm < alpha and Â12 > 0.5
  int a_cheaper_large = 0, b_cheaper_large = 0;  ///< of those, with a large Â12 magnitude
  int not_significant = 0;                       ///< p_holm >= alpha
  bool estimated = false;  ///< some counted energy values are estimated, not measured
};

/// Settings of compare_results.
struct CompareSettings {
  std::string baseline;         ///< framework used as b (the reference); "" = alphabetical pairs
  std::string metric_pattern;   ///< comma-separated globs on metric names; "" = every metric
  double alpha = 0.05;          ///< significance level for the summary, on Holm-adjusted p
  stats::CompareOptions stats;  ///< test method, exact limit, bootstrap seed and resamples
};

/// The result of one compare call. Holm and Bonferroni adjust within families of one phase ×
/// metric × pair of frameworks (the same question asked for each model).
struct ComparisonSet {
  std::vector<std::string> frameworks;  ///< all frameworks seen, sorted
  std::string baseline;                 ///< "" when pairs are alphabetical
  double alpha = 0.05;
  std::uint64_t bootstrap_seed = 1;
  int bootstrap_resamples = 2000;
  std::string energy_basis = "gross";  ///< "gross" | "above-idle" (ResultSet::energy_basis)
  int warmup_excluded = 0;             ///< warm-up observations left out
  std::size_t family_count = 0;        ///< Holm/Bonferroni families (phase × metric × pair)
  std::vector<MetricComparison> comparisons;  ///< ordered by phase, model, pair, metric
  std::vector<EnergyTimeCorrelation> correlations;
  std::vector<SummaryCount> summary;
  std::vector<std::string> summary_lines;  ///< one sentence per SummaryCount
  std::map<std::string, int> node_runs;    ///< measured runs per Slurm node (empty: local)
  std::string node_method;  ///< how nodes enter the tests ("single node", "blocked on node ...")
};

/// True for metrics where lower is better: energy_* and duration.
bool is_cost_metric(const std::string& metric);

/// Compares frameworks per model × phase × metric (warm-up excluded), adjusts the p-values with
/// Holm and Bonferroni over every comparison of this call, and summarises per phase; the
/// bootstrap seed is the study's `seed` setting (1 if none). Throws Error when the set has fewer
/// than two frameworks or the baseline is not one of them.
ComparisonSet compare_results(const ResultSet& results, const std::string& baseline = "");
/// As above, with every setting explicit.
ComparisonSet compare_results(const ResultSet& results, const CompareSettings& settings);

/// The terminal tables (shaped like the ICSE study's tables 2 and 3), statistics and summary.
void print_comparison(const ComparisonSet& set, std::ostream& out);
/// The `compare --json` document (contract): {"comparisons": [...], "summary": {...}}; the
/// summary has "energy_basis": "above-idle" when the energies are above idle.
nlohmann::json comparison_json(const ComparisonSet& set);

/// One self-contained HTML file: settings, environment, tables, box plots, power traces,
/// quality next to cost, estimated values marked, failed runs; nothing fetched from a network.
void write_html_report(const ResultSet& results, const ComparisonSet& set,
                       const std::vector<RunTrace>& traces, std::ostream& out);
/// The same tables and summary as Markdown.
void write_markdown_report(const ResultSet& results, const ComparisonSet& set, std::ostream& out);

/// Text safe inside HTML element content and attribute values.
std::string html_escape(const std::string& text);

}  // namespace greenbench
