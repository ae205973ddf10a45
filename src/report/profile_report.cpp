// The report's section on the profiled runs of a study with `profile = true`: per model × phase,
// one stacked bar per framework of the op categories' shares of the phase's time, and a table
// of the shares and the energy attributed to each category.
#include "report/profile_report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "greenbench/profile.hpp"
#include "greenbench/report.hpp"
#include "report/format.hpp"
#include "report/svg.hpp"

namespace greenbench::report {
namespace {

constexpr const char* kOverhead = "framework_overhead";

// Profiles grouped by (model, phase), frameworks in name order; unreadable entries are skipped
// and named in `problems`.
std::map<std::pair<std::string, std::string>, std::vector<Profile>> group_profiles(
    const ResultSet& results, std::vector<std::string>* problems) {
  std::map<std::pair<std::string, std::string>, std::vector<Profile>> out;
  for (const nlohmann::json& j : results.profiles) {
    try {
      Profile p = profile_from_json(j);
      out[{p.model, p.phase}].push_back(std::move(p));
    } catch (const std::exception& e) {
      problems->push_back(e.what());
    }
  }
  for (auto& [key, profiles] : out) {
    std::sort(profiles.begin(), profiles.end(),
              [](const Profile& a, const Profile& b) { return a.framework < b.framework; });
  }
  return out;
}

// Category names in report order, framework overhead last.
std::vector<std::string> bar_categories() {
  std::vector<std::string> names = op_categories();
  names.emplace_back(kOverhead);
  return names;
}

double share_of(const Profile& p, const std::string& category) {
  if (category == kOverhead) return p.phase_s > 0 ? p.framework_overhead_s / p.phase_s : 0;
  const auto it = p.categories.find(category);
  return it == p.categories.end() ? 0 : it->second.share;
}

double energy_of(const Profile& p, const std::string& category) {
  if (category == kOverhead) return p.phase_energy_j * share_of(p, kOverhead);
  const auto it = p.categories.find(category);
  return it == p.categories.end() ? 0 : it->second.energy_j;
}

std::string percent(double share) { return format_fixed(share * 100, 1) + "%"; }

std::string fixed(double x, int decimals) { return format_fixed(x, decimals); }

// Shares and attributed energy per category (rows) and framework (columns); categories that no
// framework spends time in are left out.
Table profile_table(const std::vector<Profile>& profiles) {
  Table t;
  t.header.push_back("category");
  t.right.push_back(false);
  for (const Profile& p : profiles) {
    t.header.push_back(p.framework + " time");
    t.header.push_back(p.framework + " ms/step");
    t.header.push_back(p.framework + " J (attributed" +
                       (p.energy_quality == "measured" ? "" : ", estimated") + ")");
    t.right.insert(t.right.end(), {true, true, true});
  }
  for (const std::string& category : bar_categories()) {
    bool any = false;
    for (const Profile& p : profiles) any = any || share_of(p, category) > 0;
    if (!any) continue;
    std::vector<std::string> row{category};
    for (const Profile& p : profiles) {
      const double share = share_of(p, category);
      const double ms = p.steps > 0 ? share * p.phase_s / static_cast<double>(p.steps) * 1e3 : 0;
      row.push_back(percent(share));
      row.push_back(fixed(ms, 2));
      row.push_back(fixed(energy_of(p, category), 3));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string overhead_line(const std::vector<Profile>& profiles) {
  std::ostringstream line;
  line << "Profiler overhead (profiled / unprofiled median step − 1):";
  for (const Profile& p : profiles) {
    line << " " << p.framework << " ";
    if (p.profiler_overhead != p.profiler_overhead) {  // NaN: not measured
      line << "not measured";
    } else {
      line << (p.profiler_overhead >= 0 ? "+" : "") << percent(p.profiler_overhead);
    }
    line << " (" << p.profiler << ");";
  }
  return line.str();
}

std::string escape(const std::string& s) { return html_escape(s); }

}  // namespace

std::string profile_bars_svg(const std::vector<Profile>& profiles) {
  const std::vector<std::string> categories = bar_categories();
  constexpr double kLabelW = 110, kBarW = 520, kBarH = 22, kGap = 10, kTop = 8;
  const double legend_top = kTop + static_cast<double>(profiles.size()) * (kBarH + kGap) + 6;
  // The legend: the categories any framework spends time in, four to a row.
  std::vector<size_t> shown;
  for (size_t c = 0; c < categories.size(); ++c) {
    for (const Profile& p : profiles) {
      if (share_of(p, categories[c]) > 0) {
        shown.push_back(c);
        break;
      }
    }
  }
  constexpr int kPerRow = 4;
  const double height =
      legend_top + 18 * static_cast<double>((shown.size() + kPerRow - 1) / kPerRow) + 6;
  const double width = kLabelW + kBarW + 60;
  std::ostringstream svg;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "<svg class=\"chart profile\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">",
                width, height, width, height);
  svg << buf;
  for (size_t i = 0; i < profiles.size(); ++i) {
    const Profile& p = profiles[i];
    const double y = kTop + static_cast<double>(i) * (kBarH + kGap);
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">", kLabelW - 6,
                  y + kBarH / 2 + 4);
    svg << buf << escape(p.framework) << "</text>";
    double x = kLabelW;
    for (size_t c = 0; c < categories.size(); ++c) {
      const double share = std::clamp(share_of(p, categories[c]), 0.0, 1.0);
      if (share <= 0) continue;
      const double w = share * kBarW;
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\">", x, y,
                    w, kBarH, palette(c).c_str());
      svg << buf << "<title>" << escape(p.framework) << ": " << escape(categories[c]) << " "
          << percent(share) << "</title></rect>";
      x += w;
    }
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">", x + 4,
                  y + kBarH / 2 + 4);
    svg << buf << fixed(p.phase_s, 2) << " s</text>";
  }
  for (size_t k = 0; k < shown.size(); ++k) {
    const double x = 10 + static_cast<double>(k % kPerRow) * 160;
    const double y = legend_top + 18 * static_cast<double>(k / kPerRow);
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">",
                  x, y, palette(shown[k]).c_str(), x + 14, y + 9);
    svg << buf << escape(categories[shown[k]]) << "</text>";
  }
  svg << "</svg>";
  return svg.str();
}

void write_profiles_html(const ResultSet& results, std::ostream& out,
                         const std::function<std::string(const Table&)>& table_html) {
  if (results.profiles.empty()) return;
  std::vector<std::string> problems;
  const auto groups = group_profiles(results, &problems);
  out << "<section id=\"profiles\"><h2>Where the time goes (profiled runs)</h2>\n"
      << "<p>One profiled run per configuration, with each framework's own op profiler; its "
         "timings are slowed by the profiler, so it is never part of the statistics. Shares "
         "are of the profiled phase's wall time; <em>framework_overhead</em> is the time no op "
         "covers. Energy per category is <em>attributed</em>: the median phase energy of the "
         "measured runs split by time share, a model, not a measurement.</p>\n";
  for (const auto& [key, profiles] : groups) {
    out << "<figure><figcaption>" << escape(key.second) << " · " << escape(key.first)
        << "</figcaption>" << profile_bars_svg(profiles) << "</figure>\n"
        << table_html(profile_table(profiles)) << "<p>" << escape(overhead_line(profiles))
        << "</p>\n";
    for (const Profile& p : profiles) {
      if (p.unmapped.empty()) continue;
      std::string names;
      for (const auto& n : p.unmapped) names += (names.empty() ? "" : ", ") + n;
      out << "<p>" << escape(p.framework)
          << ": ops not in the taxonomy (counted in other): " << escape(names) << "</p>\n";
    }
  }
  for (const auto& problem : problems) {
    out << "<p>A stored profile cannot be read: " << escape(problem) << "</p>\n";
  }
  out << "</section>\n";
}

void write_profiles_markdown(const ResultSet& results, std::ostream& out) {
  if (results.profiles.empty()) return;
  std::vector<std::string> problems;
  const auto groups = group_profiles(results, &problems);
  out << "## Where the time goes (profiled runs)\n\n"
      << "Shares of the profiled phase's time per op category; energy is attributed by time "
         "share from the measured runs' median phase energy (a model, not a measurement). "
         "Profiled runs are never part of the statistics.\n\n";
  for (const auto& [key, profiles] : groups) {
    out << "### " << key.second << ": " << key.first << "\n\n"
        << render_markdown(profile_table(profiles)) << "\n"
        << overhead_line(profiles) << "\n\n";
  }
  for (const auto& problem : problems)
    out << "A stored profile cannot be read: " << problem << "\n\n";
}

}  // namespace greenbench::report
