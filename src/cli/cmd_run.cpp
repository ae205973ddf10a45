// greenbench run: run (or resume) a study, then print the comparison and write the report.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "greenbench/error.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/report.hpp"
#include "greenbench/store.hpp"
#include "greenbench/study.hpp"

namespace greenbench::cli {

namespace {

constexpr const char* kHelp = R"(usage: greenbench run [STUDY.toml] [OPTIONS]

Runs a study: every model x framework x phase configuration, warm-up runs and repetitions in a
seeded interleaved (or sequential) order, each run a separate measured process, each finished run
stored at once in DIR/results.sqlite. Without a study file it runs the default study (both
frameworks, ncf resnet50 transformer_xl, train and infer, tiny scale, 1 warm-up + 5 repetitions).
At the end it prints the comparison and writes DIR/report.html.

options:
  --out DIR            results directory (default: results/<study name>)
  --resume             finish the study stored in DIR: skip stored runs, run the rest
  --reps N             repetitions per configuration (overrides the study file)
  --models a,b         models (ncf, resnet50, transformer_xl)
  --frameworks a,b     frameworks (pytorch, tensorflow)
  --phases a,b         phases (train, infer)
  --scale S            tiny | small | paper
  --dry-run            print the effective settings and the order of runs, run nothing
  --help               this text

Ctrl-C stops after the run in flight (which is not stored); --resume continues.
The study file format is described in the README (section "The study file").
)";

std::atomic<bool> g_stop{false};

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

}  // namespace

int cmd_run(const Args& args) {
  std::optional<std::string> study_file, out_dir;
  StudyOverrides overrides;
  std::string override_args;  // repeated in the hint after an interruption
  bool resume = false, dry_run = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* option) -> std::string {
      if (i + 1 >= args.size()) throw Error(std::string(option) + ": missing value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--out") {
      out_dir = value("--out");
    } else if (a == "--resume") {
      resume = true;
    } else if (a == "--dry-run") {
      dry_run = true;
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
      override_args += " --reps " + v;
    } else if (a == "--models") {
      const std::string list = value("--models");
      overrides.models = split_list(list);
      override_args += " --models " + list;
    } else if (a == "--frameworks") {
      const std::string list = value("--frameworks");
      overrides.frameworks = split_list(list);
      override_args += " --frameworks " + list;
    } else if (a == "--phases") {
      const std::string list = value("--phases");
      overrides.phases = split_list(list);
      override_args += " --phases " + list;
    } else if (a == "--scale") {
      overrides.scale = value("--scale");
      override_args += " --scale " + *overrides.scale;
    } else if (!a.empty() && a[0] == '-') {
      throw Error("unknown option '" + printable(a) + "' (see greenbench run --help)");
    } else if (!study_file) {
      study_file = a;
    } else {
      throw Error("more than one study file ('" + printable(*study_file, 200) + "', '" +
                  printable(a) + "')");
    }
  }

  StudySettings settings = study_file ? parse_study_file(*study_file) : StudySettings{};
  apply_overrides(settings, overrides);
  const EffectiveSettings effective = make_effective(settings);
  const std::string dir = out_dir ? *out_dir : "results/" + effective.settings.name;

  std::cerr << describe(effective);
  if (dry_run) {
    for (const auto& run : make_plan(effective)) std::cout << run.id << "\n";
    return 0;
  }

  struct sigaction sa {};
  sa.sa_handler = request_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  RunnerOptions options;
  options.out_dir = dir;
  options.resume = resume;
  options.measure = measure_command;
  options.idle_power = measure_idle_power;
  options.progress = &std::cerr;
  options.progress_in_place = isatty(STDERR_FILENO) != 0;
  options.stop = &g_stop;
  const StudyOutcome outcome = run_study(effective, options);

  std::cerr << outcome.ok << " ok, " << outcome.failed << " failed, " << outcome.timed_out
            << " timed out";
  if (outcome.already_stored > 0) std::cerr << " (" << outcome.already_stored << " stored before)";
  std::cerr << "; results in " << outcome.store_file << "\n";
  if (outcome.interrupted) {
    std::cerr << "interrupted: the finished runs are stored; continue with\n  greenbench run "
              << (study_file ? *study_file + " " : std::string()) << "--out " << dir
              << override_args << " --resume\n";
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
  // Failed runs are part of the results (stored with their reasons), not a failure of the study.
  return 0;
}

}  // namespace greenbench::cli
