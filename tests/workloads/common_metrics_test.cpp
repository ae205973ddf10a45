#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/metrics.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

TEST(HitsAtK, CountsGroupsWhosePositiveIsAmongTheTopK) {
  // Groups of 4, positive first. k = 2.
  const std::vector<float> scores = {
      0.9F, 0.1F, 0.2F, 0.3F,  // best: hit
      0.5F, 0.9F, 0.1F, 0.2F,  // second: hit
      0.1F, 0.9F, 0.8F, 0.2F,  // third: miss
      0.0F, 0.1F, 0.2F, 0.3F,  // last: miss
  };
  EXPECT_EQ(count_hits_at_k(scores, 4, 2), 2);
  EXPECT_EQ(count_hits_at_k(scores, 4, 1), 1);
  EXPECT_EQ(count_hits_at_k(scores, 4, 4), 4);
}

TEST(HitsAtK, TiesCountAgainstThePositive) {
  // A model that scores everything alike must not look perfect.
  const std::vector<float> all_equal(101, 0.5F);
  EXPECT_EQ(count_hits_at_k(all_equal, 101, 10), 0);
  const std::vector<float> one_tie = {1.0F, 1.0F, 0.0F};
  EXPECT_EQ(count_hits_at_k(one_tie, 3, 1), 0);
  EXPECT_EQ(count_hits_at_k(one_tie, 3, 2), 1);
}

TEST(HitsAtK, RejectsPartialGroups) {
  const std::vector<float> scores(7, 0.0F);
  EXPECT_THROW((void)count_hits_at_k(scores, 4, 1), Error);
}

TEST(TopK, CountsLabelsAmongTheKLargestLogits) {
  // 3 rows × 4 classes.
  const std::vector<float> logits = {
      0.1F, 0.7F, 0.2F, 0.0F,  // label 1: rank 0
      0.5F, 0.1F, 0.4F, 0.3F,  // label 2: rank 1
      0.9F, 0.8F, 0.7F, 0.1F,  // label 3: rank 3
  };
  const std::vector<int64_t> labels = {1, 2, 3};
  EXPECT_EQ(count_top_k_correct(logits, 4, labels, 1), 1);
  EXPECT_EQ(count_top_k_correct(logits, 4, labels, 2), 2);
  EXPECT_EQ(count_top_k_correct(logits, 4, labels, 3), 2);
  EXPECT_EQ(count_top_k_correct(logits, 4, labels, 4), 3);
}

TEST(TopK, TiesCountAgainstTheLabel) {
  const std::vector<float> logits = {0.5F, 0.5F, 0.5F};
  const std::vector<int64_t> labels = {0};
  EXPECT_EQ(count_top_k_correct(logits, 3, labels, 1), 0);
  EXPECT_EQ(count_top_k_correct(logits, 3, labels, 3), 1);
}

TEST(TopK, RejectsBadShapesAndLabels) {
  const std::vector<float> logits(6, 0.0F);
  const std::vector<int64_t> two = {0, 1};
  const std::vector<int64_t> bad = {0, 3};
  EXPECT_THROW((void)count_top_k_correct(logits, 4, two, 1), Error);
  EXPECT_THROW((void)count_top_k_correct(logits, 3, bad, 1), Error);
}

TEST(CrossEntropy, MatchesHandComputedValues) {
  // Uniform logits: −log(1/K) per row.
  const std::vector<float> uniform(2 * 5, 3.0F);
  const std::vector<int64_t> targets = {0, 4};
  EXPECT_NEAR(sum_cross_entropy(uniform, 5, targets), 2.0 * std::log(5.0), 1e-12);
  // logits (0, ln 3): p = (1/4, 3/4).
  const std::vector<float> two = {0.0F, static_cast<float>(std::log(3.0))};
  const std::vector<int64_t> t1 = {1};
  EXPECT_NEAR(sum_cross_entropy(two, 2, t1), -std::log(0.75), 1e-7);
  // Large logits must not overflow.
  const std::vector<float> big = {1000.0F, 0.0F};
  const std::vector<int64_t> t0 = {0};
  EXPECT_NEAR(sum_cross_entropy(big, 2, t0), 0.0, 1e-12);
}

TEST(BinaryCrossEntropy, MatchesHandComputedValues) {
  const std::vector<float> logits = {0.0F, 0.0F, 50.0F, -50.0F};
  const std::vector<float> labels = {1.0F, 0.0F, 0.0F, 0.0F};
  // ln 2 + ln 2 + 50 + ~0.
  EXPECT_NEAR(sum_binary_cross_entropy(logits, labels), 2.0 * std::log(2.0) + 50.0, 1e-9);
}

TEST(Perplexity, IsTheExponentOfTheMeanNll) {
  EXPECT_NEAR(perplexity(10.0 * std::log(7.0), 10), 7.0, 1e-12);
  EXPECT_DOUBLE_EQ(perplexity(0.0, 3), 1.0);
  EXPECT_THROW((void)perplexity(1.0, 0), Error);
}

}  // namespace
}  // namespace greenbench::workloads
