// bleu, map and map_mask checked against sacreBLEU and pycocotools on hand-made cases
// (tests/workloads/data/metrics_reference.json, written by metrics_reference.py beside it).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/metrics_bleu.hpp"
#include "common/metrics_coco.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

using nlohmann::json;

// The reference numbers are the libraries' doubles; ours follow the same operations, so they
// agree to rounding (the COCO means are summed in another order than numpy's pairwise sum).
constexpr double kTolerance = 1e-9;

const json& reference() {
  static const json data = [] {
    const std::string path =
        std::string(GREENBENCH_SOURCE_DIR) + "/tests/workloads/data/metrics_reference.json";
    std::ifstream in(path);
    if (!in) {
      throw Error("cannot open " + path);
    }
    return json::parse(in);
  }();
  return data;
}

BleuStats bleu_stats(const json& c) {
  BleuStats stats;
  const json& hyps = c.at("hypotheses");
  const json& refs = c.at("references");
  for (size_t i = 0; i < hyps.size(); ++i) {
    stats.add(hyps[i].get<std::vector<int64_t>>(), refs[i].get<std::vector<int64_t>>());
  }
  return stats;
}

TEST(BleuReference, CoversTheCornerCases) { EXPECT_GE(reference().at("bleu").size(), 20U); }

TEST(BleuReference, StatisticsMatchSacreBleu) {
  for (const json& c : reference().at("bleu")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const BleuStats stats = bleu_stats(c);
    EXPECT_EQ(stats.hypothesis_length, c.at("sys_len").get<int64_t>());
    EXPECT_EQ(stats.reference_length, c.at("ref_len").get<int64_t>());
    for (int n = 0; n < kBleuMaxOrder; ++n) {
      EXPECT_EQ(stats.matches[n], c.at("counts")[n].get<int64_t>()) << "order " << n + 1;
      EXPECT_EQ(stats.totals[n], c.at("totals")[n].get<int64_t>()) << "order " << n + 1;
    }
  }
}

TEST(BleuReference, ScoresMatchSacreBleu) {
  for (const json& c : reference().at("bleu")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const BleuScore s = bleu_score(bleu_stats(c));
    EXPECT_NEAR(s.score, c.at("score").get<double>(), kTolerance);
    EXPECT_NEAR(corpus_bleu(bleu_stats(c)), c.at("score").get<double>(), kTolerance);
    EXPECT_NEAR(s.brevity_penalty, c.at("bp").get<double>(), kTolerance);
    for (int n = 0; n < kBleuMaxOrder; ++n) {
      EXPECT_NEAR(s.precisions[n], c.at("precisions")[n].get<double>(), kTolerance)
          << "order " << n + 1;
    }
  }
}

TEST(BleuReference, SentenceBySentenceBatchesAddUpToTheCorpus) {
  // The driver adds evaluation batches one by one: any split must give the corpus score.
  for (const json& c : reference().at("bleu")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const json& hyps = c.at("hypotheses");
    const json& refs = c.at("references");
    BleuStats total;
    for (size_t i = 0; i < hyps.size(); ++i) {
      BleuStats one;
      one.add(hyps[i].get<std::vector<int64_t>>(), refs[i].get<std::vector<int64_t>>());
      total += one;
    }
    EXPECT_NEAR(corpus_bleu(total), c.at("score").get<double>(), kTolerance);
  }
}

TEST(CocoReference, ThresholdsAreCocoEvalsBitForBit) {
  const auto iou = coco_iou_thresholds();
  const auto recall = coco_recall_thresholds();
  const json& r = reference();
  ASSERT_EQ(r.at("iou_thresholds").size(), iou.size());
  ASSERT_EQ(r.at("recall_thresholds").size(), recall.size());
  for (size_t i = 0; i < iou.size(); ++i) {
    EXPECT_EQ(iou[i], r.at("iou_thresholds")[i].get<double>()) << i;
  }
  for (size_t i = 0; i < recall.size(); ++i) {
    EXPECT_EQ(recall[i], r.at("recall_thresholds")[i].get<double>()) << i;
  }
}

TEST(CocoReference, BoxIouIsMaskApisBitForBit) {
  for (const json& c : reference().at("box_iou")) {
    const auto d = c.at("detection").get<std::array<double, 4>>();
    const auto g = c.at("ground_truth").get<std::array<double, 4>>();
    EXPECT_EQ(coco_box_iou(d, g), c.at("iou").get<double>()) << c.dump();
  }
}

CocoObjects objects(const json& j, int64_t height, int64_t width, bool masks) {
  CocoObjects o;
  o.boxes = j.at("boxes").get<std::vector<std::array<double, 4>>>();
  o.classes = j.at("classes").get<std::vector<int64_t>>();
  if (j.contains("scores")) {
    o.scores = j.at("scores").get<std::vector<double>>();
  }
  if (masks) {
    for (const json& m : j.at("masks")) {
      EXPECT_EQ(m.size(), static_cast<size_t>(height));
      for (const json& row : m) {
        const auto text = row.get<std::string>();
        EXPECT_EQ(text.size(), static_cast<size_t>(width));
        for (const char ch : text) {
          o.masks.push_back(ch == '1' ? 1 : 0);
        }
      }
    }
  }
  return o;
}

CocoSummary evaluate(const json& c) {
  const bool masks = c.at("iou").get<std::string>() == "segm";
  CocoEvaluator eval(masks ? CocoIou::kMask : CocoIou::kBox);
  for (const json& im : c.at("images")) {
    const auto h = im.at("height").get<int64_t>();
    const auto w = im.at("width").get<int64_t>();
    eval.add_image(h, w, objects(im.at("gt"), h, w, masks), objects(im.at("dt"), h, w, masks));
  }
  EXPECT_EQ(eval.images(), static_cast<int64_t>(c.at("images").size()));
  return eval.summarize();
}

TEST(CocoReference, CoversBoxAndMaskCases) {
  size_t boxes = 0;
  size_t masks = 0;
  for (const json& c : reference().at("coco")) {
    (c.at("iou").get<std::string>() == "segm" ? masks : boxes) += 1;
  }
  EXPECT_GE(boxes, 30U);
  EXPECT_GE(masks, 5U);
}

TEST(CocoReference, SummariesMatchPycocotools) {
  for (const json& c : reference().at("coco")) {
    SCOPED_TRACE(c.at("iou").get<std::string>() + " " + c.at("name").get<std::string>());
    const CocoSummary s = evaluate(c);
    EXPECT_NEAR(s.ap, c.at("ap").get<double>(), kTolerance);
    EXPECT_NEAR(s.ap50, c.at("ap50").get<double>(), kTolerance);
    EXPECT_NEAR(s.ap75, c.at("ap75").get<double>(), kTolerance);
    EXPECT_NEAR(s.ar100, c.at("ar100").get<double>(), kTolerance);
    EXPECT_EQ(s.classes, c.at("classes").get<int64_t>());
  }
}

}  // namespace
}  // namespace greenbench::workloads
