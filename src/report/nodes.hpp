#pragma once
// Slurm nodes in the statistics: hardware kept apart, comparisons blocked on the node.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "greenbench/report.hpp"

namespace greenbench::report {

/// When the observations come from nodes of more than one hardware (CPU/GPU models), a copy in
/// which each model is labelled "<model> @ <hardware>", so that each hardware is compared on
/// its own; nullopt when there is at most one.
std::optional<ResultSet> split_by_hardware(const ResultSet& results);

/// When the values of a comparison come from more than one node, replaces its rank test by van
/// Elteren's test blocked on the node (nodes_a[i] is the node of c.values_a[i]) and says so.
void block_on_node(MetricComparison& c, const std::vector<std::string>& nodes_a,
                   const std::vector<std::string>& nodes_b);

/// Fills set.node_runs (measured runs per node) and set.node_method from the observations.
void count_nodes(const ResultSet& results, ComparisonSet& set);

/// The report's per-node breakdown (a study run on Slurm): runs per node and configuration, the
/// node's hardware, and how the tests treated the nodes; nothing for a local study.
void write_nodes_html(const ResultSet& results, const ComparisonSet& set, std::ostream& out);

}  // namespace greenbench::report
