#pragma once
// Quality (accuracy, perplexity, ...) next to cost, and the estimated-energy checks every
// reporter shares.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "greenbench/report.hpp"
#include "report/format.hpp"

namespace greenbench::report {

/// True when the set has CPU energy values (energy_cpu_*) and every one of them is estimated.
bool all_cpu_energy_estimated(const ResultSet& results);

/// The headline energy metric among `metrics`: energy_total, else energy_cpu_package, else "".
std::string headline_energy_metric(const std::set<std::string>& metrics);

/// True for metrics that measure a model's quality (accuracy, perplexity, loss, ...); false for
/// cost metrics, throughput (samples_per_s), timers ending in "_s" and loss_first.
bool is_quality_metric(const std::string& metric);

/// The model's main quality metric among `metrics` (hit_rate_10, accuracy_top1, perplexity, bleu,
/// map, then accuracy_top5, loss), or "" when there is none.
std::string primary_quality_metric(const std::set<std::string>& metrics);

/// Non-warm-up values of one configuration, by metric, paired per run.
struct ConfigRuns {
  std::string model, phase, framework;
  std::map<std::string, std::map<long long, double>> values;  ///< metric -> run key -> value
  std::map<std::string, bool> estimated;                      ///< metric -> any estimated
};
/// Every configuration of the set, ordered by phase, model, framework.
std::vector<ConfigRuns> config_runs(const ResultSet& results);

/// One row per model × phase × framework × quality metric: median quality, median headline
/// energy and median duration.
Table quality_table(const ResultSet& results, const ComparisonSet& set);

}  // namespace greenbench::report
