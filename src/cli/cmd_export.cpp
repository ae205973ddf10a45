// greenbench export: a results store -> long-format CSV that import reads back.
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "greenbench/error.hpp"
#include "greenbench/store.hpp"

namespace greenbench::cli {

namespace {

constexpr const char* kHelp = R"(usage: greenbench export RESULTS --csv FILE

Writes every measured value of a results store (a results directory, or its results.sqlite) as
long-format CSV, one value per line, with the header that 'greenbench import' reads:

  model,framework,phase,run,metric,value,unit,quality

Energy is in J and durations in s; numbers are written so that they read back as the same
values, so export -> import -> compare gives the same comparison. Warm-up runs are left out (they
are never in the statistics), and so are failed and invalid runs and values that are not finite.

options:
  --csv FILE   where to write the CSV ('-' = standard output)
  --help       this text
)";

}  // namespace

int cmd_export(const Args& args) {
  std::optional<std::string> results, csv;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--csv") {
      if (i + 1 >= args.size()) throw Error("--csv: missing value");
      csv = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      throw Error("unknown option '" + a + "' (see greenbench export --help)");
    } else if (!results) {
      results = a;
    } else {
      throw Error("more than one results store ('" + *results + "', '" + a + "')");
    }
  }
  if (!results) throw Error("missing the results directory (see greenbench export --help)");
  if (!csv) throw Error("missing --csv FILE (see greenbench export --help)");
  const ExportSummary s = export_csv(*results, *csv);
  // The summary goes to stderr so that '--csv -' leaves a clean CSV on stdout.
  std::cerr << "exported " << s.values << " values of " << s.runs << " runs";
  if (*csv != "-") std::cerr << " to " << *csv;
  if (s.warmup_skipped > 0 || s.nonfinite_skipped > 0) {
    std::cerr << " (left out: " << s.warmup_skipped << " warm-up values, " << s.nonfinite_skipped
              << " values that are not finite)";
  }
  std::cerr << "\n";
  return 0;
}

}  // namespace greenbench::cli
