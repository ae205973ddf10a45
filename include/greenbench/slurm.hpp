#pragma once
/// Studies on a Slurm cluster: one job array per submission, one run per array task, each task
/// exclusive on its node and writing its own shard store, merged into DIR/results.sqlite.
#include <atomic>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "greenbench/store.hpp"
#include "greenbench/study.hpp"

namespace greenbench {

/// How `run --slurm` was asked for: the study as given (so that each task rebuilds the same
/// effective settings on its node), the results directory and how to wait.
struct SlurmRunOptions {
  std::string out_dir;                      ///< DIR: on a file system every node sees
  std::optional<std::string> study_file;    ///< none = the default study
  StudyOverrides overrides;                 ///< the command line's --reps, --models, ...
  bool resume = false;                      ///< merge what finished, resubmit missing/failed runs
  bool wait = true;                         ///< false = --no-wait (a dependent job merges)
  double poll_s = 2;                        ///< how often waiting looks at markers and squeue
  std::string greenbench_exe;               ///< this program, as the tasks call it
  std::ostream* progress = nullptr;         ///< progress lines; null = silent
  bool progress_in_place = false;           ///< rewrite one terminal line
  const std::atomic<bool>* stop = nullptr;  ///< Ctrl-C: stop waiting, leave the jobs alone
};

/// What run_study_slurm did.
struct SlurmOutcome {
  std::string store_file;
  std::string job_id;             ///< the array job submitted now ("" when nothing was left to run)
  int submitted = 0;              ///< array tasks (= runs) submitted now
  int already_stored = 0;         ///< ok runs found merged before submitting
  int ok = 0, failed = 0;         ///< runs of this submission, when waited for
  bool waited = false;            ///< false with --no-wait or when interrupted
  bool interrupted = false;       ///< Ctrl-C while waiting: the jobs go on
  double overhead_median_s = -1;  ///< median submission-to-first-marker time of this submission
};

/// Submits (or resumes) a study as a Slurm job array and, unless told not to, waits for it while
/// merging shards; throws Error when sbatch is missing or refuses, or the store does not match.
SlurmOutcome run_study_slurm(const EffectiveSettings& effective, const SlurmRunOptions& options);

/// One array task (`greenbench slurm-task DIR SUBMISSION`, run by Slurm): runs the task's run
/// into a shard store with start/done markers; returns the process exit status.
int run_slurm_task(const std::string& out_dir, int submission, std::ostream& log,
                   const std::atomic<bool>* stop);

/// What merge_shards did.
struct MergeSummary {
  int merged = 0;    ///< shards merged now
  int replaced = 0;  ///< of those, replacing a run stored as failed
  int failures = 0;  ///< runs recorded as failed now (killed by Slurm, no shard)
  int skipped = 0;   ///< finished shards already merged or superseded
};

/// Merges every finished shard of DIR/shards into DIR/results.sqlite, one transaction per shard,
/// idempotently (a shard is merged once; a run stored ok is never replaced).
MergeSummary merge_shards(const std::string& out_dir);

/// merge_shards, then records as failed (with Slurm's reason) every run whose task of a finished
/// array left no result: what `slurm-merge` (the job after a --no-wait array) does.
MergeSummary settle_slurm_study(const std::string& out_dir);

/// Records a run that Slurm ended without a shard (`run`: labels, status "failed", reason);
/// does nothing when its position already has a run. Returns whether it wrote one.
bool record_slurm_failure(const std::string& out_dir, const StoredRun& run, const std::string& node,
                          const std::string& job_id, int task_id);

/// Checks a Slurm time limit as sbatch --time takes it ("MM", "MM:SS", "HH:MM:SS", "D-HH",
/// "D-HH:MM", "D-HH:MM:SS", "UNLIMITED"); returns "" when it is one, else the problem.
std::string slurm_time_problem(const std::string& text);

/// The hardware a node's environment describes (CPU model, and GPU models where recorded): nodes
/// with different hardware are never pooled in one comparison.
std::string hardware_of(const nlohmann::json& environment);

}  // namespace greenbench
