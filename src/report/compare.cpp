// compare_results: turns a result set into per model × phase × metric comparisons between
// frameworks, with one multiple-comparison family per phase × metric × pair, and summarises who
// is cheaper.
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
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
  int run = 0;
  std::string node;       // Slurm node, "" for a local study
  double resolution = 0;  // energy: the value's energy_resolution_j, 0 = unknown
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

std::vector<double> in_run_order(const std::vector<double>& values, const std::vector<int>& runs) {
  std::vector<std::size_t> order(values.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return runs[x] < runs[y]; });
  std::vector<double> out;
  out.reserve(values.size());
  for (std::size_t i : order) out.push_back(values[i]);
  return out;
}

// Replays the sequential rule over each verdict family, one look per run per side in run order.
void replay_sequential(ComparisonSet& set, const CompareSettings& settings) {
  set.sequential = true;
  stats::SequentialOptions o = settings.sequential_options;
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::size_t>> families;
  std::size_t largest_n = 0;
  for (std::size_t i = 0; i < set.comparisons.size(); ++i) {
    const auto& c = set.comparisons[i];
    if (c.role.empty() || c.verdict == "not_comparable" || c.verdict == "estimated_only") continue;
    families[{c.phase, c.a, c.b}].push_back(i);
    largest_n = std::max(largest_n, std::min(c.values_a.size(), c.values_b.size()));
  }
  // Without a study's max_repetitions the last look is the last stored run.
  if (o.max_n == 0) o.max_n = std::max(o.min_n, largest_n);
  set.sequential_options = o;
  for (const auto& [key, members] : families) {
    std::vector<std::pair<std::vector<double>, std::vector<double>>> all, seen(members.size());
    std::size_t top = 0;
    for (std::size_t i : members) {
      const auto& c = set.comparisons[i];
      all.emplace_back(in_run_order(c.values_a, c.runs_a), in_run_order(c.values_b, c.runs_b));
      top = std::max(top, std::min(c.values_a.size(), c.values_b.size()));
    }
    stats::SequentialFamily rule(o, members.size());
    for (std::size_t n = o.min_n; n <= std::min(o.max_n, top); ++n) {
      for (std::size_t k = 0; k < members.size(); ++k) {
        const auto cut = [n](const std::vector<double>& v) {
          return std::vector<double>(v.begin(),
                                     v.begin() + static_cast<long>(std::min(n, v.size())));
        };
        seen[k] = {cut(all[k].first), cut(all[k].second)};
      }
      if (rule.look(seen) == 0) break;
    }
    for (std::size_t k = 0; k < members.size(); ++k) {
      auto& c = set.comparisons[members[k]];
      c.decision = rule.decisions()[k].decision;
      c.decided_at = rule.decisions()[k].decided_at;
      // A difference the measurement cannot resolve is never called cheaper, sequentially
      // either: the rule may find it significant, but it is not an effect.
      if (c.verdict == "within_resolution" &&
          (c.decision == "a_cheaper" || c.decision == "b_cheaper")) {
        c.decision = "undecided";
        c.decided_at = 0;
      }
    }
  }
}

std::string fixed(double x, int decimals) { return report::format_fixed(x, decimals); }

// The verdict sentence, ratio first: "tensorflow uses 1.87× [1.62, 2.14] the energy of pytorch
// (energy_total, p_holm 0.008, Â12 1.00 large): pytorch cheaper". The side with the larger
// values is named first so that the ratio reads as "times as much"; the interval is the
// Hodges–Lehmann one (distribution-free), the bootstrap one where that is undefined.
std::string verdict_sentence(const MetricComparison& c) {
  const auto& s = c.stats;
  double ratio = s.hl_ratio, low = s.hl_ci_low, high = s.hl_ci_high;
  if (std::isnan(ratio)) {
    ratio = s.ratio_median;
    low = s.ratio_ci_low;
    high = s.ratio_ci_high;
  }
  const bool a_first = !(ratio < 1);
  if (!a_first) {
    ratio = 1 / ratio;
    std::swap(low, high);
    low = 1 / low;
    high = 1 / high;
  }
  const std::string& first = a_first ? c.a : c.b;
  const std::string& second = a_first ? c.b : c.a;
  const double a12 = a_first ? s.a12 : 1 - s.a12;
  const bool energy = c.role == "energy";
  std::ostringstream out;
  out << c.model << ", " << c.metric << ": ";
  if (c.verdict == "not_comparable") {
    out << "not comparable — energy " << (c.estimated_a ? "estimated" : "measured") << " for "
        << c.a << ", " << (c.estimated_b ? "estimated" : "measured") << " for " << c.b << "; ";
  } else if (c.verdict == "estimated_only") {
    out << "estimated only, no verdict — ";
  } else if (c.verdict == "identical") {
    out << "identical values on both sides";
    return out.str();
  }
  out << first << (energy ? " uses " : " takes ") << fixed(ratio, 2) << "× [" << fixed(low, 2)
      << ", " << fixed(high, 2) << "] " << (energy ? "the energy" : "the time") << " of " << second
      << " (p_holm " << report::format_p(s.p_holm) << ", Â12 " << fixed(a12, 2) << " "
      << s.magnitude << ")";
  if (c.verdict == "a_cheaper") out << ": " << c.a << " cheaper";
  if (c.verdict == "b_cheaper") out << ": " << c.b << " cheaper";
  if (c.verdict == "not_significant") out << ": not significant";
  if (c.verdict == "within_resolution") {
    out << ": within resolution (the medians differ by "
        << report::format_quantity(std::abs(s.median_a - s.median_b)) << " " << c.unit
        << ", below the " << report::format_quantity(c.resolution) << " " << c.unit
        << " the measurement resolves)";
  }
  if (!c.decision.empty()) {
    out << "; sequential: " << c.decision;
    if (c.decided_at > 0) out << " at " << c.decided_at << " runs per side";
  }
  return out.str();
}

std::string count_line(const VerdictCount& v, double alpha, std::size_t family) {
  std::ostringstream out;
  const int models = v.a_cheaper + v.b_cheaper + v.not_significant + v.not_comparable;
  out << v.phase << ", " << v.a << " vs " << v.b << " — " << v.metric << " (one verdict per model"
      << (v.metric == "energy" ? ", on its primary energy metric" : "") << "): " << v.a
      << " cheaper for " << v.a_cheaper << " of " << models << (models == 1 ? " model" : " models")
      << ", " << v.b << " for " << v.b_cheaper << ", " << v.not_significant << " not significant";
  if (v.not_comparable > 0) {
    out << ", " << v.not_comparable << " not comparable (estimated energy)";
  }
  out << " (p_holm < " << alpha << ", one Holm family of " << family << " verdicts)";
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
  // The study's recorded conversion factors (study keys), shown with the medians.
  if (results.settings.contains("conversion")) {
    settings.carbon = carbon_from_json(results.settings["conversion"]);
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
  set.carbon = settings.carbon;
  const auto patterns = split_patterns(settings.metric_pattern);

  // (phase, model, metric) -> framework -> values; the unit of each metric.
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::map<std::string, std::vector<Value>>> groups;
  std::map<Key, std::string> units;
  std::set<std::string> frameworks;
  // Warm-up runs, not their values: one run stores several metrics.
  std::set<std::tuple<std::string, std::string, std::string, long long>> warmup_runs;
  for (const auto& o : results.observations) {
    frameworks.insert(o.framework);
    if (o.warmup) {
      warmup_runs.insert({o.model, o.framework, o.phase, run_key(o)});
      continue;
    }
    if (!std::isfinite(o.value)) {
      throw Error("results '" + results.path + "': metric " + o.metric + " of " + o.model + "/" +
                  o.framework + "/" + o.phase + " #" + std::to_string(o.run) +
                  " is not a finite number");
    }
    const Key key{report::phase_sort_key(o.phase) + "\x1f" + o.phase, o.model,
                  report::metric_sort_key(o.metric) + "\x1f" + o.metric};
    groups[key][o.framework].push_back(
        {run_key(o), o.value, o.quality == "estimated", o.run, o.node, o.resolution});
    if (units[key].empty()) units[key] = o.unit;
  }
  set.warmup_excluded = static_cast<int>(warmup_runs.size());
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
      for (const auto& v : ia->second) c.runs_a.push_back(v.run);
      for (const auto& v : ib->second) c.runs_b.push_back(v.run);
      for (const auto* side : {&ia->second, &ib->second}) {
        for (const auto& v : *side) c.resolution = std::max(c.resolution, v.resolution);
      }
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

  // Roles. Each model × phase × pair gets one primary energy metric and duration; other energy
  // domains are nested in or summed into the primary one, so counting them would count one
  // effect several times.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::vector<std::size_t>>
      by_model;
  for (std::size_t i = 0; i < set.comparisons.size(); ++i) {
    const auto& c = set.comparisons[i];
    by_model[{c.phase, c.model, c.a, c.b}].push_back(i);
  }
  for (const auto& [key, members] : by_model) {
    std::vector<std::size_t> energy;
    std::optional<std::size_t> total;
    for (std::size_t i : members) {
      auto& c = set.comparisons[i];
      if (c.metric == "duration") c.role = "duration";
      if (c.metric.rfind("energy_", 0) != 0) continue;
      energy.push_back(i);
      if (c.metric == "energy_total") total = i;
    }
    if (energy.empty()) continue;
    auto measured = [&](std::size_t i) {
      return !set.comparisons[i].estimated_a && !set.comparisons[i].estimated_b;
    };
    auto size = [&](std::size_t i) {
      return set.comparisons[i].stats.median_a + set.comparisons[i].stats.median_b;
    };
    std::optional<std::size_t> primary;
    if (total && std::all_of(energy.begin(), energy.end(), measured)) primary = total;
    if (!primary) {
      for (std::size_t i : energy) {
        if (i == total || !measured(i)) continue;
        if (!primary || size(i) > size(*primary)) primary = i;
      }
    }
    if (!primary) {
      // Nothing measured on both sides: the verdict says why there is none.
      primary = total;
      for (std::size_t i : energy) {
        if (!primary || (i != total && !total && size(i) > size(*primary))) primary = i;
      }
      auto& c = set.comparisons[*primary];
      c.verdict = c.estimated_a && c.estimated_b ? "estimated_only" : "not_comparable";
    }
    set.comparisons[*primary].role = "energy";
  }

  // Holm families. The verdicts of one phase × pair (primary energy and duration of every
  // model) are one family: together they make the phase's claims, and each is a separate
  // chance of a false "cheaper". Comparisons that can give no verdict (not comparable energy)
  // are left out of it. Every other comparison is adjusted within its phase × metric × pair,
  // across models, as before.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::vector<std::size_t>>
      families;
  for (std::size_t i = 0; i < set.comparisons.size(); ++i) {
    const auto& c = set.comparisons[i];
    const bool verdict = !c.role.empty() && c.verdict.empty();
    families[{c.phase,
              verdict ? std::string("\x1f"
                                    "verdicts")
                      : c.metric,
              c.a, c.b}]
        .push_back(i);
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

  // Verdicts. A framework is cheaper when p_holm < alpha and Â12 points its way (Â12 < 0.5: a
  // tends to lower values); identical values are no effect.
  for (auto& c : set.comparisons) {
    if (c.role.empty() || !c.verdict.empty()) continue;
    const auto& s = c.stats;
    if (s.identical) {
      c.verdict = "identical";
    } else if (c.resolution > 0 && std::abs(s.median_a - s.median_b) < c.resolution) {
      // The medians differ by less than the measurement can resolve: no effect to call.
      c.verdict = "within_resolution";
    } else if (s.p_holm < settings.alpha && s.a12 < 0.5) {
      c.verdict = "a_cheaper";
    } else if (s.p_holm < settings.alpha && s.a12 > 0.5) {
      c.verdict = "b_cheaper";
    } else {
      c.verdict = "not_significant";
    }
  }
  if (settings.sequential) replay_sequential(set, settings);

  for (const auto& block : report::phase_blocks(set)) {
    VerdictCount energy{block.phase, "energy", block.a, block.b};
    VerdictCount duration{block.phase, "duration", block.a, block.b};
    std::size_t family = 0;
    double smallest_p = 1;
    std::size_t largest_n = 0;
    std::vector<std::string> sentences;
    for (const auto* c : block.comparisons) {
      if (c->role.empty()) continue;
      VerdictCount& v = c->role == "energy" ? energy : duration;
      if (c->verdict == "a_cheaper") ++v.a_cheaper;
      if (c->verdict == "b_cheaper") ++v.b_cheaper;
      if (c->verdict == "not_significant" || c->verdict == "identical" ||
          c->verdict == "within_resolution")
        ++v.not_significant;
      if (c->verdict == "not_comparable" || c->verdict == "estimated_only") ++v.not_comparable;
      sentences.push_back("  " + verdict_sentence(*c));
      if (c->verdict == "not_comparable" || c->verdict == "estimated_only") continue;
      ++family;
      smallest_p = std::min(smallest_p, c->stats.min_p_value);
      largest_n = std::max(largest_n, std::min(c->stats.n_a, c->stats.n_b));
    }
    for (auto* v : {&energy, &duration}) {
      if (v->a_cheaper + v->b_cheaper + v->not_significant + v->not_comparable == 0) continue;
      set.summary.push_back(*v);
      set.summary_lines.push_back(count_line(*v, settings.alpha, family));
    }
    set.summary_lines.insert(set.summary_lines.end(), sentences.begin(), sentences.end());
    // Holm's first step needs p <= alpha / family: if even the smallest attainable p misses
    // it, no verdict of this phase can be significant, whatever the data.
    if (family > 0 && smallest_p * static_cast<double>(family) > settings.alpha) {
      std::ostringstream line;
      const std::size_t needed = stats::runs_needed_for_significance(family, settings.alpha);
      line << block.phase << ", " << block.a << " vs " << block.b
           << ": no verdict can be significant with " << largest_n
           << " runs per side (smallest possible p " << report::format_p(smallest_p)
           << ", Holm needs <= " << report::format_p(settings.alpha / static_cast<double>(family))
           << " for " << family << " verdicts); " << needed << " runs per side are needed";
      set.small_n_lines.push_back(line.str());
    }
  }
  for (auto& c : set.comparisons) {
    if (!c.role.empty()) c.sentence = verdict_sentence(c);
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
        {"hl_ratio", number(s.hl_ratio)},
        {"hl_ci_low", number(s.hl_ci_low)},
        {"hl_ci_high", number(s.hl_ci_high)},
        {"hl_confidence", number(s.hl_confidence)},
        {"min_p_value", number(s.min_p_value)},
        {"identical", s.identical},
        {"energy_resolution_j", c.resolution > 0 ? number(c.resolution) : nlohmann::json(nullptr)},
        {"role", c.role.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.role)},
        {"verdict", c.verdict.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.verdict)},
        {"sentence", c.sentence.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.sentence)},
        {"notes", s.notes},
    });
    if (set.carbon.any() && is_convertible_energy(c)) {
      // Medians converted with the set's factors (settings.conversion); the statistics are
      // those of the joules, which the conversion (a positive factor) leaves unchanged.
      const auto& f = set.carbon;
      auto optional = [](std::optional<double> x) {
        return x ? number(*x) : nlohmann::json(nullptr);
      };
      comparisons.back()["converted"] = {
          {"kwh_median_a", number(facility_kwh(s.median_a, f))},
          {"kwh_median_b", number(facility_kwh(s.median_b, f))},
          {"co2e_g_median_a", optional(co2e_g(s.median_a, f))},
          {"co2e_g_median_b", optional(co2e_g(s.median_b, f))},
          {"cost_median_a", optional(energy_cost(s.median_a, f))},
          {"cost_median_b", optional(energy_cost(s.median_b, f))},
          {"estimated", c.estimated_a || c.estimated_b},
      };
    }
    if (set.sequential) {
      comparisons.back()["decision"] =
          c.decision.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.decision);
      comparisons.back()["decided_at"] =
          c.decided_at == 0 ? nlohmann::json(nullptr) : nlohmann::json(c.decided_at);
    }
  }
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& s : set.summary) {
    summary.push_back({{"phase", s.phase},
                       {"metric", s.metric},
                       {"a", s.a},
                       {"b", s.b},
                       {"a_cheaper", s.a_cheaper},
                       {"b_cheaper", s.b_cheaper},
                       {"not_significant", s.not_significant},
                       {"not_comparable", s.not_comparable}});
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
  nlohmann::json settings = {
      {"frameworks", set.frameworks},
      {"baseline", set.baseline.empty() ? nlohmann::json(nullptr) : nlohmann::json(set.baseline)},
      {"alpha", set.alpha},
      {"family",
       "verdicts (primary energy and duration of every model) per phase and pair of frameworks; "
       "other metrics per phase, metric and pair, across models"},
      {"family_count", set.family_count},
      {"warmup_excluded_runs", set.warmup_excluded},
      {"bootstrap", {{"seed", set.bootstrap_seed}, {"resamples", set.bootstrap_resamples}}},
  };
  if (set.sequential) {
    settings["sequential"] = {{"min_repetitions", set.sequential_options.min_n},
                              {"max_repetitions", set.sequential_options.max_n},
                              {"alpha", set.sequential_options.alpha},
                              {"equivalence_margin", set.sequential_options.equivalence_margin}};
  }
  nlohmann::json out = {
      {"comparisons", comparisons}, {"correlations", correlations}, {"summary", summary},
      {"settings", settings},       {"lines", set.summary_lines},   {"small_n", set.small_n_lines},
  };
  // Said only when it differs from what a gross-energy reader expects (gross is the default).
  if (set.energy_basis != "gross") out["settings"]["energy_basis"] = set.energy_basis;
  if (set.carbon.any()) out["settings"]["conversion"] = carbon_json(set.carbon);
  if (!set.node_runs.empty()) {
    out["settings"]["nodes"] = {{"method", set.node_method}, {"runs", set.node_runs}};
  }
  return out;
}

bool is_convertible_energy(const MetricComparison& c) {
  return c.metric.rfind("energy_", 0) == 0 && c.unit == "J";
}

namespace {

// Full precision, so that a value read back equals the one compare computed (and --json
// prints); empty where it could not be computed.
std::string csv_number(double x) {
  if (!std::isfinite(x)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

std::string csv_number(std::optional<double> x) { return x ? csv_number(*x) : ""; }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

}  // namespace

void write_comparison_csv(const ComparisonSet& set, std::ostream& out) {
  std::vector<std::string> header = {"phase",
                                     "model",
                                     "metric",
                                     "domain",
                                     "unit",
                                     "a",
                                     "b",
                                     "role",
                                     "n_a",
                                     "n_b",
                                     "mean_a",
                                     "mean_b",
                                     "median_a",
                                     "median_b",
                                     "hl_ratio",
                                     "hl_ci_low",
                                     "hl_ci_high",
                                     "ratio_median",
                                     "ratio_ci_low",
                                     "ratio_ci_high",
                                     "test",
                                     "p_method",
                                     "p_value",
                                     "p_holm",
                                     "a12",
                                     "magnitude",
                                     "cliffs_delta",
                                     "verdict",
                                     "decision",
                                     "decided_at",
                                     "estimated",
                                     "estimated_a",
                                     "estimated_b"};
  const bool convert = set.carbon.any();
  if (convert) {
    for (const char* column :
         {"kwh_median_a", "kwh_median_b", "co2e_g_median_a", "co2e_g_median_b", "cost_median_a",
          "cost_median_b", "currency", "pue", "carbon_intensity_g_per_kwh", "price_per_kwh"}) {
      header.emplace_back(column);
    }
  }
  auto line = [&out](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << csv_field(fields[i]);
    out << "\n";
  };
  line(header);
  for (const auto& c : set.comparisons) {
    const auto& s = c.stats;
    const bool energy = c.metric.rfind("energy_", 0) == 0;
    std::vector<std::string> row = {c.phase,
                                    c.model,
                                    c.metric,
                                    energy ? c.metric.substr(7) : "",
                                    c.unit,
                                    c.a,
                                    c.b,
                                    c.role,
                                    std::to_string(s.n_a),
                                    std::to_string(s.n_b),
                                    csv_number(s.mean_a),
                                    csv_number(s.mean_b),
                                    csv_number(s.median_a),
                                    csv_number(s.median_b),
                                    csv_number(s.hl_ratio),
                                    csv_number(s.hl_ci_low),
                                    csv_number(s.hl_ci_high),
                                    csv_number(s.ratio_median),
                                    csv_number(s.ratio_ci_low),
                                    csv_number(s.ratio_ci_high),
                                    s.test,
                                    s.p_method,
                                    csv_number(s.p_value),
                                    csv_number(s.p_holm),
                                    csv_number(s.a12),
                                    s.magnitude,
                                    csv_number(s.cliffs_delta),
                                    c.verdict,
                                    c.decision,
                                    c.decided_at > 0 ? std::to_string(c.decided_at) : "",
                                    c.estimated_a || c.estimated_b ? "true" : "false",
                                    c.estimated_a ? "true" : "false",
                                    c.estimated_b ? "true" : "false"};
    if (convert) {
      const auto& f = set.carbon;
      const bool yes = is_convertible_energy(c);
      auto at = [&](double joules, auto fn) { return yes ? csv_number(fn(joules, f)) : ""; };
      row.push_back(at(s.median_a, facility_kwh));
      row.push_back(at(s.median_b, facility_kwh));
      row.push_back(at(s.median_a, co2e_g));
      row.push_back(at(s.median_b, co2e_g));
      row.push_back(at(s.median_a, energy_cost));
      row.push_back(at(s.median_b, energy_cost));
      row.push_back(yes ? f.currency : "");
      row.push_back(yes ? csv_number(f.effective_pue()) : "");
      row.push_back(yes ? csv_number(f.intensity_g_per_kwh) : "");
      row.push_back(yes ? csv_number(f.price_per_kwh) : "");
    }
    line(row);
  }
}

}  // namespace greenbench
