// `greenbench export`: every measured value of a results store in the long CSV format that
// `greenbench import` reads, so a study can be analysed elsewhere and brought back unchanged.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include "greenbench/error.hpp"
#include "greenbench/label.hpp"
#include "greenbench/store.hpp"

namespace greenbench {

namespace {

// RFC 4180: a field holding a comma, quote or line break is quoted, quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Shortest text that reads back as the same double (import parses with strtod).
std::string exact_number(double value) {
  char buf[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

}  // namespace

std::string to_long_csv(const ResultSet& results, ExportSummary* summary) {
  ExportSummary local;
  ExportSummary& s = summary != nullptr ? *summary : local;
  s = ExportSummary{};
  std::ostringstream out;
  out << "model,framework,phase,run,metric,value,unit,quality\n";
  std::map<std::tuple<std::string, std::string, std::string, int>, bool> runs;
  for (const Observation& o : results.observations) {
    // Warm-ups are left out of every statistic, and the long format has no place to flag them.
    if (o.warmup) {
      ++s.warmup_skipped;
      continue;
    }
    if (!std::isfinite(o.value)) {
      ++s.nonfinite_skipped;
      continue;
    }
    // What import would refuse is refused here, so an export always reads back.
    for (const std::string* label : {&o.model, &o.framework, &o.phase}) {
      if (const std::string why = label_problem(*label); !why.empty()) {
        throw Error(results.path + ": cannot export: " + why);
      }
    }
    const bool energy = o.metric.rfind("energy_", 0) == 0;
    out << csv_field(o.model) << ',' << csv_field(o.framework) << ',' << csv_field(o.phase) << ','
        << o.run << ',' << csv_field(o.metric) << ',' << exact_number(o.value) << ','
        << csv_field(o.unit) << ',' << (energy ? csv_field(o.quality) : "") << '\n';
    ++s.values;
    runs[{o.model, o.framework, o.phase, o.run}] = true;
  }
  s.runs = int(runs.size());
  return out.str();
}

ExportSummary export_csv(const std::string& results_path, const std::string& csv_path) {
  const ResultSet results = load_results(results_path);
  ExportSummary summary;
  const std::string text = to_long_csv(results, &summary);
  if (summary.values == 0) {
    throw Error(store_file_path(results_path) + ": no measured values to export");
  }
  if (csv_path == "-") {
    std::cout << text << std::flush;
  } else {
    std::ofstream file(csv_path, std::ios::binary | std::ios::trunc);
    if (!file) throw Error(csv_path + ": cannot write the CSV file");
    file << text;
    if (!file.flush()) throw Error(csv_path + ": cannot write the CSV file");
  }
  return summary;
}

}  // namespace greenbench
