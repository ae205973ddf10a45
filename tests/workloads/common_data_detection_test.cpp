#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/data_detection.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

DetectionConfig small_config() {
  DetectionConfig c;
  c.height = 48;
  c.width = 64;
  c.num_classes = 6;
  c.min_objects = 1;
  c.max_objects = 5;
  c.min_size = 0.2;
  c.max_size = 0.6;
  return c;
}

struct Bound {
  int64_t x1, y1, x2, y2, area;
};

Bound bound_of(const std::vector<uint8_t>& mask, int64_t w) {
  Bound b{1 << 30, 1 << 30, -1, -1, 0};
  for (size_t p = 0; p < mask.size(); ++p) {
    if (!mask[p]) continue;
    const auto y = static_cast<int64_t>(p) / w, x = static_cast<int64_t>(p) % w;
    b.x1 = std::min(b.x1, x), b.y1 = std::min(b.y1, y);
    b.x2 = std::max(b.x2, x + 1), b.y2 = std::max(b.y2, y + 1);
    ++b.area;
  }
  return b;
}

TEST(DetectionData, ObjectsAreTheVisiblePartsOfTheirShapes) {
  const DetectionConfig c = small_config();
  const int64_t plane = c.height * c.width;
  std::set<int64_t> classes;
  int64_t objects = 0, occluded_rectangles = 0;
  for (int64_t i = 0; i < 400; ++i) {
    const DetectionImage img = make_detection_image(c, 1, false, i);
    ASSERT_EQ(static_cast<int64_t>(img.pixels.size()), c.channels * plane);
    ASSERT_LE(static_cast<int64_t>(img.objects.size()), c.max_objects);
    std::vector<int> cover(static_cast<size_t>(plane), 0);
    for (const DetectionObject& obj : img.objects) {
      ++objects;
      classes.insert(obj.label);
      ASSERT_GE(obj.label, 1);
      ASSERT_LE(obj.label, c.num_classes);
      ASSERT_EQ(static_cast<int64_t>(obj.mask.size()), plane);
      // The box is the tight bound of the mask, so the mask lies inside it.
      const Bound b = bound_of(obj.mask, c.width);
      EXPECT_EQ(obj.x1, static_cast<float>(b.x1));
      EXPECT_EQ(obj.y1, static_cast<float>(b.y1));
      EXPECT_EQ(obj.x2, static_cast<float>(b.x2));
      EXPECT_EQ(obj.y2, static_cast<float>(b.y2));
      EXPECT_EQ(obj.area, b.area);
      EXPECT_GE(obj.area, c.min_visible_pixels);
      for (size_t p = 0; p < obj.mask.size(); ++p) cover[p] += obj.mask[p];
      const int64_t box_area = (b.x2 - b.x1) * (b.y2 - b.y1);
      if (detection_shape(obj.label) == DetectionShape::kRectangle && obj.area < box_area) {
        ++occluded_rectangles;
      }
    }
    // A pixel shows at most one object.
    EXPECT_LE(*std::max_element(cover.begin(), cover.end()), 1) << "image " << i;
  }
  EXPECT_EQ(static_cast<int64_t>(classes.size()), c.num_classes) << "every class appears";
  EXPECT_GT(objects, 400 * 2);
  EXPECT_GT(occluded_rectangles, 0) << "objects do overlap and the masks show it";
}

TEST(DetectionData, FullyVisibleObjectsHaveTheirShapesAreaAndColour) {
  // With min_visible_fraction 1 only unoccluded objects are kept: a rectangle fills its box, an
  // ellipse about π/4 of it, a triangle about half; and the pixels under a mask have the class
  // colour, up to the object's jitter and the noise.
  DetectionConfig c = small_config();
  c.height = c.width = 96;
  c.min_visible_fraction = 1.0;
  c.min_size = 0.3;
  const double expected[3] = {1.0, std::numbers::pi / 4.0, 0.5};
  double ratio_sum[3] = {0, 0, 0};
  int count[3] = {0, 0, 0};
  const int64_t plane = c.height * c.width;
  for (int64_t i = 0; i < 150; ++i) {
    const DetectionImage img = make_detection_image(c, 2, true, i);
    std::vector<int> cover(static_cast<size_t>(plane), 0);
    for (const DetectionObject& obj : img.objects) {
      const auto k = static_cast<int>(detection_shape(obj.label));
      const double box = (obj.x2 - obj.x1) * (obj.y2 - obj.y1);
      ratio_sum[k] += static_cast<double>(obj.area) / box;
      ++count[k];
      if (k == 0) EXPECT_EQ(static_cast<double>(obj.area), box) << "occluded rectangle kept";
      const std::vector<float> colour = detection_colour(c, obj.label);
      for (int64_t ch = 0; ch < c.channels; ++ch) {
        double sum = 0;
        for (int64_t p = 0; p < plane; ++p) {
          if (obj.mask[static_cast<size_t>(p)])
            sum += img.pixels[static_cast<size_t>(ch * plane + p)];
        }
        const double mean = sum / static_cast<double>(obj.area);
        EXPECT_NEAR(mean, colour[static_cast<size_t>(ch)],
                    c.colour_jitter + 5.0 * c.noise_std / std::sqrt(static_cast<double>(obj.area)));
      }
    }
  }
  for (int k = 0; k < 3; ++k) {
    ASSERT_GT(count[k], 10) << "shape " << k;
    EXPECT_NEAR(ratio_sum[k] / count[k], expected[k], 0.06) << "shape " << k;
  }
}

TEST(DetectionData, ClassColoursAreDistinct) {
  for (int64_t channels : {1, 3}) {
    DetectionConfig c = small_config();
    c.channels = channels;
    c.num_classes = 30;
    std::set<std::vector<float>> seen;
    for (int64_t k = 1; k <= c.num_classes; k += 3) seen.insert(detection_colour(c, k));
    EXPECT_EQ(static_cast<int64_t>(seen.size()), c.num_classes / 3) << channels << " channels";
  }
}

TEST(DetectionData, IsAPureFunctionOfSeedAndIndexOnAnyThreadCount) {
  const DetectionConfig c = small_config();
  const DetectionImage a = make_detection_image(c, 3, false, 9);
  const DetectionImage b = make_detection_image(c, 3, false, 9);
  EXPECT_EQ(a.pixels, b.pixels);
  ASSERT_EQ(a.objects.size(), b.objects.size());
  for (size_t k = 0; k < a.objects.size(); ++k) EXPECT_EQ(a.objects[k].mask, b.objects[k].mask);
  EXPECT_NE(make_detection_image(c, 3, false, 10).pixels, a.pixels);
  EXPECT_NE(make_detection_image(c, 3, true, 9).pixels, a.pixels);
  EXPECT_NE(make_detection_image(c, 4, false, 9).pixels, a.pixels);
  const Batch one = make_detection_batch(c, 3, false, 5, 7, 1);
  for (int threads : {2, 3, 8}) {
    const Batch more = make_detection_batch(c, 3, false, 5, 7, threads);
    ASSERT_EQ(more.inputs.size(), one.inputs.size());
    for (size_t i = 0; i < one.inputs.size(); ++i) {
      EXPECT_EQ(more.inputs[i].second.f32, one.inputs[i].second.f32) << threads << " threads";
      EXPECT_EQ(more.inputs[i].second.i64, one.inputs[i].second.i64) << threads << " threads";
    }
  }
}

TEST(DetectionData, BatchLayout) {
  DetectionConfig c = small_config();
  const int64_t n = 6, m = c.max_objects, h = c.height, w = c.width, plane = h * w;
  const Batch batch = make_detection_batch(c, 1, true, 20, n, 2);
  ASSERT_EQ(batch.inputs.size(), 4U);
  EXPECT_EQ(batch.get("images").shape, (std::vector<int64_t>{n, 3, h, w}));
  EXPECT_EQ(batch.get("boxes").shape, (std::vector<int64_t>{n, m, 4}));
  EXPECT_EQ(batch.get("classes").shape, (std::vector<int64_t>{n, m}));
  EXPECT_EQ(batch.get("classes").dtype, HostTensor::DType::kI64);
  EXPECT_EQ(batch.get("masks").shape, (std::vector<int64_t>{n, m, h, w}));
  for (int64_t r = 0; r < n; ++r) {
    const DetectionImage img = make_detection_image(c, 1, true, 20 + r);
    const auto& images = batch.get("images").f32;
    EXPECT_TRUE(std::equal(img.pixels.begin(), img.pixels.end(), images.begin() + r * 3 * plane));
    for (int64_t k = 0; k < m; ++k) {
      const int64_t row = r * m + k;
      const float* box = batch.get("boxes").f32.data() + row * 4;
      const float* mask = batch.get("masks").f32.data() + row * plane;
      const int64_t label = batch.get("classes").i64[static_cast<size_t>(row)];
      if (k < static_cast<int64_t>(img.objects.size())) {
        const DetectionObject& obj = img.objects[static_cast<size_t>(k)];
        EXPECT_EQ(label, obj.label);
        EXPECT_EQ((std::vector<float>{box[0], box[1], box[2], box[3]}),
                  (std::vector<float>{obj.x1, obj.y1, obj.x2, obj.y2}));
        for (int64_t p = 0; p < plane; ++p) ASSERT_EQ(mask[p], obj.mask[static_cast<size_t>(p)]);
      } else {
        EXPECT_EQ(label, -1);
        EXPECT_EQ((std::vector<float>{box[0], box[1], box[2], box[3]}),
                  (std::vector<float>{0, 0, 0, 0}));
        EXPECT_EQ(*std::max_element(mask, mask + plane), 0.0F);
      }
    }
  }
  c.with_masks = false;
  const Batch no_masks = make_detection_batch(c, 1, true, 20, n);
  EXPECT_EQ(no_masks.inputs.size(), 3U);
  EXPECT_EQ(no_masks.get("images").f32, batch.get("images").f32);
  EXPECT_EQ(no_masks.get("boxes").f32, batch.get("boxes").f32);
}

TEST(DetectionData, BadConfigsNameTheField) {
  DetectionConfig c = small_config();
  c.max_objects = 0;
  try {
    (void)make_detection_image(c, 1, false, 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_objects"), std::string::npos) << e.what();
  }
  c = small_config();
  c.min_size = 0.7;  // above max_size
  EXPECT_THROW((void)make_detection_batch(c, 1, false, 0, 2), Error);
}

TEST(DetectionData, GenerationRateAtPaperScale) {
  // SSD300 (300×300, 80 classes, batch 8, no masks) and Mask R-CNN (800×1344 after
  // DeepLearningExamples' resize and padding, batch 4, masks).
  DetectionConfig ssd;
  ssd.height = ssd.width = 300;
  ssd.num_classes = 80;
  ssd.max_objects = 8;
  ssd.with_masks = false;
  DetectionConfig mrcnn = ssd;
  mrcnn.height = 800;
  mrcnn.width = 1344;
  mrcnn.with_masks = true;
  for (const auto& [name, c, batch] :
       {std::tuple{"ssd", ssd, 8}, std::tuple{"mask_rcnn", mrcnn, 4}}) {
    const auto t0 = std::chrono::steady_clock::now();
    const Batch b = make_detection_batch(c, 1, false, 0, batch, 1);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("detection %s %lldx%lld: %.1f images/s on one thread\n", name,
                static_cast<long long>(c.height), static_cast<long long>(c.width), batch / s);
    EXPECT_EQ(b.get("images").shape[0], batch);
  }
}

}  // namespace
}  // namespace greenbench::workloads
