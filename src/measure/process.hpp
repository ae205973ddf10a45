#pragma once
// Process control of one measured run: spawning the command in a process group of its own,
// the terminal and signal handling around it, waiting for it, and ending every process it
// leaves behind, also when we ourselves are killed (a watchdog process). The sampler and the
// idle-power code live elsewhere (measure.cpp).
#include <sys/types.h>

#include <array>
#include <csignal>
#include <string>
#include <vector>

namespace greenbench::measure {

/// The environment variable that marks every process of a run (inherited down the tree), so
/// that processes which left the process group can still be found and ended.
inline constexpr const char* kRunIdVariable = "GREENBENCH_RUN_ID";

/// A run id unique to this process and call ("gb-<pid>-<ns>-<n>").
std::string new_run_id();

/// Installs handlers that pass SIGINT/SIGTERM/SIGQUIT/SIGHUP on to the command's process group
/// for the lifetime of a measurement, then to the handler installed before (so a caller that
/// watches for Ctrl-C still sees it); restores the old handlers on destruction. With
/// `job_control` (the command does not have the terminal, so Ctrl-Z reaches only us) SIGTSTP
/// stops the command's group and then us, and the group is continued when we are.
class SignalForwarding {
 public:
  explicit SignalForwarding(bool enabled, bool job_control = false);
  ~SignalForwarding();
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;
  /// Sets the process group signals go to (0 = none).
  void target(pid_t pgid) const;

 private:
  bool enabled_;
  bool job_control_;
  std::array<struct sigaction, 4> old_{};
  struct sigaction old_tstp_ {};
};

/// Whether our stdin is a terminal whose foreground process group is ours.
bool terminal_foreground_is_ours();

/// Lends the terminal to the command's process group and takes it back, also on early returns.
class TerminalLoan {
 public:
  TerminalLoan() = default;
  ~TerminalLoan() { take_back(); }
  TerminalLoan(const TerminalLoan&) = delete;
  TerminalLoan& operator=(const TerminalLoan&) = delete;
  void give(pid_t pgid);
  void take_back();

 private:
  bool lent_ = false;
};

/// A file descriptor closed when it goes out of scope.
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
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// A close-on-exec pipe; throws Error when none can be made.
void make_pipe(Fd* read_end, Fd* write_end);

/// What the child reports through the status pipe when it cannot exec.
struct ChildFailure {
  int stage = 0;  // 1 = chdir, 2 = exec, 3 = stdin
  int error = 0;
};

/// Everything the child needs, prepared before fork: after it, the child makes system calls
/// only.
struct ChildSetup {
  char** argv = nullptr;
  char** envp = nullptr;
  const char* workdir = nullptr;  ///< null = ours
  int stdin_fd = -1;              ///< -1 = inherit
  int stdout_fd = -1;             ///< -1 = inherit
  int stderr_fd = -1;             ///< -1 = inherit
  int keep_fd = -1;               ///< inherited across exec (the marker pipe)
  int go_fd = -1;                 ///< the child execs once a byte arrives here (EOF: it exits)
  int status_fd = -1;             ///< a ChildFailure is written here when exec fails
  bool take_terminal = false;     ///< make the new group the terminal's foreground
};

/// A watchdog: a small process forked before the command that ends the run's processes (its
/// process group, and every process carrying its run id) as soon as our end of a pipe closes
/// without the word that the run is over, which is what happens when we die, even by SIGKILL.
class Watchdog {
 public:
  /// Forks the watchdog; on failure it is simply absent (the run goes on unwatched).
  explicit Watchdog(const std::string& run_id);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  /// Tells it the run's process group.
  void watch(pid_t pgid);
  /// Tells it the run is over and waits for it to exit.
  void release();
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

/// The processes of one run: the command (its process group leader) and everything it starts.
/// While it exists this process is a child subreaper, so descendants that double-fork or leave
/// the process group are re-parented to us instead of init, and can be found and ended.
class ProcessTree {
 public:
  explicit ProcessTree(std::string run_id);
  ~ProcessTree();
  ProcessTree(const ProcessTree&) = delete;
  ProcessTree& operator=(const ProcessTree&) = delete;

  /// Forks the command as described; the child waits on setup.go_fd. Throws Error if fork fails.
  pid_t spawn(const ChildSetup& setup);
  /// Processes forked by us that are not part of the run (the watchdog).
  void exclude(pid_t pid);
  [[nodiscard]] pid_t pid() const { return pid_; }

  /// Sends sig to the command's process group.
  void signal_group(int sig) const;

  /// Once the command has exited: ends every remaining process of the run with SIGTERM, then
  /// SIGKILL at `kill_at` (monotonic seconds), and reaps those that were our children. Returns
  /// how many live processes it found; *needed_kill tells whether SIGKILL was needed.
  int end_remaining(double kill_at, bool* needed_kill);

 private:
  std::vector<pid_t> members() const;
  std::string run_id_;
  pid_t pid_ = -1;
  pid_t self_ = -1;
  std::vector<pid_t> excluded_;  // our children from before the run, and the watchdog
  bool was_subreaper_ = false;
};

/// Waits until the command exits (without reaping it). A command stopped by the terminal
/// (SIGTSTP, SIGTTIN, SIGTTOU) is handled like a shell would: the stop is passed on to us and the
/// command continued when we are. Returns false, with errno set, when it cannot be waited for.
bool wait_for_exit(pid_t pid, TerminalLoan* terminal, std::vector<std::string>* warnings);

/// SIGKILLs every process whose environment carries GREENBENCH_RUN_ID=run_id (our own excepted)
/// until none is left or `limit_s` has passed; returns how many it found.
int kill_processes_with_run_id(const std::string& run_id, double limit_s);

/// "SIGKILL: Killed" (glibc's names; the number alone where it has none).
std::string signal_name(int sig);

}  // namespace greenbench::measure
