// Slurm nodes in the statistics.
#include "report/nodes.hpp"

#include <map>
#include <set>

namespace greenbench::report {

std::optional<ResultSet> split_by_hardware(const ResultSet& results) {
  std::set<std::string> kinds;
  for (const auto& o : results.observations) {
    if (!o.hardware.empty()) kinds.insert(o.hardware);
  }
  if (kinds.size() < 2) return std::nullopt;
  ResultSet split = results;
  for (auto& o : split.observations) {
    if (o.hardware.empty()) continue;
    o.model += " @ " + o.hardware;
    o.hardware.clear();
  }
  return split;
}

void block_on_node(MetricComparison& c, const std::vector<std::string>& nodes_a,
                   const std::vector<std::string>& nodes_b) {
  std::set<std::string> nodes(nodes_a.begin(), nodes_a.end());
  nodes.insert(nodes_b.begin(), nodes_b.end());
  nodes.erase("");
  if (nodes.size() < 2) return;
  std::map<std::string, size_t> stratum;
  for (const auto& n : nodes) stratum.emplace(n, stratum.size());
  std::vector<std::vector<double>> a(nodes.size()), b(nodes.size());
  for (size_t i = 0; i < c.values_a.size() && i < nodes_a.size(); ++i) {
    if (!nodes_a[i].empty()) a[stratum[nodes_a[i]]].push_back(c.values_a[i]);
  }
  for (size_t i = 0; i < c.values_b.size() && i < nodes_b.size(); ++i) {
    if (!nodes_b[i].empty()) b[stratum[nodes_b[i]]].push_back(c.values_b[i]);
  }
  const stats::VanElteren v = stats::van_elteren(a, b);
  c.stats.test = "van-elteren";
  c.stats.statistic = v.statistic;
  c.stats.p_value = v.p_value;
  c.stats.p_holm = v.p_value;
  c.stats.p_bonferroni = v.p_value;
  c.stats.p_method = "asymptotic";
  c.stats.notes.push_back("test: blocked on node, van Elteren over " + std::to_string(v.strata) +
                          " of " + std::to_string(nodes.size()) +
                          " nodes (a node with runs of one side only is left out); the effect "
                          "sizes and the ratio pool the nodes");
}

void count_nodes(const ResultSet& results, ComparisonSet& set) {
  std::map<std::string, std::set<long long>> runs;
  for (const auto& o : results.observations) {
    if (o.node.empty() || o.warmup) continue;
    runs[o.node].insert(o.run_id);
  }
  if (runs.empty()) return;
  for (const auto& [node, ids] : runs) set.node_runs[node] = int(ids.size());
  bool blocked = false;
  for (const auto& c : set.comparisons) blocked = blocked || c.stats.test == "van-elteren";
  set.node_method =
      blocked ? "blocked on node (van Elteren) where a comparison spans nodes" : "single node";
}

void write_nodes_html(const ResultSet& results, const ComparisonSet& set, std::ostream& out) {
  if (results.node_counts.empty()) return;
  out << "<section id=\"nodes\"><h2>Nodes</h2>\n<p>Runs per Slurm node (measured runs that "
         "succeeded; failed ones include warm-ups and runs Slurm killed). Tests: "
      << html_escape(set.node_method.empty() ? "single node" : set.node_method) << ".</p>\n";
  out << "<div class=\"scroll\"><table><thead><tr><th>node</th><th>hardware</th><th>model</th>"
         "<th>phase</th><th>framework</th><th>ok</th><th>failed</th></tr></thead><tbody>\n";
  for (const auto& n : results.node_counts) {
    out << "<tr><td>" << html_escape(n.node) << "</td><td>" << html_escape(n.hardware)
        << "</td><td>" << html_escape(n.model) << "</td><td>" << html_escape(n.phase) << "</td><td>"
        << html_escape(n.framework) << "</td><td>" << n.ok << "</td><td>" << n.failed
        << "</td></tr>\n";
  }
  out << "</tbody></table></div>\n</section>\n";
}

}  // namespace greenbench::report
