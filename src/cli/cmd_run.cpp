// greenbench run: run (or resume) a study, then print the comparison and write the report.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "cli/source_options.hpp"
#include "greenbench/error.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/report.hpp"
#include "greenbench/slurm.hpp"
#include "greenbench/store.hpp"
#include "greenbench/study.hpp"

namespace greenbench::cli {

namespace {

constexpr const char* kHelp = R"(usage: greenbench run [STUDY.toml] [OPTIONS]

Runs a study: every model x framework x phase configuration, warm-up runs and repetitions in a
seeded interleaved (or sequential) order, each run a separate measured process, each finished run
stored at once in DIR/results.sqlite. Without a study file it runs the default study (both
frameworks, ncf resnet50 transformer_xl ssd gnmt mask_rcnn, train and infer, tiny scale, 1 warm-up + 6
repetitions).
At the end it prints the comparison and writes DIR/report.html.

options:
  --out DIR            results directory (default: results/<study name>)
  --resume             finish the study stored in DIR: skip stored runs, run the rest; with
                       more --reps than stored, extend it (the new runs come after the old)
  --reps N             repetitions per configuration (overrides the study file)
  --models a,b         models (ncf, resnet50, transformer_xl, ssd, gnmt, mask_rcnn)
  --frameworks a,b     frameworks (pytorch, tensorflow)
  --phases a,b         phases (train, infer)
  --scale S            tiny | small | paper
  --dry-run            print the effective settings and the order of runs, run nothing
  --slurm              submit the study to Slurm: one job array, one run per task, each task
                       --exclusive on its node; waits, merging shards into DIR/results.sqlite
  --slurm-partition P  sbatch --partition (study file: [slurm] partition)
  --slurm-time T       sbatch --time per task, e.g. 30 or 1:00:00 ([slurm] time)
  --slurm-nodes N      the most nodes used at once ([slurm] nodes)
  --sbatch-arg ARG     one more sbatch argument, repeatable ([slurm] sbatch_args)
  --no-wait            with --slurm: return once submitted (a dependent job merges)
  --help               this text

energy sources (as for greenbench measure; --source and the CPU estimate's watts override the
study file's `sources`, `cpu_watts_per_core` and `cpu_idle_watts` and are stored with the study):
%SOURCES%
Ctrl-C or SIGTERM stops the study within about a second, whatever it is doing: an idle
baseline or a cooldown ends at once; the run in flight gets SIGTERM, and SIGKILL 1 s later if it
is still running, and is not stored. Every process a run starts ends with it, also when
greenbench itself is killed. On stopping, the command that continues the study is printed.
Ctrl-Z stops greenbench together with the run in flight; 'fg' continues both.
Runs read nothing from the terminal (their stdin is /dev/null); their output goes to DIR/logs.

If every warm-up of a configuration fails, its other runs are not run: they are stored as failed,
with the reason and the warm-up's log. Running again on a finished study with the same settings
only refreshes the report.

exit status: 0 every run ok, 1 some run failed, timed out or was not run, 130 stopped,
2 bad usage or a study that cannot run (one line on stderr).
The study file format is described in the README (section "The study file").
)";

std::atomic<bool> g_stop{false};

// A word as a POSIX shell reads it back: as it is when it is safe, else in single quotes.
std::string shell_quote(const std::string& word) {
  const bool safe = !word.empty() && word.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_-./=:,+@%") == std::string::npos;
  if (safe) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The program as the user started it (argv[0]): a bare name was found on PATH and is printed
// as it is (an installed greenbench); a path is made absolute, so the command runs from any
// directory. /proc/self/cmdline holds argv[0] as given, before anything resolved it.
std::string self_path() {
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::string argv0;
  std::getline(cmdline, argv0, '\0');
  if (argv0.empty()) return "greenbench";
  if (argv0.find('/') == std::string::npos) return argv0;
  return std::filesystem::absolute(argv0).lexically_normal().string();
}

// The command that continues a study, runnable as printed from any directory: the program as
// started, absolute paths, the options given, quoted words, then `tail`.
std::string continue_command(const std::optional<std::string>& study_file, const std::string& dir,
                             const std::vector<std::string>& override_args,
                             const std::vector<std::string>& tail) {
  std::vector<std::string> words = {self_path(), "run"};
  if (study_file) words.push_back(std::filesystem::absolute(*study_file).lexically_normal());
  words.push_back("--out");
  words.push_back(std::filesystem::absolute(dir).lexically_normal());
  words.insert(words.end(), override_args.begin(), override_args.end());
  words.insert(words.end(), tail.begin(), tail.end());
  std::string line;
  for (const auto& w : words) {
    if (!line.empty()) line += ' ';
    line += shell_quote(w);
  }
  return line;
}

void request_stop(int /*sig*/) { g_stop.store(true); }

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int parse_slurm_nodes(const std::string& v) {
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || n < 1) {
    throw Error("--slurm-nodes: expected a positive integer, got '" + v + "'");
  }
  return n;
}

void apply_slurm_options(SlurmSettings& s, const SlurmSettings& cli, bool args_given) {
  if (!cli.partition.empty()) s.partition = cli.partition;
  if (!cli.time.empty()) {
    if (const std::string why = slurm_time_problem(cli.time); !why.empty()) {
      throw Error("--slurm-time: " + why);
    }
    s.time = cli.time;
  }
  if (cli.nodes > 0) s.nodes = cli.nodes;
  if (args_given) s.sbatch_args = cli.sbatch_args;
}

}  // namespace

int cmd_run(const Args& args) {
  std::optional<std::string> study_file, out_dir;
  StudyOverrides overrides;
  std::vector<std::string> override_args;  // repeated in the command that continues the study
  bool resume = false, dry_run = false;
  bool slurm = false, wait = true;
  // Source options: --source and the watts are study settings; the roots are this machine's.
  SourceOptions source_cli = SourceOptions::from_environment();
  SlurmSettings slurm_cli;  // --slurm-* options; override the study file's [slurm] table
  bool slurm_args_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* option) -> std::string {
      if (i + 1 >= args.size()) throw Error(std::string(option) + ": missing value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::string help = kHelp;
      help.replace(help.find("%SOURCES%"), 9, kSourceOptionsHelp);
      std::fputs(help.c_str(), stdout);
      return 0;
    }
    if (const size_t first = i; parse_source_option(args, i, source_cli)) {
      override_args.insert(override_args.end(), args.begin() + long(first),
                           args.begin() + long(i) + 1);
      continue;
    }
    if (a == "--out") {
      out_dir = value("--out");
    } else if (a == "--resume") {
      resume = true;
    } else if (a == "--dry-run") {
      dry_run = true;
    } else if (a == "--slurm") {
      slurm = true;
    } else if (a == "--no-wait") {
      wait = false;
    } else if (a == "--slurm-partition") {
      slurm_cli.partition = value("--slurm-partition");
    } else if (a == "--slurm-time") {
      slurm_cli.time = value("--slurm-time");
    } else if (a == "--slurm-nodes") {
      slurm_cli.nodes = parse_slurm_nodes(value("--slurm-nodes"));
    } else if (a == "--sbatch-arg") {
      slurm_cli.sbatch_args.push_back(value("--sbatch-arg"));
      slurm_args_given = true;
    } else if (a == "--reps") {
      const std::string v = value("--reps");
      size_t used = 0;
      int n = 0;
      try {
        n = std::stoi(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != v.size()) {
        throw Error("--reps: expected a positive integer, got '" + printable(v) + "'");
      }
      overrides.repetitions = n;
      override_args.insert(override_args.end(), {"--reps", v});
    } else if (a == "--models") {
      const std::string list = value("--models");
      overrides.models = split_list(list);
      override_args.insert(override_args.end(), {"--models", list});
    } else if (a == "--frameworks") {
      const std::string list = value("--frameworks");
      overrides.frameworks = split_list(list);
      override_args.insert(override_args.end(), {"--frameworks", list});
    } else if (a == "--phases") {
      const std::string list = value("--phases");
      overrides.phases = split_list(list);
      override_args.insert(override_args.end(), {"--phases", list});
    } else if (a == "--scale") {
      overrides.scale = value("--scale");
      override_args.insert(override_args.end(), {"--scale", *overrides.scale});
    } else if (!a.empty() && a[0] == '-') {
      throw Error("unknown option '" + printable(a) + "' (see greenbench run --help)");
    } else if (!study_file) {
      study_file = a;
    } else {
      throw Error("more than one study file ('" + printable(*study_file, 200) + "', '" +
                  printable(a) + "')");
    }
  }

  if (!source_cli.only.empty()) overrides.sources = source_cli.only;
  if (source_cli.cpu_watts_per_core >= 0)
    overrides.cpu_watts_per_core = source_cli.cpu_watts_per_core;
  if (source_cli.cpu_idle_watts >= 0) overrides.cpu_idle_watts = source_cli.cpu_idle_watts;
  StudySettings settings = study_file ? parse_study_file(*study_file) : StudySettings{};
  apply_overrides(settings, overrides);
  apply_slurm_options(settings.slurm, slurm_cli, slurm_args_given);
  if (!slurm && !wait) throw Error("--no-wait: only with --slurm");
  const EffectiveSettings effective = make_effective(settings);
  const std::string dir = out_dir ? *out_dir : "results/" + effective.settings.name;

  std::cerr << describe(effective);
  std::cerr << significance_warning(effective);
  if (dry_run) {
    for (const auto& run : make_plan(effective)) std::cout << run.id << "\n";
    return 0;
  }

  if (slurm) {
    // The tasks read the roots from the environment, which sbatch passes on.
    setenv("GREENBENCH_POWERCAP_ROOT", source_cli.powercap_root.c_str(), 1);
    setenv("GREENBENCH_PERF_ROOT", source_cli.perf_root.c_str(), 1);
    setenv("GREENBENCH_NVML_LIB", source_cli.nvml_lib.c_str(), 1);
    SlurmCliRequest request;
    request.out_dir = dir;
    request.study_file = study_file;
    request.overrides = overrides;
    request.resume_hint = continue_command(study_file, dir, override_args, {"--slurm", "--resume"});
    request.resume = resume;
    request.wait = wait;
    return run_slurm(effective, request);
  }

  // A source asked for (by --source or the study's `sources`) that cannot be read here is an
  // error before anything runs, as in measure. (Under --slurm the nodes decide, above.)
  SourceOptions requested = source_cli;
  requested.only = effective.settings.sources;
  check_requested_sources(requested);

  struct sigaction sa {};
  sa.sa_handler = request_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  RunnerOptions options;
  options.out_dir = dir;
  options.resume = resume;
  options.sources = source_cli;
  options.measure = measure_command;
  options.idle_power = measure_idle_power;
  options.idle_power_measurable = idle_power_measurable;
  options.progress = &std::cerr;
  options.progress_in_place = isatty(STDERR_FILENO) != 0;
  options.stop = &g_stop;
  const StudyOutcome outcome = run_study(effective, options);

  if (outcome.complete) {
    if (effective.settings.repetitions_auto) {
      std::cerr << "study complete: every run its comparisons needed (" << outcome.already_stored
                << " of at most " << outcome.planned << ") is stored in " << outcome.store_file
                << "; refreshing the report\n";
    } else {
      std::cerr << "study complete: all " << outcome.planned << " runs are stored in "
                << outcome.store_file << "; refreshing the report\n";
    }
  } else if (std::error_code ec; std::filesystem::exists(outcome.store_file, ec)) {
    if (outcome.extended_from > 0) {
      std::cerr << "extended the study from " << outcome.extended_from << " to "
                << effective.settings.repetitions << " repetitions\n";
    }
    std::cerr << outcome.ok << " ok, " << outcome.failed << " failed, " << outcome.timed_out
              << " timed out";
    if (outcome.skipped > 0) std::cerr << ", " << outcome.skipped << " not run";
    if (outcome.already_stored > 0)
      std::cerr << " (" << outcome.already_stored << " stored before)";
    std::cerr << "; results in " << outcome.store_file << "\n";
  }
  if (outcome.undecided >= 0) {
    std::cerr << "sequential: " << outcome.undecided << " comparison"
              << (outcome.undecided == 1 ? "" : "s") << " undecided";
    if (outcome.not_needed > 0) {
      std::cerr << "; " << outcome.not_needed << " planned run"
                << (outcome.not_needed == 1 ? " was" : "s were")
                << " not needed (their comparisons were decided)";
    }
    std::cerr << "; `greenbench compare " << options.out_dir
              << " --sequential` shows each decision\n";
  }
  if (outcome.interrupted) {
    std::error_code ec;
    const bool stored = std::filesystem::exists(outcome.store_file, ec);
    const std::string line = continue_command(
        study_file, dir, override_args,
        stored ? std::vector<std::string>{"--resume"} : std::vector<std::string>{});
    std::cerr << "stopped: the finished runs are stored; continue with\n  " << line << "\n";
    return 130;
  }

  const ResultSet results = load_results(dir);
  ComparisonSet comparison;
  try {
    comparison = compare_results(results);
    print_comparison(comparison, std::cout);
  } catch (const Error& e) {
    // A study of one framework has nothing to compare; its runs still make a report.
    std::cerr << "greenbench run: no comparison: " << e.what() << "\n";
  }
  const std::string report_path = (std::filesystem::path(dir) / "report.html").string();
  std::ofstream html(report_path);
  if (!html) throw Error(report_path + ": cannot write the report");
  write_html_report(results, comparison, load_traces(dir), html);
  std::cout << "report: " << report_path << "\n";
  // Failed runs are stored with their reasons and reported, and the exit status says so.
  const int not_ok = outcome.failed + outcome.timed_out + outcome.skipped + outcome.failed_before;
  if (not_ok > 0) {
    std::cerr << "greenbench run: " << not_ok << " run" << (not_ok == 1 ? "" : "s")
              << " of the study did not succeed (see the report)\n";
    return 1;
  }
  return 0;
}

}  // namespace greenbench::cli
