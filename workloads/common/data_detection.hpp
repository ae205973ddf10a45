#pragma once
// Synthetic detection data (SSD, Mask R-CNN): simple shapes in several classes painted over a
// noisy background, with boxes and instance masks of their visible parts (MODELS.md, Synthetic
// data). Self-contained (no models.hpp), so that ModelSpec can embed the config.
#include <cstdint>
#include <vector>

#include "common/backend.hpp"

namespace greenbench::workloads {

/// Image size, classes and object statistics of the detection data.
struct DetectionConfig {
  int64_t height = 0;  ///< image height in pixels
  int64_t width = 0;   ///< image width in pixels
  int64_t channels = 3;
  /// Object classes 1 … num_classes (0 is left to a model's background class); class k has shape
  /// (k − 1) mod 3 (rectangle, ellipse, triangle) and colour (k − 1) div 3.
  int64_t num_classes = 0;
  int64_t min_objects = 1;  ///< objects drawn per image, before occluded ones are dropped
  int64_t max_objects = 0;  ///< also the padded object dimension M of a batch
  double min_size = 0.1;    ///< box sides as fractions of min(height, width)
  double max_size = 0.5;
  double noise_std = 0.2;       ///< Gaussian noise added to every pixel
  double colour_jitter = 0.15;  ///< per object and channel, U(−jitter, jitter) on its colour
  double min_visible_fraction = 0.3;  ///< an object less visible than this share is dropped
  int64_t min_visible_pixels = 16;    ///< and one with fewer visible pixels
  bool with_masks = true;             ///< whether batches carry "masks" (Mask R-CNN; SSD not)
};

/// Shape kinds, in class order.
enum class DetectionShape { kRectangle = 0, kEllipse = 1, kTriangle = 2 };
/// The shape of class `label` (1 … num_classes).
[[nodiscard]] DetectionShape detection_shape(int64_t label);
/// The colour of class `label` (1 … num_classes), one value per channel.
[[nodiscard]] std::vector<float> detection_colour(const DetectionConfig& config, int64_t label);

/// One annotated object: the visible part of its shape.
struct DetectionObject {
  int64_t label = 0;                     ///< 1 … num_classes
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  ///< tight box of the mask, in pixel edges
  int64_t area = 0;                      ///< visible pixels
  std::vector<uint8_t> mask;             ///< [height, width], 1 where visible
};
/// One image and its objects.
struct DetectionImage {
  std::vector<float> pixels;             ///< [channels, height, width]
  std::vector<DetectionObject> objects;  ///< in painting order (bottom first), dropped ones out
};
/// Image `index` of the training (eval = false) or evaluation set: a pure function of
/// (config, seed, eval, index), drawn from stream `detection.<train|eval>.<index>`. Throws
/// greenbench::Error on a bad config.
[[nodiscard]] DetectionImage make_detection_image(const DetectionConfig& config, uint64_t seed,
                                                  bool eval, int64_t index);

/// Images first … first + count − 1 as a batch (row n = image first + n), made on `threads`
/// threads (the bytes do not depend on it), with M = max_objects:
///   "images"  float32 [N, C, H, W];
///   "boxes"   float32 [N, M, 4]: x1, y1, x2, y2 of object m in pixels, rows past the objects 0;
///   "classes" int64 [N, M]: 1 … num_classes, −1 past the objects;
///   "masks"   float32 [N, M, H, W] of 0 and 1, all 0 past the objects (only with_masks).
[[nodiscard]] Batch make_detection_batch(const DetectionConfig& config, uint64_t seed, bool eval,
                                         int64_t first, int64_t count, int threads = 1);

}  // namespace greenbench::workloads
