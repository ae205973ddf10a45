#pragma once
// The energy-source backends behind greenbench::EnergySource, one class per file. Private to the
// library; tests construct them with fake roots, fake openers and a fake NVML library.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "greenbench/energy.hpp"

namespace greenbench::energy {

/// Why something cannot be read, and what the user can do about it.
struct Problem {
  std::string reason;
  std::string fix;
};

/// Registry names.
inline constexpr const char* kPowercapName = "rapl-powercap";
inline constexpr const char* kPerfName = "rapl-perf";
inline constexpr const char* kNvmlName = "nvml";
inline constexpr const char* kEstimateName = "cpu-estimate";

// ---------------------------------------------------------------------------------------------
// RAPL through powercap sysfs.

/// Opens a file read-only; returns a file descriptor, or -errno.
using OpenFn = std::function<int(const std::string& path)>;

/// The decision behind "this RAPL counter cannot be read": `open_errno` is what open() failed
/// with (0 = it did not fail), `mode` the file's st_mode, `euid` our effective user.
/// Returns nothing when the counter is readable.
std::optional<Problem> rapl_access_problem(const std::string& path, int open_errno, mode_t mode,
                                           uid_t euid);

/// Every RAPL zone under a powercap root (default /sys/class/powercap), all sockets; the dies of
/// a package (zones package-X-die-Y) are summed into one domain per package.
class RaplPowercapSource : public EnergySource {
 public:
  RaplPowercapSource();
  explicit RaplPowercapSource(std::string root, OpenFn open = {});
  ~RaplPowercapSource() override;
  RaplPowercapSource(const RaplPowercapSource&) = delete;
  RaplPowercapSource& operator=(const RaplPowercapSource&) = delete;

  [[nodiscard]] std::string name() const override { return kPowercapName; }
  [[nodiscard]] const std::vector<DomainInfo>& domains() const override { return domains_; }
  std::vector<double> read() override;
  /// One entry per zone that exists but cannot be read (or nothing found at all).
  [[nodiscard]] const std::vector<Problem>& problems() const { return problems_; }

 private:
  struct Counter {
    int fd = -1;       // energy_uj, kept open
    std::string path;  // for error messages
    double range_j = 0;
    double raw_j = 0;   // latest reading
    double last_j = 0;  // previous reading (dies only)
  };
  std::string root_;
  std::vector<DomainInfo> domains_;
  std::vector<std::vector<Counter>> counters_;  // parallel to domains_: one per die
  std::vector<double> sums_;  // per domain of several dies: the unwrapped sum; <0 before a read
  std::vector<Problem> problems_;
};

// ---------------------------------------------------------------------------------------------
// RAPL through the perf_event "power" PMU.

/// The system calls the perf backend makes, replaceable in tests.
struct PerfOps {
  /// perf_event_open(type, config, pid = -1, cpu); returns a file descriptor, or -errno.
  std::function<int(uint32_t type, uint64_t config, int cpu)> open;
  /// Reads the 64-bit count of an event; false on failure (errno set).
  std::function<bool(int fd, uint64_t* value)> read;
  std::function<void(int fd)> close;
  /// Contents of /proc/sys/kernel/perf_event_paranoid, for messages ("" = unknown).
  std::function<std::string()> paranoid;

  /// The real system calls.
  static PerfOps system();
};

/// Parses a sysfs cpu list such as "0", "0,28" or "0-3,8" (throws Error naming `path`).
std::vector<int> parse_cpu_list(const std::string& text, const std::string& path);

/// RAPL events of the perf `power` PMU under a perf root (default /sys/bus/event_source/devices).
class RaplPerfSource : public EnergySource {
 public:
  RaplPerfSource();
  /// skip_domains: contract domain names (cpu_package, dram, ...) another source already reads;
  /// their events are not opened.
  explicit RaplPerfSource(std::string perf_root, PerfOps ops = PerfOps::system(),
                          const std::set<std::string>& skip_domains = {});
  ~RaplPerfSource() override;
  RaplPerfSource(const RaplPerfSource&) = delete;
  RaplPerfSource& operator=(const RaplPerfSource&) = delete;

  [[nodiscard]] std::string name() const override { return kPerfName; }
  [[nodiscard]] const std::vector<DomainInfo>& domains() const override { return domains_; }
  std::vector<double> read() override;
  [[nodiscard]] const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::string root_;
  PerfOps ops_;
  std::vector<DomainInfo> domains_;
  std::vector<int> fds_;         // parallel to domains_
  std::vector<double> scale_j_;  // joules per count, parallel to domains_
  std::vector<Problem> problems_;
};

/// detect_sources with the perf system calls replaceable (for tests).
std::vector<std::unique_ptr<EnergySource>> detect_sources(const SourceOptions& options,
                                                          std::vector<SourceStatus>* status,
                                                          const PerfOps& perf_ops);

// ---------------------------------------------------------------------------------------------
// NVIDIA GPUs through NVML, loaded with dlopen.

/// The NVML index of the GPU a MIG-… entry of CUDA_VISIBLE_DEVICES belongs to, if any.
using MigResolver = std::function<std::optional<unsigned>(const std::string& entry)>;

/// Which NVML devices CUDA_VISIBLE_DEVICES selects. `value` unset = all; `uuids[i]` is the UUID
/// of NVML device i ("" if unknown); `cuda_order[k]` the NVML index of CUDA index k (empty =
/// the same); MIG-… entries select their parent GPU through `mig_parent` (and are listed in
/// `migs` with it). Follows CUDA: the list stops at the first entry that matches no device, and
/// an empty string selects none.
std::vector<unsigned> select_visible_gpus(
    const std::optional<std::string>& value, unsigned count, const std::vector<std::string>& uuids,
    const std::vector<unsigned>& cuda_order = {}, const MigResolver& mig_parent = {},
    std::vector<std::pair<std::string, unsigned>>* migs = nullptr);

/// One domain per visible GPU: "gpu:<NVML index>" (the index nvidia-smi shows), a counter where
/// nvmlDeviceGetTotalEnergyConsumption works (Volta and later), else a power gauge. Honours
/// CUDA_DEVICE_ORDER and maps MIG instances to their GPU (see nvml.cpp for how exactly).
class NvmlSource : public EnergySource {
 public:
  NvmlSource();
  /// Loads `library`; on failure the source has no domains and problems() says why.
  explicit NvmlSource(std::string library);
  ~NvmlSource() override;
  NvmlSource(const NvmlSource&) = delete;
  NvmlSource& operator=(const NvmlSource&) = delete;

  [[nodiscard]] std::string name() const override { return kNvmlName; }
  [[nodiscard]] const std::vector<DomainInfo>& domains() const override { return domains_; }
  std::vector<double> read() override;
  [[nodiscard]] const std::vector<Problem>& problems() const { return problems_; }
  /// Names of the GPUs behind domains(), parallel to it (for `greenbench sources`).
  [[nodiscard]] const std::vector<std::string>& gpu_names() const { return gpu_names_; }
  /// MIG instances measured as their whole GPU; an estimated CUDA_DEVICE_ORDER mapping.
  [[nodiscard]] std::vector<std::string> notes() const override { return notes_; }
  /// The driver and the GPUs behind domains() (clocks as they were when the source was made).
  [[nodiscard]] GpuReport report() const { return {driver_version_, cuda_version_, gpus_}; }

 private:
  struct Api;
  // NVML index per CUDA index under CUDA_DEVICE_ORDER `order` ("" = unset).
  std::vector<unsigned> cuda_device_order(const std::vector<void*>& handles,
                                          const std::string& order);
  std::optional<unsigned> mig_parent_index(const std::string& entry,
                                           const std::vector<void*>& handles,
                                           const std::vector<std::string>& uuids);
  [[nodiscard]] GpuInfo describe_gpu(void* device, const DomainInfo& domain,
                                     const std::string& name, const std::string& uuid) const;
  std::vector<std::string> notes_;
  std::string order_note_;  // FASTEST_FIRST could not be estimated
  std::string library_;
  void* handle_ = nullptr;
  std::unique_ptr<Api> api_;
  bool initialised_ = false;
  std::vector<DomainInfo> domains_;
  std::vector<void*> devices_;  // nvmlDevice_t, parallel to domains_
  std::vector<std::string> gpu_names_;
  std::vector<GpuInfo> gpus_;  // parallel to domains_
  std::string driver_version_, cuda_version_;
  std::vector<Problem> problems_;
};

// ---------------------------------------------------------------------------------------------
// CPU estimate from the CPU time of a process tree.

/// Defaults of the estimate's power model (see cpu_estimate.cpp for why these values).
inline constexpr double kDefaultWattsPerCore = 10.0;
inline constexpr double kDefaultIdleWatts = 0.0;

/// CPU seconds used so far by a process tree, including descendants that already exited.
class ProcessTreeCpu {
 public:
  explicit ProcessTreeCpu(std::string proc_root = "/proc");
  /// Follows `root` and every process that descends from it from now on. Descendants are found
  /// through /proc/<pid>/task/<tid>/children where the kernel has them (false: scan all of /proc).
  void attach(pid_t root, bool use_children_files = true);
  /// Re-reads the followed processes' stat and children files (every thread's only every few
  /// calls or when the tree changed); returns the tree's CPU seconds (user + system) since it
  /// started.
  double cpu_seconds();

 private:
  // An open /proc file, closed when dropped: the files of followed processes stay open and are
  // re-read from offset 0, so a read costs one system call instead of open, read and close.
  class ProcFd {
   public:
    ProcFd() = default;
    explicit ProcFd(int fd) : fd_(fd) {}
    ProcFd(ProcFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    ProcFd& operator=(ProcFd&& other) noexcept;
    ProcFd(const ProcFd&) = delete;
    ProcFd& operator=(const ProcFd&) = delete;
    ~ProcFd();
    [[nodiscard]] int get() const { return fd_; }

   private:
    int fd_ = -1;
  };
  struct Tracked {
    unsigned long long start_ticks = 0;  // identifies the process across pid reuse
    pid_t ppid = 0;
    double own_s = 0;       // utime + stime
    double children_s = 0;  // cutime + cstime: waited-for children
    bool alive = true;
    long threads = 1;                  // a change means the task list must be read again
    ProcFd stat;                       // /proc/<pid>/stat
    ProcFd tasks;                      // /proc/<pid>/task, listed only when multi-threaded
    std::map<pid_t, ProcFd> children;  // /proc/<pid>/task/<tid>/children by tid
  };
  bool follow(pid_t pid, ProcFd stat);
  // Follows new descendants; `full`: of every thread (else of main threads only) and, without
  // children files, at all (a scan of /proc).
  void find_descendants(bool full);
  void list_children(pid_t pid, Tracked& t, bool all_threads, std::vector<pid_t>* out);
  std::string proc_root_;
  bool use_children_files_ = true;
  double tick_s_;
  std::map<pid_t, Tracked> tracked_;
  double departed_s_ = 0;  // final values of processes whose time no tracked parent took over
  int calls_since_scan_ = 0;
  bool scan_due_ = true;
};

/// Energy = idle_w x elapsed + w_per_core x CPU seconds of the attached process tree.
class CpuEstimateSource : public EnergySource {
 public:
  CpuEstimateSource();
  /// watts_per_core < 0 and idle_watts < 0 select the defaults (0 W per core is valid).
  CpuEstimateSource(double watts_per_core, double idle_watts, std::string proc_root = "/proc");

  [[nodiscard]] std::string name() const override { return kEstimateName; }
  [[nodiscard]] const std::vector<DomainInfo>& domains() const override { return domains_; }
  /// Cumulative estimated joules; before attach() only the idle term.
  std::vector<double> read() override;
  void attach(pid_t pid) override;
  [[nodiscard]] std::string parameters() const override;

  [[nodiscard]] double watts_per_core() const { return watts_per_core_; }
  [[nodiscard]] double idle_watts() const { return idle_watts_; }

 private:
  double watts_per_core_;
  double idle_watts_;
  std::chrono::steady_clock::time_point start_;
  bool attached_ = false;
  double cpu_at_attach_s_ = 0;
  ProcessTreeCpu tree_;
  std::vector<DomainInfo> domains_;
};

}  // namespace greenbench::energy
