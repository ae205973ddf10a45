// compare_results: turns a result set into per model × phase × metric comparisons between
// frameworks, with one multiple-comparison family per phase × metric × pair, and summarises who
// is cheaper.
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "greenbench/error.hpp"
#include "greenbench/report.hpp"
#include "report/format.hpp"
#include "report/nodes.hpp"
#include "report/quality.hpp"

namespace greenbench {
namespace {

// One sample value with what is needed to pair it with other metrics of the same run.
struct Value {
  long long run_key = 0;
  double value = 0;
  bool estimated = false;
  std::string node;  // Slurm node, "" for a local study
};

// Runs of one configuration are paired across metrics by the store's run id when there is one,
// else (imported data) by the repetition number.
long long run_key(const Observation& o) { return o.run_id != 0 ? o.run_id : -o.run; }

std::vector<std::string> split_patterns(const std::string& pattern) {
  std::vector<std::string> out;
  std::stringstream in(pattern);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool metric_selected(const std::vector<std::string>& patterns, const std::string& metric) {
  if (patterns.empty()) return true;
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return fnmatch(p.c_str(), metric.c_str(), 0) == 0;
  });
}

std::vector<double> values_of(const std::vector<Value>& v) {
  std::vector<double> out;
  out.reserve(v.size());
  for (const auto& x : v) out.push_back(x.value);
  return out;
}

std::vector<std::string> nodes_of(const std::vector<Value>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(x.node);
  return out;
}

bool any_estimated(const std::vector<Value>& v) {
  return std::any_of(v.begin(), v.end(), [](const Value& x) { return x.estimated; });
}

std::string summary_line(const SummaryCount& s, double alpha) {
  std::ostringstream out;
  out << s.phase << ", " << s.a << " vs " << s.b << " — ";
  if (s.kind == "energy") out << "energy (one metric per model: energy_total, else package): ";
  if (s.kind == "duration") out << "run time: ";
  if (s.kind == "cost") out << "all cost metrics (energy_* and duration): ";
  if (s.a_cheaper == 0 && s.b_cheaper == 0) {
    out << "no significant difference in " << (s.comparisons == 1 ? "the " : "any of ")
        << s.comparisons << (s.comparisons == 1 ? " comparison" : " comparisons") << " (p_holm < "
        << alpha << ")";
    if (s.estimated) out << " [energy estimated, not measured]";
    return out.str();
  }
  // The framework with more wins is named first so that the line reads as the verdict.
  const bool a_first = s.a_cheaper >= s.b_cheaper;
  out << (a_first ? s.a : s.b) << " cheaper in " << (a_first ? s.a_cheaper : s.b_cheaper) << " of "
      << s.comparisons << " comparisons (" << (a_first ? s.a_cheaper_large : s.b_cheaper_large)
      << " with a large effect), " << (a_first ? s.b : s.a) << " in "
      << (a_first ? s.b_cheaper : s.a_cheaper) << " ("
      << (a_first ? s.b_cheaper_large : s.a_cheaper_large) << " large), " << s.not_significant
      << " not significant (p_holm < " << alpha << ")";
  if (s.estimated) out << " [energy estimated, not measured]";
  return out.str();
}

}  // namespace

bool is_cost_metric(const std::string& metric) {
  return metric == "duration" || metric.rfind("energy_", 0) == 0;
}

ComparisonSet compare_results(const ResultSet& results, const std::string& baseline) {
  CompareSettings settings;
  settings.baseline = baseline;
  // The study's seed makes the bootstrap intervals reproducible per study.
  if (results.settings.contains("seed") && results.settings["seed"].is_number_integer()) {
    settings.stats.bootstrap.seed = results.settings["seed"].get<std::uint64_t>();
  }
  return compare_results(results, settings);
}

ComparisonSet compare_results(const ResultSet& results, const CompareSettings& settings) {
  // Nodes of different hardware are never pooled: each is compared on its own.
  if (auto split = report::split_by_hardware(results)) {
    ComparisonSet set = compare_results(*split, settings);
    set.node_method += "; nodes of different hardware compared separately (model @ hardware)";
    return set;
  }
  ComparisonSet set;
  set.baseline = settings.baseline;
  set.alpha = settings.alpha;
  set.bootstrap_seed = settings.stats.bootstrap.seed;
  set.bootstrap_resamples = settings.stats.bootstrap.resamples;
  set.energy_basis = results.energy_basis;
  const auto patterns = split_patterns(settings.metric_pattern);

  // (phase, model, metric) -> framework -> values; the unit of each metric.
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::map<std::string, std::vector<Value>>> groups;
  std::map<Key, std::string> units;
  std::set<std::string> frameworks;
  for (const auto& o : results.observations) {
    frameworks.insert(o.framework);
    if (o.warmup) {
      ++set.warmup_excluded;
      continue;
    }
    if (!std::isfinite(o.value)) {
      throw Error("results '" + results.path + "': metric " + o.metric + " of " + o.model + "/" +
                  o.framework + "/" + o.phase + " #" + std::to_string(o.run) +
                  " is not a finite number");
    }
    const Key key{report::phase_sort_key(o.phase) + "\x1f" + o.phase, o.model,
                  report::metric_sort_key(o.metric) + "\x1f" + o.metric};
    groups[key][o.framework].push_back({run_key(o), o.value, o.quality == "estimated", o.node});
    if (units[key].empty()) units[key] = o.unit;
  }
  set.frameworks.assign(frameworks.begin(), frameworks.end());
  auto joined = [&] {
    std::string s;
    for (const auto& f : set.frameworks) s += (s.empty() ? "" : ", ") + f;
    return s.empty() ? std::string("none") : s;
  };
  if (set.frameworks.size() < 2) {
    throw Error("results '" + results.path + "': need at least two frameworks to compare, found " +
                std::to_string(set.frameworks.size()) + " (" + joined() + ")");
  }
  if (!settings.baseline.empty() && !frameworks.contains(settings.baseline)) {
    throw Error("unknown baseline framework '" + settings.baseline + "' (frameworks in '" +
                results.path + "': " + joined() + ")");
  }

  // With a baseline every other framework is compared against it (ratios x / baseline);
  // without one, every alphabetical pair.
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t i = 0; i < set.frameworks.size(); ++i) {
    if (!settings.baseline.empty()) {
      if (set.frameworks[i] != settings.baseline) {
        pairs.emplace_back(set.frameworks[i], settings.baseline);
      }
      continue;
    }
    for (std::size_t j = i + 1; j < set.frameworks.size(); ++j) {
      pairs.emplace_back(set.frameworks[i], set.frameworks[j]);
    }
  }

  auto strip = [](const std::string& keyed) { return keyed.substr(keyed.find('\x1f') + 1); };
  for (const auto& [pair_a, pair_b] : pairs) {
    for (const auto& [key, by_framework] : groups) {
      const std::string metric = strip(std::get<2>(key));
      if (!metric_selected(patterns, metric)) continue;
      auto ia = by_framework.find(pair_a);
      auto ib = by_framework.find(pair_b);
      if (ia == by_framework.end() || ib == by_framework.end()) continue;
      MetricComparison c;
      c.phase = strip(std::get<0>(key));
      c.model = std::get<1>(key);
      c.metric = metric;
      c.a = pair_a;
      c.b = pair_b;
      c.unit = units[key];
      c.cost = is_cost_metric(metric);
      c.estimated_a = any_estimated(ia->second);
      c.estimated_b = any_estimated(ib->second);
      c.values_a = values_of(ia->second);
      c.values_b = values_of(ib->second);
      c.stats = stats::compare_samples(c.values_a, c.values_b, settings.stats);
      report::block_on_node(c, nodes_of(ia->second), nodes_of(ib->second));
      set.comparisons.push_back(std::move(c));
    }
  }
  // Order: phase, model, pair, metric — the order of every table.
  std::stable_sort(set.comparisons.begin(), set.comparisons.end(),
                   [](const MetricComparison& x, const MetricComparison& y) {
                     return std::make_tuple(report::phase_sort_key(x.phase), x.model, x.a, x.b,
                                            report::metric_sort_key(x.metric)) <
                            std::make_tuple(report::phase_sort_key(y.phase), y.model, y.a, y.b,
                                            report::metric_sort_key(y.metric));
                   });

  // One family for Holm and Bonferroni per phase × metric × pair of frameworks, across models:
  // the question "does framework a cost more than b in this metric" asked once per model. A
  // family of every comparison of the call would make significance impossible at the usual 5
  // repetitions (the smallest exact p for 5 vs 5 is 2/252, and Holm multiplies it by the family
  // size), and would mix unrelated questions such as loss and energy.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::vector<std::size_t>>
      families;
  for (std::size_t i = 0; i < set.comparisons.size(); ++i) {
    const auto& c = set.comparisons[i];
    families[{c.phase, c.metric, c.a, c.b}].push_back(i);
  }
  set.family_count = families.size();
  for (const auto& [key, members] : families) {
    std::vector<stats::Comparison> family;
    family.reserve(members.size());
    for (std::size_t i : members) family.push_back(set.comparisons[i].stats);
    stats::holm_adjust(family);
    for (std::size_t k = 0; k < members.size(); ++k) {
      set.comparisons[members[k]].stats.p_holm = family[k].p_holm;
      set.comparisons[members[k]].stats.p_bonferroni = family[k].p_bonferroni;
    }
  }

  // Spearman ρ between the headline energy metric and duration, per model × phase × framework,
  // over runs that have both.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> metrics_of;
  for (const auto& [key, by_framework] : groups) {
    metrics_of[{std::get<0>(key), std::get<1>(key)}].insert(strip(std::get<2>(key)));
  }
  for (const auto& [pm, metrics] : metrics_of) {
    const std::string energy = report::headline_energy_metric(metrics);
    if (energy.empty() || !metrics.contains("duration")) continue;
    const Key ek{pm.first, pm.second, report::metric_sort_key(energy) + "\x1f" + energy};
    const Key dk{pm.first, pm.second, report::metric_sort_key("duration") + "\x1f" + "duration"};
    for (const auto& framework : set.frameworks) {
      auto ie = groups[ek].find(framework);
      auto id = groups[dk].find(framework);
      if (ie == groups[ek].end() || id == groups[dk].end()) continue;
      std::map<long long, double> duration_by_run;
      for (const auto& v : id->second) duration_by_run[v.run_key] = v.value;
      std::vector<double> x, y;
      for (const auto& v : ie->second) {
        auto it = duration_by_run.find(v.run_key);
        if (it == duration_by_run.end()) continue;
        x.push_back(v.value);
        y.push_back(it->second);
      }
      set.correlations.push_back(
          {pm.second, strip(pm.first), framework, energy, stats::spearman(x, y)});
    }
  }

  // Summary counts per phase and pair. A framework is "cheaper" in a comparison of a cost
  // metric when p_holm < alpha and Â12 points its way (Â12 < 0.5: a tends to lower values).
  for (const auto& block : report::phase_blocks(set)) {
    std::map<std::string, std::set<std::string>> model_metrics;
    for (const auto* c : block.comparisons) model_metrics[c->model].insert(c->metric);
    SummaryCount energy{block.phase, block.a, block.b, "energy"};
    SummaryCount duration{block.phase, block.a, block.b, "duration"};
    SummaryCount cost{block.phase, block.a, block.b, "cost"};
    for (const auto* c : block.comparisons) {
      if (!c->cost || std::isnan(c->stats.p_holm)) continue;
      std::vector<SummaryCount*> counts = {&cost};
      if (c->metric == "duration") counts.push_back(&duration);
      if (c->metric == report::headline_energy_metric(model_metrics[c->model]))
        counts.push_back(&energy);
      const bool estimated = c->estimated_a || c->estimated_b;
      for (auto* s : counts) {
        ++s->comparisons;
        if (estimated) s->estimated = true;
        const bool significant = c->stats.p_holm < settings.alpha;
        const bool large = c->stats.magnitude == "large";
        if (significant && c->stats.a12 < 0.5) {
          ++s->a_cheaper;
          if (large) ++s->a_cheaper_large;
        } else if (significant && c->stats.a12 > 0.5) {
          ++s->b_cheaper;
          if (large) ++s->b_cheaper_large;
        } else {
          ++s->not_significant;
        }
      }
    }
    for (auto* s : {&energy, &duration, &cost}) {
      if (s->comparisons == 0) continue;
      set.summary.push_back(*s);
      set.summary_lines.push_back(summary_line(*s, settings.alpha));
    }
  }
  report::count_nodes(results, set);
  return set;
}

namespace {

nlohmann::json number(double x) {
  // JSON has no NaN; a value that could not be computed is null.
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json comparison_json(const ComparisonSet& set) {
  nlohmann::json comparisons = nlohmann::json::array();
  for (const auto& c : set.comparisons) {
    const auto& s = c.stats;
    comparisons.push_back({
        {"model", c.model},
        {"phase", c.phase},
        {"metric", c.metric},
        {"unit", c.unit},
        {"cost", c.cost},
        {"a", c.a},
        {"b", c.b},
        {"n_a", s.n_a},
        {"n_b", s.n_b},
        {"mean_a", number(s.mean_a)},
        {"mean_b", number(s.mean_b)},
        {"median_a", number(s.median_a)},
        {"median_b", number(s.median_b)},
        {"iqr_a", number(s.iqr_a)},
        {"iqr_b", number(s.iqr_b)},
        {"shapiro_p_a", number(s.shapiro_p_a)},
        {"shapiro_p_b", number(s.shapiro_p_b)},
        {"test", s.test},
        {"u", number(s.u)},
        {"p_value", number(s.p_value)},
        {"p_method", s.p_method},
        {"p_holm", number(s.p_holm)},
        {"p_bonferroni", number(s.p_bonferroni)},
        {"a12", number(s.a12)},
        {"magnitude", s.magnitude},
        {"cliffs_delta", number(s.cliffs_delta)},
        {"ratio_median", number(s.ratio_median)},
        {"ratio_ci_low", number(s.ratio_ci_low)},
        {"ratio_ci_high", number(s.ratio_ci_high)},
        {"quality", c.estimated_a || c.estimated_b ? "estimated" : "measured"},
        {"estimated_a", c.estimated_a},
        {"estimated_b", c.estimated_b},
        {"notes", s.notes},
    });
  }
  nlohmann::json counts = nlohmann::json::array();
  for (const auto& s : set.summary) {
    counts.push_back({{"phase", s.phase},
                      {"a", s.a},
                      {"b", s.b},
                      {"kind", s.kind},
                      {"comparisons", s.comparisons},
                      {"a_cheaper", s.a_cheaper},
                      {"a_cheaper_large", s.a_cheaper_large},
                      {"b_cheaper", s.b_cheaper},
                      {"b_cheaper_large", s.b_cheaper_large},
                      {"not_significant", s.not_significant}});
  }
  nlohmann::json correlations = nlohmann::json::array();
  for (const auto& r : set.correlations) {
    correlations.push_back({{"model", r.model},
                            {"phase", r.phase},
                            {"framework", r.framework},
                            {"energy_metric", r.energy_metric},
                            {"n", r.rho.n},
                            {"rho", number(r.rho.rho)},
                            {"p_value", number(r.rho.p_value)}});
  }
  nlohmann::json out = {
      {"comparisons", comparisons},
      {"correlations", correlations},
      {"summary",
       {{"frameworks", set.frameworks},
        {"baseline", set.baseline.empty() ? nlohmann::json(nullptr) : nlohmann::json(set.baseline)},
        {"alpha", set.alpha},
        {"family", "per phase, metric and pair of frameworks, across models"},
        {"family_count", set.family_count},
        {"warmup_excluded", set.warmup_excluded},
        {"bootstrap", {{"seed", set.bootstrap_seed}, {"resamples", set.bootstrap_resamples}}},
        {"counts", counts},
        {"lines", set.summary_lines}}},
  };
  // Said only when it differs from what a gross-energy reader expects (gross is the default).
  if (set.energy_basis != "gross") out["summary"]["energy_basis"] = set.energy_basis;
  if (!set.node_runs.empty()) {
    out["summary"]["nodes"] = {{"method", set.node_method}, {"runs", set.node_runs}};
  }
  return out;
}

}  // namespace greenbench
