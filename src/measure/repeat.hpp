#pragma once
// Repeated measurement of commands (`greenbench measure --runs N -- A -- B`): the outcome of each
// run, statistics per command × phase × quantity, ratios against the first command, and the
// reporters (text, JSON, CSV, Markdown). Presentation takes the structs the statistics return, so
// that a conversion column (carbon, cost) can be added to the rows without touching the rest.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "greenbench/record.hpp"
#include "greenbench/stats.hpp"

namespace greenbench::measure {

/// One run of a repeated measurement.
struct RepeatedRun {
  std::size_t command = 0;  ///< 0-based index of the command
  int run = 0;              ///< 1-based, counted per command; warm-ups are counted apart
  int order = 0;            ///< 1-based position in the whole sequence, warm-ups included
  bool warmup = false;
  std::string status = "ok";  ///< "ok" | "failed" | "timeout" | "invalid"
  std::string reason;         ///< why it is not ok; empty when ok
  RunRecord record;
};

/// Sets status and reason from the record: timeout, failed (exit status, signal), invalid (see
/// invalid_reason), else ok; `last_stderr` (the command's last line on stderr, if known) is
/// added to the reason of a failed or timed-out run.
void classify(RepeatedRun* run, const std::string& last_stderr);

/// One quantity of one phase over a command's successful measured runs.
struct QuantitySummary {
  std::string phase;     ///< "run" (the whole command) or a marker phase
  std::string quantity;  ///< "duration", "energy_<domain>", "energy_above_idle_<domain>", metric
  std::string unit;
  bool estimated = false;      ///< any value estimated (energy of the CPU estimate)
  std::vector<double> values;  ///< in run order
  std::vector<int> runs;       ///< the run number of each value
  stats::Summary summary;
  double resolution = 0;  ///< energy: the largest energy_resolution_j of the values; 0 = unknown
};

/// Everything measured for one command.
struct CommandSummary {
  std::vector<std::string> command;
  int measured = 0;                         ///< measured runs (warm-ups not counted)
  int ok = 0;                               ///< of which successful (the ones the statistics use)
  std::vector<QuantitySummary> quantities;  ///< phases in order of appearance, "run" first
};

/// Per command, the statistics of every phase × quantity of its successful measured runs. A
/// phase marked more than once in a run counts once, summed (as a study counts it); a metric
/// counts its last finite value in a run, under the phase it was reported in.
std::vector<CommandSummary> summarise(const std::vector<RepeatedRun>& runs,
                                      const std::vector<std::vector<std::string>>& commands);

/// Whether a quantity is compared between commands: duration, total energy (above idle too) and
/// metrics; the other energy domains are parts of the total, summarised but not tested.
bool is_compared_quantity(const std::string& quantity);

/// One command against the first on one phase × quantity.
struct RatioToFirst {
  std::size_t command = 0;  ///< 0-based index of the command compared (>= 1)
  std::string phase, quantity, unit;
  bool estimated = false;   ///< either side estimated
  double resolution = 0;    ///< the larger resolution of the two sides; 0 = unknown
  stats::Comparison stats;  ///< a = this command, b = the first; p_holm over the whole family
  /// "higher" | "lower" (significant after Holm), "not_significant", "within_resolution" (the
  /// medians differ by less than the measurement resolves), "identical", "too_few_runs"
  std::string verdict;
};

/// Every compared quantity (is_compared_quantity) of every phase that both a command and the
/// first have, as one Holm family at level alpha.
std::vector<RatioToFirst> ratios_to_first(const std::vector<CommandSummary>& summaries,
                                          double alpha = 0.05);

/// How finely a source sees a phase boundary: its longest update interval (the CPU estimate's
/// clock tick, RAPL's ~1 ms, NVML's counter lag or a power gauge's averaging window).
struct SourceTiming {
  std::string name;
  double update_interval_s = 0;
};
/// A phase shorter than this many update intervals of a source is flagged.
inline constexpr double kResolvableIntervals = 10;

/// One line per command × phase whose median duration is shorter than kResolvableIntervals ×
/// the longest update interval of the sources, with the share of its energy its
/// energy_resolution_j amounts to.
std::vector<std::string> short_phase_warnings(const std::vector<CommandSummary>& summaries,
                                              const std::vector<SourceTiming>& sources);

/// The warnings of the runs' records, each once, with how many runs of which commands gave it.
std::vector<std::string> collected_warnings(const std::vector<RepeatedRun>& runs);

/// The text a person reads: per command its statistics table, then the ratios against the first.
std::string summary_text(const std::vector<CommandSummary>& summaries,
                         const std::vector<RatioToFirst>& ratios, int warmup_runs);
/// The --export-json document: settings, every run with its record, summaries, comparisons and
/// warnings (see README). NaN is written as null.
nlohmann::json repeat_json(const nlohmann::json& settings, const std::vector<RepeatedRun>& runs,
                           const std::vector<CommandSummary>& summaries,
                           const std::vector<RatioToFirst>& ratios,
                           const std::vector<std::string>& warnings);
/// The --export-csv text: one row per command × measured run × phase × quantity.
std::string repeat_csv(const std::vector<RepeatedRun>& runs,
                       const std::vector<std::vector<std::string>>& commands);
/// The --export-markdown text: the summary tables and the ratios.
std::string repeat_markdown(const std::vector<CommandSummary>& summaries,
                            const std::vector<RatioToFirst>& ratios, int warmup_runs);

}  // namespace greenbench::measure
