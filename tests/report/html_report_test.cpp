// The HTML report: self-contained, one SVG per chart, estimated values marked, text escaped, and
// it loads in a real browser (headless Chromium) with its charts in the DOM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "greenbench/report.hpp"
#include "report/fixture.hpp"
#include "report/process.hpp"
#include "report/svg_geometry.hpp"

namespace greenbench {
namespace {

using testing::fixture_results;
using testing::fixture_trace;
using testing::FixtureOptions;

std::vector<RunTrace> fixture_traces() {
  return {fixture_trace("ncf", "pytorch", "train", 5),
          fixture_trace("ncf", "tensorflow", "train", 14)};
}

std::string html_for(const ResultSet& rs, const std::vector<RunTrace>& traces = fixture_traces()) {
  std::ostringstream out;
  write_html_report(rs, compare_results(rs), traces, out);
  return out.str();
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

TEST(HtmlReport, IsSelfContained) {
  const std::string html = html_for(fixture_results());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<script"), 0u);
  EXPECT_EQ(count(html, "src="), 0u);
  EXPECT_EQ(count(html, "@import"), 0u);
  EXPECT_EQ(count(html, "url("), 0u);
  EXPECT_EQ(count(html, "<link"), 0u);
  EXPECT_EQ(count(html, "<img"), 0u);
  // Every link is to an anchor in the page.
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator();
       ++it) {
    EXPECT_EQ((*it)[1].str().rfind('#', 0), 0u) << (*it)[0];
  }
  EXPECT_EQ(count(html, "http://"), 0u);
  EXPECT_EQ(count(html, "https://"), 0u);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(HtmlReport, HasOneSvgPerChart) {
  const auto rs = fixture_results();
  const auto set = compare_results(rs);
  std::ostringstream out;
  write_html_report(rs, set, fixture_traces(), out);
  const std::string html = out.str();
  // One box plot per comparison, one trace per representative run, one scatter per
  // model x phase with a quality metric (ncf train, resnet50 train).
  EXPECT_EQ(count(html, "<svg class=\"chart boxplot\""), set.comparisons.size());
  EXPECT_EQ(count(html, "<svg class=\"chart trace\""), 2u);
  EXPECT_EQ(count(html, "<svg class=\"chart scatter\""), 2u);
  EXPECT_EQ(count(html, "<svg"), set.comparisons.size() + 4);
  EXPECT_EQ(count(html, "<svg"), count(html, "</svg>"));
  // Box plots draw every measured value: 16 points per comparison.
  EXPECT_GE(count(html, "class=\"point\""), set.comparisons.size() * 16);
  // Phases of the traces are shaded and named.
  EXPECT_EQ(count(html, "class=\"phase\""), 4u);
}

TEST(HtmlReport, ContainsSettingsEnvironmentTablesAndFailures) {
  const std::string html = html_for(fixture_results());
  for (const char* s :
       {"id=\"settings\"", "id=\"environment\"", "Test CPU @ 2.0GHz", "interleaved",
        "id=\"tables\"", "id=\"failed\"", "resnet50/tensorflow/infer #9: timed out after 600 s",
        "hit_rate_10", "accuracy_top1", "p_holm", "Â12", "ratio a/b [95% CI]"}) {
    EXPECT_NE(html.find(s), std::string::npos) << s;
  }
}

TEST(HtmlReport, IdlePowerNeverMeasuredIsNotShownAsZero) {
  auto rs = fixture_results();
  rs.environment["idle_power_w"] = {{"cpu_package", 0.0}, {"total", 0.0}};
  std::string html = html_for(rs);
  EXPECT_NE(html.find("not measured (no source gave an idle reading)"), std::string::npos);
  EXPECT_EQ(html.find("<th>total</th><td>0.0</td>"), std::string::npos);
  rs.environment.erase("idle_power_w");
  rs.environment["idle_baseline_s"] = 0;
  html = html_for(rs);
  EXPECT_NE(html.find("not measured (idle_baseline = 0)"), std::string::npos);
  // A measured idle power is shown as it is.
  rs.environment["idle_power_w"] = {{"total", 12.5}};
  html = html_for(rs);
  EXPECT_NE(html.find("12.5"), std::string::npos);
  EXPECT_EQ(html.find("not measured (idle"), std::string::npos);
  EXPECT_EQ(html.find("not measured (no source"), std::string::npos);
}

TEST(HtmlReport, WarmupIsCountedInRuns) {
  const std::string html = html_for(fixture_results());
  EXPECT_NE(html.find("warm-up runs excluded (8 runs)"), std::string::npos);
}

TEST(HtmlReport, MarksEstimatedValues) {
  const std::string html = html_for(fixture_results());
  // The legend explains the badge, and tensorflow's estimated CPU energy carries it.
  EXPECT_NE(html.find("= estimated, not measured (present in this report)"), std::string::npos);
  EXPECT_GT(count(html, "class=\"est\""), 10u);
  EXPECT_NE(html.find("n = 8, est."), std::string::npos);             // box plot label
  EXPECT_NE(html.find("total energy (J, est.)"), std::string::npos);  // box plot axis
  // Some CPU energy is measured, so no banner.
  EXPECT_EQ(html.find("id=\"estimated-banner\""), std::string::npos);
}

TEST(HtmlReport, BannerWhenAllCpuEnergyIsEstimated) {
  FixtureOptions opt;
  opt.cpu_estimated_all = true;
  const std::string html = html_for(fixture_results(opt));
  const auto banner = html.find("id=\"estimated-banner\"");
  ASSERT_NE(banner, std::string::npos);
  EXPECT_LT(banner, html.find("id=\"summary\""));  // at the top
}

TEST(HtmlReport, NoEstimateNoBadgeInTables) {
  FixtureOptions opt;
  opt.cpu_estimated_tf = false;
  const std::string html = html_for(fixture_results(opt));
  EXPECT_NE(html.find("(none in this report)"), std::string::npos);
  // Only the legend's own badge.
  EXPECT_EQ(count(html, "class=\"est\""), 1u);
}

TEST(HtmlReport, EscapesModelNamesAndReasons) {
  FixtureOptions opt;
  opt.odd_model = "<img src=x onerror=alert(1)>&\"'";
  const std::string html = html_for(fixture_results(opt));
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
}

TEST(HtmlReport, EscapeFunction) {
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(html_escape("plain é"), "plain é");
}

// The parts of the page in the order a reader needs them: verdicts, then the numbers behind
// them, then charts, then how the study was run.
TEST(HtmlReport, VerdictsComeFirstThenDetails) {
  const std::string html = html_for(fixture_results());
  std::vector<std::size_t> at;
  for (const char* id :
       {"id=\"summary\"", "id=\"tables\"", "id=\"boxplots\"", "id=\"quality\"", "id=\"traces\"",
        "id=\"settings\"", "id=\"failed\"", "id=\"environment\""}) {
    at.push_back(html.find(id));
    ASSERT_NE(at.back(), std::string::npos) << id;
  }
  EXPECT_TRUE(std::is_sorted(at.begin(), at.end()));
  // The verdict table: per model, who is cheaper and by how much, for energy and run time.
  const std::string verdicts = html.substr(at[0], at[1] - at[0]);
  EXPECT_EQ(count(verdicts, "<table class=\"verdicts\""), 2u);  // train and infer
  EXPECT_NE(verdicts.find("Energy: pytorch cheaper for 1 of 2 models, tensorflow for 1; 0 no "
                          "clear difference."),
            std::string::npos);
  EXPECT_NE(verdicts.find("tensorflow cheaper"), std::string::npos);
  EXPECT_NE(verdicts.find("pytorch takes 1.23× [1.18, 1.27]"), std::string::npos);
  EXPECT_NE(verdicts.find("pytorch uses 1.21× [1.17, 1.25]"), std::string::npos);
  EXPECT_NE(verdicts.find("no clear difference"), std::string::npos);
  // Diagnostics are folded away under the cost rows.
  const std::string tables = html.substr(at[1], at[2] - at[1]);
  EXPECT_LT(tables.find("energy_dram (primary)"), tables.find("<details>"));
  EXPECT_GT(tables.find("hit_rate_10 (not a cost)"), tables.find("<details>"));
}

TEST(HtmlReport, WarnsAtTheTopWhenNoVerdictCanBeSignificant) {
  auto rs = fixture_results();
  // Two runs per configuration: the smallest exact p is 0.333.
  std::erase_if(rs.observations, [](const Observation& o) { return !o.warmup && o.run > 2; });
  const std::string html = html_for(rs);
  const auto warning = html.find("id=\"small-n\"");
  ASSERT_NE(warning, std::string::npos);
  EXPECT_LT(warning, html.find("id=\"summary\""));
  EXPECT_NE(html.find("no verdict can be significant with 2 runs per side"), std::string::npos);
  EXPECT_EQ(html_for(fixture_results()).find("id=\"small-n\""), std::string::npos);
}

TEST(HtmlReport, SettingsAreATableOfConfigurations) {
  auto rs = fixture_results();
  for (const char* fw : {"pytorch", "tensorflow"}) {
    for (const char* model : {"ncf", "resnet50"}) {
      for (const char* phase : {"train", "infer"}) {
        ConfigInfo ci{model, fw, phase, {}};
        ci.info["threads"] = "2";
        ci.info["framework_version"] = std::string(fw) == "pytorch" ? "2.15.0" : "2.21.0";
        ci.info["framework_option.execution"] = std::string(fw) == "pytorch" ? "eager" : "graph";
        rs.config_info.push_back(ci);
      }
    }
  }
  const std::string html = html_for(rs);
  const auto section = html.find("id=\"settings\"");
  ASSERT_NE(section, std::string::npos);
  const std::string part = html.substr(section, html.find("</section>", section) - section);
  // Shared settings once, above the table.
  EXPECT_NE(part.find("<b>threads</b> 2"), std::string::npos);
  EXPECT_NE(part.find("<b>order</b> interleaved"), std::string::npos);
  EXPECT_NE(part.find("<b>repetitions</b> 8"), std::string::npos);
  // One row per configuration, columns only for what differs.
  EXPECT_EQ(count(part, "<tr><td>"), 8u);
  EXPECT_NE(part.find("<th>execution</th>"), std::string::npos);
  EXPECT_NE(part.find("<th>framework_version</th>"), std::string::npos);
  EXPECT_EQ(part.find("<th>threads</th>"), std::string::npos);
  EXPECT_NE(part.find("<td>train</td><td>ncf</td><td>tensorflow</td><td class=\"num\">8</td>"
                      "<td class=\"num\">0</td><td>graph</td><td>2.21.0</td>"),
            std::string::npos);
  // The failed run is counted with its configuration.
  EXPECT_NE(part.find("<td>infer</td><td>resnet50</td><td>tensorflow</td><td class=\"num\">8</td>"
                      "<td class=\"num\">1</td>"),
            std::string::npos);
  // No flat list of configurations any more.
  EXPECT_EQ(part.find("<th>configurations</th>"), std::string::npos);
}

std::vector<std::string> svgs_of(const std::string& html) {
  std::vector<std::string> out;
  for (auto pos = html.find("<svg"); pos != std::string::npos; pos = html.find("<svg", pos + 4)) {
    out.push_back(html.substr(pos, html.find("</svg>", pos) + 6 - pos));
  }
  return out;
}

// No two labels of any chart of the report overlap, and none runs outside its chart.
TEST(HtmlReport, NoChartLabelsOverlap) {
  FixtureOptions opt;
  opt.odd_model = "a_model_with_a_rather_long_name_for_its_charts";
  for (const auto& rs : {fixture_results(), fixture_results(opt)}) {
    const auto svgs = svgs_of(html_for(rs));
    ASSERT_GT(svgs.size(), 10u);
    for (const auto& svg : svgs) {
      const auto problems = testing::label_problems(svg);
      EXPECT_TRUE(problems.empty()) << problems.front() << "\n" << svg.substr(0, 300);
    }
  }
}

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/snap/bin/"}) {
      const std::string path = std::string(dir) + name;
      if (access(path.c_str(), X_OK) == 0) return path;
    }
  }
  return "";
}

// Loads a page in headless Chromium; returns the serialised DOM and what the page's console said.
struct BrowserResult {
  int status = 0;
  std::string dom, console;
};

BrowserResult load_in_chromium(const std::string& chromium, const std::string& html) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("greenbench-html-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "report.html";
  {
    std::ofstream out(file);
    out << html;
  }
  const auto r = testing::run_process(
      {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
       "--user-data-dir=" + (dir / "profile").string(), "--dump-dom", "file://" + file.string()});
  std::filesystem::remove_all(dir);
  BrowserResult b{r.status, r.out, ""};
  // Chromium logs console messages (errors, blocked fetches) as INFO:CONSOLE lines.
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(":CONSOLE") != std::string::npos) b.console += line + "\n";
  }
  return b;
}

TEST(HtmlReport, LoadsInHeadlessChromiumWithoutErrorsOrFetches) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const auto rs = fixture_results();
  const auto set = compare_results(rs);
  std::ostringstream html;
  write_html_report(rs, set, fixture_traces(), html);
  const BrowserResult r = load_in_chromium(chromium, html.str());
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.console, "") << "the page logged errors or blocked fetches";
  const std::string& dom = r.dom;
  // The parsed DOM, serialised back by the browser: the SVG elements survived parsing.
  EXPECT_NE(dom.find("<h1>greenbench report: fixture</h1>"), std::string::npos);
  EXPECT_EQ(count(dom, "<svg class=\"chart boxplot\""), set.comparisons.size());
  EXPECT_EQ(count(dom, "<svg class=\"chart trace\""), 2u);
  EXPECT_EQ(count(dom, "<svg class=\"chart scatter\""), 2u);
  EXPECT_NE(dom.find("<polyline"), std::string::npos);
  EXPECT_NE(dom.find("</html>"), std::string::npos);
}

TEST(HtmlReport, ChromiumCheckSeesAFetchTheReportWouldMake) {
  // The control for the test above: the same report with an external image must be caught.
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const auto rs = fixture_results();
  std::ostringstream html;
  write_html_report(rs, compare_results(rs), fixture_traces(), html);
  std::string page = html.str();
  const auto body = page.find("<body>");
  ASSERT_NE(body, std::string::npos);
  page.insert(body + 6, "<img src=\"http://127.0.0.1:9/x.png\">");
  const BrowserResult r = load_in_chromium(chromium, page);
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.console.find("127.0.0.1:9/x.png"), std::string::npos) << r.console;
}

// The glyph-width bound of the label check holds for the fonts a real browser uses: every label
// of the report's charts, measured by headless Chromium (getBBox), is at most as wide as the
// check assumes. The page is the report's charts with a script that writes the measurements
// into the DOM (the report itself runs no script).
TEST(HtmlReport, ChromiumLabelsAreNoWiderThanTheCheckAssumes) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  FixtureOptions opt;
  opt.odd_model = "a_model_with_a_rather_long_name_for_its_charts";
  std::string page =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>svg { font-family: system-ui, "
      "sans-serif; }</style></head><body>";
  std::vector<testing::TextBox> boxes;
  for (const auto& svg : svgs_of(html_for(fixture_results(opt)))) {
    page += svg;
    for (const auto& b : testing::text_boxes(svg)) boxes.push_back(b);
  }
  page +=
      "<pre id=\"out\"></pre><script>const w = [];"
      "for (const t of document.querySelectorAll('svg text')) w.push(t.getBBox().width.toFixed(2));"
      "document.getElementById('out').textContent = 'W:' + w.join(',') + ':W';</script>"
      "</body></html>";
  const BrowserResult r = load_in_chromium(chromium, page);
  ASSERT_EQ(r.status, 0);
  const auto from = r.dom.find("W:"), to = r.dom.find(":W");
  ASSERT_NE(from, std::string::npos) << r.dom.substr(0, 500);
  std::vector<double> widths;
  std::istringstream in(r.dom.substr(from + 2, to - from - 2));
  for (std::string w; std::getline(in, w, ',');) widths.push_back(std::stod(w));
  ASSERT_EQ(widths.size(), boxes.size());
  double widest_em = 0;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const double assumed = boxes[i].x1 - boxes[i].x0;
    EXPECT_LE(widths[i], assumed + 0.5) << "'" << boxes[i].text << "'";
    const auto n = testing::visible_length(boxes[i].text);
    if (n >= 4) widest_em = std::max(widest_em, widths[i] / (n * boxes[i].font_size));
  }
  // The bound is not vacuous: real labels use most of it.
  EXPECT_GT(widest_em, 0.4);
}

}  // namespace
}  // namespace greenbench
