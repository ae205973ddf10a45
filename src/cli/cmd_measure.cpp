// greenbench measure [OPTIONS] -- CMD ARGS...: run a command, measure its energy per phase,
// exit with its exit status.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/carbon_options.hpp"
#include "cli/commands.hpp"
#include "cli/measure_repeat.hpp"
#include "cli/option_value.hpp"
#include "cli/source_options.hpp"
#include "cli/status_line.hpp"
#include "greenbench/error.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/record.hpp"
#include "greenbench/shell.hpp"
#include "greenbench/trace.hpp"

namespace greenbench::cli {
namespace {

constexpr int kTimeoutExitStatus = 124;

constexpr const char* kHelp =
    "usage: greenbench measure [OPTIONS] -- CMD [ARGS...]\n"
    "       greenbench measure --runs N [OPTIONS] -- CMD1 [ARGS...] [-- CMD2 [ARGS...] ...]\n"
    "\n"
    "Runs CMD (no shell), reads the energy counters every interval and whenever CMD writes a\n"
    "marker line to the descriptor in $GREENBENCH_MARKER_FD, and prints energy and time per\n"
    "phase ('run' is the whole command). Exits with CMD's exit status: 127 when it cannot be\n"
    "started, 128+N when a signal N killed it, 124 when --timeout stopped it (as coreutils\n"
    "timeout does; an outside SIGTERM gives 143). Estimated values are marked '(est.)'.\n"
    "Where CMD writes 'step <index>' lines (one per training step or batch), each step gets\n"
    "its energy ('steps' in --json) and a line per phase gives the first and median step's\n"
    "energy and the drift from the first tenth of the steps to the last.\n"
    "On a terminal, a status line on stderr shows the elapsed time, the current phase and the\n"
    "power per domain while CMD runs; it is erased at the end and never written elsewhere.\n"
    "\n"
    "Every process CMD starts ends with it: what it leaves running when it exits (also\n"
    "double-forked or in another process group) gets SIGTERM, then SIGKILL 5 s later, with a\n"
    "warning; if greenbench itself is killed, even by SIGKILL, a watchdog ends them.\n"
    "\n"
    "With --runs N every command runs N times, the runs of different commands interleaved\n"
    "(A B A B ...) so that drift (temperature, clock, background load) hits all alike; each\n"
    "'--' starts the next command. It prints per command, phase and quantity (energy per\n"
    "domain, duration, metrics) mean ± sd, median, min…max and n, and for two or more\n"
    "commands the ratio of each against the first: the Hodges-Lehmann estimate with its\n"
    "distribution-free interval, the two-sided Mann-Whitney U p-value (Holm-adjusted) and\n"
    "A12, as `greenbench compare` does. The commands read /dev/null and their output is\n"
    "discarded (the last line of stderr is kept for the reason of a failed run) unless\n"
    "--show-output. Exit status: 0 when every measured run succeeded, 1 when one failed (a\n"
    "line says which), 127 when a command cannot be started, 128+N when stopped by signal N.\n"
    "\n"
    "options:\n"
    "  --json FILE               write the run record as JSON ('-' = stdout)\n"
    "  --trace FILE              write a Perfetto/Chrome trace of power and phases\n"
    "  --interval-ms N           sampling period in milliseconds (default 50)\n"
    "  --idle-baseline SECONDS   measure idle power first and report energy above idle\n"
    "                            (skipped, with a warning, where only the CPU estimate is read)\n"
    "  --timeout SECONDS         stop CMD after this long (SIGTERM to its process group,\n"
    "                            SIGKILL 5 s later); greenbench then exits 124\n"
    "  --quiet                   print no table and no status line (only the cannot-start\n"
    "                            message)\n"
    "  --no-status               no live status line on a terminal\n"
    "  --runs N                  measure every command N times (interleaved), print statistics\n"
    "  --warmup K                with --runs: K unmeasured runs of every command first\n"
    "  --prepare CMD             with --runs: run CMD with /bin/sh -c before every run\n"
    "                            (warm-ups too), unmeasured; stops everything if it fails\n"
    "  --show-output             with --runs: the commands read our stdin and write our\n"
    "                            stdout and stderr\n"
    "  --export-json FILE        with --runs: every run's record, the statistics and the\n"
    "                            comparisons as JSON ('-' = stdout)\n"
    "  --export-csv FILE         with --runs: one row per command x run x phase x quantity\n"
    "  --export-markdown FILE    with --runs: the statistics and comparisons as Markdown\n"
    "  --help                    this text\n";

double parse_number(const std::string& option, const std::string& value, double min,
                    bool min_inclusive) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || errno != 0 || *end != '\0' || !std::isfinite(v) ||
      (min_inclusive ? v < min : v <= min)) {
    throw Error(option + ": expected a number " + (min_inclusive ? ">= " : "> ") +
                std::to_string(static_cast<int>(min)) + ", got '" + printable(value) + "'");
  }
  return v;
}

int parse_interval_ms(const std::string& value) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || errno != 0 || *end != '\0' || v < 1 || v > 3600000) {
    throw Error("--interval-ms: expected a whole number of milliseconds from 1 to 3600000, got '" +
                printable(value) + "'");
  }
  return static_cast<int>(v);
}

std::string format_joules(double j, bool estimated) {
  char buf[48];
  if (std::fabs(j) >= 1e5) {
    std::snprintf(buf, sizeof buf, "%.4g J", j);
  } else if (std::fabs(j) >= 100) {
    std::snprintf(buf, sizeof buf, "%.1f J", j);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f J", j);
  }
  return std::string(buf) + (estimated ? " (est.)" : "");
}

// The columns of the table: total, then the contract domains in order, then anything else;
// per-device ids stay in the JSON.
std::vector<std::string> table_domains(const RunRecord& r) {
  static const std::vector<std::string> order = {"total", "cpu_package", "cpu_core", "cpu_uncore",
                                                 "dram",  "psys",        "gpu"};
  std::vector<std::string> out;
  if (r.phases.empty()) return out;
  const auto& e = r.phases[0].quality;  // a failed domain has a quality but no energy
  for (const auto& d : order) {
    if (e.count(d) != 0) out.push_back(d);
  }
  for (const auto& [key, quality] : e) {
    if (key.find(':') == std::string::npos && std::find(out.begin(), out.end(), key) == out.end()) {
      out.push_back(key);
    }
  }
  return out;
}

void print_table(const RunRecord& r, std::FILE* out) {
  // Quoted as a shell reads it back, so that the line can be pasted to run it again.
  const std::string command = shell_join(r.command);
  if (r.timed_out) {
    std::fprintf(out,
                 "greenbench measure: %s timed out after %.3f s (stopped by --timeout; exit "
                 "status 124)\n",
                 command.c_str(), r.duration_s);
  } else if (r.term_signal != 0) {
    std::fprintf(out, "greenbench measure: %s was killed by signal %d after %.3f s\n",
                 command.c_str(), r.term_signal, r.duration_s);
  } else {
    std::fprintf(out, "greenbench measure: %s exited with status %d after %.3f s\n",
                 command.c_str(), r.exit_code, r.duration_s);
  }
  const auto domains = table_domains(r);
  const bool above_idle = !r.idle_power_w.empty() && r.idle_power_w.count("total") != 0;

  // Indent nested phases: a phase lies inside the open phases that contain its interval.
  std::vector<int> depth(r.phases.size(), 0);
  std::vector<std::size_t> stack;
  for (std::size_t i = 1; i < r.phases.size(); ++i) {
    const auto& p = r.phases[i];
    while (!stack.empty()) {
      const auto& q = r.phases[stack.back()];
      if (q.start_s <= p.start_s && p.end_s <= q.end_s) break;
      stack.pop_back();
    }
    depth[i] = static_cast<int>(stack.size()) + 1;
    stack.push_back(i);
  }

  std::size_t name_width = 5;
  for (std::size_t i = 0; i < r.phases.size(); ++i) {
    name_width = std::max(name_width, r.phases[i].name.size() + 2 * depth[i] + 1);
  }
  std::fprintf(out, "\n%-*s %11s", static_cast<int>(name_width), "phase", "duration");
  for (const auto& d : domains) std::fprintf(out, "  %18s", d.c_str());
  if (above_idle) std::fprintf(out, "  %18s", "total above idle");
  std::fputc('\n', out);
  for (std::size_t i = 0; i < r.phases.size(); ++i) {
    const auto& p = r.phases[i];
    const std::string name =
        std::string(2 * depth[i], ' ') + p.name + (p.closed_at_exit ? "*" : "");
    std::fprintf(out, "%-*s %9.3f s", static_cast<int>(name_width), name.c_str(), p.duration_s);
    for (const auto& d : domains) {
      auto e = p.energy_j.find(d);
      auto q = p.quality.find(d);
      const bool failed = q != p.quality.end() && q->second == "failed";
      const std::string cell =
          e == p.energy_j.end()
              ? (failed ? "failed" : "-")
              : format_joules(e->second, q != p.quality.end() && q->second == "estimated");
      std::fprintf(out, "  %18s", cell.c_str());
    }
    if (above_idle) {
      auto e = p.energy_above_idle_j.find("total");
      auto q = p.quality.find("total");
      const std::string cell =
          e == p.energy_above_idle_j.end()
              ? "-"
              : format_joules(e->second, q != p.quality.end() && q->second == "estimated");
      std::fprintf(out, "  %18s", cell.c_str());
    }
    std::fputc('\n', out);
  }
  bool any_closed = false;
  for (const auto& p : r.phases) any_closed = any_closed || p.closed_at_exit;
  if (any_closed) std::fputs("* left open by the command, closed when it exited\n", out);
  // Step markers: first step against the steady state, and drift over the phase.
  for (const auto& s : summarize_steps(r)) {
    if (s.steps == 0) {
      std::fprintf(out, "steps in %s: no energy (no source could be read)\n", s.phase.c_str());
      continue;
    }
    const bool est = s.quality == "estimated";
    std::fprintf(out, "steps in %s: %zu, %s: first %s, median %s", s.phase.c_str(), s.steps,
                 s.key.c_str(), format_joules(s.first_j, est).c_str(),
                 format_joules(s.median_j, est).c_str());
    if (std::isfinite(s.median_resolution_j)) {
      std::fprintf(out, " (resolution %s)", format_joules(s.median_resolution_j, false).c_str());
    }
    if (std::isfinite(s.drift)) {
      std::fprintf(out, ", last/first tenth %.3f", s.drift);
    }
    std::fputc('\n', out);
  }
  if (domains.empty())
    std::fputs("(no energy source could be read: see 'greenbench sources')\n", out);
  if (!r.idle_power_w.empty()) {
    std::fputs("idle power:", out);
    for (const auto& d : domains) {
      auto it = r.idle_power_w.find(d);
      if (it != r.idle_power_w.end()) std::fprintf(out, " %s %.2f W", d.c_str(), it->second);
    }
    std::fputc('\n', out);
  }
  for (const auto& s : r.sources) {
    std::fprintf(out, "source %s (%s)", s.name.c_str(), s.quality.c_str());
    if (!s.parameters.empty()) std::fprintf(out, ": %s", s.parameters.c_str());
    std::fputc('\n', out);
  }
  for (const auto& m : r.metrics) {
    std::fprintf(out, "metric %s = %.10g%s%s (in %s)\n", m.name.c_str(), m.value,
                 m.unit.empty() ? "" : " ", m.unit.c_str(), m.phase.c_str());
  }
  for (const auto& [key, text] : r.info) {
    std::fprintf(out, "info %s: %s\n", key.c_str(), text.c_str());
  }
  for (const auto& w : r.warnings) std::fprintf(out, "warning: %s\n", w.c_str());
}

// Opens an output before the command runs, so a bad path fails fast instead of after an hour.
std::unique_ptr<std::ofstream> open_output(const std::string& option, const std::string& path) {
  if (path.empty() || path == "-") return nullptr;
  auto out = std::make_unique<std::ofstream>(path);
  if (!*out) throw Error(option + ": cannot open '" + printable(path, 200) + "' for writing");
  return out;
}

// Parses a whole number option from `min` to `max`.
int parse_count(const std::string& option, const std::string& value, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || errno != 0 || *end != '\0' || v < min || v > max) {
    throw Error(option + ": expected a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", got '" + printable(value) + "'");
  }
  return static_cast<int>(v);
}

}  // namespace

int cmd_measure(const Args& args) {
  MeasureOptions options;
  options.sources = SourceOptions::from_environment();
  std::string json_path;
  std::string trace_path;
  bool quiet = false;
  CarbonOptions carbon;
  bool status_line = true;
  RepeatRequest repeat;
  bool repeat_only_option = false;  // an option that needs --runs
  std::string repeat_option_seen;
  std::vector<std::string> command;
  std::size_t command_start = args.size();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      command_start = i + 1;
      if (command.empty()) throw Error("missing command after '--'");
      break;
    }
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      std::fputs(kSourceOptionsHelp, stdout);
      std::fputs(kCarbonOptionsHelp, stdout);
      return 0;
    }
    if (arg == "--quiet" || arg == "-q") {
      quiet = true;
      continue;
    }
    if (arg == "--no-status") {
      status_line = false;
      continue;
    }
    if (arg == "--show-output") {
      repeat.show_output = true;
      repeat_only_option = true;
      repeat_option_seen = arg;
      continue;
    }
    if (parse_source_option(args, i, options.sources)) continue;
    if (parse_carbon_option(args, i, carbon)) continue;
    OptionValue opt(args, i);
    const std::string option = opt.name();
    auto take_value = [&]() -> const std::string& { return opt.value(); };
    auto repeat_only = [&] {
      repeat_only_option = true;
      repeat_option_seen = option;
    };
    if (option == "--json") {
      json_path = take_value();
    } else if (option == "--trace") {
      trace_path = take_value();
    } else if (option == "--interval-ms") {
      options.interval_ms = parse_interval_ms(take_value());
    } else if (option == "--idle-baseline") {
      options.idle_baseline_s = parse_number(option, take_value(), 0, true);
    } else if (option == "--timeout") {
      options.timeout_s = parse_number(option, take_value(), 0, false);
    } else if (option == "--runs") {
      repeat.runs = parse_count(option, take_value(), 1, 100000);
    } else if (option == "--warmup") {
      repeat.warmup = parse_count(option, take_value(), 0, 100000);
      repeat_only();
    } else if (option == "--prepare") {
      repeat.prepare = take_value();
      if (repeat.prepare.empty()) throw Error("--prepare: empty command");
      repeat_only();
    } else if (option == "--export-json") {
      repeat.export_json = take_value();
      repeat_only();
    } else if (option == "--export-csv") {
      repeat.export_csv = take_value();
      repeat_only();
    } else if (option == "--export-markdown") {
      repeat.export_markdown = take_value();
      repeat_only();
    } else if (arg.rfind("-", 0) == 0) {
      throw Error("unknown option '" + printable(arg) + "' (see greenbench measure --help)");
    } else {
      throw Error("unexpected argument '" + printable(arg) + "': put the command after '--'");
    }
  }
  if (carbon.list_regions) {
    print_region_list(stdout);
    return 0;
  }
  const CarbonFactors conversion = command_line_carbon(carbon);  // checked before CMD runs
  if (repeat_only_option && repeat.runs == 0) {
    throw Error(repeat_option_seen + ": only with --runs N");
  }
  if (repeat.runs > 0) {
    if (conversion.any()) {
      throw Error(
          "--carbon-intensity, --region, --pue and --price: not with --runs yet (they "
          "apply to a single measurement, compare and report)");
    }
    if (!json_path.empty() || !trace_path.empty()) {
      throw Error(std::string(json_path.empty() ? "--trace" : "--json") +
                  ": not with --runs (use --export-json FILE for every run's record)");
    }
    // Each '--' starts the next command.
    std::vector<std::string> current;
    for (std::size_t i = command_start; i <= args.size(); ++i) {
      if (i == args.size() || args[i] == "--") {
        if (current.empty()) {
          throw Error("missing command " + std::to_string(repeat.commands.size() + 1) +
                      ": an empty one between two '--'");
        }
        repeat.commands.push_back(std::move(current));
        current.clear();
        continue;
      }
      current.push_back(args[i]);
    }
    if (command.empty() || repeat.commands.empty()) {
      throw Error("missing command: greenbench measure --runs N [OPTIONS] -- CMD [-- CMD2 ...]");
    }
    check_requested_sources(options.sources);
    repeat.options = options;
    repeat.quiet = quiet;
    repeat.status_line = status_line;
    return measure_repeated(std::move(repeat));
  }
  if (command.empty())
    throw Error("missing command: greenbench measure [OPTIONS] -- CMD [ARGS...]");
  if (json_path == "-" && trace_path == "-") throw Error("--json and --trace cannot both be '-'");
  if (!json_path.empty() && json_path == trace_path) {
    throw Error("--json and --trace cannot both write '" + printable(json_path, 200) + "'");
  }
  // Different names may still be one file ("./x" and "x", a link): check before truncating it.
  std::error_code same_error;
  if (json_path != "-" && trace_path != "-" && !json_path.empty() && !trace_path.empty() &&
      std::filesystem::weakly_canonical(json_path, same_error) ==
          std::filesystem::weakly_canonical(trace_path, same_error) &&
      !same_error) {
    throw Error("--json and --trace cannot both write the same file ('" +
                printable(json_path, 200) + "', '" + printable(trace_path, 200) + "')");
  }
  auto json_out = open_output("--json", json_path);
  auto trace_out = open_output("--trace", trace_path);
  // A hard link is one file under two canonical names.
  if (json_out && trace_out && std::filesystem::equivalent(json_path, trace_path, same_error)) {
    throw Error("--json and --trace cannot both write the same file ('" +
                printable(json_path, 200) + "', '" + printable(trace_path, 200) + "')");
  }
  options.keep_trace = !trace_path.empty();
  // A source asked for by name that cannot be read is an error before the command runs.
  check_requested_sources(options.sources);

  StatusLine status(status_line && !quiet);
  if (status.active()) options.on_status = [&status](const LiveStatus& s) { status.show(s); };
  const RunRecord record = measure_command(command, options);
  status.clear();
  // Not started (its record has only a zero-length 'run'): one line, like a shell says it.
  bool not_started = false;
  if (record.exit_code == 127) {
    for (const auto& w : record.warnings) {
      if (w.rfind("cannot start '", 0) == 0) {
        not_started = true;
        std::fprintf(stderr, "greenbench measure: %s\n", w.c_str());
      }
    }
  }
  if (!not_started && !quiet) {
    print_table(record, stderr);
    print_measure_conversion(record, conversion, stderr);
  }
  if (!json_path.empty()) {
    // Replace, not throw on, bytes that are not UTF-8 (argv may hold any bytes): losing the
    // record of a finished run over one odd byte would be far worse.
    nlohmann::json document = to_json(record);
    if (conversion.any()) document["conversion"] = measure_conversion_json(record, conversion);
    const std::string text =
        document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (json_out) {
      *json_out << text;
      json_out->flush();
      if (!*json_out)
        std::fprintf(stderr, "greenbench measure: --json: cannot write '%s'\n", json_path.c_str());
    } else {
      std::fputs(text.c_str(), stdout);
    }
  }
  if (!trace_path.empty()) {
    if (trace_out) {
      write_chrome_trace(record, *trace_out);
      trace_out->flush();
      if (!*trace_out)
        std::fprintf(stderr, "greenbench measure: --trace: cannot write '%s'\n",
                     trace_path.c_str());
    } else {
      write_chrome_trace(record, std::cout);
    }
  }
  // As coreutils timeout: 124 tells a timeout apart from a SIGTERM sent from outside (143).
  return record.timed_out ? kTimeoutExitStatus : record.exit_code;
}

}  // namespace greenbench::cli
