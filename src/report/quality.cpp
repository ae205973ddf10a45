// Quality next to cost: a model that is cheaper but learns less is not simply cheaper.
#include "report/quality.hpp"

#include <algorithm>
#include <tuple>

namespace greenbench::report {

bool all_cpu_energy_estimated(const ResultSet& results) {
  bool any = false;
  for (const auto& o : results.observations) {
    if (o.metric.rfind("energy_cpu", 0) != 0) continue;
    if (o.quality != "estimated") return false;
    any = true;
  }
  return any;
}

std::string headline_energy_metric(const std::set<std::string>& metrics) {
  if (metrics.contains("energy_total")) return "energy_total";
  if (metrics.contains("energy_cpu_package")) return "energy_cpu_package";
  return "";
}

bool is_quality_metric(const std::string& metric) {
  if (is_cost_metric(metric)) return false;
  // Throughput, the workers' own timers (train_s, infer_s) and the first step's loss describe
  // how a run went, not how good the model is.
  if (metric == "samples_per_s" || metric == "loss_first") return false;
  return !(metric.size() > 2 && metric.compare(metric.size() - 2, 2, "_s") == 0);
}

std::string primary_quality_metric(const std::set<std::string>& metrics) {
  for (const char* m :
       {"hit_rate_10", "accuracy_top1", "perplexity", "bleu", "map", "accuracy_top5", "loss"}) {
    if (metrics.contains(m)) return m;
  }
  return "";
}

std::vector<ConfigRuns> config_runs(const ResultSet& results) {
  std::vector<ConfigRuns> out;
  for (const auto& o : results.observations) {
    if (o.warmup) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const ConfigRuns& c) {
      return c.model == o.model && c.phase == o.phase && c.framework == o.framework;
    });
    if (it == out.end()) {
      out.push_back({o.model, o.phase, o.framework, {}, {}});
      it = out.end() - 1;
    }
    const long long key = o.run_id != 0 ? o.run_id : -o.run;
    it->values[o.metric][key] = o.value;
    it->estimated[o.metric] = it->estimated[o.metric] || o.quality == "estimated";
  }
  std::sort(out.begin(), out.end(), [](const ConfigRuns& x, const ConfigRuns& y) {
    return std::make_tuple(phase_sort_key(x.phase), x.model, x.framework) <
           std::make_tuple(phase_sort_key(y.phase), y.model, y.framework);
  });
  return out;
}

namespace {

double median_of(const std::map<long long, double>& by_run) {
  std::vector<double> v;
  v.reserve(by_run.size());
  for (const auto& [run, x] : by_run) v.push_back(x);
  return stats::quantile(v, 0.5);
}

}  // namespace

Table quality_table(const ResultSet& results, const ComparisonSet& /*set*/) {
  Table t;
  t.header = {"model",           "phase",         "framework",
              "quality metric",  "median",        "energy metric",
              "median energy J", "median time s", "n"};
  t.right = {false, false, false, false, true, false, true, true, true};
  for (const auto& c : config_runs(results)) {
    std::set<std::string> metrics;
    for (const auto& [m, v] : c.values) metrics.insert(m);
    const std::string energy = headline_energy_metric(metrics);
    for (const auto& [metric, by_run] : c.values) {
      if (!is_quality_metric(metric)) continue;
      std::string energy_cell = "-";
      if (!energy.empty()) {
        energy_cell =
            format_quantity(median_of(c.values.at(energy))) + (c.estimated.at(energy) ? "*" : "");
      }
      std::string time_cell = "-";
      if (metrics.contains("duration")) {
        time_cell = format_quantity(median_of(c.values.at("duration")));
      }
      t.rows.push_back({c.model, c.phase, c.framework, metric, format_quantity(median_of(by_run)),
                        energy.empty() ? "-" : energy, energy_cell, time_cell,
                        std::to_string(by_run.size())});
    }
  }
  return t;
}

}  // namespace greenbench::report
