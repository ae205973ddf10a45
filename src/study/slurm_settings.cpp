// The [slurm] table of a study file and the --slurm-* options' checks.
#include <algorithm>
#include <cctype>

#include "study/slurm_toml.hpp"

namespace greenbench {

std::string slurm_time_problem(const std::string& text) {
  if (text == "UNLIMITED" || text == "INFINITE") return "";
  // D-HH[:MM[:SS]] or MM[:SS] or HH:MM:SS: digits in at most three ':' fields, optional "D-".
  std::string rest = text;
  const auto dash = rest.find('-');
  if (dash != std::string::npos) {
    const std::string days = rest.substr(0, dash);
    if (days.empty() || !std::all_of(days.begin(), days.end(), ::isdigit))
      rest.clear();
    else
      rest = rest.substr(dash + 1);
  }
  int fields = 0;
  bool ok = !rest.empty();
  size_t start = 0;
  while (ok && start <= rest.size()) {
    const auto colon = rest.find(':', start);
    const std::string f =
        rest.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    ok = !f.empty() && f.size() <= 3 && std::all_of(f.begin(), f.end(), ::isdigit);
    ++fields;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (ok && fields <= 3) return "";
  return "expected a Slurm time limit such as \"30\" (minutes), \"2:00:00\" or \"1-12:00:00\", "
         "got \"" +
         text + "\"";
}

std::vector<SlurmTableProblem> parse_slurm_table(const toml::node& node, SlurmSettings& out) {
  std::vector<SlurmTableProblem> problems;
  const auto* table = node.as_table();
  if (table == nullptr) {
    problems.emplace_back(node.source(), "slurm", "expected a [slurm] table");
    return problems;
  }
  for (const auto& [key, value] : *table) {
    const std::string name(key.str());
    const std::string shown = "slurm." + name;
    if (name == "partition" || name == "time") {
      const auto* s = value.as_string();
      if (s == nullptr || s->get().empty()) {
        problems.emplace_back(value.source(), shown, "expected a non-empty string");
        continue;
      }
      if (name == "time") {
        const std::string why = slurm_time_problem(s->get());
        if (!why.empty()) {
          problems.emplace_back(value.source(), shown, why);
          continue;
        }
        out.time = s->get();
      } else {
        out.partition = s->get();
      }
    } else if (name == "nodes") {
      const auto* i = value.as_integer();
      if (i == nullptr || i->get() < 1 || i->get() > 100000) {
        problems.emplace_back(value.source(), shown,
                              "expected the most nodes used at once, a positive integer");
        continue;
      }
      out.nodes = int(i->get());
    } else if (name == "sbatch_args") {
      const auto* a = value.as_array();
      bool ok = a != nullptr;
      std::vector<std::string> args;
      if (ok) {
        for (const auto& item : *a) {
          const auto* s = item.as_string();
          if (s == nullptr) {
            ok = false;
            break;
          }
          args.push_back(s->get());
        }
      }
      if (!ok) {
        problems.emplace_back(value.source(), shown,
                              "expected an array of strings, each one sbatch argument such as "
                              "\"--account=proj\"");
        continue;
      }
      out.sbatch_args = args;
    } else {
      problems.emplace_back(
          key.source(), shown,
          "unknown key '" + name + "'; expected one of partition, time, nodes, sbatch_args");
    }
  }
  return problems;
}

}  // namespace greenbench
