#pragma once
// Slurm shards inside the store: which node, job and task each run came from.
#include "greenbench/results.hpp"
#include "store/sqlite.hpp"

namespace greenbench::store {

/// Fills Observation::node/hardware and ResultSet::node_counts from the slurm_runs and
/// slurm_nodes tables where the store has them (a study run with --slurm); otherwise nothing.
void attach_slurm_nodes(Database& db, ResultSet& results);

}  // namespace greenbench::store
