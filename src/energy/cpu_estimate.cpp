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

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

struct ProcStat {
  pid_t ppid = 0;
  unsigned long long start_ticks = 0;
  unsigned long long own_ticks = 0;       // utime + stime
  unsigned long long children_ticks = 0;  // cutime + cstime
};

// Parses /proc/<pid>/stat. The command name (field 2) may contain spaces and parentheses, so
// fields are counted from the last ')'.
bool read_proc_stat(const std::string& path, ProcStat* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
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
  out->start_ticks = fields[18];                  // field 22
  return true;
}

// Appends the pids listed in a /proc/<pid>/task/<tid>/children file.
void append_children(const std::string& path, std::vector<pid_t>* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const char* p = text.c_str();
  for (char* end = nullptr;; p = end) {
    const long pid = std::strtol(p, &end, 10);
    if (end == p) break;
    out->push_back(static_cast<pid_t>(pid));
  }
}

}  // namespace

ProcessTreeCpu::ProcessTreeCpu(std::string proc_root)
    : proc_root_(std::move(proc_root)),
      tick_s_(1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK))) {}

void ProcessTreeCpu::attach(pid_t root, bool use_children_files) {
  tracked_.clear();
  departed_s_ = 0;
  ProcStat st;
  if (!read_proc_stat(proc_root_ + "/" + std::to_string(root) + "/stat", &st)) {
    throw Error("cpu-estimate: process " + std::to_string(root) + " not found in " + proc_root_);
  }
  // The children files need CONFIG_PROC_CHILDREN; without them, fall back to scanning /proc.
  const std::string children =
      proc_root_ + "/" + std::to_string(root) + "/task/" + std::to_string(root) + "/children";
  use_children_files_ = use_children_files && ::access(children.c_str(), R_OK) == 0;
  tracked_[root] = {st.start_ticks, st.ppid, static_cast<double>(st.own_ticks) * tick_s_,
                    static_cast<double>(st.children_ticks) * tick_s_, true};
}

double ProcessTreeCpu::cpu_seconds() {
  if (tracked_.empty()) return departed_s_;
  std::map<pid_t, ProcStat> live;
  if (use_children_files_) {
    // Walk the tree from the processes we follow through /proc/<pid>/task/<tid>/children: it
    // costs in proportion to the tree, not to the machine's process count.
    std::vector<pid_t> queue;
    for (const auto& [pid, t] : tracked_) queue.push_back(pid);
    while (!queue.empty()) {
      const pid_t pid = queue.back();
      queue.pop_back();
      if (live.contains(pid)) continue;
      const std::string dir = proc_root_ + "/" + std::to_string(pid);
      ProcStat st;
      if (!read_proc_stat(dir + "/stat", &st)) continue;
      live[pid] = st;
      if (DIR* tasks = ::opendir((dir + "/task").c_str())) {
        while (const dirent* task = ::readdir(tasks)) {
          if (task->d_name[0] < '1' || task->d_name[0] > '9') continue;
          append_children(dir + "/task/" + task->d_name + "/children", &queue);
        }
        ::closedir(tasks);
      }
    }
  } else {
    // One pass over /proc: without children files, membership shows only in every ppid.
    if (DIR* dir = ::opendir(proc_root_.c_str())) {
      while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        ProcStat st;
        if (read_proc_stat(proc_root_ + "/" + entry->d_name + "/stat", &st)) {
          live[static_cast<pid_t>(std::atol(entry->d_name))] = st;
        }
      }
      ::closedir(dir);
    }
  }

  // Update what we follow; a pid whose start time changed was reused by an unrelated process.
  std::set<pid_t> gone;
  for (auto& [pid, t] : tracked_) {
    if (!t.alive) continue;
    const auto it = live.find(pid);
    if (it == live.end() || it->second.start_ticks != t.start_ticks) {
      gone.insert(pid);
      continue;
    }
    t.ppid = it->second.ppid;
    t.own_s = static_cast<double>(it->second.own_ticks) * tick_s_;
    t.children_s = static_cast<double>(it->second.children_ticks) * tick_s_;
  }
  for (const pid_t pid : gone) tracked_[pid].alive = false;

  // A process that left took its final CPU time into the cutime/cstime of whoever waited for it.
  // If that is a live process we follow, its own figures already hold the time; otherwise (our
  // root, reaped by us, or an orphan reaped by init) keep its last-seen time.
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
    if (!taken_over) departed_s_ += tracked_[pid].own_s + tracked_[pid].children_s;
  }
  for (const pid_t pid : gone) tracked_.erase(pid);

  // New descendants: processes whose parent we follow (repeat for chains born between scans).
  for (bool added = true; added;) {
    added = false;
    for (const auto& [pid, st] : live) {
      if (tracked_.contains(pid)) continue;
      const auto parent = tracked_.find(st.ppid);
      if (parent == tracked_.end()) continue;
      tracked_[pid] = {st.start_ticks, st.ppid, static_cast<double>(st.own_ticks) * tick_s_,
                       static_cast<double>(st.children_ticks) * tick_s_, true};
      added = true;
    }
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
