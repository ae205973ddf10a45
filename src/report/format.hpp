#pragma once
// Formatting shared by the terminal, Markdown and HTML reporters, so that all three show the same
// numbers with the same rounding.
#include <string>
#include <vector>

#include "greenbench/report.hpp"

namespace greenbench::report {

/// A quantity for a table: integers with thousands separators from 1000 up (as the ICSE tables
/// print joules), otherwise three significant digits; "n/a" for NaN.
std::string format_quantity(double x);
/// A p-value: three significant digits; "n/a" for NaN.
std::string format_p(double p);
/// A value with fixed decimals; "n/a" for NaN.
std::string format_fixed(double x, int decimals);
/// "1.17 [1.12, 1.22]"; "n/a" when the ratio is NaN.
std::string format_ratio(const stats::Comparison& c);

/// Short column label of a metric ("package J", "time s"), else the metric name and unit.
std::string metric_label(const std::string& metric, const std::string& unit);
/// Sort key that puts the ICSE table's columns first: package, DRAM, GPU, total, other energy
/// domains, duration, then everything else alphabetically.
std::string metric_sort_key(const std::string& metric);
/// The metrics that get a column in the means table (ICSE tables 2 and 3).
bool is_table_metric(const std::string& metric);
/// Sort key for phases: train, infer, then the rest alphabetically.
std::string phase_sort_key(const std::string& phase);

/// The comparisons of one framework pair in one phase, in the set's order.
struct PhaseBlock {
  std::string phase, a, b;
  std::vector<const MetricComparison*> comparisons;
  std::vector<std::string> models;         ///< in order of first appearance
  std::vector<std::string> table_metrics;  ///< columns of the means table
};
/// Groups a set's comparisons into blocks (phase order, then pair order).
std::vector<PhaseBlock> phase_blocks(const ComparisonSet& set);
/// The comparison of one model × metric in a block, or nullptr.
const MetricComparison* find(const PhaseBlock& block, const std::string& model,
                             const std::string& metric);
/// True when any compared value in the set is estimated.
bool any_estimated(const ComparisonSet& set);

/// A plain table: a header row and body rows of cells; `right[i]` right-aligns column i.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> right;
};
/// Means table of a block: rows = model, cells "mean_a / mean_b", estimated means marked "*".
Table means_table(const PhaseBlock& block);
/// Statistics table of a block: one row per model × metric.
Table stats_table(const PhaseBlock& block, double alpha);
/// Spearman table of a set: one row per model × phase × framework.
Table correlation_table(const ComparisonSet& set);

/// Monospace text rendering with columns padded by display width (UTF-8 aware).
std::string render_text(const Table& table, const std::string& indent);
/// Text safe in Markdown prose and table cells: markup characters escaped, '<' that could
/// start HTML and '&' that could start an entity replaced, newlines turned into spaces.
std::string markdown_text(const std::string& s);
/// GitHub-flavoured Markdown rendering; '|' and newlines in cells are escaped.
std::string render_markdown(const Table& table);

/// Number of code points of a UTF-8 string (a monospace terminal shows each in one cell).
std::size_t display_width(const std::string& s);

}  // namespace greenbench::report
