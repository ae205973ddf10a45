#pragma once
// kWh, CO2e and cost next to the energy medians, for every reporter (terminal, Markdown, HTML).
#include <string>

#include "greenbench/report.hpp"
#include "report/format.hpp"

namespace greenbench::report {

/// Converted medians of a block's energy comparisons: model, metric, kWh, g CO2e and cost,
/// each "a / b", estimated values marked "*". Empty when the set has no conversion factors.
Table carbon_table(const PhaseBlock& block, const CarbonFactors& factors);
/// The terminal lines: the factors, then one table per block; "" without factors.
std::string carbon_text(const ComparisonSet& set);
/// The Markdown section; "" without factors.
std::string carbon_markdown(const ComparisonSet& set);
/// The HTML section (id "conversion"); "" without factors.
std::string carbon_html(const ComparisonSet& set);

}  // namespace greenbench::report
