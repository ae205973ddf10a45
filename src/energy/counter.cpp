// Counter-wrap arithmetic: the one place where a wrapped energy counter is turned into a delta.
#include <cmath>

#include "greenbench/energy.hpp"

namespace greenbench {

double counter_delta_j(double previous_j, double current_j, double range_j) {
  if (!std::isfinite(previous_j) || !std::isfinite(current_j)) return 0;
  if (current_j >= previous_j) return current_j - previous_j;
  // A decrease means the counter wrapped (at most once: the sampler reads often enough).
  // powercap's counter runs from 0 to max_energy_range_uj and then restarts at 0, so the
  // modulus is the range plus one counter unit (about 15-61 uJ); using the range alone
  // under-counts by that unit per wrap, which is far below the counter's own accuracy.
  if (range_j <= 0) return 0;  // a counter that does not wrap went backwards: a reset, not energy
  const double delta = range_j - previous_j + current_j;
  return delta > 0 ? delta : 0;  // previous reading above the range: inconsistent, count nothing
}

}  // namespace greenbench
