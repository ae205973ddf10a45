// A CPU energy estimate for machines without a readable CPU energy counter:
//   energy = idle_w x elapsed_s + w_per_core x CPU seconds of the measured process tree.
// It is labelled `estimated` everywhere, with these parameters.
//
// Defaults, and why:
// - 10 W per busy core: the thermal design power per core of current x86 parts at full load,
//   e.g. a 125 W desktop part with 12 cores is ~10 W/core and a 205 W server part with 28 cores
//   ~7 W/core; laptop parts are lower. It is a deliberately round figure: the estimate can rank
//   workloads that differ in CPU time, not tell true joules to better than a factor of ~2.
// - 0 W idle: the machine's idle power is not caused by the workload, and adding the same
//   watts x seconds to every run only hides the difference the comparison is about. Give
//   --cpu-idle-watts to include it (e.g. for whole-machine totals).
// Before attach() there is no process tree, so only the idle term accrues: that is what an idle
// baseline measures with this source.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

// How often cpu_seconds() reads the whole structure of the tree when nothing else asks for it:
// the task list of multi-threaded processes (or, without children files, all of /proc) and the
// children of every thread. Between these full scans only each known process's stat and its
// main thread's children file are re-read, through files kept open. A child forked by another
// thread is then found at the next full scan (within ~200 ms at the sampler's 50 ms tick) and
// still counts in full, because its stat holds all the CPU time it used since it started; one
// that starts and is waited for in between reaches its parent's cutime/cstime.
constexpr int kScanEvery = 4;

struct ProcStat {
  pid_t ppid = 0;
  unsigned long long start_ticks = 0;
  unsigned long long own_ticks = 0;       // utime + stime
  unsigned long long children_ticks = 0;  // cutime + cstime
  long threads = 1;
};

// Parses the text of /proc/<pid>/stat. The command name (field 2) may contain spaces and
// parentheses, so fields are counted from the last ')'.
bool parse_proc_stat(char* buf, ProcStat* out) {
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return false;
  p += 2;  // ") " then field 3 (state)
  unsigned long long fields[20] = {};
  // fields[k] holds stat field k + 4 (field 3 is the state letter, skipped).
  if (*p == '\0') return false;
  ++p;
  for (int k = 0; k < 19 && *p != '\0'; ++k) {
    char* end = nullptr;
    fields[k] = std::strtoull(p, &end, 10);
    if (end == p) return false;
    p = end;
  }
  out->ppid = static_cast<pid_t>(fields[0]);      // field 4
  out->own_ticks = fields[10] + fields[11];       // fields 14, 15
  out->children_ticks = fields[12] + fields[13];  // fields 16, 17
  out->threads = static_cast<long>(fields[16]);   // field 20
  out->start_ticks = fields[18];                  // field 22
  return true;
}

// Reads an open /proc/<pid>/stat from its start. Once the process has been reaped the read
// fails (ESRCH) or returns nothing; either means the process is gone.
bool read_proc_stat(int fd, ProcStat* out) {
  if (fd < 0) return false;
  char buf[1024];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return false;
  buf[n] = '\0';
  return parse_proc_stat(buf, out);
}

int open_proc(const std::string& path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }

// Appends the pids listed in an open /proc/<pid>/task/<tid>/children; false once the task left.
bool append_children(int fd, std::vector<pid_t>* out) {
  std::string text;
  char buf[4096];
  off_t offset = 0;
  for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, offset)) != 0; offset += n) {
    if (n < 0) return false;
    text.append(buf, static_cast<std::size_t>(n));
  }
  const char* p = text.c_str();
  for (char* end = nullptr;; p = end) {
    const long pid = std::strtol(p, &end, 10);
    if (end == p) break;
    out->push_back(static_cast<pid_t>(pid));
  }
  return true;
}

// Lists the thread ids in an open /proc/<pid>/task directory; false if it cannot be read.
bool list_tasks(int fd, std::vector<pid_t>* out) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return false;
  alignas(8) char buf[4096];
  for (ssize_t n; (n = ::getdents64(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) return false;
    for (ssize_t at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buf + at);
      if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9') {
        out->push_back(static_cast<pid_t>(std::atol(entry->d_name)));
      }
      at += entry->d_reclen;
    }
  }
  return true;
}

}  // namespace

ProcessTreeCpu::ProcFd& ProcessTreeCpu::ProcFd::operator=(ProcFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ProcessTreeCpu::ProcFd::~ProcFd() {
  if (fd_ >= 0) ::close(fd_);
}

ProcessTreeCpu::ProcessTreeCpu(std::string proc_root)
    : proc_root_(std::move(proc_root)),
      tick_s_(1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK))) {}

bool ProcessTreeCpu::follow(pid_t pid, ProcFd stat) {
  ProcStat st;
  if (!read_proc_stat(stat.get(), &st)) return false;
  Tracked& t = tracked_[pid];
  t = Tracked{};
  t.start_ticks = st.start_ticks;
  t.ppid = st.ppid;
  t.own_s = static_cast<double>(st.own_ticks) * tick_s_;
  t.children_s = static_cast<double>(st.children_ticks) * tick_s_;
  t.threads = st.threads;
  t.stat = std::move(stat);
  return true;
}

void ProcessTreeCpu::attach(pid_t root, bool use_children_files) {
  tracked_.clear();
  departed_s_ = 0;
  const std::string dir = proc_root_ + "/" + std::to_string(root);
  if (!follow(root, ProcFd(open_proc(dir + "/stat")))) {
    throw Error("cpu-estimate: process " + std::to_string(root) + " not found in " + proc_root_);
  }
  // The children files need CONFIG_PROC_CHILDREN; without them, fall back to scanning /proc.
  const std::string children = dir + "/task/" + std::to_string(root) + "/children";
  use_children_files_ = use_children_files && ::access(children.c_str(), R_OK) == 0;
  // The first cpu_seconds() finds the whole tree as it is now, so that the CPU time it had
  // already used is known (CpuEstimateSource subtracts it).
  scan_due_ = true;
  calls_since_scan_ = 0;
}

void ProcessTreeCpu::list_children(pid_t pid, Tracked& t, bool all_threads,
                                   std::vector<pid_t>* out) {
  const std::string dir = proc_root_ + "/" + std::to_string(pid) + "/task";
  std::vector<pid_t> tids;
  if (!all_threads || t.threads <= 1) {
    // The main thread's task id is the pid: no need to list the directory.
    tids.push_back(pid);
  } else {
    if (t.tasks.get() < 0) t.tasks = ProcFd(open_proc(dir));
    if (t.tasks.get() < 0 || !list_tasks(t.tasks.get(), &tids)) return;
  }
  // Drop the files of threads that ended.
  for (auto it = t.children.begin(); all_threads && it != t.children.end();) {
    const bool listed = std::find(tids.begin(), tids.end(), it->first) != tids.end();
    it = listed ? std::next(it) : t.children.erase(it);
  }
  for (const pid_t tid : tids) {
    auto it = t.children.find(tid);
    if (it == t.children.end()) {
      ProcFd fd(open_proc(dir + "/" + std::to_string(tid) + "/children"));
      if (fd.get() < 0) continue;
      it = t.children.emplace(tid, std::move(fd)).first;
    }
    if (!append_children(it->second.get(), out)) t.children.erase(it);
  }
}

void ProcessTreeCpu::find_descendants(bool full) {
  if (use_children_files_) {
    // Walk the tree from the processes we follow through /proc/<pid>/task/<tid>/children: it
    // costs in proportion to the tree, not to the machine's process count.
    std::vector<pid_t> queue;
    for (const auto& [pid, t] : tracked_) queue.push_back(pid);
    std::vector<pid_t> children;
    while (!queue.empty()) {
      const pid_t pid = queue.back();
      queue.pop_back();
      const auto it = tracked_.find(pid);
      if (it == tracked_.end()) continue;
      children.clear();
      list_children(pid, it->second, full, &children);
      for (const pid_t child : children) {
        if (tracked_.contains(child)) continue;
        if (follow(child, ProcFd(open_proc(proc_root_ + "/" + std::to_string(child) + "/stat")))) {
          queue.push_back(child);
        }
      }
    }
    return;
  }
  if (!full) return;
  // One pass over /proc: without children files, membership shows only in every ppid.
  std::map<pid_t, pid_t> parents;
  if (DIR* dir = ::opendir(proc_root_.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
      const auto pid = static_cast<pid_t>(std::atol(entry->d_name));
      if (tracked_.contains(pid)) continue;
      ProcFd fd(open_proc(proc_root_ + "/" + entry->d_name + "/stat"));
      ProcStat st;
      if (read_proc_stat(fd.get(), &st)) parents[pid] = st.ppid;
    }
    ::closedir(dir);
  }
  // New descendants: processes whose parent we follow (repeat for chains born between scans).
  for (bool added = true; added;) {
    added = false;
    for (const auto& [pid, ppid] : parents) {
      if (tracked_.contains(pid) || !tracked_.contains(ppid)) continue;
      if (follow(pid, ProcFd(open_proc(proc_root_ + "/" + std::to_string(pid) + "/stat")))) {
        added = true;
      }
    }
  }
}

double ProcessTreeCpu::cpu_seconds() {
  if (tracked_.empty()) return departed_s_;

  // Re-read what we follow; a pid whose start time changed was reused by an unrelated process
  // (the open file of a reaped process reads nothing, so this is a second line of defence).
  std::vector<pid_t> gone;
  bool tree_changed = false;
  for (auto& [pid, t] : tracked_) {
    ProcStat st;
    if (!read_proc_stat(t.stat.get(), &st) || st.start_ticks != t.start_ticks) {
      gone.push_back(pid);
      continue;
    }
    t.ppid = st.ppid;
    t.own_s = static_cast<double>(st.own_ticks) * tick_s_;
    t.children_s = static_cast<double>(st.children_ticks) * tick_s_;
    if (st.threads != t.threads) tree_changed = true;
    t.threads = st.threads;
  }
  for (const pid_t pid : gone) tracked_[pid].alive = false;

  // A process that left took its final CPU time into the cutime/cstime of whoever waited for it.
  // If that is a live process we follow, its own figures already hold the time; otherwise (our
  // root, reaped by us, or an orphan reaped by init) keep its last-seen time.
  std::set<pid_t> heirs;
  for (const pid_t pid : gone) {
    pid_t ancestor = tracked_[pid].ppid;
    std::set<pid_t> visited{pid};
    while (true) {
      const auto it = tracked_.find(ancestor);
      if (it == tracked_.end() || it->second.alive || !visited.insert(ancestor).second) break;
      ancestor = it->second.ppid;
    }
    const auto it = tracked_.find(ancestor);
    const bool taken_over = it != tracked_.end() && it->second.alive;
    if (taken_over) {
      heirs.insert(ancestor);
    } else {
      departed_s_ += tracked_[pid].own_s + tracked_[pid].children_s;
    }
  }
  for (const pid_t pid : gone) tracked_.erase(pid);
  // The heir may have been read above before it waited for the process that left: read it again
  // now that the process is gone, so that its time is not missing from this call's total.
  for (const pid_t pid : heirs) {
    Tracked& t = tracked_[pid];
    ProcStat st;
    if (read_proc_stat(t.stat.get(), &st) && st.start_ticks == t.start_ticks) {
      t.own_s = static_cast<double>(st.own_ticks) * tick_s_;
      t.children_s = static_cast<double>(st.children_ticks) * tick_s_;
    }
  }

  // A full scan every few calls, and at once when the tree changed: a process that left may have
  // been replaced by others (e.g. the next command of a script), a new thread may fork.
  const bool full = scan_due_ || tree_changed || !gone.empty() || ++calls_since_scan_ >= kScanEvery;
  find_descendants(full);
  if (full) {
    scan_due_ = false;
    calls_since_scan_ = 0;
  }

  double total = departed_s_;
  for (const auto& [pid, t] : tracked_) total += t.own_s + t.children_s;
  return total;
}

CpuEstimateSource::CpuEstimateSource() : CpuEstimateSource(-1, -1) {}

CpuEstimateSource::CpuEstimateSource(double watts_per_core, double idle_watts,
                                     std::string proc_root)
    : watts_per_core_(watts_per_core >= 0 ? watts_per_core : kDefaultWattsPerCore),
      idle_watts_(idle_watts >= 0 ? idle_watts : kDefaultIdleWatts),
      start_(std::chrono::steady_clock::now()),
      tree_(std::move(proc_root)) {
  DomainInfo info;
  info.id = "cpu_package:0";
  info.domain = "cpu_package";
  info.device = 0;
  info.kind = DomainKind::kCounter;
  info.quality = Quality::kEstimated;
  info.range_j = 0;
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  info.max_power_w = idle_watts_ + watts_per_core_ * static_cast<double>(cores > 0 ? cores : 1);
  // CPU time in /proc counts whole clock ticks (10 ms at the usual 100 Hz) per process.
  const double tick_s = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  info.resolution_j = watts_per_core_ * tick_s;
  info.update_interval_s = tick_s;
  domains_.push_back(std::move(info));
}

void CpuEstimateSource::attach(pid_t pid) {
  tree_.attach(pid);
  cpu_at_attach_s_ = tree_.cpu_seconds();
  attached_ = true;
}

std::vector<double> CpuEstimateSource::read() {
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double joules = idle_watts_ * elapsed_s;
  // CPU time the tree had already used when attached is not part of the measurement.
  if (attached_) joules += watts_per_core_ * (tree_.cpu_seconds() - cpu_at_attach_s_);
  return {joules};
}

std::string CpuEstimateSource::parameters() const {
  char text[256];
  std::snprintf(text, sizeof text,
                "%g W per busy core x CPU seconds of the measured process tree + %g W idle x "
                "elapsed seconds",
                watts_per_core_, idle_watts_);
  return text;
}

}  // namespace greenbench::energy
