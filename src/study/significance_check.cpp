// Whether a study's repetitions can reach significance at all, checked before any run.
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "greenbench/stats.hpp"
#include "greenbench/study.hpp"

namespace greenbench {

std::string significance_warning(const EffectiveSettings& effective, double alpha) {
  // compare's verdict family: the primary energy metric and duration of every model in a phase,
  // for each pair of frameworks.
  std::map<std::string, std::set<std::string>> models_of_phase;
  std::set<std::string> frameworks;
  for (const auto& c : effective.configurations) {
    models_of_phase[c.phase].insert(c.model);
    frameworks.insert(c.framework);
  }
  if (frameworks.size() < 2) return "";
  std::size_t family = 0;
  for (const auto& [phase, models] : models_of_phase) family = std::max(family, 2 * models.size());
  const auto n = static_cast<std::size_t>(effective.settings.repetitions);
  if (stats::mann_whitney_min_p(n, n) * static_cast<double>(family) <= alpha) return "";
  std::ostringstream out;
  out << "warning: with " << n << " repetitions no verdict can be significant: the smallest "
      << "possible p is " << stats::mann_whitney_min_p(n, n)
      << ", and Holm needs <= " << alpha / static_cast<double>(family) << " for " << family
      << " verdicts per phase (energy and duration per model); use at least "
      << stats::runs_needed_for_significance(family, alpha) << " repetitions\n";
  return out.str();
}

}  // namespace greenbench
