// Process control of a measured run: spawn, process group, terminal, waiting, the end of every
// process the run started, and the watchdog that does that when we die.
#include "measure/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <unordered_map>

#include "greenbench/error.hpp"

namespace greenbench::measure {

namespace {

// ---------------------------------------------------------------------------------------------
// /proc reading with system calls only: the watchdog runs it in a forked copy of a possibly
// multi-threaded process, where nothing that may take a lock (malloc, stdio) is safe.

double now_s() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void sleep_s(double seconds) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(seconds);
  ts.tv_nsec = static_cast<long>((seconds - static_cast<double>(ts.tv_sec)) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// "/proc/<pid>/<leaf>" into buf.
void proc_path(char* buf, std::size_t size, pid_t pid, const char* leaf) {
  char digits[16];
  int n = 0;
  auto v = static_cast<unsigned>(pid);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < 15);
  std::size_t at = 0;
  for (const char* p = "/proc/"; *p != '\0' && at + 1 < size; ++p) buf[at++] = *p;
  while (n > 0 && at + 1 < size) buf[at++] = digits[--n];
  if (at + 1 < size) buf[at++] = '/';
  for (const char* p = leaf; *p != '\0' && at + 1 < size; ++p) buf[at++] = *p;
  buf[at] = '\0';
}

struct ProcStat {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgrp = 0;
  bool zombie = false;
};

long parse_long(const char** p) {
  while (**p == ' ') ++*p;
  bool neg = false;
  if (**p == '-') {
    neg = true;
    ++*p;
  }
  long v = 0;
  while (**p >= '0' && **p <= '9') v = v * 10 + (*(*p)++ - '0');
  return neg ? -v : v;
}

bool read_stat(pid_t pid, ProcStat* out) {
  char path[48];
  proc_path(path, sizeof path, pid, "stat");
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // "pid (comm) S ppid pgrp ...": comm may hold anything, so look for its last ')'.
  const char* close_paren = nullptr;
  for (const char* p = buf; *p != '\0'; ++p) {
    if (*p == ')') close_paren = p;
  }
  if (close_paren == nullptr || close_paren[1] != ' ') return false;
  const char* p = close_paren + 2;
  const char state = *p++;
  out->pid = pid;
  out->zombie = state == 'Z' || state == 'X';
  out->ppid = static_cast<pid_t>(parse_long(&p));
  out->pgrp = static_cast<pid_t>(parse_long(&p));
  return true;
}

// Whether /proc/<pid>/environ holds the entry `needle` ("KEY=VALUE", shorter than 200 bytes).
bool environ_has(pid_t pid, const char* needle, std::size_t needle_len) {
  char path[48];
  proc_path(path, sizeof path, pid, "environ");
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // Entries are NUL-terminated: match "\0KEY=VALUE\0" in a stream that starts with a NUL.
  constexpr std::size_t kChunk = 4096;
  char buf[kChunk + 256];
  std::size_t carry = 1;
  buf[0] = '\0';
  bool found = false;
  for (;;) {
    const ssize_t n = read(fd, buf + carry, kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const std::size_t total = carry + static_cast<std::size_t>(n);
    for (std::size_t i = 0; i < total && !found; ++i) {
      if (buf[i] != '\0') continue;
      if (i + 1 + needle_len < total && std::memcmp(buf + i + 1, needle, needle_len) == 0 &&
          buf[i + 1 + needle_len] == '\0') {
        found = true;
      }
    }
    if (found) break;
    const std::size_t keep = std::min(total, needle_len + 1);
    std::memmove(buf, buf + total - keep, keep);
    carry = keep;
  }
  close(fd);
  return found;
}

// Calls f(pid) for every process in /proc.
template <typename F>
void for_each_pid(F f) {
  const int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  alignas(8) char buf[8192];
  for (;;) {
    const long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      struct Dirent64 {
        std::uint64_t ino;
        std::int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      };
      const auto* d = reinterpret_cast<const Dirent64*>(buf + off);
      off += d->reclen;
      long pid = 0;
      const char* p = d->name;
      if (*p < '1' || *p > '9') continue;
      while (*p >= '0' && *p <= '9') pid = pid * 10 + (*p++ - '0');
      if (*p == '\0') f(static_cast<pid_t>(pid));
    }
  }
  close(dir);
}

// "GREENBENCH_RUN_ID=<id>" into buf; its length, or 0 if it does not fit.
std::size_t run_id_entry(const std::string& run_id, char* buf, std::size_t size) {
  const std::string entry = std::string(kRunIdVariable) + "=" + run_id;
  if (run_id.empty() || entry.size() + 1 > size) return 0;
  std::memcpy(buf, entry.c_str(), entry.size() + 1);
  return entry.size();
}

// One SIGKILL round for the watchdog and for a resumed study: every live process in group
// `pgid` (if > 0) or carrying the run id entry. Returns how many it signalled.
int kill_round(pid_t pgid, const char* entry, std::size_t entry_len, pid_t self) {
  int found = 0;
  if (pgid > 0) kill(-pgid, SIGKILL);
  for_each_pid([&](pid_t pid) {
    if (pid == self) return;
    ProcStat st;
    if (!read_stat(pid, &st) || st.zombie) return;
    if ((pgid > 0 && st.pgrp == pgid) || (entry_len > 0 && environ_has(pid, entry, entry_len))) {
      kill(pid, SIGKILL);
      ++found;
    }
  });
  return found;
}

// ---------------------------------------------------------------------------------------------
// Signals and the terminal.

// The process group that SIGINT/SIGTERM received by us is forwarded to (0 = none), and the
// handlers that were installed before ours.
std::atomic<pid_t> g_forward_pgid{0};
constexpr std::array<int, 4> kForwardedSignals = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
std::array<struct sigaction, 4> g_previous{};

void forward_signal(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  const pid_t pgid = g_forward_pgid.load();
  if (pgid > 0) kill(-pgid, sig);
  for (std::size_t i = 0; i < kForwardedSignals.size(); ++i) {
    if (kForwardedSignals[i] != sig) continue;
    const struct sigaction& old = g_previous[i];
    if ((old.sa_flags & SA_SIGINFO) != 0) {
      if (old.sa_sigaction != nullptr) old.sa_sigaction(sig, info, context);
    } else if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN &&
               old.sa_handler != nullptr) {
      old.sa_handler(sig);
    }
  }
  errno = saved_errno;
}

// Ctrl-Z while the command has no terminal: stop its group, then ourselves (the default action
// of SIGTSTP, raised while it is blocked in here and delivered when unblocked); once we are
// continued, continue the group too.
void stop_with_group(int /*sig*/) {
  const int saved_errno = errno;
  const pid_t pgid = g_forward_pgid.load();
  if (pgid > 0) kill(-pgid, SIGSTOP);
  struct sigaction dfl {};
  struct sigaction ours {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGTSTP, &dfl, &ours);
  kill(getpid(), SIGTSTP);
  sigset_t tstp;
  sigemptyset(&tstp);
  sigaddset(&tstp, SIGTSTP);
  pthread_sigmask(SIG_UNBLOCK, &tstp, nullptr);  // we stop here until SIGCONT
  sigaction(SIGTSTP, &ours, nullptr);
  if (pgid > 0) kill(-pgid, SIGCONT);
  errno = saved_errno;
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

// Marks every descriptor from `first` close-on-exec. Runs between fork and exec: system calls
// only.
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

// Closes every descriptor but `keep`. Runs in the forked watchdog: system calls only.
void close_all_but(int keep) {
#ifdef SYS_close_range
  bool done = keep == 0 || syscall(SYS_close_range, 0U, static_cast<unsigned>(keep - 1), 0U) == 0;
  done = done && syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0U, 0U) == 0;
  if (done) return;
#endif
  long max_fd = sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = 0; fd < max_fd; ++fd) {
    if (fd != keep) close(fd);
  }
}

[[noreturn]] void child_fail(int status_fd, int stage) {
  const ChildFailure f{stage, errno};
  [[maybe_unused]] ssize_t n = write(status_fd, &f, sizeof f);
  _exit(127);
}

// The messages the watchdog reads: a kind and a value.
struct WatchdogMessage {
  char kind = 0;  // 'P' = the run's process group, 'D' = the run is over
  std::int32_t value = 0;
};

[[noreturn]] void watchdog_main(int fd, const char* entry, std::size_t entry_len) {
  // Our own process group: a job-control kill of the harness's group must not end us first.
  setpgid(0, 0);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  for (int sig : {SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE}) {
    sigaction(sig, &ignore, nullptr);
  }
  // A handler of the harness (copied by fork) must not keep SIGTERM from ending us.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGTERM, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  close_all_but(fd);
  pid_t pgid = 0;
  for (;;) {
    WatchdogMessage m;
    const ssize_t n = read(fd, &m, sizeof m);
    if (n < 0 && errno == EINTR) continue;
    if (n == static_cast<ssize_t>(sizeof m)) {
      if (m.kind == 'D') _exit(0);
      if (m.kind == 'P') pgid = static_cast<pid_t>(m.value);
      continue;
    }
    break;  // EOF (or an error): the harness is gone without saying the run is over
  }
  const pid_t self = getpid();
  const double until = now_s() + 3.0;
  while (kill_round(pgid, entry, entry_len, self) > 0 && now_s() < until) sleep_s(0.02);
  _exit(0);
}

// write() that cannot kill us with SIGPIPE when the reader is gone (a job scheduler that sends
// SIGTERM to every process of a job ends the watchdog too): the signal is blocked in this thread
// for the call, and one it raised is taken off the pending set before the mask is restored.
ssize_t write_without_sigpipe(int fd, const void* data, std::size_t size) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigset_t pending_before;
  sigpending(&pending_before);
  const ssize_t n = write(fd, data, size);
  const int saved = errno;
  if (n < 0 && saved == EPIPE && sigismember(&pending_before, SIGPIPE) == 0) {
    const struct timespec zero {};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

}  // namespace

std::string new_run_id() {
  static std::atomic<unsigned> counter{0};
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char buf[80];
  std::snprintf(buf, sizeof buf, "gb-%d-%lld%09ld-%u", static_cast<int>(getpid()),
                static_cast<long long>(ts.tv_sec), ts.tv_nsec, counter.fetch_add(1));
  return buf;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* desc = sigdescr_np(sig);
  std::string out =
      abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
  if (desc != nullptr) out += std::string(": ") + desc;
  return out;
}

// --- SignalForwarding -------------------------------------------------------------------------

SignalForwarding::SignalForwarding(bool enabled, bool job_control)
    : enabled_(enabled), job_control_(enabled && job_control) {
  // Where Ctrl-Z is ignored (no job control above us), it stays ignored.
  if (job_control_ && (sigaction(SIGTSTP, nullptr, &old_tstp_) != 0 ||
                       (old_tstp_.sa_flags & SA_SIGINFO) != 0 || old_tstp_.sa_handler != SIG_DFL)) {
    job_control_ = false;
  }
  if (job_control_) {
    struct sigaction tstp {};
    tstp.sa_handler = stop_with_group;
    sigemptyset(&tstp.sa_mask);
    tstp.sa_flags = SA_RESTART;
    sigaction(SIGTSTP, &tstp, &old_tstp_);
  }
  if (!enabled_) return;
  for (std::size_t i = 0; i < kForwardedSignals.size(); ++i) {
    sigaction(kForwardedSignals[i], nullptr, &old_[i]);
    g_previous[i] = old_[i];
  }
  struct sigaction sa {};
  sa.sa_sigaction = forward_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  for (int sig : kForwardedSignals) sigaction(sig, &sa, nullptr);
}

SignalForwarding::~SignalForwarding() {
  if (!enabled_) return;
  g_forward_pgid.store(0);
  if (job_control_) sigaction(SIGTSTP, &old_tstp_, nullptr);
  for (std::size_t i = 0; i < kForwardedSignals.size(); ++i) {
    sigaction(kForwardedSignals[i], &old_[i], nullptr);
  }
}

void SignalForwarding::target(pid_t pgid) const {
  if (enabled_) g_forward_pgid.store(pgid);
}

// --- terminal -----------------------------------------------------------------------------------

bool terminal_foreground_is_ours() {
  if (isatty(STDIN_FILENO) == 0) return false;
  const pid_t fg = tcgetpgrp(STDIN_FILENO);
  return fg > 0 && fg == getpgrp();
}

void TerminalLoan::give(pid_t pgid) {
  set_terminal_foreground(pgid);
  lent_ = true;
}

void TerminalLoan::take_back() {
  if (!lent_) return;
  lent_ = false;
  set_terminal_foreground(getpgrp());
}

// --- descriptors --------------------------------------------------------------------------------

void Fd::reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

void make_pipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw Error(std::string("cannot create a pipe: ") + strerror(errno));
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
}

// --- Watchdog -----------------------------------------------------------------------------------

Watchdog::Watchdog(const std::string& run_id) {
  char entry[256];
  const std::size_t entry_len = run_id_entry(run_id, entry, sizeof entry);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[1]);
    watchdog_main(fds[0], entry, entry_len);
  }
  close(fds[0]);
  if (pid < 0) {
    close(fds[1]);
    return;
  }
  pid_ = pid;
  fd_ = fds[1];
}

Watchdog::~Watchdog() { release(); }

void Watchdog::watch(pid_t pgid) {
  if (fd_ < 0) return;
  const WatchdogMessage m{'P', static_cast<std::int32_t>(pgid)};
  [[maybe_unused]] ssize_t n = write_without_sigpipe(fd_, &m, sizeof m);
}

void Watchdog::release() {
  if (fd_ >= 0) {
    const WatchdogMessage m{'D', 0};
    [[maybe_unused]] ssize_t n = write_without_sigpipe(fd_, &m, sizeof m);
    close(fd_);
    fd_ = -1;
  }
  if (pid_ > 0) {
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

// --- ProcessTree --------------------------------------------------------------------------------

ProcessTree::ProcessTree(std::string run_id) : run_id_(std::move(run_id)), self_(getpid()) {
  int was = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, &was) == 0) was_subreaper_ = was != 0;
  // Orphans of the run come to us instead of init, so they stay findable through their parent.
  if (!was_subreaper_) prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Children we had before the run are not part of it.
  for_each_pid([this](pid_t pid) {
    ProcStat st;
    if (read_stat(pid, &st) && st.ppid == self_) excluded_.push_back(pid);
  });
}

ProcessTree::~ProcessTree() {
  if (!was_subreaper_) prctl(PR_SET_CHILD_SUBREAPER, 0);
}

void ProcessTree::exclude(pid_t pid) {
  if (pid > 0) excluded_.push_back(pid);
}

pid_t ProcessTree::spawn(const ChildSetup& s) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("cannot fork: ") + strerror(errno));
  if (pid == 0) {
    // Child: its own process group, so a timeout can stop the whole tree.
    setpgid(0, 0);
    // Dies with us even if the watchdog cannot run.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (s.take_terminal) {
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
    for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE}) signal(sig, SIG_DFL);
    if (s.stdin_fd >= 0) dup2(s.stdin_fd, STDIN_FILENO);
    if (s.stdout_fd >= 0) dup2(s.stdout_fd, STDOUT_FILENO);
    if (s.stderr_fd >= 0) dup2(s.stderr_fd, STDERR_FILENO);
    cloexec_all_from(3);
    if (s.keep_fd >= 0) {
      const int flags = fcntl(s.keep_fd, F_GETFD);
      fcntl(s.keep_fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    // Wait until the parent has taken the first reading, so the run starts at a known counter.
    // A closed pipe without the byte means the parent is gone: then do not start at all.
    char go = 0;
    ssize_t n;
    while ((n = read(s.go_fd, &go, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) _exit(127);
    if (s.workdir != nullptr && chdir(s.workdir) != 0) child_fail(s.status_fd, 1);
    execvpe(s.argv[0], s.argv, s.envp);
    child_fail(s.status_fd, 2);
  }
  setpgid(pid, pid);  // also in the parent: whichever runs first, the group exists before use
  pid_ = pid;
  return pid;
}

void ProcessTree::signal_group(int sig) const {
  if (pid_ > 0) kill(-pid_, sig);
}

std::vector<pid_t> ProcessTree::members() const {
  std::vector<ProcStat> all;
  for_each_pid([&all](pid_t pid) {
    ProcStat st;
    if (read_stat(pid, &st)) all.push_back(st);
  });
  std::unordered_map<pid_t, pid_t> parent;
  for (const auto& st : all) parent[st.pid] = st.ppid;
  auto excluded = [this](pid_t pid) {
    return std::find(excluded_.begin(), excluded_.end(), pid) != excluded_.end();
  };
  char entry[256];
  const std::size_t entry_len = run_id_entry(run_id_, entry, sizeof entry);
  std::vector<pid_t> out;
  for (const auto& st : all) {
    if (st.pid == self_ || st.pid == pid_ || excluded(st.pid)) continue;
    bool member = st.pgrp == pid_;
    // A descendant of the command, or an orphan of the run that came to us as subreaper.
    pid_t cur = st.pid;
    for (int depth = 0; !member && depth < 256 && cur > 1; ++depth) {
      const auto it = parent.find(cur);
      if (it == parent.end()) break;
      if (it->second == pid_) member = true;
      if (it->second == self_) {
        member = !excluded(cur);
        break;
      }
      cur = it->second;
    }
    if (!member && entry_len > 0 && !st.zombie) member = environ_has(st.pid, entry, entry_len);
    if (member) out.push_back(st.zombie ? -st.pid : st.pid);
  }
  return out;
}

int ProcessTree::end_remaining(double kill_at, bool* needed_kill) {
  *needed_kill = false;
  std::set<pid_t> seen;
  const double give_up = std::max(kill_at, now_s()) + 5.0;
  for (;;) {
    const double now = now_s();
    bool alive = false;
    for (const pid_t m : members()) {
      if (m < 0) {
        // A zombie: reap it if it is ours (an orphan of the run); its parent reaps the others.
        waitpid(-m, nullptr, WNOHANG);
        continue;
      }
      alive = true;
      if (seen.insert(m).second) {
        kill(m, SIGTERM);
        kill(m, SIGCONT);  // a stopped process would never see the SIGTERM
      }
      if (now >= kill_at) {
        kill(m, SIGKILL);
        *needed_kill = true;
      }
    }
    if (!alive || now >= give_up) break;
    sleep_s(0.02);
  }
  return static_cast<int>(seen.size());
}

// --- waiting ------------------------------------------------------------------------------------

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
      sleep_s(0.2);
    }
    kill(-pid, SIGCONT);
  }
}

int kill_processes_with_run_id(const std::string& run_id, double limit_s) {
  char entry[256];
  const std::size_t entry_len = run_id_entry(run_id, entry, sizeof entry);
  if (entry_len == 0) return 0;
  std::set<pid_t> seen;
  const double until = now_s() + limit_s;
  const pid_t self = getpid();
  for (;;) {
    int found = 0;
    for_each_pid([&](pid_t pid) {
      if (pid == self) return;
      ProcStat st;
      if (!read_stat(pid, &st) || st.zombie || !environ_has(pid, entry, entry_len)) return;
      kill(pid, SIGKILL);
      seen.insert(pid);
      ++found;
    });
    if (found == 0 || now_s() >= until) break;
    sleep_s(0.02);
  }
  return static_cast<int>(seen.size());
}

}  // namespace greenbench::measure
