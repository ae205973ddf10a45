// `greenbench import`: long-format CSV measured elsewhere, turned into a results store.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "greenbench/error.hpp"
#include "greenbench/label.hpp"
#include "greenbench/store.hpp"

namespace greenbench {

namespace {

const std::vector<std::string> kColumns{"model",  "framework", "phase", "run",
                                        "metric", "value",     "unit",  "quality"};
constexpr size_t kRequiredColumns = 7;
constexpr size_t kMaxErrors = 50;

struct Row {
  int line = 0;
  std::vector<std::string> fields;
};

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

// RFC 4180: commas, double-quoted fields with "" for a quote, quoted fields may span lines.
// Each row remembers the line it starts on, for error messages.
std::vector<Row> split_csv(const std::string& text, const std::string& source) {
  std::vector<Row> rows;
  Row row;
  std::string field;
  bool quoted = false, was_quoted = false;
  int line = 1;
  row.line = 1;
  auto end_field = [&] {
    row.fields.push_back(was_quoted ? field : trim(field));
    field.clear();
    was_quoted = false;
  };
  auto end_row = [&] {
    end_field();
    const bool blank = row.fields.size() == 1 && row.fields[0].empty();
    if (!blank) rows.push_back(std::move(row));
    row = Row{};
    row.line = line;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && trim(field).empty()) {
      field.clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      ++line;
      end_row();
    } else if (c != '\r' || (i + 1 < text.size() && text[i + 1] != '\n')) {
      field += c;
    }
  }
  if (quoted) {
    throw Error(source + ":" + std::to_string(row.line) + ": a quoted field is never closed");
  }
  end_row();
  return rows;
}

bool is_name(const std::string& s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// Factor to the unit greenbench stores (J for energy, s for time); 0 = not a unit of that kind.
double energy_factor(const std::string& unit) {
  static const std::map<std::string, double> kUnits{{"J", 1},    {"mJ", 1e-3}, {"kJ", 1e3},
                                                    {"MJ", 1e6}, {"Wh", 3600}, {"kWh", 3.6e6}};
  const auto it = kUnits.find(unit);
  return it == kUnits.end() ? 0 : it->second;
}

double time_factor(const std::string& unit) {
  static const std::map<std::string, double> kUnits{
      {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"min", 60}, {"h", 3600}};
  const auto it = kUnits.find(unit);
  return it == kUnits.end() ? 0 : it->second;
}

}  // namespace

std::vector<Observation> parse_long_csv(const std::string& text, const std::string& file) {
  const std::string source = printable(file, 200);
  const std::vector<Row> rows = split_csv(text, source);
  if (rows.empty()) throw Error(source + ": empty file; expected a header line");
  const Row& header = rows[0];
  const std::string expected = "model,framework,phase,run,metric,value,unit[,quality]";
  bool header_ok =
      header.fields.size() == kRequiredColumns || header.fields.size() == kRequiredColumns + 1;
  for (size_t i = 0; header_ok && i < header.fields.size(); ++i) {
    header_ok = header.fields[i] == kColumns[i];
  }
  if (!header_ok) {
    std::string got;
    for (size_t i = 0; i < header.fields.size(); ++i) got += (i ? "," : "") + header.fields[i];
    throw Error(source + ":" + std::to_string(header.line) + ": header: expected \"" + expected +
                "\", got \"" + printable(got, 100) + "\"");
  }
  const size_t columns = header.fields.size();

  std::vector<std::string> errors;
  size_t more_errors = 0;
  auto error = [&](const Row& row, size_t column, const std::string& message) {
    if (errors.size() >= kMaxErrors) {
      ++more_errors;
      return;
    }
    std::string where = source + ":" + std::to_string(row.line);
    if (column > 0) where += ":" + std::to_string(column) + " (" + kColumns[column - 1] + ")";
    errors.push_back(where + ": " + message);
  };
  std::vector<Observation> out;
  std::map<std::tuple<std::string, std::string, std::string, int, std::string>, int> seen;
  for (size_t r = 1; r < rows.size(); ++r) {
    const Row& row = rows[r];
    if (row.fields.size() != columns) {
      error(row, 0,
            "expected " + std::to_string(columns) + " fields, got " +
                std::to_string(row.fields.size()));
      continue;
    }
    const auto& f = row.fields;
    Observation o;
    bool ok = true;
    for (size_t c = 0; c < 3; ++c) {
      if (const std::string why = label_problem(f[c]); !why.empty()) {
        error(row, c + 1, why);
        ok = false;
      }
    }
    o.model = f[0];
    o.framework = f[1];
    o.phase = f[2];
    {
      char* end = nullptr;
      errno = 0;
      const long run = std::strtol(f[3].c_str(), &end, 10);
      if (f[3].empty() || *end != '\0' || errno != 0 || run < 1 || run > 1000000000) {
        error(row, 4, "expected a positive integer, got \"" + printable(f[3]) + "\"");
        ok = false;
      }
      o.run = int(run);
    }
    if (!is_name(f[4])) {
      error(row, 5, "expected a metric name such as energy_total, got \"" + printable(f[4]) + "\"");
      ok = false;
    }
    o.metric = f[4];
    {
      char* end = nullptr;
      const double value = std::strtod(f[5].c_str(), &end);
      if (f[5].empty() || *end != '\0' || !std::isfinite(value)) {
        error(row, 6, "expected a finite number, got \"" + printable(f[5]) + "\"");
        ok = false;
      }
      o.value = value;
    }
    o.unit = f[6];
    if (o.metric.rfind("energy_", 0) == 0) {
      const double factor = energy_factor(o.unit);
      if (factor == 0) {
        error(row, 7,
              "energy needs a unit of J, mJ, kJ, MJ, Wh or kWh, got \"" + printable(o.unit) + "\"");
        ok = false;
      }
      o.value *= factor;
      o.unit = "J";
    } else if (o.metric == "duration") {
      const double factor = time_factor(o.unit);
      if (factor == 0) {
        error(row, 7,
              "duration needs a unit of s, ms, us, min or h, got \"" + printable(o.unit) + "\"");
        ok = false;
      }
      o.value *= factor;
      o.unit = "s";
    }
    // An energy or a duration is a non-negative amount: a negative one would turn a ratio
    // around, and one that overflows in the conversion (1e308 kWh) is infinite.
    if (ok && (o.unit == "J" || o.unit == "s") &&
        (o.metric.rfind("energy_", 0) == 0 || o.metric == "duration")) {
      if (!std::isfinite(o.value)) {
        error(row, 6,
              "\"" + printable(f[5]) + " " + printable(f[6]) + "\" is not a finite number of " +
                  o.unit);
        ok = false;
      } else if (o.value < 0) {
        error(row, 6,
              "expected a non-negative " + std::string(o.unit == "J" ? "energy" : "duration") +
                  ", got \"" + printable(f[5]) + "\"");
        ok = false;
      }
      if (o.value == 0) o.value = 0;  // -0 is stored as 0
    }
    if (columns > kRequiredColumns) {
      const std::string& q = f[7];
      if (q.empty() || q == "measured") {
        o.quality = "measured";
      } else if (q == "estimated") {
        o.quality = "estimated";
      } else {
        error(row, 8, "expected measured or estimated, got \"" + printable(q) + "\"");
        ok = false;
      }
    }
    if (!ok) continue;
    const auto key = std::make_tuple(o.model, o.framework, o.phase, o.run, o.metric);
    const auto [it, inserted] = seen.emplace(key, row.line);
    if (!inserted) {
      error(row, 0,
            "duplicate of line " + std::to_string(it->second) + " (" + printable(o.model) + " " +
                printable(o.framework) + " " + printable(o.phase) + " run " +
                std::to_string(o.run) + " " + printable(o.metric) + ")");
      continue;
    }
    out.push_back(std::move(o));
  }
  if (more_errors > 0) errors.push_back("... and " + std::to_string(more_errors) + " more errors");
  if (!errors.empty()) {
    std::string message;
    for (size_t i = 0; i < errors.size(); ++i) message += (i ? "\n" : "") + errors[i];
    throw Error(message);
  }
  if (out.empty()) throw Error(source + ": no data rows after the header");
  return out;
}

ImportSummary import_csv(const std::string& csv_path, const std::string& out_dir) {
  std::ifstream in(csv_path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw Error("cannot read CSV file " + printable(csv_path, 200) + ": " +
                (err != 0 ? std::strerror(err) : "cannot open it"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::vector<Observation> observations = parse_long_csv(text.str(), csv_path);

  // One stored run per model x framework x phase x run, in order of first appearance.
  std::vector<StoredRun> runs;
  std::map<std::tuple<std::string, std::string, std::string, int>, size_t> index;
  for (auto& o : observations) {
    const auto key = std::make_tuple(o.model, o.framework, o.phase, o.run);
    auto it = index.find(key);
    if (it == index.end()) {
      StoredRun r;
      r.position = int(runs.size());
      r.framework = o.framework;
      r.model = o.model;
      r.phase = o.phase;
      r.repetition = o.run;
      it = index.emplace(key, runs.size()).first;
      runs.push_back(std::move(r));
    }
    runs[it->second].observations.push_back(std::move(o));
  }

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw Error(printable(out_dir, 200) + ": cannot create the directory: " + ec.message());
  const std::string file = (std::filesystem::path(out_dir) / "results.sqlite").string();
  const std::string name = std::filesystem::path(csv_path).stem().string();
  const nlohmann::json settings = {{"name", name}, {"imported_from", csv_path}};
  const nlohmann::json environment = {{"imported_from", csv_path},
                                      {"note", "measured elsewhere; machine unknown"}};
  ResultStore store = ResultStore::create(file, settings, environment, "import");
  for (const auto& r : runs) store.add_run(r);
  return {file, int(observations.size()), int(runs.size())};
}

}  // namespace greenbench
