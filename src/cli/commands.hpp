#pragma once
// One function per subcommand; each gets the arguments after the subcommand name.
#include <optional>
#include <string>
#include <vector>

#include "greenbench/study.hpp"

namespace greenbench::cli {

using Args = std::vector<std::string>;

int cmd_sources(const Args& args);
int cmd_measure(const Args& args);
int cmd_run(const Args& args);
int cmd_compare(const Args& args);
int cmd_report(const Args& args);
int cmd_import(const Args& args);
int cmd_export(const Args& args);
int cmd_profile(const Args& args);
int cmd_slurm_task(const Args& args);   // run by Slurm: one array task of `run --slurm`
int cmd_slurm_merge(const Args& args);  // run by Slurm after the array (--no-wait)

// `run --slurm`: what the command line asked for beyond the effective settings.
struct SlurmCliRequest {
  std::string out_dir;
  std::optional<std::string> study_file;
  StudyOverrides overrides;
  std::string resume_hint;  // the command that merges and resubmits, runnable as printed
  bool resume = false;
  bool wait = true;
};
int run_slurm(const EffectiveSettings& effective, const SlurmCliRequest& request);

}  // namespace greenbench::cli
