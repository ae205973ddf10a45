// greenbench measure --runs N [--warmup K] [--prepare CMD] -- A [-- B ...]: every command N times,
// interleaved (A B A B ...) so that drift in the machine's state hits all of them alike, then
// statistics per phase and quantity and, for two or more commands, ratios against the first.
#include "cli/measure_repeat.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/status_line.hpp"
#include "core/json_dump.hpp"
#include "core/last_line.hpp"
#include "greenbench/energy.hpp"
#include "greenbench/error.hpp"
#include "greenbench/shell.hpp"
#include "greenbench/version.hpp"
#include "measure/repeat.hpp"
#include "report/format.hpp"

extern char** environ;

namespace greenbench::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_stop_signal{0};

void request_stop(int sig) {
  g_stop_signal.store(sig);
  g_stop.store(true);
}

// A temporary file that is removed with this object: the commands' stderr, for the reason of a
// failed run.
class TempFile {
 public:
  TempFile() {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                          "/greenbench-measure-stderr-XXXXXX";
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw Error("cannot create a temporary file in '" + printable(pattern, 200) + "'");
    close(fd);
    path_ = pattern;
  }
  ~TempFile() { unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs the --prepare command through /bin/sh -c; returns "" when it exited 0, else why not.
std::string run_prepare(const std::string& command, bool show_output, const std::string& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!show_output) {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  std::string sh = "/bin/sh", dash_c = "-c", text = command;
  char* argv[] = {sh.data(), dash_c.data(), text.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return std::string("cannot start /bin/sh: ") + std::strerror(rc);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  std::string why = WIFSIGNALED(status)
                        ? "was killed by signal " + std::to_string(WTERMSIG(status))
                        : "exited with status " + std::to_string(WEXITSTATUS(status));
  if (!show_output) {
    const std::string last = last_line_of(err);
    if (!last.empty()) why += ": " + printable(last, 200);
  }
  return why;
}

// Opens an export before anything runs, so that a bad path fails fast.
std::unique_ptr<std::ofstream> open_export(const std::string& option, const std::string& path) {
  if (path.empty() || path == "-") return nullptr;
  auto out = std::make_unique<std::ofstream>(path);
  if (!*out) throw Error(option + ": cannot open '" + printable(path, 200) + "' for writing");
  return out;
}

void write_export(const std::string& option, const std::string& path, std::ofstream* out,
                  const std::string& text) {
  if (path.empty()) return;
  if (out == nullptr) {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    return;
  }
  *out << text;
  out->flush();
  if (!*out) {
    std::fprintf(stderr, "greenbench measure: %s: cannot write '%s'\n", option.c_str(),
                 printable(path, 200).c_str());
  }
}

// The cannot-start line of a record, if the command could not be started.
std::string cannot_start(const RunRecord& record) {
  if (record.exit_code != 127) return "";
  for (const auto& w : record.warnings) {
    if (w.rfind("cannot start '", 0) == 0) return w;
  }
  return "";
}

}  // namespace

int measure_repeated(RepeatRequest request) {
  const std::size_t n_commands = request.commands.size();
  int dashes = 0;
  for (const auto& o : {request.export_json, request.export_csv, request.export_markdown}) {
    dashes += o == "-" ? 1 : 0;
  }
  if (dashes > 1)
    throw Error("only one of --export-json, --export-csv, --export-markdown can be '-'");
  auto json_out = open_export("--export-json", request.export_json);
  auto csv_out = open_export("--export-csv", request.export_csv);
  auto md_out = open_export("--export-markdown", request.export_markdown);

  // How finely the sources see a phase boundary, for the short-phase warnings.
  std::vector<measure::SourceTiming> timings;
  for (const auto& source : detect_sources(request.options.sources)) {
    measure::SourceTiming t{source->name(), 0};
    for (const auto& d : source->domains()) {
      t.update_interval_s = std::max(t.update_interval_s, d.update_interval_s);
    }
    timings.push_back(t);
  }

  MeasureOptions options = request.options;
  TempFile stderr_file;
  if (!request.show_output) {
    options.stdin_path = "/dev/null";
    options.stdout_path = "/dev/null";
    options.stderr_path = stderr_file.path();
  }
  options.keep_trace = false;
  options.forward_signals = true;
  options.stop = &g_stop;
  struct sigaction sa {};
  sa.sa_handler = request_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  StatusLine status(request.status_line && !request.quiet);
  if (status.active()) {
    options.on_status = [&status](const LiveStatus& s) { status.show(s); };
  }

  // One idle baseline for all runs (as a study measures it), applied to every record.
  std::map<std::string, double> idle;
  const double idle_s = options.idle_baseline_s;
  options.idle_baseline_s = 0;
  std::vector<std::string> extra_warnings;
  if (idle_s > 0) {
    if (idle_power_measurable(options)) {
      status.set_context("measuring idle power for " + std::to_string(idle_s) + " s");
      LiveStatus idle_status;
      idle_status.phase = "idle";
      status.show(idle_status);
      idle = measure_idle_power(options, idle_s);
      status.clear();
    } else {
      extra_warnings.emplace_back(
          "no idle power: the sources read here (the CPU estimate) cannot see it; "
          "--idle-baseline skipped");
    }
  }

  std::vector<measure::RepeatedRun> runs;
  int order = 0;
  std::string stop_line;
  int stop_status = 0;
  for (int round = 0; round < request.warmup + request.runs && stop_line.empty(); ++round) {
    const bool warmup = round < request.warmup;
    const int number = warmup ? round + 1 : round - request.warmup + 1;
    for (std::size_t c = 0; c < n_commands && stop_line.empty(); ++c) {
      const std::string what = (warmup ? "warm-up " : "run ") + std::to_string(number) + "/" +
                               std::to_string(warmup ? request.warmup : request.runs) +
                               " of command " + std::to_string(c + 1);
      status.set_context(what);
      if (!request.prepare.empty()) {
        const std::string why =
            run_prepare(request.prepare, request.show_output, stderr_file.path());
        if (!why.empty()) {
          status.clear();
          std::fprintf(stderr, "greenbench measure: --prepare %s %s before %s; stopped\n",
                       shell_quote(request.prepare).c_str(), why.c_str(), what.c_str());
          return 1;
        }
      }
      if (g_stop.load()) {
        stop_status = 128 + g_stop_signal.load();
        stop_line = "stopped by signal " + std::to_string(g_stop_signal.load()) + " before " + what;
        break;
      }
      measure::RepeatedRun run;
      run.command = c;
      run.run = number;
      run.order = ++order;
      run.warmup = warmup;
      run.record = measure_command(request.commands[c], options);
      status.clear();
      if (const std::string why = cannot_start(run.record); !why.empty()) {
        std::fprintf(stderr, "greenbench measure: %s\n", printable(why, 300).c_str());
        return 127;
      }
      if (!idle.empty()) set_idle_power(&run.record, idle);
      measure::classify(&run, request.show_output ? "" : last_line_of(stderr_file.path()));
      // Ctrl-C (ours, or the terminal's reaching the command) ends the series: what ran so far
      // is summarised, the run it cut short is not counted.
      const int sig = run.record.term_signal;
      const bool killed_by_user = !run.record.timed_out && (sig == SIGINT || sig == SIGTERM);
      if (g_stop.load() || killed_by_user) {
        const int by = g_stop.load() ? g_stop_signal.load() : sig;
        stop_status = 128 + by;
        stop_line =
            "stopped by signal " + std::to_string(by) + " during " + what + " (not counted)";
        break;
      }
      runs.push_back(std::move(run));
    }
  }
  status.clear();

  std::vector<std::string> failures;
  int measured = 0;
  for (const auto& r : runs) {
    if (!r.warmup) ++measured;
    if (r.status == "ok") continue;
    const std::string line = (r.warmup ? "warm-up " : "run ") + std::to_string(r.run) +
                             " of command " + std::to_string(r.command + 1) + ": " + r.status +
                             " (" + r.reason + ")";
    if (r.warmup) {
      extra_warnings.push_back("failed " + line);
    } else {
      failures.push_back(line);
    }
  }

  const auto summaries = measure::summarise(runs, request.commands);
  const auto ratios = measure::ratios_to_first(summaries);
  std::vector<std::string> warnings = measure::short_phase_warnings(summaries, timings);
  for (auto& w : measure::collected_warnings(runs)) warnings.push_back(std::move(w));
  for (auto& w : extra_warnings) warnings.push_back(std::move(w));
  if (!ratios.empty() && request.runs < 1000) {
    const double min_p = stats::mann_whitney_min_p(request.runs, request.runs);
    if (min_p * static_cast<double>(ratios.size()) >= 0.05) {
      const std::size_t needed = stats::runs_needed_for_significance(ratios.size(), 0.05);
      warnings.push_back(
          "with " + std::to_string(request.runs) +
          " runs per command no comparison can be significant after Holm over " +
          std::to_string(ratios.size()) + " comparisons (smallest p " + report::format_p(min_p) +
          "); " +
          (needed > 0 ? "use --runs " + std::to_string(needed) + " or more" : "use more runs"));
    }
  }

  if (!request.quiet) {
    std::string text = measure::summary_text(summaries, ratios, request.warmup);
    for (const auto& w : warnings) text += "warning: " + w + "\n";
    std::fputs(text.c_str(), stderr);
  }

  nlohmann::json settings = {{"greenbench_version", kVersion},
                             {"runs", request.runs},
                             {"warmup", request.warmup},
                             {"prepare", request.prepare},
                             {"interleaved", true},
                             {"interval_ms", request.options.interval_ms},
                             {"timeout_s", request.options.timeout_s},
                             {"idle_baseline_s", idle_s},
                             {"show_output", request.show_output},
                             {"sources", request.options.sources.only}};
  if (!idle.empty()) settings["idle_power_w"] = idle;
  write_export(
      "--export-json", request.export_json, json_out.get(),
      dump_json(measure::repeat_json(settings, runs, summaries, ratios, warnings), 2) + "\n");
  write_export("--export-csv", request.export_csv, csv_out.get(),
               measure::repeat_csv(runs, request.commands));
  write_export("--export-markdown", request.export_markdown, md_out.get(),
               measure::repeat_markdown(summaries, ratios, request.warmup));

  if (!stop_line.empty()) {
    std::fprintf(stderr, "greenbench measure: %s\n", stop_line.c_str());
    return stop_status;
  }
  if (!failures.empty()) {
    std::string line = std::to_string(failures.size()) + " of " + std::to_string(measured) +
                       " measured runs failed: ";
    for (std::size_t i = 0; i < failures.size(); ++i) line += (i ? "; " : "") + failures[i];
    std::fprintf(stderr, "greenbench measure: %s\n", line.c_str());
    return 1;
  }
  return 0;
}

}  // namespace greenbench::cli
