#pragma once
// The fp16 loss scale of MODELS.md ("Precision"), owned by the driver so both workers follow one
// rule: start at 2^15; a step whose gradients are not all finite is skipped and halves the scale
// (never below 1); 2000 applied steps in a row double it.
#include <cstdint>

namespace greenbench::workloads {

/// Dynamic loss scale for fp16 training.
class LossScale {
 public:
  static constexpr float kInitial = 32768.0f;  // 2^15
  static constexpr int64_t kGrowthInterval = 2000;
  static constexpr float kGrowth = 2.0f;
  static constexpr float kBackoff = 0.5f;

  /// The scale the next step multiplies its loss by.
  [[nodiscard]] float scale() const { return scale_; }
  /// Steps skipped so far because their gradients were not finite.
  [[nodiscard]] int64_t skipped() const { return skipped_; }
  /// Records whether a step's update was applied (its gradients were finite).
  void update(bool applied) {
    if (!applied) {
      ++skipped_;
      good_ = 0;
      scale_ = scale_ * kBackoff < 1.0f ? 1.0f : scale_ * kBackoff;
      return;
    }
    if (++good_ == kGrowthInterval) {
      good_ = 0;
      scale_ *= kGrowth;
    }
  }

 private:
  float scale_ = kInitial;
  int64_t good_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace greenbench::workloads
