// Statistics and reporters of a repeated measurement; every statistic comes from greenbench::stats.
#include "measure/repeat.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "greenbench/error.hpp"
#include "greenbench/shell.hpp"
#include "greenbench/store.hpp"
#include "report/format.hpp"

namespace greenbench::measure {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// duration, total energy, the contract domains, other energy, energy above idle, then metrics.
std::string quantity_sort_key(const std::string& q) {
  static const std::vector<std::string> order = {
      "duration",          "energy_total", "energy_cpu_package", "energy_cpu_core",
      "energy_cpu_uncore", "energy_dram",  "energy_psys",        "energy_gpu"};
  const auto it = std::find(order.begin(), order.end(), q);
  if (it != order.end()) return std::string(1, char('a' + (it - order.begin())));
  if (q.rfind(kAboveIdlePrefix, 0) == 0) {
    return "m" + quantity_sort_key("energy_" + q.substr(std::string(kAboveIdlePrefix).size()));
  }
  if (q.rfind("energy_", 0) == 0) return "k" + q;
  return "z" + q;
}

bool is_energy(const std::string& q) { return q.rfind("energy_", 0) == 0; }

// What a run contributes: per phase, per quantity, one value.
struct Value {
  double value = 0;
  std::string unit;
  bool estimated = false;
  double resolution = 0;
};
using PhaseValues = std::map<std::string, Value>;  // quantity -> value

// The values of one record: phases in order of appearance ("run" first).
std::vector<std::pair<std::string, PhaseValues>> values_of(const RunRecord& record) {
  std::vector<std::pair<std::string, PhaseValues>> out;
  auto slot = [&out](const std::string& phase) -> PhaseValues& {
    for (auto& [name, values] : out) {
      if (name == phase) return values;
    }
    out.emplace_back(phase, PhaseValues{});
    return out.back().second;
  };
  for (const auto& p : record.phases) {
    bool seen = false;
    for (const auto& [name, values] : out) seen = seen || name == p.name;
    if (seen) continue;  // summed once by observations_from_record
    PhaseValues& values = slot(p.name);
    for (const auto& o : observations_from_record(record, p.name)) {
      if (o.metric != "duration" && !is_energy(o.metric)) continue;  // metrics: below
      values[o.metric] = {o.value, o.unit, o.quality == "estimated", o.resolution};
    }
  }
  // A metric's last finite value in the run, under the phase it came in.
  std::map<std::string, const MetricRecord*> last;
  for (const auto& m : record.metrics) {
    if (m.name == "duration" || is_energy(m.name) || !std::isfinite(m.value)) continue;
    last[m.name] = &m;
  }
  for (const auto& [name, m] : last) slot(m->phase)[name] = {m->value, m->unit, false, 0};
  return out;
}

std::string number(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

nlohmann::json json_number(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

// A row's unit scaled so that its median reads well (ms below a second, mJ below a joule).
struct Scale {
  std::string unit;
  double factor = 1;
};
Scale scale_for(const std::string& unit, double median) {
  const double m = std::fabs(median);
  if (unit == "s" && m < 1 && m > 0) return {"ms", 1e3};
  if (unit == "J" && m < 1 && m > 0) return {"mJ", 1e3};
  if (unit == "J" && m >= 1e4) return {"kJ", 1e-3};
  return {unit, 1};
}

// Three significant digits, no trailing zeros: for numbers inside a sentence.
std::string short_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

std::string with_unit(double x, const Scale& s) {
  const std::string v = report::format_quantity(x * s.factor);
  return s.unit.empty() ? v : v + " " + s.unit;
}

std::string label(const QuantitySummary& q) {
  std::string name = q.quantity;
  if (name.rfind(kAboveIdlePrefix, 0) == 0) {
    name = "energy " + name.substr(std::string(kAboveIdlePrefix).size()) + " above idle";
  } else if (is_energy(name)) {
    name = "energy " + name.substr(7);
  }
  return name + (q.estimated ? " (est.)" : "");
}

// The cells of one summary row, shared by the text and Markdown tables.
std::vector<std::string> summary_cells(const QuantitySummary& q) {
  const auto& s = q.summary;
  const Scale sc = scale_for(q.unit, s.median);
  // Equal values summed in a different order differ in the last bits: that is no spread.
  const double spread = s.sd <= 1e-12 * std::fabs(s.mean) ? 0.0 : s.sd;
  const std::string sd = std::isnan(s.sd) ? "n/a" : report::format_quantity(spread * sc.factor);
  return {q.phase,
          label(q),
          report::format_quantity(s.mean * sc.factor) + " ± " + sd + (sc.unit.empty() ? "" : " ") +
              sc.unit,
          with_unit(s.median, sc),
          report::format_quantity(s.min * sc.factor) + " … " + with_unit(s.max, sc),
          std::to_string(s.n)};
}

const std::vector<std::string> kSummaryHeader = {"phase",  "quantity",  "mean ± σ",
                                                 "median", "min … max", "n"};
const std::vector<bool> kSummaryRight = {false, false, true, true, true, true};

std::string command_name(std::size_t index) { return "command " + std::to_string(index + 1); }

// The ratio and interval a verdict is read from: Hodges–Lehmann, else the bootstrap of medians.
struct RatioView {
  double ratio = kNaN, low = kNaN, high = kNaN;
  std::string method;
};
RatioView ratio_view(const stats::Comparison& c) {
  if (!std::isnan(c.hl_ratio) && !std::isnan(c.hl_ci_low)) {
    return {c.hl_ratio, c.hl_ci_low, c.hl_ci_high, "hodges-lehmann"};
  }
  if (!std::isnan(c.ratio_median)) {
    return {c.ratio_median, c.ratio_ci_low, c.ratio_ci_high, "bootstrap-median"};
  }
  return {kNaN, kNaN, kNaN, ""};
}

std::string ratio_sentence(const RatioToFirst& r) {
  const RatioView v = ratio_view(r.stats);
  const bool time = r.quantity == "duration";
  const bool energy = is_energy(r.quantity);
  std::ostringstream out;
  out << command_name(r.command) << (time ? " took " : energy ? " used " : " had ");
  if (std::isnan(v.ratio)) {
    out << "n/a";
  } else {
    out << report::format_fixed(v.ratio, 2) << "×";
    if (!std::isnan(v.low)) {
      out << " [" << report::format_fixed(v.low, 2) << ", " << report::format_fixed(v.high, 2)
          << "]";
    }
    // Too few runs for the distribution-free interval: say which ratio and interval this is.
    if (v.method == "bootstrap-median") out << " (ratio of medians, bootstrap interval)";
  }
  out << (time ? " the time" : energy ? " the energy" : " the " + r.quantity) << " of command 1";
  if (r.estimated) out << " (est.)";
  out << " — p_holm " << report::format_p(r.stats.p_holm) << " (" << r.stats.p_method << "), Â12 "
      << report::format_fixed(r.stats.a12, 2);
  if (!r.stats.magnitude.empty()) out << " " << r.stats.magnitude;
  if (r.verdict == "higher") out << ": " << (time ? "slower" : energy ? "more energy" : "higher");
  if (r.verdict == "lower") out << ": " << (time ? "faster" : energy ? "less energy" : "lower");
  if (r.verdict == "not_significant") out << ": not significant";
  if (r.verdict == "too_few_runs") out << ": too few runs to test";
  if (r.verdict == "identical") out << ": identical";
  if (r.verdict == "within_resolution") {
    const Scale sc = scale_for(r.unit, r.resolution);
    out << ": within resolution (the medians differ by "
        << with_unit(std::fabs(r.stats.median_a - r.stats.median_b), sc) << ", below the "
        << with_unit(r.resolution, sc) << " the measurement resolves)";
  }
  return out.str();
}

std::string family_note(const std::vector<RatioToFirst>& ratios) {
  if (ratios.empty()) return "";
  double confidence = kNaN;
  for (const auto& r : ratios) {
    if (!std::isnan(r.stats.hl_confidence)) confidence = r.stats.hl_confidence;
  }
  std::ostringstream out;
  out << "Hodges–Lehmann ratio command k / command 1";
  if (!std::isnan(confidence)) {
    out << " [" << report::format_fixed(100 * confidence, 1) << "% interval]";
  }
  out << ", two-sided Mann–Whitney U p Holm-adjusted over " << ratios.size()
      << (ratios.size() == 1 ? " comparison" : " comparisons") << ", Â12 = P(k > 1)";
  return out.str();
}

}  // namespace

void classify(RepeatedRun* run, const std::string& last_stderr) {
  const RunRecord& r = run->record;
  run->status = "ok";
  run->reason.clear();
  if (r.timed_out) {
    run->status = "timeout";
    char text[64];
    std::snprintf(text, sizeof text, "timed out after %.3g s", r.duration_s);
    run->reason = text;
  } else if (r.exit_code != 0) {
    run->status = "failed";
    run->reason = r.term_signal != 0 ? "killed by signal " + std::to_string(r.term_signal)
                                     : "exit status " + std::to_string(r.exit_code);
  } else if (const auto why = invalid_reason(r)) {
    run->status = "invalid";
    run->reason = *why;
  }
  if ((run->status == "failed" || run->status == "timeout") && !last_stderr.empty()) {
    run->reason += ": " + printable(last_stderr, 200);
  }
}

std::vector<CommandSummary> summarise(const std::vector<RepeatedRun>& runs,
                                      const std::vector<std::vector<std::string>>& commands) {
  std::vector<CommandSummary> out(commands.size());
  for (std::size_t c = 0; c < commands.size(); ++c) {
    CommandSummary& s = out[c];
    s.command = commands[c];
    std::vector<std::string> phase_order;
    std::map<std::pair<std::string, std::string>, QuantitySummary> by_key;
    for (const auto& run : runs) {
      if (run.command != c || run.warmup) continue;
      ++s.measured;
      if (run.status != "ok") continue;
      ++s.ok;
      for (const auto& [phase, values] : values_of(run.record)) {
        if (std::find(phase_order.begin(), phase_order.end(), phase) == phase_order.end()) {
          phase_order.push_back(phase);
        }
        for (const auto& [quantity, v] : values) {
          QuantitySummary& q = by_key[{phase, quantity}];
          q.phase = phase;
          q.quantity = quantity;
          q.unit = v.unit;
          q.estimated = q.estimated || v.estimated;
          q.values.push_back(v.value);
          q.runs.push_back(run.run);
          q.resolution = std::max(q.resolution, v.resolution);
        }
      }
    }
    // "run" first, then the marker phases as they first appeared.
    std::stable_partition(phase_order.begin(), phase_order.end(),
                          [](const std::string& p) { return p == "run"; });
    for (const auto& phase : phase_order) {
      std::vector<QuantitySummary*> rows;
      for (auto& [key, q] : by_key) {
        if (key.first == phase) rows.push_back(&q);
      }
      std::sort(rows.begin(), rows.end(), [](const QuantitySummary* a, const QuantitySummary* b) {
        return quantity_sort_key(a->quantity) < quantity_sort_key(b->quantity);
      });
      for (QuantitySummary* q : rows) {
        q->summary = stats::describe(q->values);
        s.quantities.push_back(std::move(*q));
      }
    }
  }
  return out;
}

bool is_compared_quantity(const std::string& quantity) {
  if (quantity == "duration" || quantity == "energy_total") return true;
  if (quantity == std::string(kAboveIdlePrefix) + "total") return true;
  return !is_energy(quantity);
}

std::vector<RatioToFirst> ratios_to_first(const std::vector<CommandSummary>& summaries,
                                          double alpha) {
  std::vector<RatioToFirst> out;
  if (summaries.size() < 2) return out;
  const CommandSummary& first = summaries[0];
  std::vector<stats::Comparison> family;
  for (std::size_t c = 1; c < summaries.size(); ++c) {
    for (const auto& q : summaries[c].quantities) {
      if (!is_compared_quantity(q.quantity)) continue;
      const auto base =
          std::find_if(first.quantities.begin(), first.quantities.end(), [&](const auto& b) {
            return b.phase == q.phase && b.quantity == q.quantity && b.unit == q.unit;
          });
      if (base == first.quantities.end()) continue;
      RatioToFirst r;
      r.command = c;
      r.phase = q.phase;
      r.quantity = q.quantity;
      r.unit = q.unit;
      r.estimated = q.estimated || base->estimated;
      r.resolution = std::max(q.resolution, base->resolution);
      r.stats = stats::compare_samples(q.values, base->values);
      family.push_back(r.stats);
      out.push_back(std::move(r));
    }
  }
  stats::holm_adjust(family);
  for (std::size_t i = 0; i < out.size(); ++i) {
    RatioToFirst& r = out[i];
    r.stats.p_holm = family[i].p_holm;
    r.stats.p_bonferroni = family[i].p_bonferroni;
    const auto& s = r.stats;
    if (s.identical) {
      r.verdict = "identical";
    } else if (s.n_a < 2 || s.n_b < 2 || std::isnan(s.p_holm)) {
      r.verdict = "too_few_runs";
    } else if (r.resolution > 0 && std::fabs(s.median_a - s.median_b) < r.resolution) {
      r.verdict = "within_resolution";
    } else if (s.p_holm < alpha) {
      r.verdict = s.a12 > 0.5 ? "higher" : "lower";
    } else {
      r.verdict = "not_significant";
    }
  }
  return out;
}

std::vector<std::string> short_phase_warnings(const std::vector<CommandSummary>& summaries,
                                              const std::vector<SourceTiming>& sources) {
  std::vector<std::string> out;
  const SourceTiming* coarsest = nullptr;
  for (const auto& s : sources) {
    if (coarsest == nullptr || s.update_interval_s > coarsest->update_interval_s) coarsest = &s;
  }
  if (coarsest == nullptr || coarsest->update_interval_s <= 0) return out;
  const double limit_s = kResolvableIntervals * coarsest->update_interval_s;
  for (std::size_t c = 0; c < summaries.size(); ++c) {
    for (const auto& q : summaries[c].quantities) {
      if (q.quantity != "duration" || q.summary.n == 0 || !(q.summary.median < limit_s)) continue;
      const Scale ds = scale_for("s", q.summary.median);
      const Scale is = scale_for("s", coarsest->update_interval_s);
      std::string line = "phase '" + q.phase + "' of " + command_name(c) + " lasts " +
                         short_number(q.summary.median * ds.factor) + " " + ds.unit +
                         " (median), shorter than " + short_number(kResolvableIntervals) +
                         " × the " + short_number(coarsest->update_interval_s * is.factor) + " " +
                         is.unit + " update interval of " + coarsest->name +
                         ", which cannot resolve it";
      // What that means for its energy, from the records' own energy_resolution_j.
      for (const auto& e : summaries[c].quantities) {
        if (e.phase != q.phase || e.quantity != "energy_total" || e.summary.n == 0) continue;
        if (e.resolution > 0 && e.summary.median > 0) {
          line += ": its total energy resolves to ±" +
                  report::format_fixed(100 * e.resolution / e.summary.median, 0) +
                  "% of the median";
        } else if (e.resolution > 0) {
          const Scale es = scale_for("J", e.resolution);
          line += ": its total energy (median 0) is below the " +
                  short_number(e.resolution * es.factor) + " " + es.unit + " resolution";
        }
      }
      out.push_back(line);
    }
  }
  return out;
}

std::vector<std::string> collected_warnings(const std::vector<RepeatedRun>& runs) {
  std::vector<std::string> order;
  std::map<std::string, std::map<std::size_t, int>> counts;  // warning -> command -> runs
  std::map<std::size_t, int> runs_per_command;
  for (const auto& run : runs) {
    ++runs_per_command[run.command];
    std::set<std::string> once;  // a warning repeated within one run counts once
    for (const auto& w : run.record.warnings) {
      if (!once.insert(w).second) continue;
      if (counts.find(w) == counts.end()) order.push_back(w);
      ++counts[w][run.command];
    }
  }
  std::vector<std::string> out;
  for (const auto& w : order) {
    std::string where;
    for (const auto& [command, n] : counts[w]) {
      if (!where.empty()) where += ", ";
      where += std::to_string(n) + " of " + std::to_string(runs_per_command[command]) +
               " runs of " + command_name(command);
    }
    out.push_back(w + " (" + where + ")");
  }
  return out;
}

std::string summary_text(const std::vector<CommandSummary>& summaries,
                         const std::vector<RatioToFirst>& ratios, int warmup_runs) {
  std::ostringstream out;
  for (std::size_t c = 0; c < summaries.size(); ++c) {
    const auto& s = summaries[c];
    if (c > 0) out << "\n";
    out << command_name(c) << ": " << shell_join(s.command) << "\n";
    out << "  " << s.ok << " of " << s.measured << " measured runs ok";
    if (warmup_runs > 0) out << " (after " << warmup_runs << " warm-up)";
    out << "\n";
    report::Table t;
    t.header = kSummaryHeader;
    t.right = kSummaryRight;
    for (const auto& q : s.quantities) {
      if (q.quantity.find(':') != std::string::npos) continue;
      t.rows.push_back(summary_cells(q));
    }
    if (!t.rows.empty()) out << report::render_text(t, "  ");
  }
  if (!ratios.empty()) {
    out << "\nAgainst command 1 (" << family_note(ratios) << "):\n";
    for (const auto& r : ratios) out << "  " << r.phase << ": " << ratio_sentence(r) << "\n";
  }
  return out.str();
}

nlohmann::json repeat_json(const nlohmann::json& settings, const std::vector<RepeatedRun>& runs,
                           const std::vector<CommandSummary>& summaries,
                           const std::vector<RatioToFirst>& ratios,
                           const std::vector<std::string>& warnings) {
  nlohmann::json j;
  j["settings"] = settings;
  j["commands"] = nlohmann::json::array();
  for (std::size_t c = 0; c < summaries.size(); ++c) {
    const auto& s = summaries[c];
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& q : s.quantities) {
      rows.push_back({{"phase", q.phase},
                      {"quantity", q.quantity},
                      {"unit", q.unit},
                      {"estimated", q.estimated},
                      {"n", q.summary.n},
                      {"mean", json_number(q.summary.mean)},
                      {"sd", json_number(q.summary.sd)},
                      {"median", json_number(q.summary.median)},
                      {"q1", json_number(q.summary.q1)},
                      {"q3", json_number(q.summary.q3)},
                      {"min", json_number(q.summary.min)},
                      {"max", json_number(q.summary.max)},
                      {"resolution", q.resolution > 0 ? json_number(q.resolution) : nullptr},
                      {"values", q.values},
                      {"runs", q.runs}});
    }
    j["commands"].push_back({{"command", c + 1},
                             {"argv", s.command},
                             {"command_line", shell_join(s.command)},
                             {"measured_runs", s.measured},
                             {"ok_runs", s.ok},
                             {"summary", std::move(rows)}});
  }
  j["runs"] = nlohmann::json::array();
  for (const auto& r : runs) {
    j["runs"].push_back({{"command", r.command + 1},
                         {"run", r.run},
                         {"order", r.order},
                         {"warmup", r.warmup},
                         {"status", r.status},
                         {"reason", r.reason},
                         {"record", to_json(r.record)}});
  }
  j["comparisons"] = nlohmann::json::array();
  for (const auto& r : ratios) {
    const auto& s = r.stats;
    const RatioView v = ratio_view(s);
    j["comparisons"].push_back(
        {{"command", r.command + 1},
         {"baseline", 1},
         {"phase", r.phase},
         {"quantity", r.quantity},
         {"unit", r.unit},
         {"estimated", r.estimated},
         {"n", s.n_a},
         {"n_baseline", s.n_b},
         {"median", json_number(s.median_a)},
         {"median_baseline", json_number(s.median_b)},
         {"ratio", json_number(v.ratio)},
         {"ratio_low", json_number(v.low)},
         {"ratio_high", json_number(v.high)},
         {"ratio_method", v.method},
         {"ratio_confidence", json_number(s.hl_confidence)},
         {"ratio_of_medians", json_number(s.ratio_median)},
         {"test", s.test},
         {"p_value", json_number(s.p_value)},
         {"p_method", s.p_method},
         {"p_holm", json_number(s.p_holm)},
         {"a12", json_number(s.a12)},
         {"magnitude", s.magnitude},
         {"cliffs_delta", json_number(s.cliffs_delta)},
         {"resolution", r.resolution > 0 ? json_number(r.resolution) : nlohmann::json(nullptr)},
         {"verdict", r.verdict},
         {"notes", s.notes}});
  }
  j["warnings"] = warnings;
  return j;
}

std::string repeat_csv(const std::vector<RepeatedRun>& runs,
                       const std::vector<std::vector<std::string>>& commands) {
  auto field = [](const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  std::ostringstream out;
  out << "command,command_line,run,status,phase,quantity,value,unit,estimated,resolution\n";
  for (const auto& run : runs) {
    if (run.warmup) continue;
    const std::string prefix = std::to_string(run.command + 1) + "," +
                               field(shell_join(commands.at(run.command))) + "," +
                               std::to_string(run.run) + "," + run.status + ",";
    for (const auto& [phase, values] : values_of(run.record)) {
      std::vector<const std::pair<const std::string, Value>*> rows;
      for (const auto& kv : values) rows.push_back(&kv);
      std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
        return quantity_sort_key(a->first) < quantity_sort_key(b->first);
      });
      for (const auto* kv : rows) {
        const Value& v = kv->second;
        out << prefix << field(phase) << "," << field(kv->first) << "," << number(v.value) << ","
            << field(v.unit) << "," << (v.estimated ? "true" : "false") << ","
            << (v.resolution > 0 ? number(v.resolution) : "") << "\n";
      }
    }
  }
  return out.str();
}

std::string repeat_markdown(const std::vector<CommandSummary>& summaries,
                            const std::vector<RatioToFirst>& ratios, int warmup_runs) {
  std::ostringstream out;
  out << "# greenbench measure\n";
  for (std::size_t c = 0; c < summaries.size(); ++c) {
    const auto& s = summaries[c];
    out << "\n## Command " << c + 1 << "\n\n`" << report::markdown_text(shell_join(s.command))
        << "`\n\n"
        << s.ok << " of " << s.measured << " measured runs ok";
    if (warmup_runs > 0) out << " (after " << warmup_runs << " warm-up)";
    out << ". (est.) marks estimated energy.\n\n";
    report::Table t;
    t.header = kSummaryHeader;
    t.right = kSummaryRight;
    for (const auto& q : s.quantities) {
      if (q.quantity.find(':') == std::string::npos) t.rows.push_back(summary_cells(q));
    }
    out << report::render_markdown(t);
  }
  if (!ratios.empty()) {
    out << "\n## Against command 1\n\n" << report::markdown_text(family_note(ratios)) << ".\n\n";
    report::Table t;
    t.header = {"command", "phase", "quantity", "ratio [interval]", "p_holm", "Â12", "verdict"};
    t.right = {true, false, false, true, true, true, false};
    for (const auto& r : ratios) {
      const RatioView v = ratio_view(r.stats);
      std::string ratio = report::format_fixed(v.ratio, 3);
      if (!std::isnan(v.low)) {
        ratio +=
            " [" + report::format_fixed(v.low, 3) + ", " + report::format_fixed(v.high, 3) + "]";
      }
      QuantitySummary q;
      q.quantity = r.quantity;
      q.estimated = r.estimated;
      t.rows.push_back({std::to_string(r.command + 1), r.phase, label(q), ratio,
                        report::format_p(r.stats.p_holm), report::format_fixed(r.stats.a12, 2),
                        r.verdict});
    }
    out << report::render_markdown(t);
  }
  return out.str();
}

}  // namespace greenbench::measure
