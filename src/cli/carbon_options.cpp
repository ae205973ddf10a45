// Conversion options (kWh, CO2e, cost) of measure, compare and report.
#include "cli/carbon_options.hpp"

#include "cli/option_value.hpp"
#include "greenbench/error.hpp"

namespace greenbench::cli {

const char* const kCarbonOptionsHelp =
    "\n"
    "energy as kWh, CO2e and cost (shown next to joules, recorded, never applied silently):\n"
    "  --carbon-intensity G      grid carbon intensity in g CO2e per kWh (>= 0)\n"
    "  --region CODE             look the intensity up in the offline table (annual average,\n"
    "                            source and year in the file); '--region list' lists the codes\n"
    "  --pue X                   power usage effectiveness in [1, 3], applied to energy first\n"
    "  --price P                 electricity price per kWh (>= 0)\n"
    "  --currency NAME           the price's currency, e.g. EUR (default: none named)\n";

bool parse_carbon_option(const Args& args, std::size_t& i, CarbonOptions& options) {
  OptionValue opt(args, i);
  const std::string option = opt.name();
  if (option != "--carbon-intensity" && option != "--region" && option != "--pue" &&
      option != "--price" && option != "--currency") {
    return false;
  }
  const std::string value = opt.value();
  auto& s = options.settings;
  if (option == "--carbon-intensity") {
    s.carbon_intensity = check_carbon_intensity(option, parse_carbon_number(option, value));
  } else if (option == "--pue") {
    s.pue = check_pue(option, parse_carbon_number(option, value));
  } else if (option == "--price") {
    s.price = check_price(option, parse_carbon_number(option, value));
  } else if (option == "--currency") {
    s.currency = value;
  } else if (value == "list") {
    options.list_regions = true;
  } else {
    if (value.empty()) throw Error("--region: missing region code (see --region list)");
    s.region = value;
  }
  return true;
}

void print_region_list(std::FILE* out) {
  const CarbonTable table = load_carbon_table(find_carbon_table());
  std::fprintf(out, "annual average carbon intensity of electricity generation, g CO2e/kWh\n");
  std::fprintf(out, "source: %s\nyear: %s\ntable: %s\n\n", table.source.c_str(), table.year.c_str(),
               table.path.c_str());
  std::fprintf(out, "%-5s %-4s %-24s %10s\n", "code", "iso3", "name", "g/kWh");
  for (const auto& r : table.regions) {
    std::fprintf(out, "%-5s %-4s %-24s %10.3f\n", r.code.c_str(), r.iso3.c_str(), r.name.c_str(),
                 r.g_per_kwh);
  }
}

CarbonFactors command_line_carbon(const CarbonOptions& options) {
  if (!options.settings.any()) return {};
  return resolve_carbon(options.settings, "option");
}

CarbonFactors effective_carbon(const nlohmann::json& study_settings, const CarbonOptions& options) {
  CarbonFactors stored;
  if (study_settings.is_object() && study_settings.contains("conversion")) {
    stored = carbon_from_json(study_settings["conversion"]);
  }
  return override_carbon(stored, command_line_carbon(options));
}

namespace {

struct PhaseConversion {
  double energy_j = 0;
  bool estimated = false;
};

// The phase's total energy, the sum every domain's counter gives; nothing when a domain failed.
std::optional<PhaseConversion> phase_total(const PhaseRecord& p) {
  const auto e = p.energy_j.find("total");
  if (e == p.energy_j.end()) return std::nullopt;
  const auto q = p.quality.find("total");
  return PhaseConversion{e->second, q != p.quality.end() && q->second == "estimated"};
}

}  // namespace

void print_measure_conversion(const RunRecord& record, const CarbonFactors& f, std::FILE* out) {
  if (!f.any()) return;
  std::fprintf(out, "\n%s\n", describe_carbon(f).c_str());
  const std::string cost_label = f.currency.empty() ? "cost" : "cost " + f.currency;
  std::fprintf(out, "%-20s %16s %14s %14s %14s\n", "phase (total)", "energy J", "kWh", "g CO2e",
               cost_label.c_str());
  for (const auto& p : record.phases) {
    const auto t = phase_total(p);
    if (!t) {
      std::fprintf(out, "%-20s %16s\n", p.name.c_str(), "-");
      continue;
    }
    const char* est = t->estimated ? " (est.)" : "";
    auto cell = [&](std::optional<double> x) {
      if (!x) return std::string("-");
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.4g%s", *x, est);
      return std::string(buf);
    };
    std::fprintf(out, "%-20s %16s %14s %14s %14s\n", p.name.c_str(), cell(t->energy_j).c_str(),
                 cell(facility_kwh(t->energy_j, f)).c_str(), cell(co2e_g(t->energy_j, f)).c_str(),
                 cell(energy_cost(t->energy_j, f)).c_str());
  }
}

nlohmann::json measure_conversion_json(const RunRecord& record, const CarbonFactors& f) {
  nlohmann::json phases = nlohmann::json::array();
  auto optional = [](std::optional<double> x) {
    return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
  };
  for (const auto& p : record.phases) {
    const auto t = phase_total(p);
    if (!t) continue;
    phases.push_back({{"name", p.name},
                      {"energy_j", t->energy_j},
                      {"kwh", facility_kwh(t->energy_j, f)},
                      {"co2e_g", optional(co2e_g(t->energy_j, f))},
                      {"cost", optional(energy_cost(t->energy_j, f))},
                      {"estimated", t->estimated}});
  }
  return {{"factors", carbon_json(f)}, {"phases", phases}};
}

}  // namespace greenbench::cli
