#pragma once
// The study file's [slurm] table.
#include <toml++/toml.h>

#include <string>
#include <tuple>
#include <vector>

#include "greenbench/slurm.hpp"

namespace greenbench {

/// One problem of the [slurm] table: where, the key as shown, the message.
using SlurmTableProblem = std::tuple<toml::source_region, std::string, std::string>;

/// Reads `[slurm]` (partition, time, nodes, sbatch_args) into `out`; returns the problems.
std::vector<SlurmTableProblem> parse_slurm_table(const toml::node& node, SlurmSettings& out);

}  // namespace greenbench
