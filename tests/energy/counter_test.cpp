// counter_delta_j: the one place a wrapped counter becomes a delta.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "greenbench/energy.hpp"

namespace greenbench {
namespace {

TEST(CounterDelta, IncreaseIsTheDifference) {
  EXPECT_DOUBLE_EQ(counter_delta_j(10.0, 12.5, 100.0), 2.5);
  EXPECT_DOUBLE_EQ(counter_delta_j(10.0, 12.5, 0.0), 2.5);
  EXPECT_DOUBLE_EQ(counter_delta_j(7.0, 7.0, 100.0), 0.0);
}

TEST(CounterDelta, DecreaseIsOneWrap) {
  EXPECT_DOUBLE_EQ(counter_delta_j(95.0, 3.0, 100.0), 8.0);
  EXPECT_DOUBLE_EQ(counter_delta_j(100.0, 0.0, 100.0), 0.0);
  EXPECT_DOUBLE_EQ(counter_delta_j(0.5, 0.25, 100.0), 99.75);
}

TEST(CounterDelta, CounterWithoutRangeNeverWraps) {
  // A 64-bit counter that goes back was reset (e.g. driver reload): no energy, not 2^64 J.
  EXPECT_DOUBLE_EQ(counter_delta_j(50.0, 10.0, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(counter_delta_j(50.0, 10.0, -1.0), 0.0);
}

TEST(CounterDelta, InconsistentOrNonFiniteReadingsCountNothing) {
  EXPECT_DOUBLE_EQ(counter_delta_j(150.0, 10.0, 100.0), 0.0);  // previous above the range
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_DOUBLE_EQ(counter_delta_j(nan, 10.0, 100.0), 0.0);
  EXPECT_DOUBLE_EQ(counter_delta_j(10.0, nan, 100.0), 0.0);
  EXPECT_DOUBLE_EQ(counter_delta_j(10.0, inf, 100.0), 0.0);
}

TEST(CounterDelta, SumOverSeveralWrapsIsTheTrueEnergy) {
  // A powercap-like counter: 262143.328850 J range, stepped by up to 0.9 range per read, so it
  // wraps many times but never twice between two reads.
  const double range_j = 262143.328850;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> step(0.0, 0.9 * range_j);
  double true_j = 0;
  double counter = 200000.0;
  double sum = 0;
  int wraps = 0;
  for (int i = 0; i < 1000; ++i) {
    const double e = step(rng);
    true_j += e;
    double next = counter + e;
    if (next >= range_j) {
      next -= range_j;
      ++wraps;
    }
    sum += counter_delta_j(counter, next, range_j);
    counter = next;
  }
  EXPECT_GT(wraps, 100);
  EXPECT_NEAR(sum, true_j, 1e-6 * true_j);
}

}  // namespace
}  // namespace greenbench
