#pragma once
// The report section on a study's profiled runs (study key `profile = true`).
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "greenbench/profile.hpp"
#include "greenbench/results.hpp"
#include "report/format.hpp"

namespace greenbench::report {

/// One horizontal bar per profile (framework), stacked by op category share of the phase's
/// time, framework overhead last, with a legend; class "chart profile".
std::string profile_bars_svg(const std::vector<Profile>& profiles);

/// The HTML section "Where the time goes" (nothing when the results hold no profile);
/// `table_html` renders a table as the rest of the report does.
void write_profiles_html(const ResultSet& results, std::ostream& out,
                         const std::function<std::string(const Table&)>& table_html);

/// The same section as Markdown.
void write_profiles_markdown(const ResultSet& results, std::ostream& out);

}  // namespace greenbench::report
