#pragma once
/// Op-level profiles (`greenbench profile`, study key `profile = true`): a worker's `--profile`
/// JSON (workloads/common/MODELS.md, Profiling) mapped onto the shared op taxonomy, with each
/// category's share of the phase's time and its attributed energy.
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "greenbench/record.hpp"

namespace greenbench {

/// The taxonomy's categories, in report order (contract).
const std::vector<std::string>& op_categories();

/// Framework op name -> category, from the table data/op_taxonomy.tsv.
class OpTaxonomy {
 public:
  /// Reads the table; throws greenbench::Error naming the file, line and problem.
  static OpTaxonomy load(const std::string& path);
  /// The table shipped with greenbench (found next to the executable or in the source tree).
  static OpTaxonomy builtin();
  /// The table's path: $GREENBENCH_OP_TAXONOMY, else share/greenbench/op_taxonomy.tsv beside the
  /// running program's bin/ (build tree and install), else the source tree's data/. Throws Error
  /// listing the places looked at when there is none.
  static std::string find();
  /// The category of op `name` of `framework` ("pytorch" | "tensorflow"); "" when unmapped.
  [[nodiscard]] std::string category(const std::string& framework, const std::string& name) const;

 private:
  std::map<std::pair<std::string, std::string>, std::string> exact_;
};

/// One op execution of a profiled run (for the trace; not part of profile_json).
struct ProfiledSpan {
  std::string name;
  std::string pass;
  std::string category;
  int64_t step = 0;
  double start_s = 0;  ///< since the profiler started, just before the phase began
  double dur_s = 0;
};

/// The energy of a run's steps: the first against the steady state, and drift.
struct StepEnergySummary {
  int64_t steps = 0;
  double first_j = std::numeric_limits<double>::quiet_NaN();
  double steady_median_j = std::numeric_limits<double>::quiet_NaN();  ///< of steps 2…n
  /// Mean of the last tenth of steps 2…n / mean of their first tenth − 1 (at least one step
  /// each); NaN with fewer than two steady steps.
  double drift = std::numeric_limits<double>::quiet_NaN();
};

/// Summarises step energies (in order); all NaN when empty.
StepEnergySummary summarise_step_energy(const std::vector<double>& step_energy_j);

/// The "total" energy of each step of `phase` in a run's step markers (RunRecord::steps), and in
/// `quality` "measured" only when every step's is, else "estimated" (or "failed"); empty, with
/// quality "", unless every step of the phase has a total.
std::vector<double> step_energies(const RunRecord& record, const std::string& phase,
                                  std::string* quality);

/// One op of a profile, with its category and attributed energy.
struct ProfiledOp {
  std::string name;
  std::string pass;      ///< "forward" | "backward" | "optimizer"
  std::string category;  ///< a taxonomy category; "optimizer" for every op of that pass
  double self_s = 0;
  int64_t calls = 0;
  double energy_j = 0;  ///< attributed: phase energy × self_s / phase_s
};

/// A category's total over a profile.
struct CategoryShare {
  double self_s = 0;
  double share = 0;  ///< of phase_s
  double energy_j = 0;
};

/// One framework's profile of one model and phase (the `profiles` entries of --json, contract).
struct Profile {
  std::string framework;
  std::string framework_version;
  std::string profiler;
  std::string model;
  std::string scale;
  std::string phase;
  std::string device;
  std::string precision;
  int threads = 0;
  int64_t steps = 0;
  double phase_s = 0;
  std::vector<ProfiledOp> ops;  ///< by self_s, largest first
  std::map<std::string, CategoryShare> categories;
  double framework_overhead_s = 0;         ///< phase_s − Σ self_s
  double framework_overhead_share = 0;     ///< of phase_s
  double framework_overhead_energy_j = 0;  ///< attributed, as an op's
  std::vector<std::string> unmapped;  ///< op names the taxonomy does not know (also in "other")
  /// The phase's total energy, which the attribution splits (`greenbench profile`: that of the
  /// unprofiled run); NaN when no energy was read.
  double phase_energy_j = std::numeric_limits<double>::quiet_NaN();
  std::string energy_quality;  ///< "measured" | "estimated" (of phase_energy_j); "" = none
  /// Profiled median step time / unprofiled median step time − 1; NaN when not measured.
  double profiler_overhead = std::numeric_limits<double>::quiet_NaN();
  double unprofiled_step_s = std::numeric_limits<double>::quiet_NaN();  ///< its median step
  std::vector<double> step_s;        ///< each profiled step's wall time
  std::vector<double> step_start_s;  ///< its start since the profiler started (not in JSON)
  /// Each unprofiled step's energy, from its step markers; empty without them.
  std::vector<double> step_energy_j;
  std::string step_energy_quality;  ///< "measured" | "estimated" (of step_energy_j); "" = none
  std::vector<ProfiledSpan> spans;  ///< op executions, as the worker kept them (not in JSON)
};

/// A Profile from a worker's --profile JSON (MODELS.md, Profiling) and its phase's energy: ops
/// mapped to categories, shares of phase_s, energy attributed by time share. `source` names the
/// file in errors (greenbench::Error: which field, what was expected).
Profile summarise_profile(const nlohmann::json& worker, const OpTaxonomy& taxonomy,
                          double phase_energy_j, const std::string& energy_quality,
                          const std::string& source);

/// The median of a profile's step_s; NaN when there are none.
double median_step_s(const Profile& profile);

/// The contract JSON of one profile (an entry of `greenbench profile --json`'s `profiles`).
nlohmann::json profile_json(const Profile& profile);

/// The inverse of profile_json (for profiles kept in a study's store).
Profile profile_from_json(const nlohmann::json& json);

}  // namespace greenbench
