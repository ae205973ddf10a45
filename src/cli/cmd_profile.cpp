// greenbench profile: where a model's phase spends its time and energy, op by op, in each
// framework, from the framework's own profiler (a separate profiled run per framework).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cli/commands.hpp"
#include "cli/option_value.hpp"
#include "cli/source_options.hpp"
#include "cli/status_line.hpp"
#include "core/last_line.hpp"
#include "greenbench/error.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/profile.hpp"
#include "greenbench/record.hpp"
#include "greenbench/study.hpp"
#include "greenbench/trace.hpp"

namespace greenbench::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kHelp = R"(usage: greenbench profile --model M [OPTIONS]

Profiles one model's phase op by op in each framework with the framework's own profiler
(LibTorch's, TensorFlow's RunMetadata step stats) and shows where its time and energy go: per op
category of the shared taxonomy (data/op_taxonomy.tsv), per op, and the phase time no op covers
(framework_overhead: dispatch, autograd bookkeeping, session and executor overhead).

Per framework and phase it makes two measured runs of the built-in worker with the same settings:
  1. an unprofiled run: its phase energy is the real cost, and its step markers (where the worker
     writes them) give the energy of each step;
  2. a profiled run (worker --profile FILE): its op self times give each category's share of the
     phase time.
Profiling slows a run, so profiled runs never feed cost statistics (nothing is stored in a
results store). The profiler's overhead, profiled median step time / unprofiled median step
time - 1, is printed with every profile.

Energy per op or category is ATTRIBUTED, not measured: the unprofiled run's phase energy
multiplied by the profiled run's share of phase time (self_s / phase_s). It assumes every op
draws the same power. The power trace (--trace, a sample every 50 ms) is far coarser than an
op: it cannot check the split per op, only show how flat power is over the phase.
Energy is labelled with its quality: 'estimated' where only the CPU estimate is readable (a
model of CPU time, not a meter), 'measured' only where counters (RAPL, NVML) measured it.

output: per model x phase a side-by-side table of the categories (in taxonomy order, then
framework_overhead) with % of phase time, ms per step and attributed J per framework; then the
top-K ops per framework (name, category, pass, % time, ms/step, calls/step). Op names the
taxonomy does not know are counted in 'other' and listed in a warning.

options:
  --model M            ncf | resnet50 | transformer_xl (required)
  --framework F        pytorch | tensorflow; repeatable or a,b (default both)
  --phase P            train | infer; repeatable or a,b (default both)
  --scale S            tiny | small | paper (default tiny)
  --steps N            training steps (train) or evaluation batches (infer) (default: the
                       preset's)
  --threads N          the workers' intra-op threads (default: the online CPUs, as a study)
  --seed N             seed of initial weights and synthetic data (default 1)
  --top K              ops listed per framework (default 10; 0 = none)
  --timeout SECONDS    stop a run after this long (default 600)
  --json FILE          write {"profiles": [...]} ('-' = stdout; the tables then go to stderr)
  --trace FILE         write a Perfetto/Chrome trace: per profiled run its phases, its power
                       counters, a track of its op spans (step, pass, category in args) and
                       one of its steps; open it in ui.perfetto.dev
  --no-status          no live status line on a terminal
  --help               this text

The workers (greenbench-torch, greenbench-tf) are looked for beside greenbench, or in
$GREENBENCH_WORKER_DIR; the op taxonomy in share/greenbench/op_taxonomy.tsv beside bin/, or
$GREENBENCH_OP_TAXONOMY.

energy sources (as for greenbench measure):
)";

constexpr const char* kHelpTail = R"(
JSON (--json), one entry of "profiles" per framework x phase:
  framework, framework_version, profiler, model, scale, phase, device, precision, threads,
  steps, phase_s (the profiled run's), ops [{name, pass, category, self_s, calls, energy_j}],
  categories {name: {self_s, share, energy_j}}, framework_overhead_s, framework_overhead_share,
  framework_overhead_energy_j, unmapped [names], phase_energy_j (the unprofiled run's),
  energy_quality, energy_attribution, profiler_overhead, unprofiled_step_s, step_s,
  step_energy_j (the unprofiled run's steps; empty without step markers),
  step_energy_quality, step_energy {steps, first_j, steady_median_j, drift}.
  Every energy_j is attributed; null = not known.

exit status: 0 every profile made, 1 a run failed (the others are still shown), 130 stopped,
2 bad usage (one line on stderr).
)";

std::atomic<bool> g_stop{false};
void request_stop(int /*sig*/) { g_stop.store(true); }

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void add_choices(const std::string& option, const std::string& value,
                 const std::vector<std::string>& allowed, std::vector<std::string>& into) {
  for (const auto& item : split_list(value)) {
    if (std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw Error(option + ": unknown value '" + printable(item) + "' (expected " + list + ")");
    }
    if (std::find(into.begin(), into.end(), item) == into.end()) into.push_back(item);
  }
}

long parse_whole(const std::string& option, const std::string& value, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || errno != 0 || *end != '\0' || v < min || v > max) {
    throw Error(option + ": expected a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", got '" + printable(value) + "'");
  }
  return v;
}

std::string worker_file(const std::string& framework) {
  return framework == "pytorch" ? "greenbench-torch" : "greenbench-tf";
}

// The workers' folder: $GREENBENCH_WORKER_DIR, else beside this program (build tree, install).
std::string worker_dir() {
  if (const char* env = std::getenv("GREENBENCH_WORKER_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

struct Request {
  std::string model;
  std::vector<std::string> frameworks, phases;
  std::string scale = "tiny";
  long steps = 0;  // 0 = the preset's
  long threads = 0;
  long seed = 1;
  long top = 10;
  double timeout_s = 600;
  std::string json_path, trace_path;
  bool status = true;
  SourceOptions sources = SourceOptions::from_environment();
};

// The two runs of one framework and phase, and what came of them.
struct Outcome {
  std::string framework, phase;
  std::string error;  // why no profile; "" when made
  RunRecord unprofiled, profiled;
  Profile profile;
};

std::vector<std::string> worker_argv(const Request& r, const std::string& framework,
                                     const std::string& phase) {
  std::vector<std::string> argv = {(fs::path(worker_dir()) / worker_file(framework)).string(),
                                   "--model",
                                   r.model,
                                   "--phase",
                                   phase,
                                   "--scale",
                                   r.scale,
                                   "--seed",
                                   std::to_string(r.seed),
                                   "--threads",
                                   std::to_string(r.threads)};
  if (r.steps > 0) {
    argv.push_back(phase == "train" ? "--steps" : "--eval-batches");
    argv.push_back(std::to_string(r.steps));
  }
  return argv;
}

// Why a finished run cannot be used; "" when it can.
std::string run_failure(const RunRecord& record, const std::string& stderr_path,
                        const std::string& phase) {
  std::string why;
  if (record.timed_out) {
    why = "timed out after " + std::to_string(static_cast<int>(record.duration_s)) + " s";
  } else if (record.term_signal != 0) {
    why = "killed by signal " + std::to_string(record.term_signal);
  } else if (record.exit_code != 0) {
    why = "exit code " + std::to_string(record.exit_code);
  } else if (const auto invalid = invalid_reason(record)) {
    return *invalid;
  } else {
    for (const auto& p : record.phases) {
      if (p.name == phase) return "";
    }
    return "the worker marked no '" + phase + "' phase";
  }
  const std::string last = last_line_of(stderr_path);
  if (!last.empty()) return why + ": " + last;
  if (!record.warnings.empty()) return why + ": " + record.warnings.back();
  return why;
}

const PhaseRecord* find_phase(const RunRecord& record, const std::string& phase) {
  for (const auto& p : record.phases) {
    if (p.name == phase) return &p;
  }
  return nullptr;
}

double metric_value(const RunRecord& record, const std::string& name) {
  for (const auto& m : record.metrics) {
    if (m.name == name) return m.value;
  }
  return std::nan("");
}

// The sources behind an energy quality, for its label: "estimated (cpu-estimate)".
std::string quality_label(const RunRecord& record, const std::string& quality) {
  if (quality.empty()) return "not read";
  std::string names;
  for (const auto& s : record.sources) {
    if (s.quality == quality) names += (names.empty() ? "" : ", ") + s.name;
  }
  return names.empty() ? quality : quality + " (" + names + ")";
}

class Runner {
 public:
  Runner(const Request& request, const fs::path& dir, StatusLine& status)
      : r_(request), dir_(dir), status_(status) {}

  // Measures one run; `name` names its output files, `context` the status line's run.
  RunRecord measure(const std::vector<std::string>& argv, const std::string& name,
                    const std::string& context, bool keep_trace, std::string* stderr_path) {
    MeasureOptions o;
    o.sources = r_.sources;
    o.timeout_s = r_.timeout_s;
    o.keep_trace = keep_trace;
    o.stop = &g_stop;
    o.stdin_path = "/dev/null";
    o.stdout_path = (dir_ / (name + ".out")).string();
    o.stderr_path = (dir_ / (name + ".err")).string();
    *stderr_path = o.stderr_path;
    status_.set_context(context);
    if (status_.active()) o.on_status = [this](const LiveStatus& s) { status_.show(s); };
    RunRecord record = measure_command(argv, o);
    status_.clear();
    return record;
  }

  Outcome profile(const std::string& framework, const std::string& phase,
                  const OpTaxonomy& taxonomy) {
    Outcome out;
    out.framework = framework;
    out.phase = phase;
    const std::string label = framework + " " + r_.model + " " + phase;
    const std::string stem = framework + "-" + phase;
    std::vector<std::string> argv = worker_argv(r_, framework, phase);
    std::string err_path;
    out.unprofiled =
        measure(argv, stem + "-unprofiled", label + ": unprofiled run", false, &err_path);
    if (g_stop.load()) return out;
    if (auto why = run_failure(out.unprofiled, err_path, phase); !why.empty()) {
      out.error = label + ", unprofiled run: " + why;
      return out;
    }
    const std::string profile_path = (dir_ / (stem + "-profile.json")).string();
    argv.push_back("--profile");
    argv.push_back(profile_path);
    out.profiled = measure(argv, stem + "-profiled", label + ": profiled run",
                           !r_.trace_path.empty(), &err_path);
    if (g_stop.load()) return out;
    if (auto why = run_failure(out.profiled, err_path, phase); !why.empty()) {
      out.error = label + ", profiled run: " + why;
      return out;
    }
    try {
      std::ifstream in(profile_path);
      if (!in) throw Error(profile_path + ": the worker wrote no profile");
      json worker;
      try {
        worker = json::parse(in);
      } catch (const json::exception& e) {
        throw Error(profile_path + ": not JSON: " + printable(e.what(), 120));
      }
      const PhaseRecord* phase_record = find_phase(out.unprofiled, phase);
      const auto e = phase_record->energy_j.find("total");
      const auto q = phase_record->quality.find("total");
      const double energy = e == phase_record->energy_j.end() ? std::nan("") : e->second;
      const std::string quality = q == phase_record->quality.end() ? "" : q->second;
      out.profile = summarise_profile(worker, taxonomy, energy, quality, profile_path);
      if (out.profile.framework != framework || out.profile.model != r_.model ||
          out.profile.phase != phase) {
        throw Error(profile_path + ": a profile of " + out.profile.framework + " " +
                    out.profile.model + " " + out.profile.phase + ", not of " + label);
      }
      const double unprofiled_step =
          metric_value(out.unprofiled, phase == "train" ? "step_s_median" : "batch_s_median");
      out.profile.unprofiled_step_s = unprofiled_step;
      if (std::isfinite(unprofiled_step) && unprofiled_step > 0) {
        out.profile.profiler_overhead = median_step_s(out.profile) / unprofiled_step - 1;
      }
      out.profile.step_energy_j =
          step_energies(out.unprofiled, phase, &out.profile.step_energy_quality);
      if (r_.steps > 0 && out.profile.steps != r_.steps) {
        throw Error(profile_path + ": " + std::to_string(out.profile.steps) + " steps, not the " +
                    std::to_string(r_.steps) + " asked for");
      }
    } catch (const Error& e) {
      out.error = label + ": " + e.what();
    }
    return out;
  }

 private:
  const Request& r_;
  fs::path dir_;
  StatusLine& status_;
};

// A temporary folder for the workers' output and profiles, removed when done.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "greenbench-profile-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw Error("cannot create a temporary folder in " + fs::temp_directory_path().string());
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string fmt(const char* format, double v) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string percent(double share) { return fmt("%.1f%%", 100 * share); }
std::string signed_percent(double share) { return fmt("%+.1f%%", 100 * share); }
std::string joules(double j) {
  if (!std::isfinite(j)) return "-";
  return fmt(std::fabs(j) >= 1e4 ? "%.4g J" : (std::fabs(j) >= 100 ? "%.1f J" : "%.4g J"), j);
}

std::string cut(const std::string& text, std::size_t width) {
  std::string shown = printable(text, 200);
  if (shown.size() <= width) return shown;
  return shown.substr(0, width - 3) + "...";
}

void print_phase(const std::string& model, const std::string& phase,
                 const std::vector<const Outcome*>& made, long top, std::FILE* out) {
  if (made.empty()) return;
  const Profile& first = made.front()->profile;
  std::fprintf(out, "\n%s %s: %s scale, %lld %s, %d threads, %s %s\n", model.c_str(), phase.c_str(),
               first.scale.c_str(), static_cast<long long>(first.steps),
               phase == "train" ? "steps" : "batches", first.threads, first.device.c_str(),
               first.precision.c_str());

  // Categories in taxonomy order, those with time in some framework.
  std::vector<std::string> rows;
  for (const auto& c : op_categories()) {
    for (const Outcome* o : made) {
      const auto it = o->profile.categories.find(c);
      if (it != o->profile.categories.end() && it->second.self_s > 0) {
        rows.push_back(c);
        break;
      }
    }
  }
  constexpr int kName = 20;
  std::fprintf(out, "%-*s", kName, "");
  for (const Outcome* o : made) std::fprintf(out, "  %-38s", o->framework.c_str());
  std::fputc('\n', out);
  std::fprintf(out, "%-*s", kName, "category");
  for (std::size_t i = 0; i < made.size(); ++i) {
    std::fprintf(out, "  %7s %10s %19s", "% time", "ms/step", "J attributed");
  }
  std::fputc('\n', out);
  auto row = [&](const std::string& name, auto cell) {
    std::fprintf(out, "%-*s", kName, name.c_str());
    for (const Outcome* o : made) {
      const auto [seconds, share, energy] = cell(o->profile);
      const double per_step = 1000 * seconds / static_cast<double>(o->profile.steps);
      std::fprintf(out, "  %7s %10s %19s", percent(share).c_str(), fmt("%.3f", per_step).c_str(),
                   joules(energy).c_str());
    }
    std::fputc('\n', out);
  };
  for (const auto& c : rows) {
    row(c, [&](const Profile& p) {
      const auto it = p.categories.find(c);
      const CategoryShare s = it == p.categories.end() ? CategoryShare{} : it->second;
      return std::tuple<double, double, double>{s.self_s, s.share, s.energy_j};
    });
  }
  row("framework_overhead", [](const Profile& p) {
    return std::tuple<double, double, double>{p.framework_overhead_s, p.framework_overhead_share,
                                              p.framework_overhead_energy_j};
  });
  row("phase", [](const Profile& p) {
    return std::tuple<double, double, double>{p.phase_s, 1.0, p.phase_energy_j};
  });

  for (const Outcome* o : made) {
    const Profile& p = o->profile;
    std::fprintf(out,
                 "%s %s (profiler %s): profiler overhead %s (median step %s ms profiled, %s ms "
                 "unprofiled); phase energy %s, %s, from the unprofiled run\n",
                 p.framework.c_str(), p.framework_version.c_str(), p.profiler.c_str(),
                 signed_percent(p.profiler_overhead).c_str(),
                 fmt("%.3f", 1000 * median_step_s(p)).c_str(),
                 fmt("%.3f", 1000 * p.unprofiled_step_s).c_str(), joules(p.phase_energy_j).c_str(),
                 quality_label(o->unprofiled, p.energy_quality).c_str());
    if (!p.step_energy_j.empty()) {
      const StepEnergySummary s = summarise_step_energy(p.step_energy_j);
      // A step shorter than the sources' update interval is not resolved: say so rather than
      // print its 0 J (the CPU estimate advances in 10 ms ticks).
      double resolution = std::numeric_limits<double>::quiet_NaN();
      for (const StepSummary& summary : summarize_steps(o->unprofiled)) {
        if (summary.phase == p.phase && summary.key == "total") {
          resolution = summary.median_resolution_j;
        }
      }
      const bool resolved = !(s.steady_median_j < resolution);
      std::fprintf(out,
                   "  step energy (%s, unprofiled run, %lld steps): first %s, steady median %s%s, "
                   "drift %s (last tenth vs first tenth after the first)\n",
                   p.step_energy_quality.c_str(), static_cast<long long>(s.steps),
                   joules(s.first_j).c_str(), joules(s.steady_median_j).c_str(),
                   resolved
                       ? ""
                       : (" (below the resolution of " + joules(resolution) + " per step)").c_str(),
                   resolved ? signed_percent(s.drift).c_str() : "not resolved");
    }
  }
  std::fputs(
      "J attributed = the unprofiled run's phase energy x the profiled run's share of phase "
      "time: a model, not a per-op measurement.\n"
      "% time and ms/step are the profiled run's (slowed by the profiler by the overhead shown).\n",
      out);

  if (top > 0) {
    for (const Outcome* o : made) {
      const Profile& p = o->profile;
      const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(top), p.ops.size());
      std::fprintf(out, "\ntop %zu ops, %s %s:\n", n, p.framework.c_str(), phase.c_str());
      std::fprintf(out, "  %-44s %-12s %-9s %7s %10s %10s\n", "op", "category", "pass", "% time",
                   "ms/step", "calls/step");
      const double steps = static_cast<double>(p.steps);
      for (std::size_t i = 0; i < n; ++i) {
        const ProfiledOp& op = p.ops[i];
        std::fprintf(out, "  %-44s %-12s %-9s %7s %10s %10s\n", cut(op.name, 44).c_str(),
                     op.category.c_str(), op.pass.c_str(), percent(op.self_s / p.phase_s).c_str(),
                     fmt("%.3f", 1000 * op.self_s / steps).c_str(),
                     fmt("%.2f", static_cast<double>(op.calls) / steps).c_str());
      }
    }
  }
}

// The trace: per profiled run its phases, power and op spans (placed at the phase's start: the
// profiler's clock starts just before the worker marks the phase's beginning).
void write_trace(const std::vector<Outcome>& outcomes, const std::string& model, std::ostream& os) {
  std::vector<TraceRun> runs;
  for (const auto& o : outcomes) {
    if (!o.error.empty()) continue;
    const PhaseRecord* phase = find_phase(o.profiled, o.phase);
    const double origin = phase == nullptr ? 0 : phase->start_s;
    TraceRun run;
    run.record = &o.profiled;
    run.process_name =
        "greenbench profile: " + o.framework + " " + model + " " + o.phase + " (profiled run)";
    run.other_prefix = o.framework + " " + o.phase + ": ";
    TraceTrack track;
    track.name = "ops " + o.framework;
    track.spans.reserve(o.profile.spans.size());
    for (const auto& s : o.profile.spans) {
      TraceSpan span;
      span.name = s.name;
      span.category = s.category;
      span.start_s = origin + s.start_s;
      span.duration_s = s.dur_s;
      span.numbers["step"] = static_cast<double>(s.step);
      span.texts["pass"] = s.pass;
      span.texts["category"] = s.category;
      track.spans.push_back(std::move(span));
    }
    run.tracks.push_back(std::move(track));
    TraceTrack steps;
    steps.name = "steps " + o.framework;
    for (std::size_t i = 0; i < o.profile.step_start_s.size(); ++i) {
      TraceSpan span;
      span.name = (o.phase == "train" ? "step " : "batch ") + std::to_string(i);
      span.category = "step";
      span.start_s = origin + o.profile.step_start_s[i];
      span.duration_s = o.profile.step_s[i];
      span.numbers["step"] = static_cast<double>(i);
      steps.spans.push_back(std::move(span));
    }
    if (!steps.spans.empty()) run.tracks.push_back(std::move(steps));
    runs.push_back(std::move(run));
  }
  write_chrome_trace(runs, os);
}

std::unique_ptr<std::ofstream> open_output(const std::string& option, const std::string& path) {
  if (path.empty() || path == "-") return nullptr;
  auto out = std::make_unique<std::ofstream>(path);
  if (!*out) throw Error(option + ": cannot open '" + printable(path, 200) + "' for writing");
  return out;
}

}  // namespace

int cmd_profile(const Args& args) {
  Request r;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      std::fputs(kSourceOptionsHelp, stdout);
      std::fputs(kHelpTail, stdout);
      return 0;
    }
    if (arg == "--no-status") {
      r.status = false;
      continue;
    }
    if (parse_source_option(args, i, r.sources)) continue;
    OptionValue opt(args, i);
    const std::string option = opt.name();
    auto take = [&]() -> const std::string& { return opt.value(); };
    if (option == "--model") {
      std::vector<std::string> one;
      add_choices(option, take(), known_models(), one);
      if (one.size() != 1 || (!r.model.empty() && r.model != one[0])) {
        throw Error("--model: one model at a time");
      }
      r.model = one[0];
    } else if (option == "--framework" || option == "--frameworks") {
      add_choices(option, take(), known_frameworks(), r.frameworks);
    } else if (option == "--phase" || option == "--phases") {
      add_choices(option, take(), {"train", "infer"}, r.phases);
    } else if (option == "--scale") {
      std::vector<std::string> one;
      add_choices(option, take(), {"tiny", "small", "paper"}, one);
      if (one.size() != 1) throw Error("--scale: one scale");
      r.scale = one[0];
    } else if (option == "--steps") {
      r.steps = parse_whole(option, take(), 1, 100000000);
    } else if (option == "--threads") {
      r.threads = parse_whole(option, take(), 1, 4096);
    } else if (option == "--seed") {
      r.seed = parse_whole(option, take(), 0, 2147483647);
    } else if (option == "--top") {
      r.top = parse_whole(option, take(), 0, 100000);
    } else if (option == "--timeout") {
      const std::string& v = take();
      char* end = nullptr;
      errno = 0;
      r.timeout_s = std::strtod(v.c_str(), &end);
      if (v.empty() || errno != 0 || *end != '\0' || !std::isfinite(r.timeout_s) ||
          r.timeout_s <= 0) {
        throw Error("--timeout: expected a number of seconds > 0, got '" + printable(v) + "'");
      }
    } else if (option == "--json") {
      r.json_path = take();
      if (r.json_path.empty()) throw Error("--json: empty file name");
    } else if (option == "--trace") {
      r.trace_path = take();
      if (r.trace_path.empty()) throw Error("--trace: empty file name");
    } else if (arg.rfind("-", 0) == 0) {
      throw Error("unknown option '" + printable(arg) + "' (see greenbench profile --help)");
    } else {
      throw Error("unexpected argument '" + printable(arg) + "' (see greenbench profile --help)");
    }
  }
  if (r.model.empty())
    throw Error("--model is required (ncf, resnet50, transformer_xl, ssd, gnmt or mask_rcnn)");
  if (r.frameworks.empty()) r.frameworks = known_frameworks();
  if (r.phases.empty()) r.phases = {"train", "infer"};
  if (r.threads == 0) {
    const unsigned online = std::thread::hardware_concurrency();
    r.threads = online > 0 ? static_cast<long>(online) : 1;
  }
  if (r.json_path == "-" && r.trace_path == "-") {
    throw Error("--json and --trace cannot both be '-'");
  }
  // Different names may still be one file ("./x" and "x").
  std::error_code same_error;
  if (!r.json_path.empty() && !r.trace_path.empty() && r.json_path != "-" && r.trace_path != "-" &&
      fs::weakly_canonical(r.json_path, same_error) ==
          fs::weakly_canonical(r.trace_path, same_error) &&
      !same_error) {
    throw Error("--json and --trace cannot both write '" + printable(r.json_path, 200) + "'");
  }
  // Everything that can be refused is refused before a run starts.
  const OpTaxonomy taxonomy = OpTaxonomy::builtin();
  for (const auto& f : r.frameworks) {
    const fs::path worker = fs::path(worker_dir()) / worker_file(f);
    if (access(worker.c_str(), X_OK) != 0) {
      throw Error(worker.string() + ": the " + f + " worker is not there (build it, or choose " +
                  "the other framework with --framework)");
    }
  }
  check_requested_sources(r.sources);
  auto json_out = open_output("--json", r.json_path);
  auto trace_out = open_output("--trace", r.trace_path);

  struct sigaction sa {};
  sa.sa_handler = request_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  TempDir dir;
  StatusLine status(r.status);
  Runner runner(r, dir.path(), status);
  std::vector<Outcome> outcomes;
  for (const auto& phase : r.phases) {
    for (const auto& framework : r.frameworks) {
      if (!status.active()) {
        std::fprintf(stderr, "greenbench profile: %s %s %s: an unprofiled and a profiled run\n",
                     framework.c_str(), r.model.c_str(), phase.c_str());
      }
      outcomes.push_back(runner.profile(framework, phase, taxonomy));
      if (g_stop.load()) {
        std::fputs("greenbench profile: stopped\n", stderr);
        return 130;
      }
    }
  }

  std::FILE* table = r.json_path == "-" ? stderr : stdout;
  bool failed = false;
  for (const auto& phase : r.phases) {
    std::vector<const Outcome*> made;
    for (const auto& o : outcomes) {
      if (o.phase == phase && o.error.empty()) made.push_back(&o);
    }
    print_phase(r.model, phase, made, r.top, table);
  }
  std::fflush(table);
  json profiles = json::array();
  for (const auto& o : outcomes) {
    if (!o.error.empty()) {
      failed = true;
      std::fprintf(stderr, "greenbench profile: %s\n", o.error.c_str());
      continue;
    }
    profiles.push_back(profile_json(o.profile));
    if (!o.profile.unmapped.empty()) {
      std::string names;
      for (const auto& n : o.profile.unmapped) names += (names.empty() ? "" : ", ") + printable(n);
      std::fprintf(stderr,
                   "warning: %s %s: %zu op name%s not in the taxonomy (%s), counted in other: "
                   "%s\n",
                   o.framework.c_str(), o.phase.c_str(), o.profile.unmapped.size(),
                   o.profile.unmapped.size() == 1 ? "" : "s", OpTaxonomy::find().c_str(),
                   names.c_str());
    }
  }
  if (!r.json_path.empty()) {
    const std::string text = json{{"profiles", std::move(profiles)}}.dump(
                                 2, ' ', false, json::error_handler_t::replace) +
                             "\n";
    if (json_out) {
      *json_out << text;
      json_out->flush();
      if (!*json_out) throw Error("--json: cannot write '" + printable(r.json_path, 200) + "'");
    } else {
      std::fputs(text.c_str(), stdout);
    }
  }
  if (!r.trace_path.empty()) {
    if (trace_out) {
      write_trace(outcomes, r.model, *trace_out);
      trace_out->flush();
      if (!*trace_out) throw Error("--trace: cannot write '" + printable(r.trace_path, 200) + "'");
    } else {
      write_trace(outcomes, r.model, std::cout);
    }
  }
  return failed ? 1 : 0;
}

}  // namespace greenbench::cli
