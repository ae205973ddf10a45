// Configurations of one study differ by orders of magnitude (a tiny NCF infer run against a
// ResNet-50 train run), so one mean time per run would make the ETA swing with the order of the
// plan; a median per configuration does not, and resists the odd slow run.
#include "study/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace greenbench {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

std::optional<double> estimate_remaining_s(const std::map<int, std::vector<double>>& durations_s,
                                           const std::vector<int>& remaining) {
  std::map<int, double> per_config;
  double sum = 0;
  for (const auto& [config, durations] : durations_s) {
    if (durations.empty()) continue;
    per_config[config] = median(durations);
    sum += per_config[config];
  }
  if (per_config.empty()) return std::nullopt;
  const double unmeasured = sum / double(per_config.size());
  double total = 0;
  for (const int config : remaining) {
    const auto it = per_config.find(config);
    total += it != per_config.end() ? it->second : unmeasured;
  }
  return total;
}

std::string format_eta(double seconds) {
  if (!(seconds > 0)) seconds = 0;
  const long s = std::lround(seconds);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lds", s);
  return text;
}

}  // namespace greenbench
