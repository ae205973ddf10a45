#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/metrics.hpp"
#include "common/metrics_bleu.hpp"
#include "common/metrics_coco.hpp"
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

// --- bleu (reference values from sacreBLEU: common_metrics_reference_test) ---------------

BleuStats one_sentence(const std::vector<int64_t>& hyp, const std::vector<int64_t>& ref) {
  BleuStats s;
  s.add(hyp, ref);
  return s;
}

TEST(Bleu, PerfectMatchIs100AndNoOverlapIs0) {
  const std::vector<int64_t> ref = {1, 2, 3, 4, 5, 6};
  EXPECT_DOUBLE_EQ(corpus_bleu(one_sentence(ref, ref)), 100.0);
  EXPECT_EQ(corpus_bleu(one_sentence({7, 8, 9, 10, 11, 12}, ref)), 0.0);
}

TEST(Bleu, ShortHypothesesPayTheBrevityPenalty) {
  const BleuScore s = bleu_score(one_sentence({1, 2, 3, 4}, {1, 2, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(s.brevity_penalty, std::exp(1.0 - 5.0 / 4.0));
  EXPECT_DOUBLE_EQ(s.score, 100.0 * std::exp(1.0 - 5.0 / 4.0));
  // Longer hypotheses pay in precision, not in brevity.
  const BleuScore longer = bleu_score(one_sentence({1, 2, 3, 4, 5, 9}, {1, 2, 3, 4, 5}));
  EXPECT_EQ(longer.brevity_penalty, 1.0);
}

TEST(Bleu, ZeroMatchOrdersAreSmoothedByHalvingAsSacreBleuExp) {
  // 4/4 unigrams, 0/3 bigrams, 0/2 trigrams, 0/1 4-grams: precisions 100, 100/(2·3), 100/(4·2),
  // 100/(8·1) (the halving accumulates over the zero orders).
  const BleuScore s = bleu_score(one_sentence({4, 3, 2, 1}, {1, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(s.precisions[0], 100.0);
  EXPECT_DOUBLE_EQ(s.precisions[1], 100.0 / 6.0);
  EXPECT_DOUBLE_EQ(s.precisions[2], 100.0 / 8.0);
  EXPECT_DOUBLE_EQ(s.precisions[3], 100.0 / 8.0);
  EXPECT_NEAR(s.score, std::pow(100.0 * (100.0 / 6.0) * 12.5 * 12.5, 0.25), 1e-12);
}

TEST(Bleu, CorporaWithoutFourGramsScoreZero) {
  // No effective order (sacreBLEU's corpus default): a missing order counts as precision 0.
  EXPECT_EQ(corpus_bleu(one_sentence({1, 2, 3}, {1, 2, 3})), 0.0);
  EXPECT_EQ(corpus_bleu(one_sentence({7}, {7})), 0.0);
}

TEST(Bleu, EmptyHypothesisScoresZeroWithZeroBrevityPenalty) {
  const BleuScore s = bleu_score(one_sentence({}, {1, 2, 3, 4}));
  EXPECT_EQ(s.score, 0.0);
  EXPECT_EQ(s.brevity_penalty, 0.0);
  // In a corpus, an empty hypothesis only lengthens the reference side.
  BleuStats stats = one_sentence({1, 2, 3, 4, 5}, {1, 2, 3, 4, 5});
  stats.add(std::vector<int64_t>{}, std::vector<int64_t>{6, 7, 8});
  EXPECT_DOUBLE_EQ(corpus_bleu(stats), 100.0 * std::exp(1.0 - 8.0 / 5.0));
}

TEST(Bleu, RepeatedNgramsAreClippedToTheirReferenceCount) {
  const BleuStats s = one_sentence({5, 5, 5, 5}, {5, 1, 5, 2});
  EXPECT_EQ(s.matches[0], 2);
  EXPECT_EQ(s.totals[0], 4);
  EXPECT_EQ(s.matches[1], 0);  // (5, 5) is not in the reference
  EXPECT_EQ(s.totals[1], 3);
  EXPECT_EQ(s.totals[3], 1);
}

TEST(Bleu, BatchesAddUp) {
  BleuStats a = one_sentence({1, 2, 3, 4, 5}, {1, 2, 3, 4, 6});
  const BleuStats b = one_sentence({9, 8, 7, 6, 5, 4}, {9, 8, 7, 5, 4});
  BleuStats both = a;
  both.add(std::vector<int64_t>{9, 8, 7, 6, 5, 4}, std::vector<int64_t>{9, 8, 7, 5, 4});
  a += b;
  EXPECT_EQ(a.hypothesis_length, 11);
  EXPECT_EQ(a.reference_length, 10);
  EXPECT_EQ(a.matches, both.matches);
  EXPECT_EQ(a.totals, both.totals);
  EXPECT_EQ(corpus_bleu(a), corpus_bleu(both));
}

TEST(Bleu, RejectsInconsistentStatistics) {
  BleuStats s = one_sentence({1, 2, 3, 4}, {1, 2, 3, 4});
  s.matches[2] = s.totals[2] + 1;
  EXPECT_THROW((void)corpus_bleu(s), Error);
  BleuStats negative;
  negative.hypothesis_length = -1;
  EXPECT_THROW((void)corpus_bleu(negative), Error);
}

// --- map, map_mask (reference values from pycocotools: common_metrics_reference_test) -----

using Box = std::array<double, 4>;

CocoObjects truth(std::vector<Box> boxes, std::vector<int64_t> classes) {
  return {std::move(boxes), std::move(classes), {}, {}};
}

CocoObjects found(std::vector<Box> boxes, std::vector<int64_t> classes,
                  std::vector<double> scores) {
  return {std::move(boxes), std::move(classes), std::move(scores), {}};
}

TEST(CocoBoxIou, HasNoPlusOneAndIsZeroWithoutOverlap) {
  EXPECT_DOUBLE_EQ(coco_box_iou({0, 0, 10, 10}, {5, 5, 10, 10}), 25.0 / 175.0);
  EXPECT_DOUBLE_EQ(coco_box_iou({0, 0, 10, 10}, {0, 0, 10, 5}), 0.5);
  EXPECT_EQ(coco_box_iou({0, 0, 10, 10}, {10, 0, 10, 10}), 0.0);  // touching edges
  EXPECT_EQ(coco_box_iou({0, 0, 0, 0}, {0, 0, 0, 0}), 0.0);
}

TEST(CocoMap, PerfectDetectionsScoreOne) {
  CocoEvaluator eval(CocoIou::kBox);
  const std::vector<Box> boxes = {{1, 1, 10, 10}, {20, 20, 5, 8}, {3, 30, 12, 4}};
  eval.add_image(50, 50, truth(boxes, {1, 2, 2}), found(boxes, {1, 2, 2}, {0.9, 0.2, 0.5}));
  const CocoSummary s = eval.summarize();
  EXPECT_DOUBLE_EQ(s.ap, 1.0);
  EXPECT_DOUBLE_EQ(s.ap50, 1.0);
  EXPECT_DOUBLE_EQ(s.ar100, 1.0);
  EXPECT_EQ(s.classes, 2);
}

TEST(CocoMap, AFalsePositiveAboveTheHitHalvesThePrecision) {
  CocoEvaluator eval(CocoIou::kBox);
  eval.add_image(50, 50, truth({{0, 0, 10, 10}}, {1}),
                 found({{30, 30, 10, 10}, {0, 0, 10, 10}}, {1, 1}, {0.9, 0.8}));
  // Precision 1/(2 + eps) at every recall threshold (made monotone from the right).
  const double half = 1.0 / (2.0 + std::numeric_limits<double>::epsilon());
  EXPECT_DOUBLE_EQ(eval.summarize().ap, half);
  // Below the hit, the same false positive costs nothing.
  CocoEvaluator after(CocoIou::kBox);
  after.add_image(50, 50, truth({{0, 0, 10, 10}}, {1}),
                  found({{30, 30, 10, 10}, {0, 0, 10, 10}}, {1, 1}, {0.7, 0.8}));
  EXPECT_DOUBLE_EQ(after.summarize().ap, 1.0);
}

TEST(CocoMap, EqualScoresKeepTheirOrderOfArrival) {
  // Same score: the miss of image 0 ranks before the hit of image 1, and not the other way.
  const Box hit = {0, 0, 10, 10};
  const Box miss = {30, 30, 10, 10};
  CocoEvaluator miss_first(CocoIou::kBox);
  miss_first.add_image(50, 50, truth({hit}, {1}), found({miss}, {1}, {0.5}));
  miss_first.add_image(50, 50, truth({hit}, {1}), found({hit}, {1}, {0.5}));
  CocoEvaluator hit_first(CocoIou::kBox);
  hit_first.add_image(50, 50, truth({hit}, {1}), found({hit}, {1}, {0.5}));
  hit_first.add_image(50, 50, truth({hit}, {1}), found({miss}, {1}, {0.5}));
  EXPECT_LT(miss_first.summarize().ap, hit_first.summarize().ap);
  EXPECT_EQ(miss_first.summarize().ar100, hit_first.summarize().ar100);
}

TEST(CocoMap, DuplicatesAreFalsePositives) {
  CocoEvaluator eval(CocoIou::kBox);
  const Box a = {0, 0, 10, 10};
  const Box b = {20, 20, 10, 10};
  eval.add_image(50, 50, truth({a, b}, {1, 1}), found({a, a, b}, {1, 1, 1}, {0.9, 0.8, 0.7}));
  const CocoSummary s = eval.summarize();
  EXPECT_GT(s.ap, 0.5);
  EXPECT_LT(s.ap, 1.0);
  EXPECT_DOUBLE_EQ(s.ar100, 1.0);
}

TEST(CocoMap, IouExactlyAtAThresholdMatches) {
  // IoU 0.5 (half the box) matches at 0.50 only; 0.75 at 0.50..0.75.
  CocoEvaluator half(CocoIou::kBox);
  half.add_image(20, 20, truth({{0, 0, 10, 10}}, {1}), found({{0, 0, 10, 5}}, {1}, {0.9}));
  EXPECT_DOUBLE_EQ(half.summarize().ap50, 1.0);
  EXPECT_NEAR(half.summarize().ap, 0.1, 1e-15);
  CocoEvaluator three_quarters(CocoIou::kBox);
  three_quarters.add_image(20, 20, truth({{0, 0, 10, 10}}, {1}),
                           found({{0, 0, 10, 7.5}}, {1}, {0.9}));
  EXPECT_DOUBLE_EQ(three_quarters.summarize().ap75, 1.0);
  EXPECT_NEAR(three_quarters.summarize().ap, 0.6, 1e-15);
}

TEST(CocoMap, ClassesWithoutGroundTruthAreLeftOut) {
  CocoEvaluator eval(CocoIou::kBox);
  eval.add_image(50, 50, truth({{0, 0, 10, 10}}, {1}),
                 found({{0, 0, 10, 10}, {20, 20, 5, 5}}, {1, 7}, {0.5, 0.99}));
  EXPECT_DOUBLE_EQ(eval.summarize().ap, 1.0);
  EXPECT_EQ(eval.summarize().classes, 1);
  // A class with ground truth and no detection counts as 0.
  eval.add_image(50, 50, truth({{0, 0, 10, 10}}, {2}), found({}, {}, {}));
  EXPECT_DOUBLE_EQ(eval.summarize().ap, 0.5);
}

TEST(CocoMap, WithoutGroundTruthTheSummaryIsMinusOne) {
  CocoEvaluator eval(CocoIou::kBox);
  EXPECT_EQ(eval.summarize().ap, -1.0);
  eval.add_image(50, 50, truth({}, {}), found({{0, 0, 10, 10}}, {1}, {0.5}));
  const CocoSummary s = eval.summarize();
  EXPECT_EQ(s.ap, -1.0);
  EXPECT_EQ(s.ap50, -1.0);
  EXPECT_EQ(s.ar100, -1.0);
  EXPECT_EQ(s.classes, 0);
}

TEST(CocoMap, OnlyTheHundredBestDetectionsPerImageAndClassCount) {
  std::vector<Box> boxes;
  std::vector<double> scores;
  for (int i = 0; i < 100; ++i) {
    boxes.push_back({40.0 + i, 40, 1, 1});
    scores.push_back(0.9);
  }
  boxes.push_back({0, 0, 10, 10});  // the hit, 101st by score
  scores.push_back(0.1);
  CocoEvaluator eval(CocoIou::kBox);
  eval.add_image(200, 200, truth({{0, 0, 10, 10}}, {1}),
                 found(boxes, std::vector<int64_t>(101, 1), scores));
  EXPECT_EQ(eval.summarize().ap, 0.0);
  // The limit is per class: the same detections split over two classes all count.
  std::vector<int64_t> classes(101, 2);
  classes.back() = 1;
  CocoEvaluator split(CocoIou::kBox);
  split.add_image(200, 200, truth({{0, 0, 10, 10}}, {1}), found(boxes, classes, scores));
  EXPECT_DOUBLE_EQ(split.summarize().ap, 1.0);
}

TEST(CocoMapMask, AHoleInTheGroundTruthLowersTheIou) {
  // Ground truth: a 4×4 square with a 2×2 hole (12 px); detection: the full square (16 px).
  // IoU 0.75: a match at 6 of 10 thresholds, AP 0.6; the box IoU would be 1.
  const int64_t h = 6;
  const int64_t w = 6;
  CocoObjects gt = truth({{1, 1, 4, 4}}, {1});
  CocoObjects dt = found({{1, 1, 4, 4}}, {1}, {0.9});
  gt.masks.assign(h * w, 0);
  dt.masks.assign(h * w, 0);
  for (int64_t r = 1; r < 5; ++r) {
    for (int64_t c = 1; c < 5; ++c) {
      dt.masks[r * w + c] = 1;
      gt.masks[r * w + c] = (r == 2 || r == 3) && (c == 2 || c == 3) ? 0 : 1;
    }
  }
  CocoEvaluator masks(CocoIou::kMask);
  masks.add_image(h, w, gt, dt);
  EXPECT_NEAR(masks.summarize().ap, 0.6, 1e-15);
  CocoEvaluator boxes(CocoIou::kBox);
  boxes.add_image(h, w, gt, dt);
  EXPECT_DOUBLE_EQ(boxes.summarize().ap, 1.0);
  // An empty detected mask overlaps nothing.
  std::fill(dt.masks.begin(), dt.masks.end(), 0);
  CocoEvaluator empty(CocoIou::kMask);
  empty.add_image(h, w, gt, dt);
  EXPECT_EQ(empty.summarize().ap, 0.0);
}

TEST(CocoMap, RejectsMalformedImages) {
  CocoEvaluator eval(CocoIou::kBox);
  const CocoObjects gt = truth({{0, 0, 10, 10}}, {1});
  const CocoObjects dt = found({{0, 0, 10, 10}}, {1}, {0.5});
  EXPECT_THROW(eval.add_image(0, 50, gt, dt), Error);
  EXPECT_THROW(eval.add_image(50, 50, truth({{0, 0, 10, 10}}, {}), dt), Error);
  EXPECT_THROW(eval.add_image(50, 50, found({{0, 0, 10, 10}}, {1}, {0.5}), dt), Error);
  EXPECT_THROW(eval.add_image(50, 50, gt, found({{0, 0, 10, 10}}, {1}, {})), Error);
  EXPECT_THROW(eval.add_image(50, 50, gt, found({{0, 0, -1, 10}}, {1}, {0.5})), Error);
  EXPECT_THROW(eval.add_image(50, 50, gt, found({{0, 0, 10, 10}}, {1}, {std::nan("")})), Error);
  EXPECT_THROW(
      eval.add_image(50, 50, gt,
                     found({{0, std::numeric_limits<double>::infinity(), 10, 10}}, {1}, {0.5})),
      Error);
  EXPECT_THROW(eval.add_image(50, 50, truth({{0, 0, 2e5, 2e5}}, {1}), dt), Error);
  CocoEvaluator masks(CocoIou::kMask);
  EXPECT_THROW(masks.add_image(50, 50, gt, dt), Error);  // no masks
  EXPECT_EQ(eval.images(), 0);
  EXPECT_EQ(masks.images(), 0);
}

}  // namespace
}  // namespace greenbench::workloads
