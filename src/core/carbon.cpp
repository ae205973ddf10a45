// kWh, CO2e and cost from joules: the factors, their validation, and the offline table of grid
// carbon intensities.
#include "greenbench/carbon.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "greenbench/error.hpp"

#ifndef GREENBENCH_DATA_DIR
#define GREENBENCH_DATA_DIR ""
#endif

namespace greenbench {
namespace {

constexpr double kJoulesPerKwh = 3.6e6;

std::string number_text(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

// Splits one CSV line; fields may be quoted ("European Union (27)" needs no quotes, but a name
// with a comma would).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.push_back(trim(field));
      field.clear();
    } else {
      field += ch;
    }
  }
  out.push_back(trim(field));
  return out;
}

// Each factor's name as the user wrote it: the study key or the option.
std::string factor_name(const std::string& origin, const std::string& key) {
  if (origin == "study key") return key;
  std::string option = "--" + key;
  std::replace(option.begin(), option.end(), '_', '-');
  return option;
}

std::string origin_text(const std::string& origin, const std::string& key) {
  return origin == "study key" ? "study key " + key : factor_name(origin, key);
}

}  // namespace

bool CarbonSettings::any() const {
  return carbon_intensity || !region.empty() || pue || price || !currency.empty();
}

bool CarbonFactors::any() const { return intensity_g_per_kwh || pue || price_per_kwh; }

double CarbonFactors::effective_pue() const { return pue.value_or(1.0); }

double joules_to_kwh(double joules) { return joules / kJoulesPerKwh; }

double facility_kwh(double joules, const CarbonFactors& factors) {
  return joules_to_kwh(joules) * factors.effective_pue();
}

std::optional<double> co2e_g(double joules, const CarbonFactors& factors) {
  if (!factors.intensity_g_per_kwh) return std::nullopt;
  return facility_kwh(joules, factors) * *factors.intensity_g_per_kwh;
}

std::optional<double> energy_cost(double joules, const CarbonFactors& factors) {
  if (!factors.price_per_kwh) return std::nullopt;
  return facility_kwh(joules, factors) * *factors.price_per_kwh;
}

double check_carbon_intensity(const std::string& name, double value) {
  if (!std::isfinite(value) || value < 0) {
    throw Error(name +
                ": expected a carbon intensity in g CO2e per kWh, a finite number >= 0, got " +
                number_text(value));
  }
  return value;
}

double check_pue(const std::string& name, double value) {
  if (!std::isfinite(value) || value < 1 || value > 3) {
    throw Error(name + ": expected a PUE (facility energy / IT energy) from 1 to 3, got " +
                number_text(value));
  }
  return value;
}

double check_price(const std::string& name, double value) {
  if (!std::isfinite(value) || value < 0) {
    throw Error(name + ": expected a price per kWh, a finite number >= 0, got " +
                number_text(value));
  }
  return value;
}

double parse_carbon_number(const std::string& name, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || *end != '\0' || !std::isfinite(v)) {
    throw Error(name + ": expected a number, got '" + printable(text) + "'");
  }
  return v;
}

const CarbonRegion* CarbonTable::find(const std::string& key) const {
  const std::string k = lower(trim(key));
  if (k.empty()) return nullptr;
  for (const auto& r : regions) {
    if (lower(r.code) == k || (!r.iso3.empty() && lower(r.iso3) == k) || lower(r.name) == k) {
      return &r;
    }
  }
  return nullptr;
}

CarbonTable load_carbon_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read the carbon-intensity table '" + printable(path, 200) + "'");
  CarbonTable table;
  table.path = path;
  std::string line;
  int number = 0;
  bool header = false;
  auto fail = [&](const std::string& what) {
    throw Error(printable(path, 200) + ":" + std::to_string(number) + ": " + what);
  };
  while (std::getline(in, line)) {
    ++number;
    const std::string text = trim(line);
    if (text.empty()) continue;
    if (text[0] == '#') {
      const std::string comment = trim(text.substr(1));
      if (comment.rfind("source:", 0) == 0) table.source = trim(comment.substr(7));
      if (comment.rfind("year:", 0) == 0) table.year = trim(comment.substr(5));
      if (comment.rfind("citation:", 0) == 0) table.citation = trim(comment.substr(9));
      continue;
    }
    const auto fields = split_csv(text);
    if (!header) {
      if (fields != std::vector<std::string>{"code", "iso3", "name", "g_co2e_per_kwh"}) {
        fail("expected the header 'code,iso3,name,g_co2e_per_kwh'");
      }
      header = true;
      continue;
    }
    if (fields.size() != 4) fail("expected 4 fields, got " + std::to_string(fields.size()));
    if (fields[0].empty()) fail("empty region code");
    char* end = nullptr;
    errno = 0;
    const double g = std::strtod(fields[3].c_str(), &end);
    if (fields[3].empty() || errno != 0 || *end != '\0' || !std::isfinite(g) || g < 0) {
      fail("g_co2e_per_kwh: expected a number >= 0, got '" + printable(fields[3]) + "'");
    }
    if (table.find(fields[0]) != nullptr) fail("region '" + printable(fields[0]) + "' twice");
    table.regions.push_back({fields[0], fields[1], fields[2], g});
  }
  if (!header) fail("no header line 'code,iso3,name,g_co2e_per_kwh'");
  if (table.source.empty() || table.year.empty()) {
    throw Error(printable(path, 200) +
                ": the header comments must name the '# source:' and '# year:'");
  }
  return table;
}

std::string find_carbon_table() {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("GREENBENCH_CARBON_TABLE"); env != nullptr && *env != '\0') {
    // An explicit choice is used or refused, never silently replaced by another table.
    if (!fs::is_regular_file(env)) {
      throw Error("GREENBENCH_CARBON_TABLE: no such file '" + printable(env, 200) + "'");
    }
    return env;
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(
        (exe.parent_path().parent_path() / "share/greenbench/carbon_intensity.csv").string());
  }
  if (std::string(GREENBENCH_DATA_DIR).size() > 0) {
    candidates.push_back(std::string(GREENBENCH_DATA_DIR) + "/carbon_intensity.csv");
  }
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c, ec)) return c;
  }
  std::string looked;
  for (const auto& c : candidates) looked += (looked.empty() ? "" : ", ") + c;
  throw Error("no carbon-intensity table found (looked at " + looked +
              "; set GREENBENCH_CARBON_TABLE to its path)");
}

CarbonFactors resolve_carbon(const CarbonSettings& s, const std::string& origin,
                             const CarbonTable* table) {
  CarbonFactors f;
  const std::string intensity_name = factor_name(origin, "carbon_intensity");
  const std::string region_name = factor_name(origin, "region");
  if (s.carbon_intensity && !s.region.empty()) {
    throw Error(intensity_name + " and " + region_name +
                " both set the carbon intensity: give one of them");
  }
  if (s.carbon_intensity) {
    f.intensity_g_per_kwh = check_carbon_intensity(intensity_name, *s.carbon_intensity);
    f.origin["carbon_intensity"] = origin_text(origin, "carbon_intensity");
  }
  if (!s.region.empty()) {
    CarbonTable loaded;
    if (table == nullptr) {
      loaded = load_carbon_table(find_carbon_table());
      table = &loaded;
    }
    const CarbonRegion* r = table->find(s.region);
    if (r == nullptr) {
      const std::string how =
          origin == "study key" ? "greenbench measure --region list" : region_name + " list";
      throw Error(region_name + ": unknown region '" + printable(s.region) + "' (" +
                  std::to_string(table->regions.size()) + " codes in " +
                  printable(table->path, 200) + "; see '" + how + "')");
    }
    f.intensity_g_per_kwh = r->g_per_kwh;
    f.region = r->code;
    f.intensity_source =
        (table->citation.empty() ? table->source : table->citation) + ", " + table->year;
    f.origin["carbon_intensity"] = origin_text(origin, "region") + " " + r->code;
  }
  if (s.pue) {
    f.pue = check_pue(factor_name(origin, "pue"), *s.pue);
    f.origin["pue"] = origin_text(origin, "pue");
  }
  if (s.price) {
    f.price_per_kwh = check_price(factor_name(origin, "price"), *s.price);
    f.origin["price"] = origin_text(origin, "price");
  }
  if (!s.currency.empty()) {
    if (!s.price) {
      throw Error(factor_name(origin, "currency") + " names the currency of " +
                  factor_name(origin, "price") + ", which is not given");
    }
    if (s.currency.size() > 16 ||
        std::any_of(s.currency.begin(), s.currency.end(),
                    [](unsigned char ch) { return std::iscntrl(ch) != 0 || ch == ','; })) {
      throw Error(factor_name(origin, "currency") +
                  ": expected a short currency name such as EUR, got '" + printable(s.currency) +
                  "'");
    }
    f.currency = s.currency;
  }
  return f;
}

CarbonFactors override_carbon(const CarbonFactors& stored, const CarbonFactors& cli) {
  CarbonFactors f = stored;
  auto overriding = [&](const std::string& key, const std::string& was) {
    const auto it = cli.origin.find(key);
    const std::string by = it != cli.origin.end() ? it->second : key;
    f.origin[key] = was.empty() ? by : by + ", overriding the study's " + was;
  };
  if (cli.intensity_g_per_kwh) {
    std::string was;
    if (stored.intensity_g_per_kwh) {
      was = stored.region.empty() ? number_text(*stored.intensity_g_per_kwh) + " g/kWh"
                                  : "region " + stored.region;
    }
    f.intensity_g_per_kwh = cli.intensity_g_per_kwh;
    f.region = cli.region;
    f.intensity_source = cli.intensity_source;
    overriding("carbon_intensity", was);
  }
  if (cli.pue) {
    f.pue = cli.pue;
    overriding("pue", stored.pue ? number_text(*stored.pue) : "");
  }
  if (cli.price_per_kwh) {
    f.price_per_kwh = cli.price_per_kwh;
    // A new price comes with its own currency (or none): the study's would be wrong for it.
    f.currency = cli.currency;
    overriding("price", stored.price_per_kwh ? number_text(*stored.price_per_kwh) : "");
  }
  return f;
}

nlohmann::json carbon_json(const CarbonFactors& f) {
  nlohmann::json j = nlohmann::json::object();
  j["carbon_intensity_g_per_kwh"] =
      f.intensity_g_per_kwh ? nlohmann::json(*f.intensity_g_per_kwh) : nlohmann::json(nullptr);
  j["region"] = f.region.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.region);
  j["intensity_source"] =
      f.intensity_source.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.intensity_source);
  j["pue"] = f.effective_pue();
  j["pue_given"] = f.pue.has_value();
  j["price_per_kwh"] = f.price_per_kwh ? nlohmann::json(*f.price_per_kwh) : nlohmann::json(nullptr);
  j["currency"] = f.currency.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.currency);
  j["origin"] = f.origin;
  j["formula"] =
      "kWh = J / 3.6e6 x PUE; g CO2e = kWh x carbon_intensity_g_per_kwh; cost = kWh x "
      "price_per_kwh";
  return j;
}

CarbonFactors carbon_from_json(const nlohmann::json& j) {
  CarbonFactors f;
  if (!j.is_object()) return f;
  auto number = [&](const char* key) -> std::optional<double> {
    if (j.contains(key) && j[key].is_number()) return j[key].get<double>();
    return std::nullopt;
  };
  auto text = [&](const char* key) -> std::string {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
  };
  f.intensity_g_per_kwh = number("carbon_intensity_g_per_kwh");
  f.region = text("region");
  f.intensity_source = text("intensity_source");
  if (j.value("pue_given", false)) f.pue = number("pue");
  f.price_per_kwh = number("price_per_kwh");
  f.currency = text("currency");
  if (j.contains("origin") && j["origin"].is_object()) {
    for (const auto& [key, value] : j["origin"].items()) {
      if (value.is_string()) f.origin[key] = value.get<std::string>();
    }
  }
  return f;
}

std::string describe_carbon(const CarbonFactors& f) {
  auto from = [&](const std::string& key) {
    const auto it = f.origin.find(key);
    return it == f.origin.end() ? std::string() : " (" + it->second + ")";
  };
  std::ostringstream out;
  out << "conversion: kWh = J / 3.6e6 x PUE " << number_text(f.effective_pue())
      << (f.pue ? from("pue") : " (not given: 1)");
  if (f.intensity_g_per_kwh) {
    out << "; CO2e at " << number_text(*f.intensity_g_per_kwh) << " g/kWh";
    if (!f.region.empty()) out << " for " << f.region << " [" << f.intensity_source << "]";
    out << from("carbon_intensity");
  } else {
    out << "; no carbon intensity (--carbon-intensity or --region)";
  }
  if (f.price_per_kwh) {
    out << "; cost at " << number_text(*f.price_per_kwh)
        << (f.currency.empty() ? "" : " " + f.currency) << " per kWh" << from("price");
  }
  return out.str();
}

std::string format_cost(double cost, const std::string& currency) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", cost);
  return currency.empty() ? std::string(buf) : std::string(buf) + " " + currency;
}

}  // namespace greenbench
