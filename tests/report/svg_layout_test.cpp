// The charts' text labels stay readable: no two of them overlap and none runs outside its
// picture, also with crowded inputs (many boxes, long names, short adjacent phases, long legend
// entries, wide tick labels). Boxes are estimated from the markup (tests/report/svg_geometry.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "report/svg.hpp"
#include "report/svg_geometry.hpp"

namespace greenbench {
namespace {

using testing::label_problems;
using testing::overlap;
using testing::text_boxes;

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

// The checker itself: two labels drawn on top of each other are caught, side by side are not,
// and rotation is taken into account.
TEST(SvgGeometry, DetectsOverlapAndRotation) {
  const std::string two =
      "<svg viewBox=\"0 0 200 100\"><text x=\"10\" y=\"50\" font-size=\"10\">abcdef</text>"
      "<text x=\"40\" y=\"52\" font-size=\"10\">ghijkl</text></svg>";
  EXPECT_EQ(label_problems(two).size(), 1u) << joined(label_problems(two));
  const std::string apart =
      "<svg viewBox=\"0 0 200 100\"><text x=\"10\" y=\"50\" font-size=\"10\">abc</text>"
      "<text x=\"60\" y=\"50\" font-size=\"10\">def</text></svg>";
  EXPECT_TRUE(label_problems(apart).empty()) << joined(label_problems(apart));
  // Rotated -90° about (30, 90) the first label stands upright, clear of one to its right that
  // it would hit lying flat.
  const std::string upright =
      "<svg viewBox=\"0 0 200 100\"><text transform=\"translate(30,90) rotate(-90)\" "
      "font-size=\"10\">abcdefgh</text><text x=\"36\" y=\"88\" font-size=\"10\">xy</text></svg>";
  EXPECT_TRUE(label_problems(upright).empty()) << joined(label_problems(upright));
  const std::string flat =
      "<svg viewBox=\"0 0 200 100\"><text x=\"30\" y=\"90\" font-size=\"10\">abcdefgh</text>"
      "<text x=\"36\" y=\"88\" font-size=\"10\">xy</text></svg>";
  EXPECT_FALSE(label_problems(flat).empty());
  // Outside the picture, and without a size of its own.
  EXPECT_FALSE(label_problems("<svg viewBox=\"0 0 50 50\"><text x=\"45\" y=\"20\" "
                              "font-size=\"10\">too long</text></svg>")
                   .empty());
  EXPECT_FALSE(
      label_problems("<svg viewBox=\"0 0 90 50\"><text x=\"5\" y=\"20\">a</text></svg>").empty());
  // Entities count as one character.
  const auto boxes = text_boxes("<svg><text x=\"0\" y=\"0\" font-size=\"10\">a&amp;b</text></svg>");
  ASSERT_EQ(boxes.size(), 1u);
  EXPECT_NEAR(boxes[0].x1 - boxes[0].x0, (0.64 + 0.8 + 0.64) * 10, 1e-9);
}

std::vector<double> spread(double center, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(center * (1 + 0.01 * (i % 5 - 2)));
  return v;
}

TEST(SvgLayout, BoxPlotOfTwoFrameworksWithEstimates) {
  const std::string svg =
      report::box_plot_svg({{"pytorch", spread(1200, 8), report::palette(0), false},
                            {"tensorflow", spread(1000, 8), report::palette(1), true}},
                           "package energy (J)");
  EXPECT_TRUE(label_problems(svg).empty()) << joined(label_problems(svg));
}

TEST(SvgLayout, BoxPlotWithManyLongLabels) {
  std::vector<report::BoxGroup> groups;
  for (int i = 0; i < 8; ++i) {
    groups.push_back({"framework-with-a-long-name-" + std::to_string(i), spread(1000 + 50 * i, 5),
                      report::palette(static_cast<std::size_t>(i)), i % 2 == 1});
  }
  const std::string svg = report::box_plot_svg(groups, "energy_cpu_package_and_more (J)");
  EXPECT_TRUE(label_problems(svg).empty()) << joined(label_problems(svg));
}

TEST(SvgLayout, BoxPlotWithWideTickLabels) {
  // Values around 1.2 million with a small spread: long tick labels on the y axis.
  const std::string svg =
      report::box_plot_svg({{"a", spread(1234567.0, 6), report::palette(0), false},
                            {"b", spread(1234999.0, 6), report::palette(1), false}},
                           "energy (J)");
  EXPECT_TRUE(label_problems(svg).empty()) << joined(label_problems(svg));
}

RunTrace crowded_trace() {
  RunTrace t;
  t.model = "transformer_xl";
  t.framework = "tensorflow";
  t.phase = "train";
  t.domains = {"cpu_package", "dram", "gpu_board_power_of_device_0", "total"};
  for (int i = 0; i <= 400; ++i) {
    const double ts = 0.05 * i;
    t.t_s.push_back(ts);
    t.power_w.push_back({20 + ts, 5, 100 + ts, 125 + 2 * ts});
  }
  // Many short phases one after the other, with long names, and one at the very end.
  double start = 0;
  for (int i = 0; i < 9; ++i) {
    const double len = i == 0 ? 4.0 : 0.6;
    t.phases.push_back({"phase_with_long_name_" + std::to_string(i), {start, start + len}});
    start += len;
  }
  t.phases.push_back({"evaluate_on_the_validation_set", {19.7, 20.0}});
  return t;
}

TEST(SvgLayout, TraceWithManyShortPhasesAndLongDomains) {
  const std::string svg = report::trace_svg(crowded_trace(), {"cpu_package", "total"});
  EXPECT_TRUE(label_problems(svg).empty()) << joined(label_problems(svg));
}

TEST(SvgLayout, TraceOfAnOrdinaryRun) {
  RunTrace t;
  t.model = "ncf";
  t.framework = "pytorch";
  t.phase = "train";
  t.domains = {"cpu_package", "cpu_package:0", "dram", "total"};
  for (int i = 0; i <= 120; ++i) {
    const double ts = 0.1 * i;
    t.t_s.push_back(ts);
    t.power_w.push_back({40, 40, 5, 45});
  }
  t.phases = {{"setup", {0.0, 2.0}}, {"train", {2.0, 11.0}}, {"evaluate", {11.0, 12.0}}};
  const std::string svg = report::trace_svg(t, {"cpu_package", "total"});
  EXPECT_TRUE(label_problems(svg).empty()) << joined(label_problems(svg));
}

TEST(SvgLayout, ScatterWithManyLongSeriesAndSmallValues) {
  std::vector<report::ScatterSeries> series;
  for (int k = 0; k < 12; ++k) {
    report::ScatterSeries s{"a-framework-called-number-" + std::to_string(k),
                            report::palette(static_cast<std::size_t>(k)),
                            {}};
    for (int i = 0; i < 5; ++i) {
      s.points.emplace_back(123456.0 + 1000 * k + 17 * i, 0.000123 + 0.0000011 * (k + i));
    }
    series.push_back(s);
  }
  const std::string svg = report::scatter_svg(series, "energy_total (J)", "accuracy_top1");
  EXPECT_TRUE(label_problems(svg).empty()) << joined(label_problems(svg));
}

}  // namespace
}  // namespace greenbench
