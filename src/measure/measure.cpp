// measure_command: spawn a command (fork + execvp, no shell), sample the energy sources while it
// runs, and attribute energy to the phases its markers announce.
#include "greenbench/measure.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>  // wait4
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "greenbench/error.hpp"
#include "measure/run.hpp"
#include "measure/session.hpp"

extern char** environ;

namespace greenbench {

namespace measure {

namespace {

// The process group that SIGINT/SIGTERM received by us is forwarded to (0 = none).
std::atomic<pid_t> g_forward_pgid{0};

void forward_signal(int sig) {
  const pid_t pgid = g_forward_pgid.load();
  if (pgid > 0) kill(-pgid, sig);
}

// Installs the forwarding handlers for the lifetime of a measurement.
class SignalForwarding {
 public:
  explicit SignalForwarding(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    struct sigaction sa {};
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~SignalForwarding() {
    if (!enabled_) return;
    g_forward_pgid.store(0);
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;
  void target(pid_t pgid) const {
    if (enabled_) g_forward_pgid.store(pgid);
  }

 private:
  // The command runs in its own process group, so the terminal's signals reach only us: pass on
  // the ones that mean "stop" (Ctrl-C, Ctrl-\, kill, hangup).
  static constexpr std::array<int, 4> kSignals = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
  bool enabled_;
  std::array<struct sigaction, 4> old_{};
};

// Whether our stdin is a terminal whose foreground process group is ours. The command runs in a
// group of its own, so it must then be made the foreground group: reading the terminal from a
// background group stops a process with SIGTTIN, and nobody would ever continue it.
bool terminal_foreground_is_ours() {
  if (isatty(STDIN_FILENO) == 0) return false;
  const pid_t fg = tcgetpgrp(STDIN_FILENO);
  return fg > 0 && fg == getpgrp();
}

// Makes `pgid` the terminal's foreground group. SIGTTOU is blocked around the call: a process
// not in the foreground group that changes it is otherwise stopped by that signal.
void set_terminal_foreground(pid_t pgid) {
  sigset_t ttou;
  sigset_t old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old);
  tcsetpgrp(STDIN_FILENO, pgid);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// Lends the terminal to the command's process group and takes it back, also on early returns.
class TerminalLoan {
 public:
  TerminalLoan() = default;
  ~TerminalLoan() { take_back(); }
  TerminalLoan(const TerminalLoan&) = delete;
  TerminalLoan& operator=(const TerminalLoan&) = delete;
  void give(pid_t pgid) {
    set_terminal_foreground(pgid);
    lent_ = true;
  }
  void take_back() {
    if (!lent_) return;
    lent_ = false;
    set_terminal_foreground(getpgrp());
  }

 private:
  bool lent_ = false;
};

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  [[nodiscard]] int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

void make_pipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw Error(std::string("cannot create a pipe: ") + strerror(errno));
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
}

// What the child reports through the status pipe when it cannot exec.
struct ChildFailure {
  int stage = 0;  // 1 = chdir, 2 = exec
  int error = 0;
};

// Marks every descriptor above 2 close-on-exec, so the command inherits only stdio and the
// marker pipe. Runs between fork and exec: system calls only.
void cloexec_all_from(int first) {
#ifdef SYS_close_range
  constexpr unsigned kCloseRangeCloexec = 1U << 2;  // CLOSE_RANGE_CLOEXEC
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, kCloseRangeCloexec) == 0) return;
#endif
  long max_fd = sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = first; fd < max_fd; ++fd) {
    const int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

[[noreturn]] void child_fail(int status_fd, int stage) {
  const ChildFailure f{stage, errno};
  [[maybe_unused]] ssize_t n = write(status_fd, &f, sizeof f);
  _exit(127);
}

// "SIGKILL: Killed" (glibc's names; the number alone where it has none).
std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* desc = sigdescr_np(sig);
  std::string out =
      abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
  if (desc != nullptr) out += std::string(": ") + desc;
  return out;
}

std::string format_s(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", seconds);
  return buf;
}

// The sampler: one loop that waits on the marker pipe with a timeout until the next tick, so a
// marker line wakes it at once; it also enforces the timeout.
class Sampler {
 public:
  Sampler(Meter* meter, Session* session, int marker_fd, int wake_fd, double interval_s,
          double timeout_s, pid_t pgid, std::vector<std::string>* warnings)
      : meter_(meter),
        session_(session),
        marker_fd_(marker_fd),
        wake_fd_(wake_fd),
        interval_s_(interval_s),
        timeout_s_(timeout_s),
        pgid_(pgid),
        warnings_(warnings) {}

  void run() {
    const double t0 = meter_->start_time();
    double next_tick = t0 + interval_s_;
    bool term_sent = false;
    bool kill_sent = false;
    double kill_at = 0;
    for (;;) {
      double now = monotonic_s();
      if (now >= next_tick) {
        meter_->sample(now);
        session_->tick(now);
        next_tick += interval_s_;
        if (next_tick <= now) next_tick = now + interval_s_;  // we fell behind: do not burst
      }
      if (timeout_s_ > 0 && !term_sent && now - t0 >= timeout_s_) {
        term_sent = true;
        timed_out_ = true;
        kill(-pgid_, SIGTERM);
        kill_at = now + kKillGraceS;
        warnings_->push_back("command timed out after " + format_s(timeout_s_) +
                             " s; sent SIGTERM to its process group");
      }
      if (term_sent && !kill_sent && now >= kill_at) {
        kill_sent = true;
        kill(-pgid_, SIGKILL);
        warnings_->push_back("command still running " + format_s(kKillGraceS) +
                             " s after SIGTERM; sent SIGKILL");
      }
      double wake_at = next_tick;
      if (timeout_s_ > 0 && !term_sent) wake_at = std::min(wake_at, t0 + timeout_s_);
      if (term_sent && !kill_sent) wake_at = std::min(wake_at, kill_at);
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

  [[nodiscard]] bool timed_out() const { return timed_out_; }

 private:
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
  double timeout_s_;
  pid_t pgid_;
  std::vector<std::string>* warnings_;
  bool timed_out_ = false;
  static constexpr std::size_t kBufferBytes = 65536;
  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kBufferBytes);
};

// Waits until the command exits (without reaping it). A command that stops itself, or is stopped
// by the terminal, is handled like a shell would: the stop is passed on to our own process (so
// Ctrl-Z stops the measurement as a whole), and the command is continued when we are. Returns
// false, with errno set, when its status cannot be waited for.
bool wait_for_exit(pid_t pid, TerminalLoan* terminal, std::vector<std::string>* warnings) {
  bool warned = false;
  for (;;) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WSTOPPED | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (info.si_code != CLD_STOPPED) return true;
    // Consume the stop report (WNOHANG: it may be gone already if someone continued it).
    siginfo_t consumed{};
    while (waitid(P_PID, static_cast<id_t>(pid), &consumed, WSTOPPED | WNOHANG) != 0 &&
           errno == EINTR) {
    }
    const int sig = info.si_status;
    if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) {
      continue;  // SIGSTOP is someone's deliberate pause: wait until they continue it
    }
    if (!warned) {
      warned = true;
      warnings->push_back("command was stopped (" + signal_name(sig) +
                          ") and continued; the time it was stopped counts in its duration");
    }
    terminal->take_back();
    // With a controlling terminal, pass the stop on to us (a job-control shell then gets the
    // terminal back and continues us with 'fg'; the kernel discards it for an orphaned group).
    // Without one nobody would continue us: just resume the command.
    if (isatty(STDIN_FILENO) != 0 && tcgetpgrp(STDIN_FILENO) > 0) raise(sig);
    if (terminal_foreground_is_ours()) {
      terminal->give(pid);
    } else if (sig != SIGTSTP) {
      // It wants a terminal it cannot have: do not spin on stop and continue.
      struct timespec pause {
        0, 200000000
      };
      nanosleep(&pause, nullptr);
    }
    kill(-pid, SIGCONT);
  }
}

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

std::map<std::string, double> idle_power(Meter* meter, double seconds, double interval_s) {
  const double t0 = monotonic_s();
  meter->start(t0);
  const double end = t0 + seconds;
  for (double t = monotonic_s(); t < end; t = monotonic_s()) {
    const double wait_s = std::min(interval_s, end - t);
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(wait_s);
    ts.tv_nsec = static_cast<long>((wait_s - static_cast<double>(ts.tv_sec)) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
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
    record.idle_power_w = idle_power(&meter, options.idle_baseline_s, interval_s);
  }

  // Everything the child needs is prepared before fork: after it, only system calls.
  Fd marker_read, marker_write, status_read, status_write, go_read, go_write, wake_read, wake_write,
      out_fd, err_fd;
  make_pipe(&marker_read, &marker_write);
  make_pipe(&status_read, &status_write);
  make_pipe(&go_read, &go_write);
  make_pipe(&wake_read, &wake_write);
  auto open_output = [](const std::string& path, Fd* fd) {
    if (path.empty()) return;
    fd->reset(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd->get() < 0) throw Error("cannot open '" + path + "' for writing: " + strerror(errno));
  };
  open_output(options.stdout_path, &out_fd);
  open_output(options.stderr_path, &err_fd);

  std::vector<std::string> env_strings;
  const std::string marker_var = "GREENBENCH_MARKER_FD=" + std::to_string(marker_write.get());
  auto overridden = [&](const char* entry) {
    const std::string_view e(entry);
    const std::string_view key = e.substr(0, e.find('='));
    if (key == "GREENBENCH_MARKER_FD") return true;
    for (const auto& extra : options.extra_env) {
      if (std::string_view(extra).substr(0, extra.find('=')) == key) return true;
    }
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!overridden(*e)) env_strings.emplace_back(*e);
  }
  env_strings.insert(env_strings.end(), options.extra_env.begin(), options.extra_env.end());
  env_strings.push_back(marker_var);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> argvp;
  for (auto& s : argv_copy) argvp.push_back(s.data());
  argvp.push_back(nullptr);
  const char* workdir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();

  SignalForwarding forwarding(options.forward_signals);
  const bool lend_terminal = terminal_foreground_is_ours();
  TerminalLoan terminal;
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("cannot fork: ") + strerror(errno));
  if (pid == 0) {
    // Child: its own process group, so a timeout can stop the whole tree.
    setpgid(0, 0);
    if (lend_terminal) {
      // Both we and the parent make the new group the foreground, whichever runs first, so the
      // command never runs in the background of its terminal.
      sigset_t ttou;
      sigemptyset(&ttou);
      sigaddset(&ttou, SIGTTOU);
      sigprocmask(SIG_BLOCK, &ttou, nullptr);
      tcsetpgrp(STDIN_FILENO, getpid());
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (out_fd.get() >= 0) dup2(out_fd.get(), STDOUT_FILENO);
    if (err_fd.get() >= 0) dup2(err_fd.get(), STDERR_FILENO);
    cloexec_all_from(3);
    const int flags = fcntl(marker_write.get(), F_GETFD);
    fcntl(marker_write.get(), F_SETFD, flags & ~FD_CLOEXEC);
    // Wait until the parent has taken the first reading, so the run starts at a known counter.
    char go = 0;
    while (read(go_read.get(), &go, 1) < 0 && errno == EINTR) {
    }
    if (workdir != nullptr && chdir(workdir) != 0) child_fail(status_write.get(), 1);
    execvpe(argvp[0], argvp.data(), envp.data());
    child_fail(status_write.get(), 2);
  }

  setpgid(pid, pid);  // also in the parent: whichever runs first, the group exists before use
  if (lend_terminal) terminal.give(pid);
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

  Sampler sampler(&meter, &session, marker_read.get(), wake_read.get(), interval_s,
                  options.timeout_s, pid, &record.warnings);
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
  return measure::idle_power(&meter, seconds, interval_s);
}

}  // namespace greenbench
