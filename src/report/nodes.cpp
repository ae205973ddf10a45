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

}  // namespace greenbench::report
