// measure_command: spawn a command (fork + execvp, no shell), sample the energy sources while it
// runs, and attribute energy to the phases its markers announce.
#include "greenbench/measure.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>  // wait4
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <thread>

#include "greenbench/error.hpp"
#include "measure/process.hpp"
#include "measure/run.hpp"
#include "measure/session.hpp"

extern char** environ;

namespace greenbench {

namespace measure {

namespace {

std::string format_s(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", seconds);
  return buf;
}

// The sampler: one loop that waits on the marker pipe with a timeout until the next tick, so a
// marker line wakes it at once. It also ends the command when its time is up or a stop is
// requested: SIGTERM to its process group, SIGKILL after the grace period.
class Sampler {
 public:
  Sampler(Meter* meter, Session* session, int marker_fd, int wake_fd, double interval_s,
          const MeasureOptions& options, const ProcessTree* tree,
          std::vector<std::string>* warnings)
      : meter_(meter),
        session_(session),
        marker_fd_(marker_fd),
        wake_fd_(wake_fd),
        interval_s_(interval_s),
        options_(options),
        tree_(tree),
        warnings_(warnings) {}

  void run() {
    const double t0 = meter_->start_time();
    const double timeout_s = options_.timeout_s;
    double next_tick = t0 + interval_s_;
    bool kill_sent = false;
    for (;;) {
      double now = monotonic_s();
      if (now >= next_tick) {
        meter_->sample(now);
        session_->tick(now);
        next_tick += interval_s_;
        if (next_tick <= now) next_tick = now + interval_s_;  // we fell behind: do not burst
      }
      if (status_due_ > 0 && now >= status_due_) {
        report_status(now - t0);
        status_due_ = now + options_.status_interval_s;
      }
      if (timeout_s > 0 && !term_sent_ && now - t0 >= timeout_s) {
        term_sent_ = true;
        timed_out_ = true;
        term_at_ = now;
        tree_->signal_group(SIGTERM);
        kill_at_ = now + options_.kill_grace_s;
        warnings_->push_back("command timed out after " + format_s(timeout_s) +
                             " s; sent SIGTERM to its process group");
      }
      if (!term_sent_ && options_.stop != nullptr && options_.stop->load()) {
        term_sent_ = true;
        term_at_ = now;
        tree_->signal_group(SIGTERM);
        kill_at_ = now + std::min(options_.kill_grace_s, kStopGraceS);
        warnings_->push_back("stopped on request; sent SIGTERM to the command's process group");
      }
      if (term_sent_ && !kill_sent && now >= kill_at_) {
        kill_sent = true;
        tree_->signal_group(SIGKILL);
        warnings_->push_back("command still running " + format_s(kill_at_ - term_at_) +
                             " s after SIGTERM; sent SIGKILL");
      }
      double wake_at = next_tick;
      if (status_due_ > 0) wake_at = std::min(wake_at, status_due_);
      if (timeout_s > 0 && !term_sent_) wake_at = std::min(wake_at, t0 + timeout_s);
      if (term_sent_ && !kill_sent) wake_at = std::min(wake_at, kill_at_);
      const double wait_s = std::max(0.0, wake_at - now);
      struct timespec ts;
      ts.tv_sec = static_cast<time_t>(wait_s);
      ts.tv_nsec = static_cast<long>((wait_s - static_cast<double>(ts.tv_sec)) * 1e9);
      struct pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {marker_fd_, POLLIN, 0}};
      const int nfds = marker_fd_ >= 0 ? 2 : 1;
      const int ready = ppoll(fds, nfds, &ts, nullptr);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) drain();
      if ((fds[0].revents & POLLIN) != 0) break;
    }
    drain();
  }

  /// Starts calling options.on_status (if set), the first time one period after the start.
  void enable_status() {
    if (!options_.on_status || !(options_.status_interval_s > 0)) return;
    status_due_ = meter_->start_time() + options_.status_interval_s;
    status_j_ = meter_->cumulative_j();
    status_t_ = meter_->start_time();
    for (std::size_t i = 0; i < meter_->keys().size(); ++i) {
      if (meter_->keys()[i].find(':') != std::string::npos) continue;  // per-device detail
      status_keys_.push_back(i);
      status_.keys.push_back(meter_->keys()[i]);
      status_.estimated.push_back(meter_->key_estimated(i));
    }
    status_.power_w.assign(status_keys_.size(), std::numeric_limits<double>::quiet_NaN());
  }

  /// Whether SIGTERM went to the group (timeout or stop), and when SIGKILL is (was) due.
  [[nodiscard]] bool term_sent() const { return term_sent_; }
  [[nodiscard]] double kill_at() const { return kill_at_; }
  [[nodiscard]] bool timed_out() const { return timed_out_; }

 private:
  // Power since the previous status, from the meter's latest reading (no reading of its own: a
  // status between two ticks repeats the last power).
  void report_status(double elapsed_s) {
    const double dt = meter_->last_time() - status_t_;
    if (dt > 0) {
      meter_->key_power(status_j_, meter_->cumulative_j(), dt, &power_);
      for (std::size_t k = 0; k < status_keys_.size(); ++k) {
        status_.power_w[k] = power_[status_keys_[k]];
      }
      status_j_ = meter_->cumulative_j();
      status_t_ = meter_->last_time();
    }
    status_.elapsed_s = elapsed_s;
    status_.phase = session_->current_phase();
    options_.on_status(status_);
  }

  // Reads what the pipe holds now; stamps it once, on receipt.
  void drain() {
    if (marker_fd_ < 0) return;
    for (;;) {
      const ssize_t n = read(marker_fd_, buf_.get(), kBufferBytes);
      if (n > 0) {
        session_->feed(std::string_view(buf_.get(), static_cast<std::size_t>(n)), monotonic_s());
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) marker_fd_ = -1;  // every writer closed it: nothing more to wait for
      return;
    }
  }

  Meter* meter_;
  Session* session_;
  int marker_fd_;
  int wake_fd_;
  double interval_s_;
  const MeasureOptions& options_;
  const ProcessTree* tree_;
  std::vector<std::string>* warnings_;
  double status_due_ = 0;  // 0 = no status line
  std::vector<double> status_j_;
  double status_t_ = 0;
  std::vector<std::size_t> status_keys_;
  std::vector<double> power_;
  LiveStatus status_;
  bool timed_out_ = false;
  bool term_sent_ = false;
  double term_at_ = 0;
  double kill_at_ = 0;
  static constexpr std::size_t kBufferBytes = 65536;
  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kBufferBytes);
};

}  // namespace

double monotonic_s() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double effective_interval_s(const MeasureOptions& options, const Meter& meter,
                            std::vector<std::string>* warnings) {
  if (options.interval_ms <= 0) {
    throw Error("interval_ms: must be positive, got " + std::to_string(options.interval_ms));
  }
  double interval_s = options.interval_ms / 1000.0;
  const double limit_s = meter.max_interval_s();
  if (limit_s > 0 && limit_s < interval_s) {
    interval_s = std::max(limit_s, 0.001);
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "sampling every %.1f ms instead of %d ms so that no energy counter can wrap "
                  "twice between two readings",
                  interval_s * 1000, options.interval_ms);
    warnings->push_back(buf);
  }
  return interval_s;
}

bool measures_idle_power(const Meter& meter) {
  for (const auto& d : meter.domains()) {
    if (d.quality != Quality::kEstimated) return true;
  }
  return false;
}

std::string no_idle_power_reason(const Meter& meter) {
  std::string names;
  for (const auto& s : meter.source_records()) names += (names.empty() ? "" : ", ") + s.name;
  if (names.empty()) return "no energy source can be read, so no idle power can be measured";
  return "no idle power: " + names +
         " gives only an estimate of the command's own CPU use, which has no idle power";
}

std::map<std::string, double> idle_power(Meter* meter, double seconds, double interval_s,
                                         const std::atomic<bool>* stop) {
  const double t0 = monotonic_s();
  meter->start(t0);
  const double end = t0 + seconds;
  for (double t = monotonic_s(); t < end; t = monotonic_s()) {
    if (stop != nullptr && stop->load()) break;
    const double wait_s = std::min(interval_s, end - t);
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(wait_s);
    ts.tv_nsec = static_cast<long>((wait_s - static_cast<double>(ts.tv_sec)) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      if (stop != nullptr && stop->load()) break;
    }
    meter->sample(std::min(monotonic_s(), end + interval_s));
  }
  if (meter->last_time() == t0) meter->sample(monotonic_s());
  const std::vector<double> zero(meter->cumulative_j().size(), 0);
  return average_power(meter->aggregate(zero, meter->cumulative_j()),
                       meter->last_time() - meter->start_time());
}

RunRecord measure_with_sources(const std::vector<std::string>& argv, const MeasureOptions& options,
                               std::vector<std::unique_ptr<EnergySource>> sources) {
  if (argv.empty()) throw Error("measure: no command given");
  RunRecord record;
  record.command = argv;
  Meter meter(std::move(sources), &record.warnings);
  const double interval_s = effective_interval_s(options, meter, &record.warnings);
  if (options.idle_baseline_s > 0) {
    // Said once instead of spending the baseline reading a source that cannot see idle power.
    if (measures_idle_power(meter)) {
      record.idle_power_w = idle_power(&meter, options.idle_baseline_s, interval_s, options.stop);
    } else {
      record.warnings.push_back(no_idle_power_reason(meter));
    }
  }
  const std::string run_id = options.run_id.empty() ? new_run_id() : options.run_id;

  // Everything the child needs is prepared before fork: after it, only system calls.
  Fd marker_read, marker_write, status_read, status_write, go_read, go_write, wake_read, wake_write,
      in_fd, out_fd, err_fd;
  make_pipe(&marker_read, &marker_write);
  make_pipe(&status_read, &status_write);
  make_pipe(&go_read, &go_write);
  make_pipe(&wake_read, &wake_write);
  auto open_file = [](const std::string& path, Fd* fd, int flags) {
    if (path.empty()) return;
    fd->reset(open(path.c_str(), flags | O_CLOEXEC, 0644));
    if (fd->get() < 0) {
      throw Error("cannot open '" + path + "' for " +
                  ((flags & O_WRONLY) != 0 ? "writing" : "reading") + ": " + strerror(errno));
    }
  };
  open_file(options.stdin_path, &in_fd, O_RDONLY);
  open_file(options.stdout_path, &out_fd, O_WRONLY | O_CREAT | O_TRUNC);
  open_file(options.stderr_path, &err_fd, O_WRONLY | O_CREAT | O_TRUNC);

  std::vector<std::string> env_strings;
  const std::string marker_var = "GREENBENCH_MARKER_FD=" + std::to_string(marker_write.get());
  const std::string run_id_var = std::string(kRunIdVariable) + "=" + run_id;
  auto overridden = [&](const char* entry) {
    const std::string_view e(entry);
    const std::string_view key = e.substr(0, e.find('='));
    if (key == "GREENBENCH_MARKER_FD" || key == kRunIdVariable) return true;
    for (const auto& extra : options.extra_env) {
      if (std::string_view(extra).substr(0, extra.find('=')) == key) return true;
    }
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!overridden(*e)) env_strings.emplace_back(*e);
  }
  for (const auto& extra : options.extra_env) {
    if (std::string_view(extra).substr(0, extra.find('=')) != kRunIdVariable) {
      env_strings.push_back(extra);
    }
  }
  env_strings.push_back(marker_var);
  env_strings.push_back(run_id_var);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> argvp;
  for (auto& s : argv_copy) argvp.push_back(s.data());
  argvp.push_back(nullptr);

  ChildSetup setup;
  setup.argv = argvp.data();
  setup.envp = envp.data();
  setup.workdir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
  setup.stdin_fd = in_fd.get();
  setup.stdout_fd = out_fd.get();
  setup.stderr_fd = err_fd.get();
  setup.keep_fd = marker_write.get();
  setup.go_fd = go_read.get();
  setup.status_fd = status_write.get();
  // The terminal goes with stdin: a command reading a file instead never needs it.
  setup.take_terminal = options.stdin_path.empty() && terminal_foreground_is_ours();

  // The watchdog first, so that the run's process tree counts it among our older children.
  Watchdog watchdog(run_id);
  ProcessTree tree(run_id);
  tree.exclude(watchdog.pid());
  SignalForwarding forwarding(options.forward_signals, !setup.take_terminal);
  TerminalLoan terminal;
  const pid_t pid = tree.spawn(setup);
  watchdog.watch(pid);
  if (setup.take_terminal) terminal.give(pid);
  forwarding.target(pid);
  marker_write.reset();
  status_write.reset();
  go_read.reset();
  fcntl(marker_read.get(), F_SETFL, fcntl(marker_read.get(), F_GETFL) | O_NONBLOCK);

  meter.attach(pid);
  meter.start(monotonic_s());
  Session session(&meter, &record.warnings, options.on_marker);
  [[maybe_unused]] ssize_t w = write(go_write.get(), "g", 1);
  go_write.reset();

  ChildFailure failure;
  ssize_t n;
  while ((n = read(status_read.get(), &failure, sizeof failure)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof failure)) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    terminal.take_back();
    record.exit_code = 127;
    record.duration_s = 0;
    record.sources = meter.source_records();
    // The contract: the whole process is always the phase 'run', here of zero length.
    PhaseRecord run;
    run.name = "run";
    record.phases.push_back(std::move(run));
    if (failure.stage == 1) {
      record.warnings.push_back("cannot start '" + argv[0] + "': cannot change to directory '" +
                                options.working_dir + "': " + strerror(failure.error));
    } else {
      record.warnings.push_back("cannot start '" + argv[0] + "': " + strerror(failure.error));
    }
    return record;
  }

  Sampler sampler(&meter, &session, marker_read.get(), wake_read.get(), interval_s, options, &tree,
                  &record.warnings);
  sampler.enable_status();
  std::thread thread([&sampler] { sampler.run(); });
  // Wait for the command to end without reaping it: its zombie keeps /proc/<pid>/stat with the
  // final CPU times, which the last reading below still sees (the CPU estimate needs them).
  // (The sampler thread writes record.warnings meanwhile: ours wait until it has stopped.)
  std::vector<std::string> wait_warnings;
  const bool exited = wait_for_exit(pid, &terminal, &wait_warnings);
  const int wait_errno = errno;
  terminal.take_back();
  [[maybe_unused]] ssize_t w2 = write(wake_write.get(), "x", 1);
  thread.join();
  record.warnings.insert(record.warnings.end(), wait_warnings.begin(), wait_warnings.end());
  session.finish(monotonic_s());

  // Whatever the command left running ends with it: SIGTERM, SIGKILL after the grace period
  // (counted from the timeout's SIGTERM when there was one). Its energy after the command's end
  // is not in the record, and it must not burn into the next run.
  double kill_at = sampler.term_sent() ? sampler.kill_at() : monotonic_s() + options.kill_grace_s;
  if (options.stop != nullptr && options.stop->load()) {
    kill_at = std::min(kill_at, monotonic_s() + kStopGraceS);
  }
  bool needed_kill = false;
  const int ended = tree.end_remaining(kill_at, &needed_kill);
  if (ended > 0) {
    record.warnings.push_back(
        "ended " + std::to_string(ended) + (ended == 1 ? " process" : " processes") +
        " that the command left running (SIGTERM" +
        (needed_kill ? ", then SIGKILL after " + format_s(options.kill_grace_s) + " s" : "") + ")");
  }
  watchdog.release();
  forwarding.target(0);
  int status = 0;
  pid_t waited = -1;
  if (exited) {
    while ((waited = wait4(pid, &status, 0, nullptr)) < 0 && errno == EINTR) {
    }
  }

  session.fill(&record, options.keep_trace);
  record.sources = meter.source_records();
  record.timed_out = sampler.timed_out();
  if (waited != pid) {
    // Only when the caller made children reap themselves (SIGCHLD ignored).
    record.exit_code = 127;
    record.warnings.push_back(std::string("cannot get the command's exit status: ") +
                              strerror(wait_errno));
  } else if (WIFEXITED(status)) {
    record.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    record.term_signal = WTERMSIG(status);
    record.exit_code = 128 + record.term_signal;
    record.warnings.push_back("command killed by signal " + std::to_string(record.term_signal) +
                              " (" + signal_name(record.term_signal) + ")");
  }
  if (!record.idle_power_w.empty()) {
    for (auto& p : record.phases) {
      for (const auto& [key, joules] : p.energy_j) {
        auto it = record.idle_power_w.find(key);
        if (it != record.idle_power_w.end()) {
          p.energy_above_idle_j[key] = joules - it->second * p.duration_s;
        }
      }
    }
  }
  return record;
}

}  // namespace measure

RunRecord measure_command(const std::vector<std::string>& argv, const MeasureOptions& options) {
  return measure::measure_with_sources(argv, options, detect_sources(options.sources));
}

std::map<std::string, double> measure_idle_power(const MeasureOptions& options, double seconds) {
  std::vector<std::string> warnings;
  measure::Meter meter(detect_sources(options.sources), &warnings);
  const double interval_s = measure::effective_interval_s(options, meter, &warnings);
  if (!measure::measures_idle_power(meter)) return {};
  return measure::idle_power(&meter, seconds, interval_s, options.stop);
}

bool idle_power_measurable(const MeasureOptions& options) {
  std::vector<std::string> warnings;
  const measure::Meter meter(detect_sources(options.sources), &warnings);
  return measure::measures_idle_power(meter);
}

int kill_leftover_processes(const std::string& run_id) {
  return measure::kill_processes_with_run_id(run_id, 3.0);
}

}  // namespace greenbench
