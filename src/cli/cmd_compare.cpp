// greenbench compare: per model × phase × metric comparisons between frameworks, with rank tests,
// effect sizes and a summary of who is cheaper.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "core/json_dump.hpp"
#include "greenbench/error.hpp"
#include "greenbench/report.hpp"
#include "greenbench/store.hpp"

namespace greenbench::cli {
namespace {

constexpr const char* kHelp =
    "usage: greenbench compare RESULTS [--json FILE] [--baseline FRAMEWORK] [--metric PATTERN]\n"
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
    "Summary lines count, per phase, the cost comparisons (energy_* and duration; lower is\n"
    "better) where one framework is cheaper: p_holm < 0.05 and A12 pointing its way; 'energy'\n"
    "counts one metric per model (energy_total, else energy_cpu_package). Quality metrics\n"
    "(accuracy, perplexity, ...) are compared and shown but never called cheaper.\n"
    "Values marked '*' are estimated, not measured.\n"
    "\n"
    "options:\n"
    "  --json FILE               also write the comparisons as JSON to FILE ('-' = stdout only)\n"
    "  --baseline FRAMEWORK      the reference framework (b)\n"
    "  --metric PATTERN          only metrics matching these comma-separated globs,\n"
    "                            e.g. 'energy_*,duration'\n"
    "  --help                    this text\n"
    "\n"
    "exit status: 0 done; 2 bad arguments, not a results store, fewer than two frameworks or an\n"
    "unknown baseline.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "greenbench compare: %s (see greenbench compare --help)\n", message.c_str());
  return 2;
}

}  // namespace

int cmd_compare(const Args& args) {
  std::string results_path, json_path;
  CompareSettings settings;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (arg == "--json" || arg == "--baseline" || arg == "--metric") {
      if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
      const std::string& v = args[++i];
      if (arg == "--json") json_path = v;
      if (arg == "--baseline") settings.baseline = v;
      if (arg == "--metric") settings.metric_pattern = v;
      continue;
    }
    if (!arg.empty() && arg[0] == '-') return usage_error("unknown option '" + arg + "'");
    if (!results_path.empty()) return usage_error("more than one RESULTS path: '" + arg + "'");
    results_path = arg;
  }
  if (results_path.empty()) return usage_error("missing RESULTS (a results directory or .sqlite)");

  const ResultSet results = load_results(results_path);
  if (results.settings.contains("seed") && results.settings["seed"].is_number_integer()) {
    settings.stats.bootstrap.seed = results.settings["seed"].get<std::uint64_t>();
  }
  const ComparisonSet set = compare_results(results, settings);
  if (json_path == "-") {
    std::cout << dump_json(comparison_json(set), 2) << "\n";
    return 0;
  }
  print_comparison(set, std::cout);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << dump_json(comparison_json(set), 2) << "\n";
    if (!out) throw Error("cannot write '" + printable(json_path, 200) + "'");
    std::cout << "JSON written to " << json_path << "\n";
  }
  return 0;
}

}  // namespace greenbench::cli
