// Number formatting, table rendering and chart axes shared by the reporters.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>

#include "report/format.hpp"
#include "report/quality.hpp"
#include "report/svg.hpp"

namespace greenbench::report {
namespace {

TEST(ReportFormat, Quantities) {
  EXPECT_EQ(format_quantity(327561.4), "327,561");
  EXPECT_EQ(format_quantity(-1234567), "-1,234,567");
  EXPECT_EQ(format_quantity(1000), "1,000");
  EXPECT_EQ(format_quantity(999.94), "999.9");
  EXPECT_EQ(format_quantity(12.345), "12.35");  // 12.345 is stored just above .345
  EXPECT_EQ(format_quantity(1.5), "1.500");
  EXPECT_EQ(format_quantity(0.6), "0.600");
  EXPECT_EQ(format_quantity(0.000123456), "0.000123");
  EXPECT_EQ(format_quantity(0), "0");
  EXPECT_EQ(format_quantity(NAN), "n/a");
  EXPECT_EQ(format_p(0.000155400155), "0.000155");
  EXPECT_EQ(format_p(1.08e-5), "1.08e-05");
}

TEST(ReportFormat, TextTablesAlignByCodePoints) {
  Table t;
  t.header = {"name", "Â12"};
  t.right = {false, true};
  t.rows = {{"δ", "0.5"}, {"long name", "1"}};
  EXPECT_EQ(render_text(t, ""),
            "name       Â12\n"
            "--------------\n"
            "δ          0.5\n"
            "long name    1\n");
}

TEST(ReportFormat, MarkdownEscapesMarkup) {
  Table t;
  t.header = {"model", "J"};
  t.right = {false, true};
  t.rows = {{"a|b <script> x<3 [l](u)", "1.0*"}};
  EXPECT_EQ(render_markdown(t),
            "| model | J |\n| --- | ---: |\n"
            "| a\\|b &lt;script> x<3 \\[l\\](u) | 1.0\\* |\n");
}

TEST(ReportSvg, NiceTicks) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  const auto t = nice_ticks(101.2, 113.4, 5);
  ASSERT_EQ(t.size(), 5u);  // step 12.2 / 5 = 2.44, rounded up to 2.5
  EXPECT_DOUBLE_EQ(t[0], 102.5);
  EXPECT_DOUBLE_EQ(t[4], 112.5);
}

TEST(ReportSvg, TickLabelsKeepTheDecimalsTheStepNeeds) {
  // Values whose ticks fall on 102.5, 105, 107.5, ...: rounding 102.5 to "102" would mislabel
  // the axis.
  const std::string svg = box_plot_svg({{"a", {102, 104, 107, 110, 112}, "#000", false}}, "J");
  EXPECT_NE(svg.find(">102.5<"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">105.0<"), std::string::npos);
}

TEST(ReportSvg, BoxPlotDrawsEveryValueAndMarksEstimates) {
  const std::string svg = box_plot_svg(
      {{"pytorch", {1, 2, 3, 4, 100}, "#111", false}, {"tf<x>", {2, 3}, "#222", true}}, "J");
  std::size_t points = 0;
  for (auto p = svg.find("class=\"point\""); p != std::string::npos;
       p = svg.find("class=\"point\"", p + 1)) {
    ++points;
  }
  EXPECT_EQ(points, 7u);
  EXPECT_NE(svg.find(">tf&lt;x&gt;</text>"), std::string::npos);
  EXPECT_NE(svg.find(">n = 2, est.</text>"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
}

std::vector<std::string> tick_texts(const std::string& svg) {
  std::vector<std::string> out;
  const std::regex re("class=\"tick\"[^>]*>([^<]*)<");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

TEST(ReportSvg, TinyStepsGetDistinctTickLabels) {
  // Energies of a few microjoules once gave the ticks "0 0 0".
  const std::string svg = box_plot_svg({{"a", {1.0e-6, 1.1e-6, 1.3e-6}, "#000", false},
                                        {"b", {1.2e-6, 1.4e-6, 1.5e-6}, "#111", false}},
                                       "J");
  const auto ticks = tick_texts(svg);
  std::set<std::string> y_ticks;
  for (const auto& t : ticks) {
    if (t.rfind("n = ", 0) != 0 && t != "a" && t != "b") y_ticks.insert(t);
  }
  ASSERT_GE(y_ticks.size(), 3U) << svg;
  EXPECT_FALSE(y_ticks.contains("0")) << svg;
}

TEST(ReportSvg, AxisTitleClearsTheWidestTickLabel) {
  const std::string svg =
      box_plot_svg({{"a", {1204001, 1204503, 1210022}, "#000", false}}, "total J");
  // The plot starts right of the tick labels, and the labels right of the title at x = 12.
  const std::regex frame("<line class=\"grid\" x1=\"([0-9.]+)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, frame));
  const double left = std::stod(m[1]);
  for (const auto& t : tick_texts(svg)) {
    if (t.find(',') == std::string::npos) continue;  // the y ticks carry thousands separators
    EXPECT_GT(left - 4 - 5.6 * static_cast<double>(t.size()), 12 + 6) << t;
  }
}

TEST(ReportSvg, TinyRelativeDifferencesDoNotFillTheAxis) {
  // 0.01% apart: the axis spans at least 2% of the values, so the boxes sit close together.
  const std::string svg = box_plot_svg({{"a", {1000.0, 1000.05, 1000.1}, "#000", false},
                                        {"b", {1000.1, 1000.15, 1000.2}, "#111", false}},
                                       "J");
  const auto ticks = tick_texts(svg);
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (const auto& t : ticks) {
    std::string digits;
    for (char ch : t) {
      if (ch != ',') digits += ch;
    }
    if (digits.empty() || !(std::isdigit(static_cast<unsigned char>(digits[0])) != 0)) continue;
    const double v = std::stod(digits);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_GE(hi - lo, 0.015 * 1000) << svg;
}

TEST(ReportSvg, TraceLegendNamesLinesDrawnOverEachOther) {
  RunTrace t;
  t.domains = {"cpu_package", "total"};
  t.t_s = {0, 1, 2, 3};
  t.power_w = {{10, 10}, {12, 12}, {11, 11}, {10, 10}};
  t.phases = {{"load", {0, 0.05}}, {"train", {0.06, 2.9}}, {"save", {2.9, 3}}};
  const std::string svg = trace_svg(t, {});
  EXPECT_NE(svg.find("total (= cpu_package)"), std::string::npos) << svg;
  // The short phases' labels do not share a row: their y positions differ.
  const std::regex label(
      "class=\"phase-label\" font-size=\"11\" x=\"([0-9.]+)\" y=\"([0-9.]+)\">(\\w+)<");
  std::map<std::string, std::string> y_of;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator();
       ++it) {
    y_of[(*it)[3]] = (*it)[2];
  }
  ASSERT_EQ(y_of.size(), 3U) << svg;
  EXPECT_NE(y_of["load"], y_of["train"]);
}

TEST(ReportQuality, TimersAndTheFirstLossAreNotQualityMetrics) {
  EXPECT_TRUE(is_quality_metric("accuracy_top1"));
  EXPECT_TRUE(is_quality_metric("loss"));
  EXPECT_TRUE(is_quality_metric("perplexity"));
  for (const char* m :
       {"train_s", "infer_s", "loss_first", "samples_per_s", "duration", "energy_total"}) {
    EXPECT_FALSE(is_quality_metric(m)) << m;
  }
}

}  // namespace
}  // namespace greenbench::report
