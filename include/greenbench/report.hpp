#pragma once
/// Comparing frameworks in a result set and presenting the comparison: terminal table, JSON
/// (contract), Markdown and a self-contained HTML report with inline SVG charts.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "greenbench/carbon.hpp"
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
  std::vector<int> runs_a, runs_b;         ///< run numbers of the values, for sequential replay
  /// Energy metrics: the largest energy_resolution_j of either side's values (0 = unknown).
  double resolution = 0;
  stats::Comparison stats;  ///< p_holm / p_bonferroni within its family
  /// "energy" (the model × phase's primary energy metric), "duration", or "" (shown, not
  /// counted in any verdict).
  std::string role;
  /// For a verdict (role not empty): "a_cheaper" | "b_cheaper" | "not_significant" |
  /// "identical" | "within_resolution" (the medians differ by less than `resolution`) |
  /// "not_comparable" (energy measured on one side, estimated on the other) |
  /// "estimated_only" (energy estimated on both sides); "" otherwise.
  std::string verdict;
  std::string sentence;  ///< the verdict in words, ratio first; "" when role is ""
  /// With --sequential: "a_cheaper" | "b_cheaper" | "equivalent" | "undecided"; "" otherwise.
  std::string decision;
  std::size_t decided_at = 0;  ///< runs per side at the deciding look (0 while undecided)
};

/// Spearman's ρ between energy and duration over the runs of one framework on one model × phase.
struct EnergyTimeCorrelation {
  std::string model, phase, framework;
  std::string energy_metric;  ///< energy_total where present, else energy_cpu_package
  stats::Correlation rho;
};

/// Verdict counts of one framework pair on one cost in one phase, over models (contract:
/// `compare --json` "summary"). Each model counts once: on its primary energy metric
/// (energy_total where every part is measured on both sides, else the largest domain measured
/// on both sides) or on duration; other energy domains are shown but never counted.
struct VerdictCount {
  std::string phase;
  std::string metric;  ///< "energy" | "duration"
  std::string a, b;
  int a_cheaper = 0;        ///< p_holm < alpha and Â12 < 0.5 (a tends to lower values)
  int b_cheaper = 0;        ///< p_holm < alpha and Â12 > 0.5
  int not_significant = 0;  ///< p_holm >= alpha, or identical values
  int not_comparable = 0;   ///< energy measured against estimated, or estimated on both sides
};

/// Settings of compare_results.
struct CompareSettings {
  std::string baseline;         ///< framework used as b (the reference); "" = alphabetical pairs
  std::string metric_pattern;   ///< comma-separated globs on metric names; "" = every metric
  double alpha = 0.05;          ///< significance level for the summary, on Holm-adjusted p
  stats::CompareOptions stats;  ///< test method, exact limit, bootstrap seed and resamples
  bool sequential = false;      ///< replay the sequential rule over the runs in run order
  stats::SequentialOptions sequential_options;  ///< min/max runs, alpha, equivalence margin
  CarbonFactors carbon;  ///< kWh/CO2e/cost shown next to energy medians when any() is true
};

/// The result of one compare call. The verdict comparisons (primary energy and duration of each
/// model) of one phase × pair of frameworks form one Holm family; every other comparison is
/// adjusted within its phase × metric × pair family across models.
struct ComparisonSet {
  std::vector<std::string> frameworks;  ///< all frameworks seen, sorted
  std::string baseline;                 ///< "" when pairs are alphabetical
  double alpha = 0.05;
  std::uint64_t bootstrap_seed = 1;
  int bootstrap_resamples = 2000;
  std::string energy_basis = "gross";  ///< "gross" | "above-idle" (ResultSet::energy_basis)
  int warmup_excluded = 0;             ///< warm-up runs left out
  std::size_t family_count = 0;        ///< Holm/Bonferroni families (verdict families and others)
  std::vector<MetricComparison> comparisons;  ///< ordered by phase, model, pair, metric
  std::vector<EnergyTimeCorrelation> correlations;
  std::vector<VerdictCount> summary;
  std::vector<std::string> summary_lines;  ///< per phase × pair: counts, then one line per verdict
  /// Lines saying, per phase × pair, that no verdict could be significant at these run counts
  /// and how many runs per side would be needed.
  std::vector<std::string> small_n_lines;
  bool sequential = false;  ///< decisions were replayed (settings.sequential)
  stats::SequentialOptions sequential_options;
  std::map<std::string, int> node_runs;  ///< measured runs per Slurm node (empty: local)
  std::string node_method;  ///< how nodes enter the tests ("single node", "blocked on node ...")
  CarbonFactors carbon;     ///< CompareSettings::carbon, recorded with the set
};

/// True for metrics where lower is better: energy_* and duration.
bool is_cost_metric(const std::string& metric);

/// Compares frameworks per model × phase × metric (warm-up excluded), adjusts the p-values with
/// Holm and Bonferroni within families, and gives verdicts per phase; the
/// bootstrap seed is the study's `seed` setting (1 if none), the conversion factors its recorded
/// "conversion" (study keys). Throws Error when the set has fewer
/// than two frameworks or the baseline is not one of them.
ComparisonSet compare_results(const ResultSet& results, const std::string& baseline = "");
/// As above, with every setting explicit.
ComparisonSet compare_results(const ResultSet& results, const CompareSettings& settings);

/// The terminal tables (shaped like the ICSE study's tables 2 and 3), statistics and summary.
void print_comparison(const ComparisonSet& set, std::ostream& out);
/// The `compare --json` document (contract): {"comparisons": [...], "summary": [...],
/// "settings": {...} (with "energy_basis": "above-idle"
/// when the energies are above idle), "lines": [...], "correlations": [...]}.
nlohmann::json comparison_json(const ComparisonSet& set);

/// True for energy_* metrics in joules, the ones converted to kWh, CO2e and cost.
bool is_convertible_energy(const MetricComparison& c);
/// The comparison rows as CSV (contract: README, "compare --csv"): one row per comparison
/// compare prints, numbers with full precision, empty for values that could not be computed.
void write_comparison_csv(const ComparisonSet& set, std::ostream& out);

/// One self-contained HTML file: settings, environment, tables, box plots, power traces,
/// quality next to cost, estimated values marked, failed runs; nothing fetched from a network.
void write_html_report(const ResultSet& results, const ComparisonSet& set,
                       const std::vector<RunTrace>& traces, std::ostream& out);
/// The same tables and summary as Markdown.
void write_markdown_report(const ResultSet& results, const ComparisonSet& set, std::ostream& out);

/// Text safe inside HTML element content and attribute values.
std::string html_escape(const std::string& text);

}  // namespace greenbench
