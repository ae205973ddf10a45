#pragma once
/// A results store seen as data: what `compare` and `report` read, whatever produced it.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace greenbench {

/// One value of one run, in the long format of `greenbench import`
/// (model,framework,phase,run,metric,value,unit). Metrics: energy_<domain> (J), duration (s),
/// and each quality metric (hit_rate_10, accuracy_top1, ..., loss, samples_per_s).
struct Observation {
  std::string model;
  std::string framework;
  std::string phase;  ///< train | infer (the run's configuration phase)
  int run = 0;        ///< repetition number (1-based) within its configuration
  std::string metric;
  double value = 0;
  std::string unit;
  std::string quality = "measured";  ///< "measured" | "estimated" for energy metrics
  bool warmup = false;               ///< warm-up runs are stored but left out of statistics
  /// Energy metrics: the smallest difference the value resolves, in its unit (contract
  /// `energy_resolution_j`); 0 = not known (imported data, stores before schema 3).
  double resolution = 0;
  long long run_id = 0;  ///< the store's run id (0 for imported data)
  std::string node;      ///< the Slurm node it ran on ("" for a local study or an import)
  std::string hardware;  ///< that node's CPU (and GPU) models ("" when node is "")
};

/// Runs of one configuration on one Slurm node (a study run with `run --slurm`).
struct NodeCount {
  std::string node, hardware, model, framework, phase;
  int ok = 0;      ///< successful measured runs (warm-ups left out)
  int failed = 0;  ///< failed, timed-out, invalid and killed runs (warm-ups included)
};

/// What the worker of one configuration said about itself (its `info` marker lines: framework
/// version and options, threads, data), keeping the entries every successful run said alike.
struct ConfigInfo {
  std::string model, framework, phase;
  std::map<std::string, std::string> info;
};

/// Which energy compare and report show: as read (gross, what the ICSE study reported), or minus
/// the study's idle power × duration (above idle).
enum class EnergyBasis { kGross, kAboveIdle };

/// One power trace of a run, for the report's power-over-time charts.
struct RunTrace {
  long long run_id = 0;
  std::string model, framework, phase;
  int run = 0;
  std::vector<std::string> domains;
  std::vector<double> t_s;
  std::vector<std::vector<double>> power_w;                               ///< [sample][domain]
  std::vector<std::pair<std::string, std::pair<double, double>>> phases;  ///< name -> (start, end)
};

/// Everything compare/report need from a store.
struct ResultSet {
  std::string path;
  nlohmann::json settings = nlohmann::json::object();     ///< effective study settings
  nlohmann::json environment = nlohmann::json::object();  ///< machine, versions, sources
  std::vector<Observation> observations;
  std::string energy_basis = "gross";  ///< "gross" | "above-idle": what energy_* values are
  int runs_total = 0, runs_ok = 0, runs_failed = 0;
  std::vector<std::string> failures;   ///< "model/framework/phase #run: reason"
  std::vector<NodeCount> node_counts;  ///< per node x configuration; empty unless run on Slurm
  std::vector<ConfigInfo>
      config_info;  ///< per configuration with a successful run; empty for imports
  /// Op profiles of a study with `profile = true` (profile_json of profile.hpp), ordered by
  /// model, phase and framework; empty otherwise.
  std::vector<nlohmann::json> profiles;
};

}  // namespace greenbench
