#pragma once
/// The results store: one SQLite file per study (`results.sqlite`), one transaction per run.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "greenbench/record.hpp"
#include "greenbench/results.hpp"

namespace greenbench {

/// Reads a whole store: settings, environment, the observations of successful runs (warm-ups
/// flagged) and the failures (failed, timed-out and invalid runs with their reasons).
/// `path` is a results directory holding results.sqlite, or the .sqlite file itself.
/// With EnergyBasis::kAboveIdle the energy_* observations hold the energy above idle; throws
/// Error when no run has it (no idle power was measured).
ResultSet load_results(const std::string& path, EnergyBasis basis = EnergyBasis::kGross);

/// "gross" or "above-idle" (the --energy option); throws Error naming anything else.
EnergyBasis parse_energy_basis(const std::string& text);

/// Observations of energy above idle are stored as energy_above_idle_<domain>; load_results
/// shows them under energy_<domain> when asked for that basis, and hides them otherwise.
inline constexpr const char* kAboveIdlePrefix = "energy_above_idle_";

/// Power traces with phase spans. representative_only: for each model x framework x phase, the
/// successful non-warm-up run whose energy_total (else duration) is the median; otherwise every
/// successful non-warm-up run that has a trace.
std::vector<RunTrace> load_traces(const std::string& path, bool representative_only = true);

/// The store file inside a results directory (or `path` itself when it names a file).
std::string store_file_path(const std::string& path);

/// One finished run as the store keeps it.
struct StoredRun {
  int position = 0;  ///< 0-based index in the study's plan; unique within a store
  std::string framework, model, phase;
  int repetition = 0;  ///< 1-based, counted separately for warm-ups and measured runs
  bool warmup = false;
  std::string status = "ok";  ///< "ok" | "failed" | "timeout" | "invalid" (see invalid_reason)
  std::string reason;         ///< why it failed; empty when ok
  int exit_code = 0;
  double started_at = 0;  ///< seconds since the Unix epoch
  double duration_s = 0;  ///< wall time of the whole process
  std::string
      checkpoint;    ///< checkpoint saved (train) or loaded (infer), relative to the results dir
  RunRecord record;  ///< the measurement (empty for imported runs)
  std::vector<Observation> observations;  ///< what compare reads (see observations_from_record)
};

/// The observations of one run: for the run's configured phase (the marker phase of that name,
/// else the whole-process phase `run`), energy_<domain> in J with its quality (and
/// energy_above_idle_<domain> where the record has it), `duration` in s, and the last finite
/// value of each metric the workload reported in any phase (a record with a non-finite one is
/// invalid: see invalid_reason).
std::vector<Observation> observations_from_record(const RunRecord& record,
                                                  const std::string& phase);

/// A results store open for writing.
class ResultStore {
 public:
  /// Creates `file` (which must not exist) with the schema, the settings and the environment.
  /// kind: "study" for `greenbench run`, "import" for `greenbench import`.
  static ResultStore create(const std::string& file, const nlohmann::json& settings,
                            const nlohmann::json& environment, const std::string& kind = "study");
  /// Opens an existing store (migrating an older schema); throws Error if it is not one.
  static ResultStore open(const std::string& file);

  ResultStore(ResultStore&&) noexcept;
  ResultStore& operator=(ResultStore&&) noexcept;
  ~ResultStore();

  [[nodiscard]] nlohmann::json settings() const;
  [[nodiscard]] nlohmann::json environment() const;
  /// Runs already stored, ordered by position (records left empty; observations filled).
  [[nodiscard]] std::vector<StoredRun> runs() const;
  /// Replaces the study's settings and environment (a study extended by --resume).
  void update_study(const nlohmann::json& settings, const nlohmann::json& environment);
  /// Stores one run, and the environment if not null, in one transaction.
  void add_run(const StoredRun& run, const nlohmann::json& environment = nullptr);
  [[nodiscard]] const std::string& file() const { return file_; }

 private:
  struct Db;
  ResultStore(std::string file, std::unique_ptr<Db> db);
  std::string file_;
  std::unique_ptr<Db> db_;
};

/// Parses long-format CSV text (header `model,framework,phase,run,metric,value,unit`, optionally
/// `,quality`); energy in J/kJ/Wh/kWh and durations in s/ms/min/h are converted to J and s.
/// Throws Error listing every bad field as `<source>:<line>:<column> (<field>): <problem>`.
std::vector<Observation> parse_long_csv(const std::string& text, const std::string& source);

/// What import_csv wrote.
struct ImportSummary {
  std::string store_file;
  int observations = 0;
  int runs = 0;
};
/// Reads a long-format CSV file into a new store `out_dir/results.sqlite`.
ImportSummary import_csv(const std::string& csv_path, const std::string& out_dir);

/// What an export wrote and what it left out.
struct ExportSummary {
  int values = 0;             ///< rows written
  int runs = 0;               ///< distinct model x framework x phase x run
  int warmup_skipped = 0;     ///< warm-up values (left out of statistics, not exported)
  int nonfinite_skipped = 0;  ///< NaN or infinite values (import accepts finite values only)
};
/// Every non-warm-up value of a result set as long-format CSV (the format parse_long_csv reads),
/// numbers written so that they read back as the same doubles.
std::string to_long_csv(const ResultSet& results, ExportSummary* summary = nullptr);
/// Writes the long-format CSV of the store at `results_path` to `csv_path` ("-" = stdout).
ExportSummary export_csv(const std::string& results_path, const std::string& csv_path);

/// The current schema version written into the `schema_version` table.
inline constexpr int kStoreSchemaVersion = 4;

}  // namespace greenbench
