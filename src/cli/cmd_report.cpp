// greenbench report: a self-contained HTML report (and optionally Markdown) of a results store.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include "cli/carbon_options.hpp"
#include "cli/commands.hpp"
#include "greenbench/error.hpp"
#include "greenbench/report.hpp"
#include "greenbench/store.hpp"

namespace greenbench::cli {
namespace {

constexpr const char* kHelp =
    "usage: greenbench report RESULTS [--out FILE.html] [--markdown FILE.md]\n"
    "                         [--energy gross|above-idle]\n"
    "                         [--carbon-intensity G | --region CODE] [--pue X] [--price P]\n"
    "\n"
    "Writes one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched from\n"
    "a network) with the effective settings and the environment, the comparison tables of\n"
    "'greenbench compare', box plots of every compared metric, the power trace of the\n"
    "representative run of each configuration with its phases, quality next to cost, and the\n"
    "failed, timed-out and invalid runs with their reasons. Estimated values are marked 'est.'; "
    "when every CPU energy\n"
    "value is estimated a banner says so.\n"
    "\n"
    "options:\n"
    "  --out FILE.html           where to write the HTML (default: report.html beside the store)\n"
    "  --markdown FILE.md        also write the tables and summary as Markdown\n"
    "  --energy BASIS            gross (default): energy as measured; above-idle: minus the\n"
    "                            study's idle power x duration (refused when the study\n"
    "                            measured no idle power)\n"
    "  --help                    this text\n"
    "\n"
    "With fewer than two frameworks the report has no comparisons but everything else.\n"
    "\n"
    "exit status: 0 done; 2 bad arguments, not a results store, or --energy above-idle without\n"
    "idle power.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "greenbench report: %s (see greenbench report --help)\n", message.c_str());
  return 2;
}

// Writes through a temporary file, so a failed write never leaves half a report behind.
template <typename Writer>
void write_file(const std::string& path, Writer&& write) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) throw Error("cannot write '" + printable(path, 200) + "'");
    write(out);
    out.flush();
    if (!out) throw Error("cannot write '" + printable(path, 200) + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error("cannot write '" + printable(path, 200) + "': " + ec.message());
}

}  // namespace

int cmd_report(const Args& args) {
  std::string results_path, out_path, markdown_path;
  CarbonOptions carbon;
  EnergyBasis basis = EnergyBasis::kGross;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      std::fputs(kCarbonOptionsHelp, stdout);
      return 0;
    }
    if (parse_carbon_option(args, i, carbon)) continue;
    if (arg == "--energy") {
      if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
      const std::string& v = args[++i];
      if (v != "gross" && v != "above-idle") {
        return usage_error("--energy: want gross or above-idle, got '" + v + "'");
      }
      basis = parse_energy_basis(v);
      continue;
    }
    if (arg == "--out" || arg == "--markdown") {
      if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
      (arg == "--out" ? out_path : markdown_path) = args[++i];
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

  const ResultSet results = load_results(results_path, basis);
  // A study of one framework still gets its report (traces, quality, failures), without
  // comparisons.
  std::set<std::string> frameworks;
  for (const auto& o : results.observations) frameworks.insert(o.framework);
  ComparisonSet set;
  if (frameworks.size() >= 2) {
    set = compare_results(results);
    set.carbon = effective_carbon(results.settings, carbon);
  } else {
    set.frameworks.assign(frameworks.begin(), frameworks.end());
    std::fprintf(stderr, "greenbench report: %zu framework(s) in '%s': nothing to compare\n",
                 frameworks.size(), results_path.c_str());
  }
  const std::vector<RunTrace> traces = load_traces(results_path, true);
  if (out_path.empty()) {
    out_path = (std::filesystem::path(store_file_path(results_path)).parent_path() / "report.html")
                   .string();
  }
  write_file(out_path, [&](std::ostream& out) { write_html_report(results, set, traces, out); });
  std::cout << "HTML report written to " << out_path << "\n";
  if (!markdown_path.empty()) {
    write_file(markdown_path, [&](std::ostream& out) { write_markdown_report(results, set, out); });
    std::cout << "Markdown report written to " << markdown_path << "\n";
  }
  return 0;
}

}  // namespace greenbench::cli
