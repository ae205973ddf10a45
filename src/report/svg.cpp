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

// Font sizes of the charts' text, given on each element (not in a style sheet), so that a chart
// lays out the same wherever it is shown and its labels can be checked from the markup.
constexpr double kTickFont = 10;   // tick labels, "n = 8"
constexpr double kLabelFont = 11;  // group names, legends, phase names, axis titles

// Upper bounds of a character's advance, in em, in the sans-serif fonts a browser picks for
// "system-ui, sans-serif" (DejaVu Sans, the widest common one: lowercase and digits at most
// 0.64 em but for m and w, capitals at most 0.8 but for M and W, which reach 0.99). Layout
// reserves this much, so labels never run into each other even in the widest font.
double glyph_em(unsigned char ch) {
  if (ch == 'm' || ch == 'w' || ch == 'M' || ch == 'W' || ch == '@' || ch == '%') return 1.0;
  if ((ch >= 'A' && ch <= 'Z') || ch == '&' || ch >= 0x80) return 0.8;
  return 0.64;
}

// Width in pixels that `text` may take at `font` px (a UTF-8 sequence counts as one character).
double text_width(const std::string& text, double font) {
  double em = 0;
  for (unsigned char ch : text) {
    if ((ch & 0xC0) != 0x80) em += glyph_em(ch);
  }
  return em * font;
}

// `text` cut to at most `width` px, ending in "…" when cut (at least one character kept).
std::string fit(const std::string& text, double width, double font) {
  if (text_width(text, font) <= width) return text;
  const std::string ellipsis = "\u2026";
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t len = 1;
    while (i + len < text.size() && (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80) {
      ++len;
    }
    const std::string next = out + text.substr(i, len);
    if (!out.empty() && text_width(next + ellipsis, font) > width) break;
    out = next;
    i += len;
  }
  return out + ellipsis;
}

// One <text> element; `label` is plain text (escaped here). A label that was cut keeps its full
// text as a tooltip.
void text(std::ostringstream& out, const char* css_class, double font, double x, double y,
          const char* anchor, const std::string& label, const std::string& full = "",
          const std::string& transform = "") {
  out << "<text class=\"" << css_class << "\" font-size=\"" << font << "\"";
  if (transform.empty()) {
    out << " x=\"" << num(x) << "\" y=\"" << num(y) << "\"";
  } else {
    out << " transform=\"" << transform << "\"";
  }
  if (anchor[0] != '\0') out << " text-anchor=\"" << anchor << "\"";
  out << ">";
  if (!full.empty() && full != label) out << "<title>" << html_escape(full) << "</title>";
  out << html_escape(label) << "</text>";
}

// A rotated (-90°) axis title centred on the plot's height, cut to fit it.
void y_title(std::ostringstream& out, double x, double top, double bottom,
             const std::string& label) {
  const std::string shown = fit(label, bottom - top, kLabelFont);
  text(out, "axis", kLabelFont, 0, 0, "middle", shown, label,
       "translate(" + num(x) + "," + num((top + bottom) / 2) + ") rotate(-90)");
}

// The left margin that keeps the rotated axis title (its baseline at x = 14) clear of the
// widest tick label.
double left_margin(const std::vector<double>& ticks, double minimum) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  double widest = 0;
  for (double t : ticks) widest = std::max(widest, text_width(tick_label(t, step), kTickFont));
  return std::max(minimum, 14 + 0.25 * kLabelFont + 4 + widest + 4);
}

// Round ticks for an x axis of `pixels` px whose labels do not run into each other: as many
// as fit, at most `count`.
std::vector<double> x_ticks(double lo, double hi, int count, double pixels) {
  for (int n = count; n > 1; --n) {
    const auto ticks = nice_ticks(lo, hi, n);
    if (ticks.size() < 2) return ticks;
    const double step = ticks[1] - ticks[0];
    double widest = 0;
    for (double t : ticks) widest = std::max(widest, text_width(tick_label(t, step), kTickFont));
    if (step / (hi - lo) * pixels >= widest + 6) return ticks;
  }
  return nice_ticks(lo, hi, 1);
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
    text(out, "tick", kTickFont, left - 4, py + 3.5, "end", tick_label(t, step));
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
  const double top = 14, bottom = 220;
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
  const double left = left_margin(ticks, 50);
  // At least 44 px per box: many groups widen the chart rather than squeeze it.
  const auto count = static_cast<double>(std::max<std::size_t>(1, groups.size()));
  const double width = std::max(232.0, left + 44 * count + 6), right = width - 6;
  const double slot = (right - left) / count;
  // Under each box its name, and "n = 8" (", est." when estimated) on a second line; when a name
  // is wider than its slot, each label becomes one line "name (n = 8, est.)" turned by 45°.
  std::vector<std::string> names, counts;
  bool flat = true;
  for (const auto& g : groups) {
    names.push_back(g.label);
    counts.push_back("n = " + std::to_string(g.values.size()) + (g.estimated ? ", est." : ""));
    flat = flat && text_width(names.back(), kLabelFont) <= slot - 6 &&
           text_width(counts.back(), kTickFont) <= slot - 6;
  }
  constexpr double kSin45 = 0.7071067811865476;
  // A turned label runs down and to the left of its box: no further than the chart's left edge
  // and 150 px down.
  const double turned_max = std::min(150.0, (left + slot / 2 + 4) / kSin45 - kLabelFont);
  double turned = 0;
  if (!flat) {
    for (std::size_t i = 0; i < groups.size(); ++i) {
      turned = std::max(
          turned,
          text_width(fit(names[i] + " (" + counts[i] + ")", turned_max, kLabelFont), kLabelFont));
    }
  }
  const double height = flat ? bottom + 36 : bottom + 12 + turned * kSin45 + kLabelFont;
  std::ostringstream out;
  out << "<svg class=\"chart boxplot\" viewBox=\"0 0 " << num(width) << " " << num(height)
      << "\" width=\"" << num(width) << "\" height=\"" << num(height) << "\" role=\"img\">";
  out << "<title>box plot of " << html_escape(y_label) << "</title>";
  y_axis(out, y, left, right, ticks);
  y_title(out, 14, top, bottom, y_label);
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
    if (flat) {
      text(out, "label", kLabelFont, cx, bottom + 16, "middle", names[gi]);
      text(out, "tick", kTickFont, cx, bottom + 29, "middle", counts[gi]);
    } else {
      const std::string full = names[gi] + " (" + counts[gi] + ")";
      text(out, "label", kLabelFont, 0, 0, "end", fit(full, turned_max, kLabelFont), full,
           "translate(" + num(cx + 4) + "," + num(bottom + 12) + ") rotate(-45)");
    }
  }
  out << "</svg>";
  return out.str();
}

std::string trace_svg(const RunTrace& trace, const std::set<std::string>& estimated_domains) {
  const double left = 64, right = 780, plot_height = 206;
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

  // Phase names in rows above the plot: each goes in the first row where it clears the name
  // before it; one that fits nowhere is cut to the room left over its own phase, or left out
  // (its shaded span keeps the name as a tooltip).
  constexpr std::size_t kMaxRows = 4;
  constexpr double kRow = 13;
  struct PhaseLabel {
    std::string text;
    double x = 0;
    std::size_t row = 0;
  };
  std::vector<PhaseLabel> labels(trace.phases.size());
  std::vector<double> row_end(kMaxRows, -HUGE_VAL);
  std::size_t rows = 1;
  for (std::size_t i = 0; i < trace.phases.size(); ++i) {
    const auto& [name, span] = trace.phases[i];
    const double x0 = x(span.first), x1 = x(span.second);
    const double w = text_width(name, kLabelFont);
    const double px = x0 + 3 + w <= right ? x0 + 3 : std::max(left, right - w);
    std::size_t row = 0;
    while (row < kMaxRows && px < row_end[row] + 4) ++row;
    if (row < kMaxRows) {
      labels[i] = {name, px, row};
      row_end[row] = px + w;
    } else {
      row = static_cast<std::size_t>(std::min_element(row_end.begin(), row_end.end()) -
                                     row_end.begin());
      const double start = std::max(x0 + 3, row_end[row] + 4);
      const std::string cut = fit(name, std::min(right, std::max(x1, start)) - start, kLabelFont);
      if (start < x1 && text_width(cut, kLabelFont) <= right - start &&
          start + text_width(cut, kLabelFont) <= std::max(x1, start) + 1e-9) {
        labels[i] = {cut, start, row};
        row_end[row] = start + text_width(cut, kLabelFont);
      }
    }
    if (!labels[i].text.empty()) rows = std::max(rows, labels[i].row + 1);
  }
  const double top = 23 + kRow * static_cast<double>(rows - 1), bottom = top + plot_height;
  const Scale y{0, pmax * 1.08, bottom, top};

  // The legend, right of the plot: the SVG widens to its longest entry (at most 260 px).
  std::vector<std::string> legend;
  for (std::size_t k = 0; k < shown.size(); ++k) {
    const std::size_t d = shown[k];
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
    legend.push_back(trace.domains[d] +
                     (estimated_domains.contains(trace.domains[d]) ? " (est.)" : "") +
                     (same_as.empty() ? "" : " (= " + same_as + ")"));
  }
  double legend_width = 0;
  for (const auto& l : legend) legend_width = std::max(legend_width, text_width(l, kLabelFont));
  legend_width = std::min(260.0, legend_width);
  const double width = std::max(940.0, right + 40 + legend_width + 6);
  const double height =
      std::max(bottom + 42, top + 10 + 18.0 * static_cast<double>(shown.size()) + 4);

  std::ostringstream out;
  out << "<svg class=\"chart trace\" viewBox=\"0 0 " << num(width) << " " << num(height)
      << "\" width=\"" << num(width) << "\" height=\"" << num(height) << "\" role=\"img\">";
  out << "<title>power over time of " << html_escape(trace.model) << " / "
      << html_escape(trace.framework) << " / " << html_escape(trace.phase) << "</title>";
  // Phase spans first, so that lines are drawn over them; three tints, so that a phase differs
  // from the one before it and from one it lies in.
  static const char* kTints[] = {"#e8eef7", "#f3e9dc", "#e4f1e8"};
  for (std::size_t i = 0; i < trace.phases.size(); ++i) {
    const auto& [name, span] = trace.phases[i];
    const double x0 = x(span.first), x1 = x(span.second);
    out << "<rect class=\"phase\" x=\"" << num(x0) << "\" y=\"" << num(top) << "\" width=\""
        << num(std::max(0.5, x1 - x0)) << "\" height=\"" << num(bottom - top) << "\" fill=\""
        << kTints[i % 3] << "\"><title>" << html_escape(name) << "</title></rect>";
    if (labels[i].text.empty()) continue;
    text(out, "phase-label", kLabelFont, labels[i].x,
         top - 6 - kRow * static_cast<double>(rows - 1 - labels[i].row), "", labels[i].text, name);
  }
  y_axis(out, y, left, right, nice_ticks(0, pmax * 1.08, 5));
  const auto xticks = x_ticks(t0, t1, 8, right - left);
  const double xstep = xticks.size() > 1 ? xticks[1] - xticks[0] : 1;
  for (double t : xticks) {
    text(out, "tick", kTickFont, x(t), bottom + 14, "middle", tick_label(t, xstep));
  }
  text(out, "axis", kLabelFont, (left + right) / 2, bottom + 34, "middle", "time (s)");
  y_title(out, 14, top, bottom, "power (W)");
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
    text(out, "label", kLabelFont, right + 40, ly, "", fit(legend[k], legend_width, kLabelFont),
         legend[k]);
  }
  out << "<rect class=\"frame\" x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\""
      << num(right - left) << "\" height=\"" << num(bottom - top) << "\" fill=\"none\"/>";
  out << "</svg>";
  return out.str();
}

std::string scatter_svg(const std::vector<ScatterSeries>& series, const std::string& x_label,
                        const std::string& y_label) {
  const double plot_width = 266, top = 14, bottom = 244;
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
  const auto yticks = nice_ticks(y0, y1, 5);
  const double left = left_margin(yticks, 64), right = left + plot_width;
  const Scale x{x0, x1, left, right};
  const Scale y{y0, y1, bottom, top};
  // The legend, right of the plot, one entry per 18 px: the SVG grows to hold it (names longer
  // than 200 px are cut, the full name kept as a tooltip).
  double legend_width = 0;
  for (const auto& s : series)
    legend_width = std::max(legend_width, text_width(s.label, kLabelFont));
  legend_width = std::min(200.0, legend_width);
  const double width = std::max(440.0, right + 26 + legend_width + 6);
  const double height =
      std::max(bottom + 46, top + 10 + 18.0 * static_cast<double>(series.size()) + 4);
  std::ostringstream out;
  out << "<svg class=\"chart scatter\" viewBox=\"0 0 " << num(width) << " " << num(height)
      << "\" width=\"" << num(width) << "\" height=\"" << num(height) << "\" role=\"img\">";
  out << "<title>" << html_escape(y_label) << " against " << html_escape(x_label) << "</title>";
  y_axis(out, y, left, right, yticks);
  const auto xticks = x_ticks(x0, x1, 4, right - left);
  const double xstep = xticks.size() > 1 ? xticks[1] - xticks[0] : 1;
  for (double t : xticks) {
    out << "<line class=\"grid\" x1=\"" << num(x(t)) << "\" x2=\"" << num(x(t)) << "\" y1=\""
        << num(top) << "\" y2=\"" << num(bottom) << "\"/>";
    text(out, "tick", kTickFont, x(t), bottom + 14, "middle", tick_label(t, xstep));
  }
  text(out, "axis", kLabelFont, (left + right) / 2, bottom + 34, "middle",
       fit(x_label, right - left, kLabelFont), x_label);
  y_title(out, 14, top, bottom, y_label);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    for (const auto& [px, py] : s.points) {
      out << "<circle class=\"point\" cx=\"" << num(x(px)) << "\" cy=\"" << num(y(py))
          << "\" r=\"3.5\" fill=\"" << s.color << "\"/>";
    }
    const double ly = top + 10 + 18.0 * static_cast<double>(k);
    out << "<circle cx=\"" << num(right + 16) << "\" cy=\"" << num(ly - 4) << "\" r=\"4\" fill=\""
        << s.color << "\"/>";
    text(out, "label", kLabelFont, right + 26, ly, "", fit(s.label, legend_width, kLabelFont),
         s.label);
  }
  out << "<rect class=\"frame\" x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\""
      << num(right - left) << "\" height=\"" << num(bottom - top) << "\" fill=\"none\"/>";
  out << "</svg>";
  return out.str();
}

}  // namespace greenbench::report
