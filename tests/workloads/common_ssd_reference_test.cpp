// SSD's shared box code checked against DeepLearningExamples' PyTorch SSD itself on seeded cases
// (tests/workloads/data/ssd_reference.json, written by ssd_reference.py beside it).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/models.hpp"
#include "common/ssd_boxes.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

using nlohmann::json;

const json& reference() {
  static const json data = [] {
    const std::string path =
        std::string(GREENBENCH_SOURCE_DIR) + "/tests/workloads/data/ssd_reference.json";
    std::ifstream in(path);
    if (!in) {
      throw Error("cannot open " + path);
    }
    return json::parse(in);
  }();
  return data;
}

// The stored values are float32 written as their shortest decimals.
std::vector<float> f32_of(const json& a) {
  std::vector<float> out;
  out.reserve(a.size());
  for (const json& v : a) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

std::vector<SsdBox> boxes_of(const json& a) {
  const std::vector<float> v = f32_of(a);
  std::vector<SsdBox> out;
  for (size_t i = 0; i + 3 < v.size(); i += 4) out.push_back({v[i], v[i + 1], v[i + 2], v[i + 3]});
  return out;
}

SsdConfig tiny() { return make_model_spec("ssd", "tiny").ssd; }

TEST(SsdReference, DefaultBoxesEqualDles) {
  const json& r = reference();
  const SsdDefaultBoxes paper = make_default_boxes(make_model_spec("ssd", "paper").ssd);
  ASSERT_EQ(paper.size(), r["dboxes300"]["count"].get<int64_t>());
  const std::vector<float> xywh = f32_of(r["dboxes300"]["xywh"]);
  const std::vector<float> ltrb = f32_of(r["dboxes300"]["ltrb"]);
  const json& index = r["dboxes300"]["index"];
  for (size_t n = 0; n < index.size(); ++n) {
    const auto d = index[n].get<size_t>();
    for (size_t q = 0; q < 4; ++q) {
      // same float32 values up to the last bit of DLE's float32 arithmetic
      EXPECT_NEAR(paper.xywh[d][q], xywh[n * 4 + q], 1e-7) << d;
      EXPECT_NEAR(paper.ltrb[d][q], ltrb[n * 4 + q], 1e-7) << d;
    }
  }
  const SsdDefaultBoxes t = make_default_boxes(tiny());
  ASSERT_EQ(t.size(), r["dboxes_tiny"]["count"].get<int64_t>());
  const std::vector<float> txywh = f32_of(r["dboxes_tiny"]["xywh"]);
  const std::vector<float> tltrb = f32_of(r["dboxes_tiny"]["ltrb"]);
  for (size_t d = 0; d < static_cast<size_t>(t.size()); ++d) {
    for (size_t q = 0; q < 4; ++q) {
      EXPECT_NEAR(t.xywh[d][q], txywh[d * 4 + q], 1e-7) << d;
      EXPECT_NEAR(t.ltrb[d][q], tltrb[d * 4 + q], 1e-7) << d;
    }
  }
}

TEST(SsdReference, EncodingEqualsDles) {
  const SsdConfig c = make_model_spec("ssd", "paper").ssd;
  const SsdDefaultBoxes boxes = make_default_boxes(c);
  int checked = 0;
  for (const json& k : reference()["encode"]) {
    const std::vector<SsdBox> gt = boxes_of(k["boxes"]);
    const std::vector<int64_t> classes = k["classes"].get<std::vector<int64_t>>();
    const SsdTargets t = ssd_encode(c, boxes, gt, classes);
    std::vector<int64_t> expected(static_cast<size_t>(boxes.size()), 0);
    const auto positive = k["positive"].get<std::vector<int64_t>>();
    const auto labels = k["labels"].get<std::vector<int64_t>>();
    for (size_t n = 0; n < positive.size(); ++n) {
      expected[static_cast<size_t>(positive[n])] = labels[n];
    }
    ASSERT_EQ(t.labels, expected);
    const std::vector<float> off = f32_of(k["offsets"]);
    for (size_t n = 0; n < positive.size(); ++n) {
      for (size_t q = 0; q < 4; ++q) {
        // DLE computes in float32; ours in double
        EXPECT_NEAR(t.loc[static_cast<size_t>(positive[n]) * 4 + q], off[n * 4 + q],
                    2e-5 * std::max(1.0F, std::abs(off[n * 4 + q])));
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(SsdReference, DecodingAndNmsEqualDles) {
  const SsdConfig c = tiny();
  const SsdDefaultBoxes boxes = make_default_boxes(c);
  int checked = 0;
  for (const json& k : reference()["decode"]) {
    const std::vector<float> rows = f32_of(k["predictions"]);
    ASSERT_EQ(rows.size(), static_cast<size_t>(boxes.size() * (4 + c.num_classes)));
    const std::vector<SsdDetection> det = ssd_detect(c, boxes, rows.data());
    const std::vector<SsdBox> want = boxes_of(k["boxes"]);
    const auto labels = k["labels"].get<std::vector<int64_t>>();
    const std::vector<float> scores = f32_of(k["scores"]);
    ASSERT_EQ(det.size(), want.size());
    for (size_t n = 0; n < det.size(); ++n) {
      EXPECT_EQ(det[n].label, labels[n]) << n;
      EXPECT_NEAR(det[n].score, scores[n], 1e-6) << n;
      for (size_t q = 0; q < 4; ++q) {
        EXPECT_NEAR(det[n].ltrb[q], want[n][q], 1e-5) << n;
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(SsdReference, LossEqualsDles) {
  const SsdConfig c = tiny();
  const SsdDefaultBoxes boxes = make_default_boxes(c);
  const int64_t d = boxes.size();
  int checked = 0;
  for (const json& k : reference()["loss"]) {
    const auto n = static_cast<int64_t>(k["boxes"].size());
    HostTensor loc{HostTensor::DType::kF32, {n, d, 4}, {}, {}};
    HostTensor lab{HostTensor::DType::kI64, {n, d}, {}, {}};
    for (int64_t i = 0; i < n; ++i) {
      const SsdTargets t = ssd_encode(c, boxes, boxes_of(k["boxes"][i]),
                                      k["classes"][i].get<std::vector<int64_t>>());
      loc.f32.insert(loc.f32.end(), t.loc.begin(), t.loc.end());
      lab.i64.insert(lab.i64.end(), t.labels.begin(), t.labels.end());
    }
    HostTensor pred{
        HostTensor::DType::kF32, {n, d, 4 + c.num_classes}, f32_of(k["predictions"]), {}};
    const std::vector<double> per_image = ssd_image_losses(c, pred, loc, lab);
    double mean = 0.0;
    for (double v : per_image) mean += v / static_cast<double>(n);
    const double want = k["loss"].get<double>();
    EXPECT_NEAR(mean, want, 1e-5 * want);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

}  // namespace
}  // namespace greenbench::workloads
