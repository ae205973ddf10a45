// greenbench import: long-format CSV measured elsewhere -> a results store.
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "greenbench/error.hpp"
#include "greenbench/store.hpp"

namespace greenbench::cli {

namespace {

constexpr const char* kHelp = R"(usage: greenbench import CSV --out DIR

Turns measurements taken elsewhere into a results store DIR/results.sqlite that compare and
report read like any study's. CSV is long format, one value per line, with this header:

  model,framework,phase,run,metric,value,unit[,quality]

run is the repetition number (1, 2, ...); metric is energy_<domain> (unit J, mJ, kJ, MJ, Wh or
kWh; stored in J), duration (s, ms, us, min or h; stored in s) or a quality metric such as
accuracy_top1; quality, if present, is measured (default) or estimated. Every bad field is
reported as FILE:LINE:COLUMN (field): problem.

options:
  --out DIR   the results directory to create (must not hold a store yet)
  --help      this text
)";

}  // namespace

int cmd_import(const Args& args) {
  std::optional<std::string> csv, out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--out") {
      if (i + 1 >= args.size()) throw Error("--out: missing value");
      out = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      throw Error("unknown option '" + printable(a) + "' (see greenbench import --help)");
    } else if (!csv) {
      csv = a;
    } else {
      throw Error("more than one CSV file ('" + printable(*csv, 200) + "', '" + printable(a) +
                  "')");
    }
  }
  if (!csv) throw Error("missing the CSV file (see greenbench import --help)");
  if (!out) throw Error("missing --out DIR (see greenbench import --help)");
  const ImportSummary summary = import_csv(*csv, *out);
  std::cout << "imported " << summary.observations << " values of " << summary.runs << " runs into "
            << summary.store_file << "\n";
  return 0;
}

}  // namespace greenbench::cli
