// SVG charts drawn from numbers: box plots, power traces and scatter plots.
#include "report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "greenbench/report.hpp"
#include "greenbench/stats.hpp"
#include "report/format.hpp"

namespace greenbench::report {
namespace {

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

std::string tick_label(double v, double step) {
  if (std::fabs(v) < step * 1e-9) v = 0;
  // Enough decimals to tell ticks apart: a step of 2.5 needs one, 0.25 two. The step scaled by
  // 10^decimals must be a whole number of at least 1: a step of 2e-7 is not "0" (the labels of
  // tiny steps once all read "0").
  int decimals = 0;
  while (decimals <= 9) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::round(scaled) >= 1 &&
        std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) {
      break;
    }
    ++decimals;
  }
  if (decimals > 9) {  // a step too small for fixed decimals
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
  }
  if (decimals == 0 && std::fabs(v) >= 1000) return format_quantity(v);
  return format_fixed(v, decimals);
}

// Width in pixels of a tick label at the charts' 10px font (about 5.6 px per character).
double label_width(const std::string& label) { return 5.6 * static_cast<double>(label.size()); }

// The left margin that keeps the rotated axis title clear of the widest tick label.
double left_margin(const std::vector<double>& ticks, double minimum) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  double widest = 0;
  for (double t : ticks) widest = std::max(widest, label_width(tick_label(t, step)));
  return std::max(minimum, 24 + widest + 8);
}

// A linear map from data to pixels.
struct Scale {
  double d0, d1, p0, p1;
  double operator()(double x) const {
    if (d1 == d0) return (p0 + p1) / 2;
    return p0 + (x - d0) / (d1 - d0) * (p1 - p0);
  }
};

// Range of the values padded a little, so that points do not sit on the frame.
// The axis spans at least 2% of the values' magnitude, so that a 0.01% difference does not fill
// the chart and look large.
std::pair<double, double> padded_range(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (hi == lo) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.05;
    return {lo - pad, hi + pad};
  }
  const double magnitude = std::max(std::fabs(lo), std::fabs(hi));
  const double min_span = 0.02 * magnitude;
  if (hi - lo < min_span) {
    const double mid = (lo + hi) / 2;
    return {mid - min_span / 2, mid + min_span / 2};
  }
  const double pad = (hi - lo) * 0.08;
  return {lo - pad, hi + pad};
}

// Horizontal grid lines with labels on the left.
void y_axis(std::ostringstream& out, const Scale& y, double left, double right,
            const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  for (double t : ticks) {
    const double py = y(t);
    out << "<line class=\"grid\" x1=\"" << num(left) << "\" x2=\"" << num(right) << "\" y1=\""
        << num(py) << "\" y2=\"" << num(py) << "\"/>";
    out << "<text class=\"tick\" x=\"" << num(left - 4) << "\" y=\"" << num(py + 3.5)
        << "\" text-anchor=\"end\">" << tick_label(t, step) << "</text>";
  }
}

// Deterministic horizontal jitter in [-1, 1], so that equal values do not hide each other and
// the same data always gives the same picture.
double jitter(std::size_t i) {
  static const double kOffsets[] = {0, 0.6, -0.6, 0.3, -0.3, 0.9, -0.9, 0.15, -0.45, 0.75, -0.75};
  return kOffsets[i % (sizeof kOffsets / sizeof kOffsets[0])];
}

}  // namespace

std::string palette(std::size_t i) {
  // Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
  static const char* kColors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                  "#E69F00", "#56B4E9", "#000000", "#F0E442"};
  return kColors[i % (sizeof kColors / sizeof kColors[0])];
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo || count < 1) return {lo};
  const double raw = (hi - lo) / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  }
  return ticks;
}

std::string box_plot_svg(const std::vector<BoxGroup>& groups, const std::string& y_label) {
  const double width = 232, height = 230, right = 226, top = 14, bottom = 196;
  double lo = HUGE_VAL;
  double hi = -HUGE_VAL;
  for (const auto& g : groups) {
    for (double v : g.values) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  const auto [d0, d1] = padded_range(lo, hi);
  const Scale y{d0, d1, bottom, top};
  const auto ticks = nice_ticks(d0, d1, 5);
  const double left = left_margin(ticks, 58);
  std::ostringstream out;
  out << "<svg class=\"chart boxplot\" viewBox=\"0 0 " << width << " " << height << "\" width=\""
      << width << "\" height=\"" << height << "\" role=\"img\">";
  out << "<title>box plot of " << html_escape(y_label) << "</title>";
  y_axis(out, y, left, right, ticks);
  out << "<text class=\"axis\" transform=\"translate(12," << num((top + bottom) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\">" << html_escape(y_label) << "</text>";
  const double slot = (right - left) / static_cast<double>(std::max<std::size_t>(1, groups.size()));
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const auto& g = groups[gi];
    const double cx = left + slot * (static_cast<double>(gi) + 0.5);
    const double half = std::min(28.0, slot * 0.25);
    const std::string dash = g.estimated ? " stroke-dasharray=\"4 3\"" : "";
    if (!g.values.empty()) {
      const double q1 = stats::quantile(g.values, 0.25);
      const double q3 = stats::quantile(g.values, 0.75);
      const double med = stats::quantile(g.values, 0.5);
      const double iqr = q3 - q1;
      double wlo = q1, whi = q3;
      for (double v : g.values) {
        if (v >= q1 - 1.5 * iqr) wlo = std::min(wlo, v);
        if (v <= q3 + 1.5 * iqr) whi = std::max(whi, v);
      }
      out << "<g class=\"box\" stroke=\"" << g.color << "\"" << dash << ">";
      out << "<line x1=\"" << num(cx) << "\" x2=\"" << num(cx) << "\" y1=\"" << num(y(whi))
          << "\" y2=\"" << num(y(q3)) << "\"/>";
      out << "<line x1=\"" << num(cx) << "\" x2=\"" << num(cx) << "\" y1=\"" << num(y(q1))
          << "\" y2=\"" << num(y(wlo)) << "\"/>";
      for (double w : {wlo, whi}) {
        out << "<line x1=\"" << num(cx - half / 2) << "\" x2=\"" << num(cx + half / 2) << "\" y1=\""
            << num(y(w)) << "\" y2=\"" << num(y(w)) << "\"/>";
      }
      out << "<rect x=\"" << num(cx - half) << "\" y=\"" << num(y(q3)) << "\" width=\""
          << num(2 * half) << "\" height=\"" << num(std::max(0.5, y(q1) - y(q3))) << "\" fill=\""
          << g.color << "\" fill-opacity=\"0.15\"/>";
      out << "<line class=\"median\" x1=\"" << num(cx - half) << "\" x2=\"" << num(cx + half)
          << "\" y1=\"" << num(y(med)) << "\" y2=\"" << num(y(med)) << "\"/>";
      out << "</g>";
      for (std::size_t i = 0; i < g.values.size(); ++i) {
        out << "<circle class=\"point\" cx=\"" << num(cx + jitter(i) * half * 0.8) << "\" cy=\""
            << num(y(g.values[i])) << "\" r=\"2.6\" fill=\"" << g.color << "\"/>";
      }
    }
    out << "<text class=\"label\" x=\"" << num(cx) << "\" y=\"" << num(bottom + 16)
        << "\" text-anchor=\"middle\">" << html_escape(g.label) << (g.estimated ? " (est.)" : "")
        << "</text>";
    out << "<text class=\"tick\" x=\"" << num(cx) << "\" y=\"" << num(bottom + 29)
        << "\" text-anchor=\"middle\">n = " << g.values.size() << "</text>";
  }
  out << "</svg>";
  return out.str();
}

std::string trace_svg(const RunTrace& trace, const std::set<std::string>& estimated_domains) {
  const double width = 940, height = 270, left = 64, right = 780, top = 22, bottom = 228;
  // Per-device detail (cpu_package:0) is left out where the summed domain is there.
  std::vector<std::size_t> shown;
  for (std::size_t d = 0; d < trace.domains.size(); ++d) {
    const auto& name = trace.domains[d];
    const auto colon = name.find(':');
    if (colon != std::string::npos && std::find(trace.domains.begin(), trace.domains.end(),
                                                name.substr(0, colon)) != trace.domains.end()) {
      continue;
    }
    shown.push_back(d);
  }
  double t0 = trace.t_s.empty() ? 0 : trace.t_s.front();
  double t1 = trace.t_s.empty() ? 1 : trace.t_s.back();
  for (const auto& [name, span] : trace.phases) {
    t0 = std::min(t0, span.first);
    t1 = std::max(t1, span.second);
  }
  if (t1 <= t0) t1 = t0 + 1;
  double pmax = 0;
  for (const auto& row : trace.power_w) {
    for (std::size_t d : shown) {
      if (d < row.size() && std::isfinite(row[d])) pmax = std::max(pmax, row[d]);
    }
  }
  if (pmax <= 0) pmax = 1;
  const Scale x{t0, t1, left, right};
  const Scale y{0, pmax * 1.08, bottom, top};
  std::ostringstream out;
  out << "<svg class=\"chart trace\" viewBox=\"0 0 " << width << " " << height << "\" width=\""
      << width << "\" height=\"" << height << "\" role=\"img\">";
  out << "<title>power over time of " << html_escape(trace.model) << " / "
      << html_escape(trace.framework) << " / " << html_escape(trace.phase) << "</title>";
  // Phase spans first, so that lines are drawn over them. A label that would run into the one
  // before it goes down a row (above the plot, then inside its top), so short adjacent phases
  // stay readable.
  std::vector<double> row_end = {-HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
  for (std::size_t i = 0; i < trace.phases.size(); ++i) {
    const auto& [name, span] = trace.phases[i];
    const double x0 = x(span.first), x1 = x(span.second);
    out << "<rect class=\"phase\" x=\"" << num(x0) << "\" y=\"" << num(top) << "\" width=\""
        << num(std::max(0.5, x1 - x0)) << "\" height=\"" << num(bottom - top) << "\" fill=\""
        << (i % 2 == 0 ? "#e8eef7" : "#f3e9dc") << "\"><title>" << html_escape(name)
        << "</title></rect>";
    std::size_t row = 0;
    while (row + 1 < row_end.size() && x0 + 3 < row_end[row] + 4) ++row;
    row_end[row] = x0 + 3 + label_width(name);
    out << "<text class=\"phase-label\" x=\"" << num(x0 + 3) << "\" y=\""
        << num(top - 6 + 12.0 * static_cast<double>(row)) << "\">" << html_escape(name)
        << "</text>";
  }
  y_axis(out, y, left, right, nice_ticks(0, pmax * 1.08, 5));
  const auto xticks = nice_ticks(t0, t1, 8);
  const double xstep = xticks.size() > 1 ? xticks[1] - xticks[0] : 1;
  for (double t : xticks) {
    out << "<text class=\"tick\" x=\"" << num(x(t)) << "\" y=\"" << num(bottom + 14)
        << "\" text-anchor=\"middle\">" << tick_label(t, xstep) << "</text>";
  }
  out << "<text class=\"axis\" x=\"" << num((left + right) / 2) << "\" y=\"" << num(bottom + 34)
      << "\" text-anchor=\"middle\">time (s)</text>";
  out << "<text class=\"axis\" transform=\"translate(14," << num((top + bottom) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\">power (W)</text>";
  // At most about 1500 points per line: more cannot be seen at this width.
  const std::size_t stride = std::max<std::size_t>(1, trace.t_s.size() / 1500);
  for (std::size_t k = 0; k < shown.size(); ++k) {
    const std::size_t d = shown[k];
    const bool est = estimated_domains.contains(trace.domains[d]);
    out << "<polyline class=\"line\" fill=\"none\" stroke=\"" << palette(k)
        << "\" stroke-width=\"1.6\"" << (est ? " stroke-dasharray=\"5 3\"" : "") << " points=\"";
    for (std::size_t i = 0; i < trace.t_s.size(); i += stride) {
      if (i >= trace.power_w.size() || d >= trace.power_w[i].size()) break;
      const double p = trace.power_w[i][d];
      if (!std::isfinite(p)) continue;
      out << num(x(trace.t_s[i])) << "," << num(y(p)) << " ";
    }
    out << "\"/>";
    const double ly = top + 10 + 18.0 * static_cast<double>(k);
    out << "<line x1=\"" << num(right + 14) << "\" x2=\"" << num(right + 34) << "\" y1=\""
        << num(ly - 4) << "\" y2=\"" << num(ly - 4) << "\" stroke=\"" << palette(k)
        << "\" stroke-width=\"2\"" << (est ? " stroke-dasharray=\"5 3\"" : "") << "/>";
    // A line drawn over an earlier one that it equals hides it: say so in the legend.
    std::string same_as;
    for (std::size_t j = 0; j < k && same_as.empty(); ++j) {
      bool equal = !trace.power_w.empty();
      for (const auto& row : trace.power_w) {
        const std::size_t e = shown[j];
        if (d >= row.size() || e >= row.size()) continue;
        if (std::fabs(row[d] - row[e]) > 0.005 * std::max(std::fabs(row[d]), std::fabs(row[e]))) {
          equal = false;
          break;
        }
      }
      if (equal) same_as = trace.domains[shown[j]];
    }
    out << "<text class=\"label\" x=\"" << num(right + 40) << "\" y=\"" << num(ly) << "\">"
        << html_escape(trace.domains[d]) << (est ? " (est.)" : "")
        << (same_as.empty() ? "" : " (= " + html_escape(same_as) + ")") << "</text>";
  }
  out << "<rect class=\"frame\" x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\""
      << num(right - left) << "\" height=\"" << num(bottom - top) << "\" fill=\"none\"/>";
  out << "</svg>";
  return out.str();
}

std::string scatter_svg(const std::vector<ScatterSeries>& series, const std::string& x_label,
                        const std::string& y_label) {
  const double width = 440, height = 290, left = 64, right = 330, top = 14, bottom = 244;
  double xlo = HUGE_VAL;
  double xhi = -HUGE_VAL;
  double ylo = HUGE_VAL;
  double yhi = -HUGE_VAL;
  for (const auto& s : series) {
    for (const auto& [px, py] : s.points) {
      xlo = std::min(xlo, px);
      xhi = std::max(xhi, px);
      ylo = std::min(ylo, py);
      yhi = std::max(yhi, py);
    }
  }
  const auto [x0, x1] = padded_range(xlo, xhi);
  const auto [y0, y1] = padded_range(ylo, yhi);
  const Scale x{x0, x1, left, right};
  const Scale y{y0, y1, bottom, top};
  std::ostringstream out;
  out << "<svg class=\"chart scatter\" viewBox=\"0 0 " << width << " " << height << "\" width=\""
      << width << "\" height=\"" << height << "\" role=\"img\">";
  out << "<title>" << html_escape(y_label) << " against " << html_escape(x_label) << "</title>";
  y_axis(out, y, left, right, nice_ticks(y0, y1, 5));
  const auto xticks = nice_ticks(x0, x1, 4);
  const double xstep = xticks.size() > 1 ? xticks[1] - xticks[0] : 1;
  for (double t : xticks) {
    out << "<line class=\"grid\" x1=\"" << num(x(t)) << "\" x2=\"" << num(x(t)) << "\" y1=\""
        << num(top) << "\" y2=\"" << num(bottom) << "\"/>";
    out << "<text class=\"tick\" x=\"" << num(x(t)) << "\" y=\"" << num(bottom + 14)
        << "\" text-anchor=\"middle\">" << tick_label(t, xstep) << "</text>";
  }
  out << "<text class=\"axis\" x=\"" << num((left + right) / 2) << "\" y=\"" << num(bottom + 34)
      << "\" text-anchor=\"middle\">" << html_escape(x_label) << "</text>";
  out << "<text class=\"axis\" transform=\"translate(14," << num((top + bottom) / 2)
      << ") rotate(-90)\" text-anchor=\"middle\">" << html_escape(y_label) << "</text>";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    for (const auto& [px, py] : s.points) {
      out << "<circle class=\"point\" cx=\"" << num(x(px)) << "\" cy=\"" << num(y(py))
          << "\" r=\"3.5\" fill=\"" << s.color << "\"/>";
    }
    const double ly = top + 10 + 18.0 * static_cast<double>(k);
    out << "<circle cx=\"" << num(right + 16) << "\" cy=\"" << num(ly - 4) << "\" r=\"4\" fill=\""
        << s.color << "\"/>";
    out << "<text class=\"label\" x=\"" << num(right + 26) << "\" y=\"" << num(ly) << "\">"
        << html_escape(s.label) << "</text>";
  }
  out << "<rect class=\"frame\" x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\""
      << num(right - left) << "\" height=\"" << num(bottom - top) << "\" fill=\"none\"/>";
  out << "</svg>";
  return out.str();
}

}  // namespace greenbench::report
