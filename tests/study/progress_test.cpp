// The ETA of a running study: medians per configuration, the mean of them for the rest.
#include "study/progress.hpp"

#include <gtest/gtest.h>

namespace greenbench {
namespace {

TEST(Progress, NothingMeasuredMeansNoEstimate) {
  EXPECT_FALSE(estimate_remaining_s({}, {0, 1, 2}).has_value());
  EXPECT_FALSE(estimate_remaining_s({{0, {}}}, {0}).has_value());
}

TEST(Progress, EachRunTakesTheMedianOfItsConfiguration) {
  // Configuration 0: median 2 s (the slow outlier does not move it); configuration 1: 10 s.
  const std::map<int, std::vector<double>> durations{{0, {2, 1, 30}}, {1, {10, 12, 8, 11}}};
  // median of {8, 10, 11, 12} is 10.5
  EXPECT_DOUBLE_EQ(*estimate_remaining_s(durations, {0, 0, 1}), 2 + 2 + 10.5);
}

TEST(Progress, AConfigurationNotYetRunTakesTheMeanOfTheOthers) {
  const std::map<int, std::vector<double>> durations{{0, {2}}, {1, {10}}};
  EXPECT_DOUBLE_EQ(*estimate_remaining_s(durations, {2, 2}), 2 * (2 + 10) / 2.0);
  EXPECT_DOUBLE_EQ(*estimate_remaining_s(durations, {}), 0);
}

TEST(Progress, DurationsAreShownAsAPersonReadsThem) {
  EXPECT_EQ(format_eta(0), "0s");
  EXPECT_EQ(format_eta(59.4), "59s");
  EXPECT_EQ(format_eta(250), "4m10s");
  EXPECT_EQ(format_eta(3900), "1h05m");
  EXPECT_EQ(format_eta(-3), "0s");
}

}  // namespace
}  // namespace greenbench
