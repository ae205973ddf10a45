#pragma once
// A fixed in-memory result set for the reporter tests: two frameworks, two models, two phases,
// eight measured runs and one warm-up run per configuration. Values come from fixed offsets, not
// from a random generator, so the goldens are the same on every platform.
#include <cmath>
#include <string>
#include <vector>

#include "greenbench/results.hpp"

namespace greenbench::testing {

// Relative deviations of the eight measured runs; all distinct, so no ties and exact p-values.
inline const double kOffsetsA[] = {-0.031, 0.012, 0.043, -0.014, 0.021, -0.042, 0.005, 0.034};
inline const double kOffsetsB[] = {0.026, -0.038, 0.008, 0.047, -0.019, 0.015, -0.006, -0.027};

struct FixtureOptions {
  bool cpu_estimated_tf = true;    ///< tensorflow's CPU energy is estimated (pytorch's measured)
  bool cpu_estimated_all = false;  ///< every CPU energy value is estimated
  std::string odd_model;           ///< when set, a third model with this name (escaping tests)
  bool single_framework = false;
};

inline void add_config(ResultSet& rs, const std::string& model, const std::string& framework,
                       const std::string& phase, double package_j, double dram_j, double duration_s,
                       const std::string& quality_metric, double quality, bool cpu_estimated,
                       long long& next_id) {
  const bool is_a = framework == "pytorch";
  for (int rep = 0; rep <= 8; ++rep) {
    const bool warmup = rep == 0;
    // The warm-up run is far off (cold caches, lazy initialisation), so a test notices when it
    // leaks into the statistics.
    const double k = warmup ? 1.9 : 1.0 + (is_a ? kOffsetsA[rep - 1] : kOffsetsB[rep - 1]);
    // Time follows energy imperfectly: the second factor perturbs the order a little.
    const double kt = warmup ? 2.1 : k * (1.0 + 0.01 * ((rep * 5) % 7 - 3) / 3.0);
    const long long id = next_id++;
    const int run = warmup ? 1 : rep;
    auto add = [&](const std::string& metric, double value, const std::string& unit,
                   const std::string& quality_label) {
      Observation o;
      o.model = model;
      o.framework = framework;
      o.phase = phase;
      o.run = run;
      o.metric = metric;
      o.value = value;
      o.unit = unit;
      o.quality = quality_label;
      o.warmup = warmup;
      o.run_id = id;
      rs.observations.push_back(o);
    };
    const std::string cpu_q = cpu_estimated ? "estimated" : "measured";
    add("energy_cpu_package", package_j * k, "J", cpu_q);
    add("energy_dram", dram_j * k, "J", "measured");
    add("energy_total", (package_j + dram_j) * k, "J", cpu_q);
    add("duration", duration_s * kt, "s", "measured");
    if (!quality_metric.empty()) {
      add(quality_metric, quality * (1.0 + 0.1 * (k - 1.0)), "", "measured");
    }
    ++rs.runs_total;
    ++rs.runs_ok;
  }
}

inline ResultSet fixture_results(const FixtureOptions& opt = {}) {
  ResultSet rs;
  rs.path = "/tmp/fixture-results";
  rs.settings = {{"name", "fixture"},
                 {"frameworks", {"pytorch", "tensorflow"}},
                 {"models", {"ncf", "resnet50"}},
                 {"phases", {"train", "infer"}},
                 {"repetitions", 8},
                 {"warmup", 1},
                 {"seed", 7},
                 {"order", "interleaved"}};
  rs.environment = {{"cpu_model", "Test CPU @ 2.0GHz"},
                    {"kernel", "6.1.0"},
                    {"sources", {{{"name", "rapl-powercap"}, {"quality", "measured"}}}}};
  long long id = 1;
  auto est = [&](const std::string& fw) {
    return opt.cpu_estimated_all || (opt.cpu_estimated_tf && fw == "tensorflow");
  };
  // ncf train: tensorflow clearly cheaper; resnet50 train: pytorch clearly cheaper;
  // infer: ncf equal in distribution, resnet50 slightly cheaper in tensorflow.
  add_config(rs, "ncf", "pytorch", "train", 1200, 180, 14.0, "hit_rate_10", 0.61, est("pytorch"),
             id);
  if (!opt.single_framework) {
    add_config(rs, "ncf", "tensorflow", "train", 1000, 150, 11.5, "hit_rate_10", 0.60,
               est("tensorflow"), id);
  }
  add_config(rs, "resnet50", "pytorch", "train", 3400, 420, 40.0, "accuracy_top1", 0.52,
             est("pytorch"), id);
  if (!opt.single_framework) {
    add_config(rs, "resnet50", "tensorflow", "train", 4100, 515, 47.0, "accuracy_top1", 0.55,
               est("tensorflow"), id);
  }
  add_config(rs, "ncf", "pytorch", "infer", 95, 12, 1.2, "", 0, est("pytorch"), id);
  if (!opt.single_framework) {
    add_config(rs, "ncf", "tensorflow", "infer", 95, 12, 1.2, "", 0, est("tensorflow"), id);
  }
  add_config(rs, "resnet50", "pytorch", "infer", 410, 52, 4.1, "", 0, est("pytorch"), id);
  if (!opt.single_framework) {
    add_config(rs, "resnet50", "tensorflow", "infer", 398, 50, 4.0, "", 0, est("tensorflow"), id);
  }
  if (!opt.odd_model.empty()) {
    add_config(rs, opt.odd_model, "pytorch", "train", 10, 1, 1.0, "", 0, false, id);
    add_config(rs, opt.odd_model, "tensorflow", "train", 12, 1, 1.2, "", 0, false, id);
    rs.failures.push_back(opt.odd_model + "/tensorflow/train #9: exit 1 <script>alert(1)</script>");
    ++rs.runs_total;
    ++rs.runs_failed;
  }
  rs.failures.push_back("resnet50/tensorflow/infer #9: timed out after 600 s");
  ++rs.runs_total;
  ++rs.runs_failed;
  return rs;
}

// A representative power trace: setup then the configured phase.
inline RunTrace fixture_trace(const std::string& model, const std::string& framework,
                              const std::string& phase, long long run_id) {
  RunTrace t;
  t.run_id = run_id;
  t.model = model;
  t.framework = framework;
  t.phase = phase;
  t.run = 4;
  t.domains = {"cpu_package", "cpu_package:0", "dram", "total"};
  for (int i = 0; i <= 120; ++i) {
    const double ts = 0.1 * i;
    const double busy = ts >= 2.0 && ts < 11.0 ? 1.0 : 0.0;
    const double pkg = 18.0 + 42.0 * busy + 3.0 * std::sin(ts * 3.0);
    const double dram = 3.0 + 4.0 * busy;
    t.t_s.push_back(ts);
    t.power_w.push_back({pkg, pkg, dram, pkg + dram});
  }
  t.phases = {{"setup", {0.0, 2.0}}, {phase, {2.0, 11.0}}};
  return t;
}

}  // namespace greenbench::testing
