// greenbench compare: per model × phase × metric comparisons between frameworks, with rank tests,
// effect sizes and a summary of who is cheaper.
#include <fnmatch.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "cli/carbon_options.hpp"
#include "cli/commands.hpp"
#include "core/json_dump.hpp"
#include "greenbench/error.hpp"
#include "greenbench/report.hpp"
#include "greenbench/store.hpp"

namespace greenbench::cli {
namespace {

constexpr const char* kHelp =
    "usage: greenbench compare RESULTS [--json FILE] [--csv FILE] [--baseline FRAMEWORK]\n"
    "                          [--metric PATTERN] [--energy gross|above-idle] [--sequential]\n"
    "                          [--carbon-intensity G | --region CODE] [--pue X] [--price P]\n"
    "\n"
    "Compares the frameworks in a results store (a results directory or its results.sqlite)\n"
    "per model x phase x metric, warm-up runs excluded: means per energy domain and run time\n"
    "(the ICSE study's tables 2 and 3), then for each metric the two-sided Mann-Whitney U test\n"
    "(exact or asymptotic, named), the Holm-adjusted p-value, Vargha-Delaney A12 with its\n"
    "magnitude, Cliff's delta and the ratio of medians a/b with a seeded bootstrap 95% CI.\n"
    "Holm and Bonferroni adjust within families: one per phase x metric x pair of frameworks,\n"
    "across models (the same question asked once per model).\n"
    "\n"
    "Without --baseline, frameworks are paired alphabetically (a before b). With --baseline,\n"
    "every other framework is a and the baseline is b, the reference: ratios read 'a / b'.\n"
    "\n"
    "Verdicts count each effect once: per model x phase one primary energy metric (energy_total\n"
    "where every part is measured on both sides, else the largest domain measured on both\n"
    "sides) and duration; other domains are shown but never counted. The verdicts of one phase\n"
    "and pair form one Holm family. A side is cheaper when p_holm < 0.05 and A12 points its\n"
    "way; energy measured on one side and estimated on the other is 'not comparable', estimated\n"
    "on both 'estimated only'. Each verdict leads with the Hodges-Lehmann ratio and its exact\n"
    "Mann-Whitney interval. When no verdict could be significant at the runs stored, a line\n"
    "says so with the runs per side needed. Quality metrics are shown, never called cheaper.\n"
    "\n"
    "--sequential replays the sequential rule over the runs in run order (imported CSVs: the\n"
    "'run' column): a look after each run per side from min_repetitions (study setting, else 5)\n"
    "to max_repetitions (study setting, else the last stored run); per verdict 'decision'\n"
    "(a_cheaper, b_cheaper, equivalent, undecided) and 'decided_at' (runs per side).\n"
    "Values marked '*' are estimated, not measured. Only successful runs are compared: failed,\n"
    "timed-out and invalid runs (an energy source failed part-way, a metric is NaN) are not.\n"
    "\n"
    "options:\n"
    "  --json FILE               also write the comparisons as JSON to FILE ('-' = stdout only)\n"
    "  --csv FILE                also write the comparison rows as CSV to FILE ('-' = stdout\n"
    "                            only); columns in the README, 'compare --csv'\n"
    "  --baseline FRAMEWORK      the reference framework (b)\n"
    "  --metric PATTERN          only metrics matching these comma-separated globs,\n"
    "                            e.g. 'energy_*,duration'; one that matches no metric is\n"
    "                            an error that lists the metrics there are\n"
    "  --energy BASIS            gross (default): energy as measured, as the ICSE study\n"
    "                            reported it; above-idle: minus the study's idle power x\n"
    "                            duration (refused when the study measured no idle power)\n"
    "  --sequential              replay the sequential decision rule over the stored runs\n"
    "  --help                    this text\n"
    "\n"
    "With conversion factors (options, or the study's keys, which options override) every\n"
    "energy median is also shown as kWh x PUE, g CO2e and cost, the factors printed above.\n"
    "\n"
    "exit status: 0 done; 2 bad arguments, not a results store, fewer than two frameworks, an\n"
    "unknown baseline, a --metric that matches nothing or --energy above-idle without idle\n"
    "power.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "greenbench compare: %s (see greenbench compare --help)\n", message.c_str());
  return 2;
}

}  // namespace

int cmd_compare(const Args& args) {
  std::string results_path, json_path, csv_path;
  CarbonOptions carbon;
  CompareSettings settings;
  EnergyBasis basis = EnergyBasis::kGross;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      std::fputs(kCarbonOptionsHelp, stdout);
      return 0;
    }
    if (parse_carbon_option(args, i, carbon)) continue;
    if (arg == "--csv") {
      if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
      csv_path = args[++i];
      continue;
    }
    if (arg == "--json" || arg == "--baseline" || arg == "--metric" || arg == "--energy") {
      if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
      const std::string& v = args[++i];
      if (arg == "--energy") {
        if (v != "gross" && v != "above-idle") {
          return usage_error("--energy: want gross or above-idle, got '" + v + "'");
        }
        basis = parse_energy_basis(v);
      }
      if (arg == "--json") json_path = v;
      if (arg == "--baseline") settings.baseline = v;
      if (arg == "--metric") settings.metric_pattern = v;
      continue;
    }
    if (arg == "--sequential") {
      settings.sequential = true;
      continue;
    }
    if (!arg.empty() && arg[0] == '-') return usage_error("unknown option '" + arg + "'");
    if (!results_path.empty()) return usage_error("more than one RESULTS path: '" + arg + "'");
    results_path = arg;
  }
  if (carbon.list_regions) {
    print_region_list(stdout);
    return 0;
  }
  if (results_path.empty()) return usage_error("missing RESULTS (a results directory or .sqlite)");
  if (json_path == "-" && csv_path == "-")
    return usage_error("--json and --csv cannot both be '-'");

  const ResultSet results = load_results(results_path, basis);
  if (!settings.metric_pattern.empty()) {
    // A pattern that selects nothing is a typo: say so, and what there is to choose from.
    std::set<std::string> metrics;
    for (const auto& o : results.observations) metrics.insert(o.metric);
    bool any = false;
    std::stringstream patterns(settings.metric_pattern);
    for (std::string p; !any && std::getline(patterns, p, ',');) {
      for (const auto& m : metrics)
        any = any || (!p.empty() && fnmatch(p.c_str(), m.c_str(), 0) == 0);
    }
    if (!any) {
      std::string list;
      for (const auto& m : metrics) list += (list.empty() ? "" : ", ") + m;
      std::fprintf(stderr, "greenbench compare: --metric '%s' matches no metric; available: %s\n",
                   printable(settings.metric_pattern, 200).c_str(),
                   list.empty() ? "none" : list.c_str());
      return 2;
    }
  }
  settings.carbon = effective_carbon(results.settings, carbon);
  if (results.settings.contains("seed") && results.settings["seed"].is_number_integer()) {
    settings.stats.bootstrap.seed = results.settings["seed"].get<std::uint64_t>();
  }
  // The study's own sequential settings, where it had them; else the last look is the last run.
  settings.sequential_options.max_n = 0;
  const auto& st = results.settings;
  auto count = [&](const char* key, std::size_t& into) {
    if (st.contains(key) && st[key].is_number_unsigned()) into = st[key].get<std::size_t>();
  };
  count("min_repetitions", settings.sequential_options.min_n);
  count("max_repetitions", settings.sequential_options.max_n);
  if (st.contains("alpha") && st["alpha"].is_number()) {
    settings.sequential_options.alpha = st["alpha"].get<double>();
  }
  if (st.contains("equivalence_margin") && st["equivalence_margin"].is_number()) {
    settings.sequential_options.equivalence_margin = st["equivalence_margin"].get<double>();
  }
  const ComparisonSet set = compare_results(results, settings);
  if (json_path == "-") {
    std::cout << dump_json(comparison_json(set), 2) << "\n";
    return 0;
  }
  if (csv_path == "-") {
    write_comparison_csv(set, std::cout);
    return 0;
  }
  print_comparison(set, std::cout);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << dump_json(comparison_json(set), 2) << "\n";
    if (!out) throw Error("cannot write '" + printable(json_path, 200) + "'");
    std::cout << "JSON written to " << json_path << "\n";
  }
  if (!csv_path.empty()) {
    std::ofstream out(csv_path);
    write_comparison_csv(set, out);
    out.flush();
    if (!out) throw Error("--csv: cannot write '" + printable(csv_path, 200) + "'");
    std::cout << "CSV written to " << csv_path << "\n";
  }
  return 0;
}

}  // namespace greenbench::cli
