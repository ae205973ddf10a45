// Detection data (SSD, Mask R-CNN): shapes on noisy backgrounds (MODELS.md, Synthetic data).
#include "common/data_detection.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include "common/data.hpp"
#include "common/data_internal.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {

using data_detail::f32_tensor;
using data_detail::i64_tensor;

namespace {

constexpr double kBackgroundRange = 0.25;  // background level and gradients: U(−r, r)
constexpr double kColourAmplitude = 1.0;

void require(bool ok, const std::string& field, double value, const std::string& rule) {
  if (!ok) {
    throw Error("detection data: " + field + " = " + std::to_string(value) + " (" + rule + ")");
  }
}

void validate(const DetectionConfig& c) {
  require(c.height >= 8, "height", static_cast<double>(c.height), "at least 8");
  require(c.width >= 8, "width", static_cast<double>(c.width), "at least 8");
  require(c.channels >= 1, "channels", static_cast<double>(c.channels), "at least 1");
  require(c.num_classes >= 1, "num_classes", static_cast<double>(c.num_classes), "at least 1");
  require(c.min_objects >= 0, "min_objects", static_cast<double>(c.min_objects), "at least 0");
  require(c.max_objects >= std::max<int64_t>(1, c.min_objects), "max_objects",
          static_cast<double>(c.max_objects), "at least 1 and at least min_objects");
  require(c.min_size > 0.0 && c.min_size <= c.max_size, "min_size", c.min_size, "in (0, max_size]");
  require(c.max_size <= 1.0, "max_size", c.max_size, "at most 1");
  require(c.noise_std >= 0.0, "noise_std", c.noise_std, "at least 0");
  require(c.colour_jitter >= 0.0, "colour_jitter", c.colour_jitter, "at least 0");
  require(c.min_visible_fraction >= 0.0 && c.min_visible_fraction <= 1.0, "min_visible_fraction",
          c.min_visible_fraction, "in [0, 1]");
  require(c.min_visible_pixels >= 1, "min_visible_pixels",
          static_cast<double>(c.min_visible_pixels), "at least 1");
}

// An object as drawn, before occlusion: its class, box in continuous pixel coordinates, colour and
// (triangles) apex position and flip.
struct Drawn {
  int64_t label = 0;
  double x0 = 0, y0 = 0, w = 0, h = 0;
  double apex = 0;
  bool flip = false;
  std::vector<float> colour;
  std::vector<int64_t> pixels;  // indices y·W + x of the pixels whose centre is inside
};

bool inside(const Drawn& d, DetectionShape shape, double cx, double cy) {
  switch (shape) {
    case DetectionShape::kRectangle:
      return cx >= d.x0 && cx < d.x0 + d.w && cy >= d.y0 && cy < d.y0 + d.h;
    case DetectionShape::kEllipse: {
      const double u = (cx - (d.x0 + 0.5 * d.w)) / (0.5 * d.w);
      const double v = (cy - (d.y0 + 0.5 * d.h)) / (0.5 * d.h);
      return u * u + v * v <= 1.0;
    }
    case DetectionShape::kTriangle: {
      // Apex (x0 + apex·w, top), base corners (x0, bottom) and (x0 + w, bottom); flipped, the
      // apex is at the bottom. In normalised coordinates t ∈ [0, 1] down from the apex, the
      // triangle spans x ∈ [ax − t·ax·w, ax + t·(1 − apex)·w].
      double t = (cy - d.y0) / d.h;
      if (d.flip) t = 1.0 - t;
      if (t < 0.0 || t > 1.0) return false;
      const double ax = d.x0 + d.apex * d.w;
      return cx >= ax - t * d.apex * d.w && cx <= ax + t * (1.0 - d.apex) * d.w;
    }
  }
  return false;
}

void rasterise(Drawn& d, int64_t height, int64_t width) {
  const DetectionShape shape = detection_shape(d.label);
  const auto y_lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(d.y0)));
  const auto y_hi = std::min<int64_t>(height, static_cast<int64_t>(std::ceil(d.y0 + d.h)) + 1);
  const auto x_lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(d.x0)));
  const auto x_hi = std::min<int64_t>(width, static_cast<int64_t>(std::ceil(d.x0 + d.w)) + 1);
  for (int64_t y = y_lo; y < y_hi; ++y) {
    for (int64_t x = x_lo; x < x_hi; ++x) {
      if (inside(d, shape, static_cast<double>(x) + 0.5, static_cast<double>(y) + 0.5)) {
        d.pixels.push_back(y * width + x);
      }
    }
  }
}

}  // namespace

DetectionShape detection_shape(int64_t label) {
  return static_cast<DetectionShape>((label - 1) % 3);
}

std::vector<float> detection_colour(const DetectionConfig& c, int64_t label) {
  // Colours 0 … J − 1 evenly around a colour wheel: channel ch of colour j is
  // cos(2π(j/J + ch/C)) (C ≥ 3); with fewer channels, levels evenly spaced in [−1, 1].
  const int64_t colours = (c.num_classes + 2) / 3;
  const int64_t j = (label - 1) / 3;
  std::vector<float> out(static_cast<size_t>(c.channels));
  for (int64_t ch = 0; ch < c.channels; ++ch) {
    double v = 0.0;
    if (c.channels >= 3) {
      v = std::cos(2.0 * std::numbers::pi *
                   (static_cast<double>(j) / static_cast<double>(colours) +
                    static_cast<double>(ch) / static_cast<double>(c.channels)));
    } else if (colours > 1) {
      v = 2.0 * static_cast<double>(j) / static_cast<double>(colours - 1) - 1.0;
    } else {
      v = 1.0;
    }
    out[static_cast<size_t>(ch)] = static_cast<float>(kColourAmplitude * v);
  }
  return out;
}

DetectionImage make_detection_image(const DetectionConfig& c, uint64_t seed, bool eval,
                                    int64_t index) {
  validate(c);
  const int64_t h = c.height;
  const int64_t w = c.width;
  const int64_t plane = h * w;
  Rng rng(seed, stream_tag(std::string(eval ? "detection.eval." : "detection.train.") +
                           std::to_string(index)));
  const auto sym = [&](double r) { return (2.0 * rng.uniform() - 1.0) * r; };

  // Background: per channel a level and a linear gradient in y and x.
  std::vector<double> level(static_cast<size_t>(c.channels));
  std::vector<double> grad_y(level.size()), grad_x(level.size());
  for (size_t ch = 0; ch < level.size(); ++ch) {
    level[ch] = sym(kBackgroundRange);
    grad_y[ch] = sym(kBackgroundRange);
    grad_x[ch] = sym(kBackgroundRange);
  }

  // Objects, bottom first.
  const auto count =
      c.min_objects +
      static_cast<int64_t>(rng.below(static_cast<uint64_t>(c.max_objects - c.min_objects + 1)));
  const double side = static_cast<double>(std::min(h, w));
  std::vector<Drawn> drawn(static_cast<size_t>(count));
  for (Drawn& d : drawn) {
    d.label = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(c.num_classes)));
    d.w = side * (c.min_size + (c.max_size - c.min_size) * rng.uniform());
    d.h = side * (c.min_size + (c.max_size - c.min_size) * rng.uniform());
    d.x0 = (static_cast<double>(w) - d.w) * rng.uniform();
    d.y0 = (static_cast<double>(h) - d.h) * rng.uniform();
    d.apex = rng.uniform();
    d.flip = rng.below(2) == 1;
    d.colour = detection_colour(c, d.label);
    for (float& v : d.colour) v += static_cast<float>(sym(c.colour_jitter));
    rasterise(d, h, w);
  }

  // Occlusion: a pixel belongs to the last object over it. The lowest object that is too little
  // visible is dropped and ownership recomputed, until every object left is visible enough
  // (dropping one only uncovers the others, so the ones that passed keep passing).
  std::vector<bool> kept(drawn.size(), true);
  std::vector<int32_t> owner(static_cast<size_t>(plane));
  std::vector<int64_t> visible(drawn.size());
  for (;;) {
    std::fill(owner.begin(), owner.end(), -1);
    for (size_t k = 0; k < drawn.size(); ++k) {
      if (!kept[k]) continue;
      for (int64_t p : drawn[k].pixels) owner[static_cast<size_t>(p)] = static_cast<int32_t>(k);
    }
    std::fill(visible.begin(), visible.end(), 0);
    for (int32_t o : owner) {
      if (o >= 0) ++visible[static_cast<size_t>(o)];
    }
    bool dropped = false;
    for (size_t k = 0; k < drawn.size() && !dropped; ++k) {
      if (!kept[k]) continue;
      const auto full = static_cast<double>(drawn[k].pixels.size());
      const auto seen = visible[k];
      if (seen < c.min_visible_pixels ||
          static_cast<double>(seen) < c.min_visible_fraction * full) {
        kept[k] = false;
        dropped = true;
      }
    }
    if (!dropped) break;
  }

  DetectionImage img;
  img.pixels.resize(static_cast<size_t>(c.channels * plane));
  for (int64_t ch = 0; ch < c.channels; ++ch) {
    const auto chs = static_cast<size_t>(ch);
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const int64_t p = y * w + x;
        const int32_t o = owner[static_cast<size_t>(p)];
        double v = 0.0;
        if (o >= 0) {
          v = drawn[static_cast<size_t>(o)].colour[chs];
        } else {
          v = level[chs] +
              grad_y[chs] * ((static_cast<double>(y) + 0.5) / static_cast<double>(h) - 0.5) +
              grad_x[chs] * ((static_cast<double>(x) + 0.5) / static_cast<double>(w) - 0.5);
        }
        img.pixels[static_cast<size_t>(ch * plane + p)] = static_cast<float>(v);
      }
    }
  }
  if (c.noise_std > 0.0) {
    for (float& v : img.pixels) v = static_cast<float>(v + c.noise_std * rng.normal());
  }

  for (size_t k = 0; k < drawn.size(); ++k) {
    if (!kept[k]) continue;
    DetectionObject obj;
    obj.label = drawn[k].label;
    obj.mask.assign(static_cast<size_t>(plane), 0);
    int64_t x1 = w, y1 = h, x2 = -1, y2 = -1;
    for (int64_t p : drawn[k].pixels) {
      if (owner[static_cast<size_t>(p)] != static_cast<int32_t>(k)) continue;
      obj.mask[static_cast<size_t>(p)] = 1;
      ++obj.area;
      const int64_t y = p / w;
      const int64_t x = p % w;
      x1 = std::min(x1, x), y1 = std::min(y1, y), x2 = std::max(x2, x), y2 = std::max(y2, y);
    }
    obj.x1 = static_cast<float>(x1);
    obj.y1 = static_cast<float>(y1);
    obj.x2 = static_cast<float>(x2 + 1);
    obj.y2 = static_cast<float>(y2 + 1);
    img.objects.push_back(std::move(obj));
  }
  return img;
}

Batch make_detection_batch(const DetectionConfig& c, uint64_t seed, bool eval, int64_t first,
                           int64_t count, int threads) {
  validate(c);
  const int64_t plane = c.height * c.width;
  const int64_t pixels = c.channels * plane;
  const int64_t m = c.max_objects;
  std::vector<float> images(static_cast<size_t>(count * pixels));
  std::vector<float> boxes(static_cast<size_t>(count * m * 4), 0.0F);
  std::vector<int64_t> classes(static_cast<size_t>(count * m), -1);
  std::vector<float> masks(c.with_masks ? static_cast<size_t>(count * m * plane) : 0, 0.0F);
  // Image n is a function of its index alone, so each thread fills its own rows.
  const auto make = [&](int64_t begin, int64_t stride) {
    for (int64_t n = begin; n < count; n += stride) {
      const DetectionImage img = make_detection_image(c, seed, eval, first + n);
      std::copy(img.pixels.begin(), img.pixels.end(), images.begin() + n * pixels);
      for (size_t k = 0; k < img.objects.size(); ++k) {
        const DetectionObject& obj = img.objects[k];
        const int64_t row = n * m + static_cast<int64_t>(k);
        classes[static_cast<size_t>(row)] = obj.label;
        float* box = boxes.data() + row * 4;
        box[0] = obj.x1, box[1] = obj.y1, box[2] = obj.x2, box[3] = obj.y2;
        if (c.with_masks) {
          float* mask = masks.data() + row * plane;
          for (int64_t p = 0; p < plane; ++p) mask[p] = obj.mask[static_cast<size_t>(p)];
        }
      }
    }
  };
  const int64_t workers = std::clamp<int64_t>(threads, 1, std::max<int64_t>(1, count));
  {
    std::vector<std::jthread> helpers;
    for (int64_t t = 1; t < workers; ++t) helpers.emplace_back(make, t, workers);
    make(0, workers);
  }  // joins
  Batch batch;
  batch.inputs.emplace_back("images",
                            f32_tensor({count, c.channels, c.height, c.width}, std::move(images)));
  batch.inputs.emplace_back("boxes", f32_tensor({count, m, 4}, std::move(boxes)));
  batch.inputs.emplace_back("classes", i64_tensor({count, m}, std::move(classes)));
  if (c.with_masks) {
    batch.inputs.emplace_back("masks", f32_tensor({count, m, c.height, c.width}, std::move(masks)));
  }
  return batch;
}

}  // namespace greenbench::workloads
