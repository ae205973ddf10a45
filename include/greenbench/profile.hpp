#pragma once
/// Op-level profiles (`greenbench profile`, study key `profile = true`): a worker's `--profile`
/// JSON (workloads/common/MODELS.md, Profiling) mapped onto the shared op taxonomy, with each
/// category's share of the phase's time and its attributed energy.
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

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
  /// The category of op `name` of `framework` ("pytorch" | "tensorflow"); "" when unmapped.
  [[nodiscard]] std::string category(const std::string& framework, const std::string& name) const;

 private:
  std::map<std::pair<std::string, std::string>, std::string> exact_;
};

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
  int64_t steps = 0;
  double phase_s = 0;
  std::vector<ProfiledOp> ops;  ///< by self_s, largest first
  std::map<std::string, CategoryShare> categories;
  double framework_overhead_s = 0;    ///< phase_s − Σ self_s
  std::vector<std::string> unmapped;  ///< op names the taxonomy does not know (also in "other")
  double phase_energy_j = 0;          ///< the phase's total energy
  std::string energy_quality;         ///< "measured" | "estimated" (of phase_energy_j)
  /// Profiled median step time / unprofiled median step time − 1; NaN when not measured.
  double profiler_overhead = 0;
  std::vector<double> step_s;         ///< each step's wall time
  std::vector<double> step_energy_j;  ///< each step's energy from step markers; may be empty
};

/// A Profile from a worker's --profile JSON (MODELS.md, Profiling) and its phase's energy: ops
/// mapped to categories, shares of phase_s, energy attributed by time share. `source` names the
/// file in errors (greenbench::Error: which field, what was expected).
Profile summarise_profile(const nlohmann::json& worker, const OpTaxonomy& taxonomy,
                          double phase_energy_j, const std::string& energy_quality,
                          const std::string& source);

/// The contract JSON of one profile (an entry of `greenbench profile --json`'s `profiles`).
nlohmann::json profile_json(const Profile& profile);

/// The inverse of profile_json (for profiles kept in a study's store).
Profile profile_from_json(const nlohmann::json& json);

}  // namespace greenbench
