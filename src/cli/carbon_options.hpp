#pragma once
// The conversion options shared by measure, compare and report: --carbon-intensity | --region,
// --pue, --price, --currency; and what measure prints and records with them.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.hpp"
#include "greenbench/carbon.hpp"
#include "greenbench/record.hpp"

namespace greenbench::cli {

/// The options' help lines.
extern const char* const kCarbonOptionsHelp;

/// What the command line gave.
struct CarbonOptions {
  CarbonSettings settings;
  bool list_regions = false;  ///< --region list
};

/// Consumes args[i] (and its value, as `--opt V` or `--opt=V`) when it is a conversion option;
/// throws Error for a missing or malformed value.
bool parse_carbon_option(const Args& args, std::size_t& i, CarbonOptions& options);
/// Prints the region table (codes, names, g CO2e/kWh, source and year) for --region list.
void print_region_list(std::FILE* out);
/// The factors the command line gives (validated, a region resolved); none when it gives none.
CarbonFactors command_line_carbon(const CarbonOptions& options);
/// A results store's recorded factors (study settings "conversion") overridden by the command
/// line's.
CarbonFactors effective_carbon(const nlohmann::json& study_settings, const CarbonOptions& options);

/// measure: the factors, then per phase the total energy as J, kWh, g CO2e and cost, estimated
/// values marked "(est.)". Prints nothing without factors.
void print_measure_conversion(const RunRecord& record, const CarbonFactors& factors,
                              std::FILE* out);
/// measure --json's "conversion": {"factors": ..., "phases": [{name, energy_j, kwh, co2e_g, cost,
/// estimated}]}, converting each phase's "total" energy.
nlohmann::json measure_conversion_json(const RunRecord& record, const CarbonFactors& factors);

}  // namespace greenbench::cli
