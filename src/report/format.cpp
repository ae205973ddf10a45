// Number formatting and table building shared by every reporter.
#include "report/format.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>

#include "report/quality.hpp"

namespace greenbench::report {
namespace {

std::string printf_string(const char* fmt, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}

// Thousands separators keep large joule values readable, as in the study's tables.
std::string with_thousands(double x) {
  std::string digits = printf_string("%.0f", std::fabs(x));
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[i];
    if ((n - i - 1) % 3 == 0 && i + 1 < n) out += ',';
  }
  return (x < 0 && digits != "0" ? "-" : "") + out;
}

}  // namespace

std::string format_quantity(double x) {
  if (std::isnan(x)) return "n/a";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  const double ax = std::fabs(x);
  if (ax >= 1000) return with_thousands(x);
  if (ax >= 100) return printf_string("%.1f", x);
  if (ax >= 10) return printf_string("%.2f", x);
  if (ax >= 1) return printf_string("%.3f", x);
  if (ax == 0) return "0";
  return printf_string("%#.3g", x);
}

std::string format_p(double p) {
  if (std::isnan(p)) return "n/a";
  return printf_string("%.3g", p);
}

std::string format_fixed(double x, int decimals) {
  if (std::isnan(x)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

std::string format_ratio(const stats::Comparison& c) {
  if (!std::isnan(c.hl_ratio) && !std::isnan(c.hl_ci_low)) {
    return format_fixed(c.hl_ratio, 3) + " [" + format_fixed(c.hl_ci_low, 3) + ", " +
           format_fixed(c.hl_ci_high, 3) + "]";
  }
  if (std::isnan(c.ratio_median)) return "n/a";
  return format_fixed(c.ratio_median, 3) + " [" + format_fixed(c.ratio_ci_low, 3) + ", " +
         format_fixed(c.ratio_ci_high, 3) + "]";
}

std::string metric_label(const std::string& metric, const std::string& unit) {
  static const std::map<std::string, std::string> kLabels = {
      {"energy_cpu_package", "package J"}, {"energy_dram", "DRAM J"}, {"energy_gpu", "GPU J"},
      {"energy_total", "total J"},         {"duration", "time s"},
  };
  if (auto it = kLabels.find(metric); it != kLabels.end()) return it->second;
  return unit.empty() ? metric : metric + " " + unit;
}

std::string metric_sort_key(const std::string& metric) {
  static const std::map<std::string, std::string> kOrder = {
      {"energy_cpu_package", "0"}, {"energy_dram", "1"}, {"energy_gpu", "2"},
      {"energy_total", "3"},       {"duration", "5"},
  };
  if (auto it = kOrder.find(metric); it != kOrder.end()) return it->second;
  if (metric.rfind("energy_", 0) == 0) return "4" + metric;
  return "6" + metric;
}

bool is_table_metric(const std::string& metric) {
  return metric == "energy_cpu_package" || metric == "energy_dram" || metric == "energy_gpu" ||
         metric == "energy_total" || metric == "duration";
}

std::string phase_sort_key(const std::string& phase) {
  if (phase == "train") return "0";
  if (phase == "infer") return "1";
  return "2" + phase;
}

std::vector<PhaseBlock> phase_blocks(const ComparisonSet& set) {
  std::vector<PhaseBlock> blocks;
  for (const auto& c : set.comparisons) {
    PhaseBlock* block = nullptr;
    for (auto& b : blocks) {
      if (b.phase == c.phase && b.a == c.a && b.b == c.b) block = &b;
    }
    if (block == nullptr) {
      blocks.push_back({c.phase, c.a, c.b, {}, {}, {}});
      block = &blocks.back();
    }
    block->comparisons.push_back(&c);
    bool seen = false;
    for (const auto& m : block->models) seen = seen || m == c.model;
    if (!seen) block->models.push_back(c.model);
  }
  for (auto& block : blocks) {
    std::map<std::string, std::string> metrics;  // sort key -> metric
    for (const auto* c : block.comparisons) {
      if (is_table_metric(c->metric)) metrics[metric_sort_key(c->metric)] = c->metric;
    }
    for (const auto& [key, metric] : metrics) block.table_metrics.push_back(metric);
  }
  return blocks;
}

const MetricComparison* find(const PhaseBlock& block, const std::string& model,
                             const std::string& metric) {
  for (const auto* c : block.comparisons) {
    if (c->model == model && c->metric == metric) return c;
  }
  return nullptr;
}

bool any_estimated(const ComparisonSet& set) {
  for (const auto& c : set.comparisons) {
    if (c.estimated_a || c.estimated_b) return true;
  }
  return false;
}

Table means_table(const PhaseBlock& block) {
  Table t;
  t.header.push_back("model");
  t.right.push_back(false);
  for (const auto& metric : block.table_metrics) {
    const auto* any = static_cast<const MetricComparison*>(nullptr);
    for (const auto* c : block.comparisons) {
      if (c->metric == metric) any = c;
    }
    t.header.push_back(metric_label(metric, any != nullptr ? any->unit : ""));
    t.right.push_back(true);
  }
  for (const auto& model : block.models) {
    std::vector<std::string> row = {model};
    for (const auto& metric : block.table_metrics) {
      const auto* c = find(block, model, metric);
      if (c == nullptr) {
        row.emplace_back("-");
        continue;
      }
      row.push_back(format_quantity(c->stats.mean_a) + (c->estimated_a ? "*" : "") + " / " +
                    format_quantity(c->stats.mean_b) + (c->estimated_b ? "*" : ""));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table stats_table(const PhaseBlock& block, double alpha) {
  Table t;
  t.header = {"model", "metric", "n",         "median a / b",       "p",      "test", "p_holm",
              "Â12",   "effect", "Cliff's δ", "ratio a/b [95% CI]", "verdict"};
  t.right = {false, false, true, true, true, false, true, true, false, true, true, false};
  const bool sequential =
      std::any_of(block.comparisons.begin(), block.comparisons.end(),
                  [](const MetricComparison* c) { return !c->decision.empty(); });
  if (sequential) {
    t.header.emplace_back("sequential");
    t.right.push_back(false);
  }
  for (const auto& model : block.models) {
    for (const auto* c : block.comparisons) {
      if (c->model != model) continue;
      const auto& s = c->stats;
      (void)alpha;  // the verdict was decided in compare_results
      std::string cheaper;
      if (c->verdict == "a_cheaper") cheaper = c->a + " cheaper";
      if (c->verdict == "b_cheaper") cheaper = c->b + " cheaper";
      if (c->verdict == "not_significant") cheaper = "not significant";
      if (c->verdict == "identical") cheaper = "identical";
      if (c->verdict == "within_resolution") cheaper = "within resolution";
      if (c->verdict == "not_comparable") cheaper = "not comparable";
      if (c->verdict == "estimated_only") cheaper = "estimated only";
      if (c->role.empty() && c->cost) cheaper = "shown, not counted";
      if (!c->cost && s.identical) cheaper = "identical";
      std::string metric = c->metric;
      if (!c->cost) metric += is_quality_metric(c->metric) ? " (not a cost)" : " (diagnostic)";
      if (!c->role.empty() && c->role == "energy") metric += " (primary)";
      t.rows.push_back({model, metric, std::to_string(s.n_a) + "/" + std::to_string(s.n_b),
                        format_quantity(s.median_a) + (c->estimated_a ? "*" : "") + " / " +
                            format_quantity(s.median_b) + (c->estimated_b ? "*" : ""),
                        format_p(s.p_value), s.p_method, format_p(s.p_holm), format_fixed(s.a12, 3),
                        s.magnitude, format_fixed(s.cliffs_delta, 3), format_ratio(s), cheaper});
      if (sequential) {
        t.rows.back().push_back(c->decision.empty() ? ""
                                : c->decided_at > 0
                                    ? c->decision + " at " + std::to_string(c->decided_at)
                                    : c->decision);
      }
    }
  }
  return t;
}

Table correlation_table(const ComparisonSet& set) {
  Table t;
  t.header = {"model", "phase", "framework", "energy metric", "n", "Spearman ρ", "p"};
  t.right = {false, false, false, false, true, true, true};
  for (const auto& r : set.correlations) {
    t.rows.push_back({r.model, r.phase, r.framework, r.energy_metric, std::to_string(r.rho.n),
                      format_fixed(r.rho.rho, 3), format_p(r.rho.p_value)});
  }
  return t;
}

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) {
    if ((ch & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string render_text(const Table& table, const std::string& indent) {
  std::vector<std::size_t> width(table.header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], display_width(row[i]));
    }
  };
  measure(table.header);
  for (const auto& row : table.rows) measure(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out = indent;
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(width[i] - display_width(cell), ' ');
      const bool right = i < table.right.size() && table.right[i];
      out += right ? pad + cell : cell + pad;
      if (i + 1 < width.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(table.header);
  std::size_t total = 0;
  for (auto w : width) total += w;
  out += indent + std::string(total + 2 * (width.size() - 1), '-') + "\n";
  for (const auto& row : table.rows) out += line(row);
  return out;
}

std::string markdown_text(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (ch == '\\' || ch == '`' || ch == '*' || ch == '|' || ch == '[' || ch == ']') {
      out += '\\';
      out += ch;
    } else if (ch == '<' && (std::isalpha(static_cast<unsigned char>(next)) != 0 || next == '/' ||
                             next == '!' || next == '?')) {
      out += "&lt;";  // it could start raw HTML, which Markdown passes through
    } else if (ch == '&' && std::isalpha(static_cast<unsigned char>(next)) != 0) {
      out += "&amp;";  // it could start an entity
    } else if (ch == '\n' || ch == '\r') {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

std::string render_markdown(const Table& table) {
  const auto cell = markdown_text;
  std::string out = "|";
  for (const auto& h : table.header) {
    out += ' ';
    out += cell(h);
    out += " |";
  }
  out += "\n|";
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    out += i < table.right.size() && table.right[i] ? " ---: |" : " --- |";
  }
  out += "\n";
  for (const auto& row : table.rows) {
    out += "|";
    for (const auto& c : row) {
      out += ' ';
      out += cell(c);
      out += " |";
    }
    out += "\n";
  }
  return out;
}

}  // namespace greenbench::report
