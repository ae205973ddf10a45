#pragma once
/// Energy sources: RAPL (powercap, perf), NVML and the CPU estimate behind one interface.
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace greenbench {

/// Whether a value comes from a hardware counter or from a model of the machine. (A record also
/// knows "failed": a value its source stopped providing; see PhaseRecord::quality.)
enum class Quality { kMeasured, kEstimated };

/// "measured" or "estimated".
const char* to_string(Quality q);

/// A counter is monotone (and may wrap); a power gauge is a momentary reading in watts.
enum class DomainKind { kCounter, kPower };

/// One readable quantity of a source, e.g. "cpu_package:0" (package of socket 0).
struct DomainInfo {
  std::string id;      ///< "cpu_package:0", "dram:1", "gpu:0": domain plus device index
  std::string domain;  ///< contract name: cpu_package, cpu_core, cpu_uncore, dram, psys, gpu
  int device = 0;      ///< socket or GPU index
  DomainKind kind = DomainKind::kCounter;
  Quality quality = Quality::kMeasured;
  double range_j = 0;      ///< counter wraps at this many joules; 0 = does not wrap in practice
  double max_power_w = 0;  ///< upper bound on power, to derive the minimum read rate; 0 = unknown
  /// Energy of one step of a reading: a counter's energy unit, the estimate's one clock tick of
  /// CPU time × watts per core; 0 for a power gauge (its error is in update_interval_s).
  double resolution_j = 0;
  /// How old a reading can be when it is read (the counter's update period, a gauge's averaging
  /// window): a phase boundary may be off by this much time × the phase's power.
  double update_interval_s = 0;
};

/// Counter values cross into the rest of the code as joules (raw, before wrap), power as watts.
/// A source is not synchronised: callers serialise read() and attach() on one source.
class EnergySource {
 public:
  virtual ~EnergySource() = default;
  /// Registry name: "rapl-powercap", "rapl-perf", "nvml", "cpu-estimate".
  [[nodiscard]] virtual std::string name() const = 0;
  /// The domains read() returns, in that order.
  [[nodiscard]] virtual const std::vector<DomainInfo>& domains() const = 0;
  /// Reads every domain in one batch; throws Error when a domain cannot be read.
  virtual std::vector<double> read() = 0;
  /// Tells a source that accounts per process (the CPU estimate) which process tree to follow.
  virtual void attach(pid_t /*pid*/) {}
  /// Human-readable parameters of a model-based source (printed with estimates); empty otherwise.
  [[nodiscard]] virtual std::string parameters() const { return {}; }
  /// What every measurement with this source should say about it (a record warning each), e.g.
  /// that a MIG instance is measured as its whole GPU.
  [[nodiscard]] virtual std::vector<std::string> notes() const { return {}; }
};

/// Turns two raw counter readings into the energy between them, allowing one wrap at range_j.
/// range_j <= 0 means the counter does not wrap; a decrease then yields 0.
double counter_delta_j(double previous_j, double current_j, double range_j);

/// Whether a domain (contract name or "name:device" id) adds into `total`: cpu_package, dram and
/// gpu do; cpu_core and cpu_uncore lie inside the package and psys contains it, so they never do.
bool counts_in_total(const std::string& domain);

/// Where to look for hardware, and the CPU power model; defaults come from the environment
/// (GREENBENCH_POWERCAP_ROOT, GREENBENCH_PERF_ROOT, GREENBENCH_NVML_LIB) or the system paths.
struct SourceOptions {
  std::string powercap_root = "/sys/class/powercap";
  std::string perf_root = "/sys/bus/event_source/devices";
  std::string nvml_lib = "libnvidia-ml.so.1";
  double cpu_watts_per_core = -1;  ///< <0 = default of the estimate (printed); 0 is valid
  double cpu_idle_watts = -1;      ///< <0 = default of the estimate (printed)
  std::vector<std::string> only;   ///< if non-empty, use only these sources by name

  /// Defaults overridden by the GREENBENCH_* environment variables.
  static SourceOptions from_environment();
};

/// What `greenbench sources` prints for one backend.
struct SourceStatus {
  std::string name;
  bool readable = false;
  Quality quality = Quality::kMeasured;
  std::vector<std::string> domains;  ///< domain ids when readable
  std::string reason;                ///< why it is not readable (or, if readable, what is missing)
  std::string fix;                   ///< how to make it readable
  bool used = false;                 ///< whether detect_sources() returned it
  std::string parameters;            ///< the model of an estimate (EnergySource::parameters())
};

/// What NVML tells about one GPU it measures; a field this NVML or GPU does not give is unset.
struct GpuInfo {
  std::string id;    ///< "gpu:0": the energy domain of this GPU (NVML index)
  std::string name;  ///< "NVIDIA H200"; "" = unknown
  std::string uuid;  ///< "GPU-…"; "" = unknown
  /// Read through its total-energy counter (true), or by integrating power samples (false).
  bool energy_counter = false;
  /// The driver's own power-sampling period (median gap of nvmlDeviceGetSamples' power samples).
  std::optional<double> power_sample_interval_s;
  std::optional<double> power_limit_w;          ///< the enforced power limit
  std::optional<double> power_limit_default_w;  ///< the limit the GPU ships with
  std::optional<unsigned> sm_clock_mhz;         ///< SM clock when read
  std::optional<unsigned> sm_clock_max_mhz;
  std::optional<unsigned> mem_clock_mhz;  ///< memory clock when read
  std::optional<unsigned> mem_clock_max_mhz;
  std::optional<bool> persistence_mode;
  std::string compute_capability;  ///< "9.0"; "" = unknown
};

/// NVML's view of the driver and of the GPUs a measurement uses (CUDA_VISIBLE_DEVICES applied).
struct GpuReport {
  std::string driver_version;  ///< "570.124.06"; "" = unknown or no NVML
  std::string cuda_version;    ///< the newest CUDA the driver supports, "12.8"; "" = unknown
  std::vector<GpuInfo> gpus;   ///< in the order of the NVML source's domains
};

/// Loads NVML from `nvml_lib` and describes the GPUs; empty where NVML cannot be loaded.
GpuReport describe_gpus(const std::string& nvml_lib = "libnvidia-ml.so.1");

/// The sources a measurement uses: every readable counter source (RAPL via powercap preferred over
/// perf, plus NVML), and the CPU estimate only when no CPU counter is readable.
/// Fills `status` (if given) with one entry per backend tried.
std::vector<std::unique_ptr<EnergySource>> detect_sources(
    const SourceOptions& options, std::vector<SourceStatus>* status = nullptr);

}  // namespace greenbench
