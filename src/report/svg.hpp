#pragma once
// Inline SVG charts for the HTML report: drawn here, from numbers, so the report needs no script
// and no network.
#include <set>
#include <string>
#include <vector>

#include "greenbench/results.hpp"

namespace greenbench::report {

/// One box of a box plot.
struct BoxGroup {
  std::string label;
  std::vector<double> values;
  std::string color;
  bool estimated = false;  ///< drawn dashed and labelled "est."
};

/// A box plot (Tukey whiskers at 1.5 IQR) with every value drawn as a point; class "chart boxplot".
std::string box_plot_svg(const std::vector<BoxGroup>& groups, const std::string& y_label);

/// Power over time of one run, one line per domain, phases shaded; class "chart trace".
/// Domains in `estimated_domains` are drawn dashed and labelled "est.".
std::string trace_svg(const RunTrace& trace, const std::set<std::string>& estimated_domains);

/// One series of a scatter plot.
struct ScatterSeries {
  std::string label;
  std::string color;
  std::vector<std::pair<double, double>> points;  ///< (x, y)
};
/// A scatter plot with a legend; class "chart scatter".
std::string scatter_svg(const std::vector<ScatterSeries>& series, const std::string& x_label,
                        const std::string& y_label);

/// Colour of the i-th framework or domain (a palette readable by colour-blind readers).
std::string palette(std::size_t i);

/// About `count` round tick values covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count);

}  // namespace greenbench::report
