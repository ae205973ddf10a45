#pragma once
/// Energy people can relate to: joules converted into kWh at the facility (PUE), grams of CO2e
/// and cost, with the factors validated, recorded and always shown next to the numbers.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace greenbench {

/// Conversion factors as written by a user (study keys or command-line options); unset = not
/// given. `region` names a row of the carbon-intensity table instead of `carbon_intensity`.
struct CarbonSettings {
  std::optional<double> carbon_intensity;  ///< g CO2e per kWh
  std::string region;                      ///< a code of the table ("" = not given)
  std::optional<double> pue;               ///< power usage effectiveness, in [1, 3]
  std::optional<double> price;             ///< price per kWh, in `currency`
  std::string currency;                    ///< "" = none named
  /// True when any factor is given (then converted values are shown).
  bool any() const;
};

/// Effective conversion factors: validated, the region resolved, and where each came from.
struct CarbonFactors {
  std::optional<double> intensity_g_per_kwh;  ///< unset: no CO2e is shown
  std::string region;                         ///< region code the intensity was looked up for
  std::string intensity_source;               ///< the table's source and year, for a region
  std::optional<double> pue;                  ///< unset: 1 (and said so)
  std::optional<double> price_per_kwh;        ///< unset: no cost is shown
  std::string currency;
  /// Per factor ("carbon_intensity", "pue", "price", "currency"): where it came from, e.g.
  /// "--pue" or "study key pue" or "--pue, overriding the study's 1.5".
  std::map<std::string, std::string> origin;
  /// True when any factor is set (then converted values are shown).
  bool any() const;
  /// The PUE applied: `pue`, else 1.
  double effective_pue() const;
};

/// kWh in `joules` (1 kWh = 3.6 MJ).
double joules_to_kwh(double joules);
/// kWh drawn by the facility for `joules` of IT energy: kWh × PUE.
double facility_kwh(double joules, const CarbonFactors& factors);
/// Grams of CO2e for `joules` of IT energy (PUE applied); unset without an intensity.
std::optional<double> co2e_g(double joules, const CarbonFactors& factors);
/// Cost of `joules` of IT energy (PUE applied), in the factors' currency; unset without a price.
std::optional<double> energy_cost(double joules, const CarbonFactors& factors);

/// Each returns the value, or throws Error naming `name` (an option or key) and what was
/// expected: an intensity is finite and >= 0, a PUE in [1, 3], a price finite and >= 0.
double check_carbon_intensity(const std::string& name, double value);
double check_pue(const std::string& name, double value);
double check_price(const std::string& name, double value);
/// Parses a command-line number strictly (all of `text`, finite), or throws Error naming `name`.
double parse_carbon_number(const std::string& name, const std::string& text);

/// One row of the carbon-intensity table.
struct CarbonRegion {
  std::string code;  ///< ISO 3166-1 alpha-2, or "EU"
  std::string iso3;  ///< ISO 3166-1 alpha-3 ("" for a group of countries)
  std::string name;
  double g_per_kwh = 0;
};

/// The offline table of annual average grid carbon intensities (data/carbon_intensity.csv).
struct CarbonTable {
  std::string path;
  std::string source;    ///< the `# source:` line of the file
  std::string year;      ///< the `# year:` line of the file
  std::string citation;  ///< the `# citation:` line: the source in a few words
  std::vector<CarbonRegion> regions;
  /// The row whose code, alpha-3 code or name equals `key` (case-insensitive), or nullptr.
  const CarbonRegion* find(const std::string& key) const;
};

/// Reads a table: `#` comment lines (with `# source:` and `# year:`), a header
/// `code,iso3,name,g_co2e_per_kwh`, then one row per region. Throws Error naming the file and
/// line of anything malformed.
CarbonTable load_carbon_table(const std::string& path);
/// Where the table is: $GREENBENCH_CARBON_TABLE, else share/greenbench/carbon_intensity.csv
/// beside the running program's bin/ (build tree and install), else the source tree's data/.
/// Throws Error listing the places looked at when there is none.
std::string find_carbon_table();

/// Validates `settings` and resolves a region through `table` (loaded from find_carbon_table()
/// when null and a region is given). `origin` names where they came from ("study key" or
/// "option"): keys are named `carbon_intensity`, options `--carbon-intensity`. Throws Error on a
/// bad value, on both a region and an intensity, or on an unknown region (naming how to list
/// the codes).
CarbonFactors resolve_carbon(const CarbonSettings& settings, const std::string& origin,
                             const CarbonTable* table = nullptr);
/// `stored` (a study's factors) with every factor the command line gives replacing it; the
/// origin of a replaced factor says what it overrode.
CarbonFactors override_carbon(const CarbonFactors& stored, const CarbonFactors& command_line);

/// The factors as JSON (stored in study settings as "conversion", `measure --json`'s
/// "conversion"): intensity, region, source, pue, price, currency and origins.
nlohmann::json carbon_json(const CarbonFactors& factors);
/// The inverse of carbon_json; an absent or null document gives no factors.
CarbonFactors carbon_from_json(const nlohmann::json& json);
/// One line stating the factors and where they came from, printed above converted numbers.
std::string describe_carbon(const CarbonFactors& factors);
/// A cost with its currency ("0.0123 EUR"), or a plain number without a currency.
std::string format_cost(double cost, const std::string& currency);

}  // namespace greenbench
