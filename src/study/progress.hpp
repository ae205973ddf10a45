#pragma once
// What a running study shows about itself: the time it still needs.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace greenbench {

/// The seconds the runs of `remaining` (one configuration index per run left) still need: each
/// run takes the median of the durations measured for its configuration; a configuration not
/// measured yet takes the mean of the other configurations' medians. nullopt when nothing has
/// been measured (then nobody can know).
std::optional<double> estimate_remaining_s(const std::map<int, std::vector<double>>& durations_s,
                                           const std::vector<int>& remaining);

/// "4m10s", "1h05m", "12s": a duration as a progress line shows it.
std::string format_eta(double seconds);

}  // namespace greenbench
