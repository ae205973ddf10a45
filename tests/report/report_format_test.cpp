// Number formatting, table rendering and chart axes shared by the reporters.
#include <gtest/gtest.h>

#include <cmath>

#include "report/format.hpp"
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
  EXPECT_NE(svg.find("tf&lt;x&gt; (est.)"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
}

}  // namespace
}  // namespace greenbench::report
