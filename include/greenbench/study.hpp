#pragma once
/// Studies: the study file, its validated effective settings, the run plan and the runner.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "greenbench/carbon.hpp"
#include "greenbench/energy.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/random.hpp"
#include "greenbench/record.hpp"

namespace greenbench {

/// An external workload of a study (`[[command]]`): its labels and its argv (never a shell).
struct CommandSpec {
  std::string framework, model, phase;
  std::vector<std::string> argv;
  std::string cwd;  ///< as written; "" = the study file's folder
};

/// How `run --slurm` submits a study (`[slurm]` table, `--slurm-*` options).
struct SlurmSettings {
  std::string partition;                 ///< sbatch --partition; "" = the cluster's default
  std::string time;                      ///< sbatch --time per task (one run); "" = the default
  int nodes = 0;                         ///< the most nodes used at once (--array %N); 0 = no cap
  std::vector<std::string> sbatch_args;  ///< passed to sbatch as they are
};

/// A study as written: the keys of the study file (contract) with their defaults.
struct StudySettings {
  std::string name = "default";
  std::vector<std::string> frameworks{"pytorch", "tensorflow"};
  std::vector<std::string> models{"ncf", "resnet50", "transformer_xl", "ssd", "gnmt", "mask_rcnn"};
  bool models_given = false;  ///< `models` was set (a study with commands then also runs these)
  std::vector<std::string> phases{"train", "infer"};
  std::string scale = "tiny";
  /// 6: the fewest with which a verdict of the default study (10 per phase) can be significant.
  int repetitions = 6;  ///< with repetitions_auto: max_repetitions (the plan's length)
  /// `repetitions = "auto"`: a sequential study that stops a configuration once every primary
  /// comparison it takes part in is decided (the rule of `compare --sequential`).
  bool repetitions_auto = false;
  int min_repetitions = 5;           ///< auto: the first look, in runs per configuration
  int max_repetitions = 30;          ///< auto: the last look
  double alpha = 0.05;               ///< auto: family-wise type-I error over looks and comparisons
  double equivalence_margin = 0.02;  ///< auto: equivalent when the ratio's interval is in 1 ± this
  int warmup = 1;                    ///< warm-up runs per configuration
  std::string order = "interleaved";
  std::uint64_t seed = 1;
  double cooldown_s = -1;           ///< < 0 = "adaptive"
  double cooldown_tolerance = 0.1;  ///< adaptive: back within this fraction of idle power
  double cooldown_max_s = 60;       ///< adaptive: wait at most this long
  double timeout_s = 600;           ///< per run
  double idle_baseline_s = 5;
  int threads = 0;  ///< 0 = the number of online CPUs
  /// Built-in workers' --numerics: "default" (each framework as it ships) or "strict".
  std::string numerics = "default";
  std::string device = "cpu";      ///< built-in workers' --device: "cpu", "cuda" or "cuda:N"
  std::string precision = "fp32";  ///< built-in workers' --precision: fp32, tf32, bf16, fp16
  /// `profile = true`: one profiled run (`--profile`) per built-in configuration after the
  /// measured runs; kept apart from them, never in the statistics.
  bool profile = false;
  /// Energy sources the runs use, as `measure --source` names them; empty = every readable one.
  std::vector<std::string> sources;
  double cpu_watts_per_core = -1;  ///< CPU estimate: W per busy core; < 0 = the estimate's default
  double cpu_idle_watts = -1;      ///< CPU estimate: idle W; < 0 = the estimate's default
  std::vector<CommandSpec> commands;
  CarbonSettings carbon;  ///< carbon_intensity | region, pue, price, currency (shown, not applied)
  SlurmSettings slurm;    ///< `[slurm]`: used by `run --slurm` only, never part of the settings
  std::string
      base_dir;  ///< absolute folder of the study file, which [[command]] paths are relative to
};

/// Parses a study file's text; collects every error and throws one Error listing each on its own
/// line as `<source>:<line>: key '<key>': <problem>`. Relative [[command]] paths are relative to
/// `base_dir` ("" = the current directory).
StudySettings parse_study(const std::string& text, const std::string& source = "study.toml",
                          const std::string& base_dir = "");
/// Reads and parses a study file.
StudySettings parse_study_file(const std::string& path);

/// Command-line overrides of a study (`--reps`, `--models`, ...); unset ones leave it alone.
struct StudyOverrides {
  std::optional<int> repetitions;
  std::optional<std::vector<std::string>> models, frameworks, phases;
  std::optional<std::string> scale;
  std::optional<std::vector<std::string>> sources;  ///< run --source
  std::optional<double> cpu_watts_per_core;         ///< run --cpu-watts-per-core
  std::optional<double> cpu_idle_watts;             ///< run --cpu-idle-watts
};
/// Applies overrides; throws Error naming the option and the value that is wrong.
void apply_overrides(StudySettings& settings, const StudyOverrides& overrides);

/// One model x framework x phase of a study, run by a built-in worker or by a command.
struct Configuration {
  std::string framework, model, phase;
  std::vector<std::string> argv;  ///< empty = the built-in worker of the framework
  std::string cwd;                ///< a command's `cwd` as written ("" = the study file's folder)
};

/// Settings validated once: defaults resolved, configurations listed; stored with the results.
struct EffectiveSettings {
  StudySettings settings;  ///< threads resolved
  std::vector<Configuration> configurations;
  std::vector<std::string> warnings;
  CarbonFactors carbon;  ///< the conversion keys validated, a region resolved
};

/// Validates settings into effective settings; throws Error listing every problem.
EffectiveSettings make_effective(const StudySettings& settings);
/// A warning line when the repetitions cannot make any compare verdict significant at alpha
/// (exact Mann–Whitney, Holm over a phase's verdicts), with the repetitions needed; else "".
std::string significance_warning(const EffectiveSettings& effective, double alpha = 0.05);
/// The JSON stored in the results (and compared on --resume).
nlohmann::json to_json(const EffectiveSettings& effective);
/// The argv a command configuration runs: a relative program path with a '/' is made absolute
/// against the study file's folder; a bare name is looked up in PATH; other arguments unchanged.
std::vector<std::string> command_argv(const EffectiveSettings& effective, const Configuration& c);
/// The folder a command configuration runs in (its cwd against the study file's folder);
/// "" for a built-in worker, which runs in greenbench's own folder.
std::string command_working_dir(const EffectiveSettings& effective, const Configuration& c);
/// A few human-readable lines of the effective settings, for the terminal.
std::string describe(const EffectiveSettings& effective);

/// One process of the plan.
struct PlannedRun {
  int position = 0;       ///< 0-based place in the order
  int configuration = 0;  ///< index into EffectiveSettings::configurations
  int repetition = 1;     ///< 1-based; warm-ups are counted on their own
  bool warmup = false;
  std::string id;  ///< e.g. "0007-pytorch-ncf-train-r2" or "...-w1"; names the log files
};

/// The order of every run: warm-ups first, then measured runs; seeded shuffle (interleaved) or
/// configuration by configuration (sequential); an infer run never precedes the first train run
/// of its framework x model when the study trains it. An auto study (repetitions_auto) plans
/// max_repetitions runs per configuration in blocks: block r holds repetition r of every
/// configuration, shuffled within the block.
std::vector<PlannedRun> make_plan(const EffectiveSettings& effective);
/// The plan of a study first planned with repetitions_history[0] repetitions and then extended
/// (--resume with more repetitions) to each later count, the last being the study's: the first
/// plan unchanged, then each extension's new repetitions at new positions after the old ones,
/// ordered like the study (shuffled, or configuration by configuration).
std::vector<PlannedRun> make_plan(const EffectiveSettings& effective,
                                  const std::vector<int>& repetitions_history);

/// The study's shuffle generator: the portable xoshiro256** with unbiased bounded draws.
class StudyRng : public Xoshiro256 {
 public:
  using Xoshiro256::Xoshiro256;
  /// Uniform in [0, bound), without modulo bias; bound > 0.
  std::uint64_t below(std::uint64_t bound);
};

/// The measuring function the runner calls (measure_command, or a fake in tests).
using MeasureFunction =
    std::function<RunRecord(const std::vector<std::string>&, const MeasureOptions&)>;
/// The idle-power function the runner calls (measure_idle_power, or a fake in tests).
using IdlePowerFunction =
    std::function<std::map<std::string, double>(const MeasureOptions&, double)>;

/// How to run a study.
struct RunnerOptions {
  std::string out_dir;     ///< results directory (created)
  bool resume = false;     ///< continue the store in out_dir instead of starting one
  std::string worker_dir;  ///< where greenbench-torch / greenbench-tf are; "" = beside this program
  SourceOptions sources = SourceOptions::from_environment();
  MeasureFunction measure;       ///< required
  IdlePowerFunction idle_power;  ///< required unless idle_baseline is 0 and cooldown is fixed
  /// Whether idle power can be measured at all (idle_power_measurable); null = assume it can.
  std::function<bool(const MeasureOptions&)> idle_power_measurable;
  std::ostream* progress = nullptr;  ///< progress lines; null = silent
  bool progress_in_place = false;    ///< rewrite one terminal line instead of one line per run
  /// Set (e.g. by SIGINT) to stop within about a second: the idle baseline or cooldown ends,
  /// the run in flight gets SIGTERM (SIGKILL 1 s later) and is not stored; --resume reruns it.
  const std::atomic<bool>* stop = nullptr;
  std::string store_file;   ///< "" = out_dir/results.sqlite (a Slurm task writes a shard)
  std::set<int> positions;  ///< runs to do; empty = the whole plan (a Slurm task: its own)
  /// A checkpoint for an infer run of framework-model `group` when this process has none
  /// (a Slurm task: one saved by another task); "" = none.
  std::function<std::string(const std::string& group, int position)> find_checkpoint;
};

/// What run_study did.
struct StudyOutcome {
  std::string store_file;
  int planned = 0;                        ///< runs in the plan
  int already_stored = 0;                 ///< found in the store on --resume and skipped
  int ok = 0, failed = 0, timed_out = 0;  ///< runs done now
  int skipped = 0;        ///< stored as failed unrun: every warm-up of their configuration failed
  int failed_before = 0;  ///< stored runs (before this call) whose status is not ok
  int extended_from = 0;  ///< repetitions of the stored study this call extended; 0 = none
  bool complete = false;  ///< every planned run was already stored: nothing ran, nothing changed
  bool interrupted = false;
  /// Auto studies: comparisons still undecided when this call ended (-1 for a fixed design).
  int undecided = -1;
  int not_needed =
      0;  ///< auto studies: planned runs left out because their comparisons are decided
};

/// Runs (or resumes) a study, storing each run as it finishes; throws Error when the store cannot
/// be created or holds a different study (checked before the idle baseline). A store holding
/// every run of the same study is `complete` without --resume; --resume with more repetitions
/// than stored extends the study (new runs after the stored ones).
StudyOutcome run_study(const EffectiveSettings& effective, const RunnerOptions& options);

/// The argv of one planned run: the configuration's command, or the built-in worker with
/// --model --phase --scale --seed --threads --numerics [--device D] [--precision P]
/// [--checkpoint FILE] (device and precision where not cpu and fp32).
std::vector<std::string> run_argv(const EffectiveSettings& effective, const PlannedRun& run,
                                  const std::string& worker_dir, const std::string& checkpoint);

/// What the study records about the machine: CPU model, cores, governor, kernel, greenbench
/// version, and the GPUs NVML measures (driver, CUDA version, limits, clocks, how energy is read).
nlohmann::json capture_environment();
/// The same, with NVML loaded from `sources.nvml_lib` (and skipped when `sources.only` omits it).
nlohmann::json capture_environment(const SourceOptions& sources);

/// Model names the built-in workers know.
const std::vector<std::string>& known_models();
/// Framework names of the built-in workers.
const std::vector<std::string>& known_frameworks();

}  // namespace greenbench
