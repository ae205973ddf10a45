// NVIDIA GPUs through NVML, loaded with dlopen at run time so greenbench has no link dependency
// on the driver. The few NVML declarations needed are repeated here; nvml.h is not required.
//
// Which GPUs: CUDA_VISIBLE_DEVICES, read the way CUDA reads it. Its numbers are CUDA indices,
// and CUDA numbers GPUs by CUDA_DEVICE_ORDER:
// - PCI_BUS_ID: PCI bus order, which is also NVML's (and nvidia-smi's) index order.
// - FASTEST_FIRST (the default, and what CUDA uses for any other value): CUDA puts the device it
//   guesses fastest first and, per its documentation, leaves the rest unspecified. greenbench
//   approximates that guess with what NVML tells: higher compute capability first, then more
//   CUDA cores x maximum SM clock, ties in PCI order. Identical GPUs (the usual case) keep PCI
//   order, which is exact. When the GPUs differ and CUDA_VISIBLE_DEVICES names them by number,
//   the record says which GPU each number was taken to be and how to make it exact
//   (CUDA_DEVICE_ORDER=PCI_BUS_ID). Without the NVML functions to rank them, PCI order is used
//   and the record says so.
// MIG instances (MIG-<uuid>) are mapped to their parent GPU: NVML has no per-instance energy,
// so the whole GPU's energy is measured and the record says so.
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <tuple>

#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

// From NVML's public ABI: nvmlReturn_t is an int enum (0 = success), nvmlDevice_t an opaque
// pointer; the energy counter is in millijoules, power in milliwatts.
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr unsigned kNvmlNameBuffer = 96;    // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned kNvmlUuidBuffer = 96;    // NVML_DEVICE_UUID_V2_BUFFER_SIZE
constexpr unsigned kNvmlDriverBuffer = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
constexpr int kNvmlClockSm = 1;             // nvmlClockType_t
constexpr int kNvmlClockMem = 2;
constexpr int kNvmlTotalPowerSamples = 0;  // nvmlSamplingType_t
// nvmlSample_t: a CPU time stamp in microseconds and an 8-byte value union.
struct NvmlSample {
  unsigned long long time_us;
  unsigned long long value;
};

std::string dl_error() {
  const char* e = dlerror();
  return e != nullptr ? e : "unknown dlopen error";
}

}  // namespace

struct NvmlSource::Api {
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*count)(unsigned*) = nullptr;
  nvmlReturn_t (*handle_by_index)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*total_energy)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*power_usage)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*get_name)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*get_uuid)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*power_limit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*compute_capability)(nvmlDevice_t, int*, int*) = nullptr;
  nvmlReturn_t (*num_cores)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*max_clock)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*handle_by_uuid)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*mig_parent)(nvmlDevice_t, nvmlDevice_t*) = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  // For the environment record only; each may be missing from an older NVML.
  nvmlReturn_t (*driver_version)(char*, unsigned) = nullptr;
  nvmlReturn_t (*cuda_version)(int*) = nullptr;
  nvmlReturn_t (*enforced_limit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*default_limit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*clock)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*persistence)(nvmlDevice_t, int*) = nullptr;
  nvmlReturn_t (*samples)(nvmlDevice_t, int, unsigned long long, int*, unsigned*,
                          NvmlSample*) = nullptr;

  [[nodiscard]] std::string message(nvmlReturn_t r) const {
    const char* text = error_string != nullptr ? error_string(r) : nullptr;
    return text != nullptr ? std::string(text) + " (NVML error " + std::to_string(r) + ")"
                           : "NVML error " + std::to_string(r);
  }
};

std::vector<unsigned> select_visible_gpus(const std::optional<std::string>& value, unsigned count,
                                          const std::vector<std::string>& uuids,
                                          const std::vector<unsigned>& cuda_order,
                                          const MigResolver& mig_parent,
                                          std::vector<std::pair<std::string, unsigned>>* migs) {
  std::vector<unsigned> selected;
  if (!value) {
    for (unsigned i = 0; i < count; ++i) selected.push_back(i);
    return selected;
  }
  const std::string& list = *value;
  std::size_t pos = 0;
  while (pos <= list.size() && !list.empty()) {
    const std::size_t comma = list.find(',', pos);
    std::string item =
        list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    std::optional<unsigned> match;
    if (!item.empty() && item.find_first_not_of("0123456789") == std::string::npos) {
      const unsigned long index = std::strtoul(item.c_str(), nullptr, 10);
      if (index < count) {
        match = index < cuda_order.size() ? cuda_order[index] : static_cast<unsigned>(index);
      }
    } else if (item.rfind("GPU-", 0) == 0) {
      // CUDA accepts any unique prefix of the UUID.
      for (unsigned i = 0; i < count && i < uuids.size(); ++i) {
        if (!uuids[i].empty() && uuids[i].rfind(item, 0) == 0) {
          if (match) {  // ambiguous prefix: CUDA treats it as invalid
            match.reset();
            break;
          }
          match = i;
        }
      }
    } else if (item.rfind("MIG-", 0) == 0 && mig_parent) {
      match = mig_parent(item);
      if (match && migs != nullptr) migs->emplace_back(item, *match);
    }
    // CUDA ignores everything from the first entry that names no device.
    if (!match) break;
    bool duplicate = false;
    for (const unsigned s : selected) duplicate = duplicate || s == *match;
    if (!duplicate) selected.push_back(*match);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return selected;
}

NvmlSource::NvmlSource() : NvmlSource("libnvidia-ml.so.1") {}

NvmlSource::NvmlSource(std::string library) : library_(std::move(library)) {
  const std::string fix_driver =
      "install the NVIDIA driver (it ships libnvidia-ml.so.1), or point --nvml-lib / "
      "GREENBENCH_NVML_LIB at libnvidia-ml.so";
  handle_ = dlopen(library_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    problems_.push_back({"cannot load " + library_ + ": " + dl_error(), fix_driver});
    return;
  }
  api_ = std::make_unique<Api>();
  auto resolve = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle_, symbol));
    return fn != nullptr;
  };
  std::string missing;
  if (!resolve(api_->init, "nvmlInit_v2")) missing += " nvmlInit_v2";
  resolve(api_->shutdown, "nvmlShutdown");  // optional: without it the library is left loaded
  if (!resolve(api_->count, "nvmlDeviceGetCount_v2")) missing += " nvmlDeviceGetCount_v2";
  if (!resolve(api_->handle_by_index, "nvmlDeviceGetHandleByIndex_v2")) {
    missing += " nvmlDeviceGetHandleByIndex_v2";
  }
  const bool has_energy = resolve(api_->total_energy, "nvmlDeviceGetTotalEnergyConsumption");
  const bool has_power = resolve(api_->power_usage, "nvmlDeviceGetPowerUsage");
  if (!has_energy && !has_power) {
    missing += " nvmlDeviceGetTotalEnergyConsumption|nvmlDeviceGetPowerUsage";
  }
  resolve(api_->get_name, "nvmlDeviceGetName");
  resolve(api_->get_uuid, "nvmlDeviceGetUUID");
  resolve(api_->power_limit, "nvmlDeviceGetPowerManagementLimit");
  resolve(api_->compute_capability, "nvmlDeviceGetCudaComputeCapability");
  resolve(api_->num_cores, "nvmlDeviceGetNumGpuCores");
  resolve(api_->max_clock, "nvmlDeviceGetMaxClockInfo");
  resolve(api_->handle_by_uuid, "nvmlDeviceGetHandleByUUID");
  resolve(api_->mig_parent, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle");
  resolve(api_->error_string, "nvmlErrorString");
  resolve(api_->driver_version, "nvmlSystemGetDriverVersion");
  if (!resolve(api_->cuda_version, "nvmlSystemGetCudaDriverVersion_v2")) {
    resolve(api_->cuda_version, "nvmlSystemGetCudaDriverVersion");
  }
  resolve(api_->enforced_limit, "nvmlDeviceGetEnforcedPowerLimit");
  resolve(api_->default_limit, "nvmlDeviceGetPowerManagementDefaultLimit");
  resolve(api_->clock, "nvmlDeviceGetClockInfo");
  resolve(api_->persistence, "nvmlDeviceGetPersistenceMode");
  resolve(api_->samples, "nvmlDeviceGetSamples");
  if (!missing.empty()) {
    problems_.push_back({library_ + " lacks required NVML functions:" + missing +
                             " (not NVML, or a driver older than NVML 5.319)",
                         "update the NVIDIA driver, or point --nvml-lib at a current NVML"});
    return;
  }

  nvmlReturn_t r = api_->init();
  if (r != kNvmlSuccess) {
    problems_.push_back({"nvmlInit_v2 failed: " + api_->message(r) +
                             " (no NVIDIA GPU, or the driver is not loaded)",
                         "check 'nvidia-smi'; load the driver or run where the GPU is visible"});
    return;
  }
  initialised_ = true;
  char driver[kNvmlDriverBuffer] = {};
  if (api_->driver_version != nullptr &&
      api_->driver_version(driver, sizeof driver) == kNvmlSuccess) {
    driver_version_ = driver;
  }
  int cuda = 0;
  if (api_->cuda_version != nullptr && api_->cuda_version(&cuda) == kNvmlSuccess && cuda > 0) {
    cuda_version_ = std::to_string(cuda / 1000) + "." + std::to_string(cuda % 1000 / 10);
  }
  unsigned count = 0;
  r = api_->count(&count);
  if (r != kNvmlSuccess) {
    problems_.push_back(
        {"nvmlDeviceGetCount_v2 failed: " + api_->message(r), "check 'nvidia-smi'"});
    return;
  }
  std::vector<nvmlDevice_t> handles(count, nullptr);
  std::vector<std::string> uuids(count);
  for (unsigned i = 0; i < count; ++i) {
    r = api_->handle_by_index(i, &handles[i]);
    if (r != kNvmlSuccess) {
      handles[i] = nullptr;
      continue;
    }
    char uuid[kNvmlUuidBuffer] = {};
    if (api_->get_uuid != nullptr &&
        api_->get_uuid(handles[i], uuid, sizeof uuid) == kNvmlSuccess) {
      uuids[i] = uuid;
    }
  }
  const char* visible_env = std::getenv("CUDA_VISIBLE_DEVICES");
  const char* order_env = std::getenv("CUDA_DEVICE_ORDER");
  const std::vector<unsigned> cuda_order =
      cuda_device_order(handles, order_env != nullptr ? std::string(order_env) : std::string());
  auto mig_parent = [&](const std::string& entry) -> std::optional<unsigned> {
    return mig_parent_index(entry, handles, uuids);
  };
  std::vector<std::pair<std::string, unsigned>> migs;
  const auto visible = select_visible_gpus(
      visible_env != nullptr ? std::optional<std::string>(visible_env) : std::nullopt, count, uuids,
      cuda_order, mig_parent, &migs);
  for (const auto& [entry, index] : migs) {
    notes_.push_back("CUDA_VISIBLE_DEVICES names MIG instance " + entry +
                     " of gpu:" + std::to_string(index) +
                     "; NVML reads no energy per MIG instance, so gpu:" + std::to_string(index) +
                     " is the whole GPU's energy, other instances' work included");
  }
  // Numbers in CUDA_VISIBLE_DEVICES are CUDA indices: say how they were mapped when that rests
  // on an estimate of CUDA's FASTEST_FIRST order.
  bool by_number = false;
  if (visible_env != nullptr) {
    std::string list = visible_env;
    std::size_t pos = 0;
    while (pos < list.size()) {
      std::size_t comma = list.find(',', pos);
      if (comma == std::string::npos) comma = list.size();
      std::string item = list.substr(pos, comma - pos);
      item.erase(0, item.find_first_not_of(' '));
      by_number = by_number || (!item.empty() && item[0] >= '0' && item[0] <= '9');
      pos = comma + 1;
    }
  }
  std::vector<unsigned> identity(count);
  std::iota(identity.begin(), identity.end(), 0U);
  if (by_number && !order_note_.empty()) {
    notes_.push_back(order_note_);
  } else if (by_number && cuda_order != identity) {
    std::string mapping;
    for (unsigned i = 0; i < cuda_order.size(); ++i) {
      mapping +=
          (i == 0 ? "" : ", ") + std::to_string(i) + " -> gpu:" + std::to_string(cuda_order[i]);
    }
    notes_.push_back(
        "CUDA_DEVICE_ORDER is FASTEST_FIRST (CUDA's default) and the GPUs differ: the CUDA "
        "indices in CUDA_VISIBLE_DEVICES were taken as " +
        mapping +
        " (greenbench's estimate of CUDA's order: compute capability, then cores x SM clock); "
        "set CUDA_DEVICE_ORDER=PCI_BUS_ID to make this exact");
  }
  if (count == 0) {
    problems_.push_back({"NVML reports no GPU", "check 'nvidia-smi'"});
    return;
  }
  if (visible.empty()) {
    problems_.push_back(
        {"CUDA_VISIBLE_DEVICES='" + std::string(visible_env) + "' selects none of the " +
             std::to_string(count) + " GPUs",
         "set CUDA_VISIBLE_DEVICES to GPU indices or GPU-<uuid> values, or unset it"});
    return;
  }

  for (const unsigned index : visible) {
    nvmlDevice_t device = handles[index];
    if (device == nullptr) {
      problems_.push_back(
          {"gpu " + std::to_string(index) + ": nvmlDeviceGetHandleByIndex_v2 failed",
           "check 'nvidia-smi'"});
      continue;
    }
    DomainInfo info;
    info.domain = "gpu";
    info.device = static_cast<int>(index);  // NVML (nvidia-smi) index
    info.id = "gpu:" + std::to_string(index);
    info.quality = Quality::kMeasured;
    // Prefer the energy counter (Volta and later): it integrates in the driver at full rate.
    unsigned long long mj = 0;
    unsigned mw = 0;
    nvmlReturn_t energy_r = -1;
    if (api_->total_energy != nullptr) energy_r = api_->total_energy(device, &mj);
    if (energy_r == kNvmlSuccess) {
      info.kind = DomainKind::kCounter;
      info.range_j = 0;  // 64-bit millijoules
      info.resolution_j = 1e-3;
      info.update_interval_s = 0.1;  // the driver's counter may lag by about a power sample
    } else if (api_->power_usage != nullptr && api_->power_usage(device, &mw) == kNvmlSuccess) {
      info.kind = DomainKind::kPower;
      // A power gauge integrated by the trapezoid rule: its reading averages about a second on
      // many GPUs, which bounds the boundary error of a phase.
      info.update_interval_s = 1.0;
    } else {
      problems_.push_back({"gpu " + std::to_string(index) +
                               " reports neither an energy counter nor power draw" +
                               (energy_r > 0 ? ": " + api_->message(energy_r) : std::string()),
                           "this GPU model does not support power readings through NVML"});
      continue;
    }
    unsigned limit_mw = 0;
    if (api_->power_limit != nullptr && api_->power_limit(device, &limit_mw) == kNvmlSuccess) {
      info.max_power_w = limit_mw / 1000.0;
    }
    char name[kNvmlNameBuffer] = {};
    if (api_->get_name != nullptr && api_->get_name(device, name, sizeof name) == kNvmlSuccess) {
      gpu_names_.emplace_back(name);
    } else {
      gpu_names_.emplace_back();
    }
    gpus_.push_back(describe_gpu(device, info, gpu_names_.back(), uuids[index]));
    domains_.push_back(std::move(info));
    devices_.push_back(device);
  }
}

GpuInfo NvmlSource::describe_gpu(void* device, const DomainInfo& domain, const std::string& name,
                                 const std::string& uuid) const {
  GpuInfo g;
  g.id = domain.id;
  g.name = name;
  g.uuid = uuid;
  g.energy_counter = domain.kind == DomainKind::kCounter;
  unsigned value = 0;
  if (api_->enforced_limit != nullptr && api_->enforced_limit(device, &value) == kNvmlSuccess) {
    g.power_limit_w = value / 1000.0;
  } else if (domain.max_power_w > 0) {
    g.power_limit_w = domain.max_power_w;  // the management limit
  }
  if (api_->default_limit != nullptr && api_->default_limit(device, &value) == kNvmlSuccess) {
    g.power_limit_default_w = value / 1000.0;
  }
  for (const auto& [type, now, max] :
       {std::tuple{kNvmlClockSm, &g.sm_clock_mhz, &g.sm_clock_max_mhz},
        std::tuple{kNvmlClockMem, &g.mem_clock_mhz, &g.mem_clock_max_mhz}}) {
    if (api_->clock != nullptr && api_->clock(device, type, &value) == kNvmlSuccess) *now = value;
    if (api_->max_clock != nullptr && api_->max_clock(device, type, &value) == kNvmlSuccess) {
      *max = value;
    }
  }
  int mode = 0;
  if (api_->persistence != nullptr && api_->persistence(device, &mode) == kNvmlSuccess) {
    g.persistence_mode = mode != 0;
  }
  int major = 0, minor = 0;
  if (api_->compute_capability != nullptr &&
      api_->compute_capability(device, &major, &minor) == kNvmlSuccess) {
    g.compute_capability = std::to_string(major) + "." + std::to_string(minor);
  }
  // The driver keeps a buffer of its recent power samples: the median gap between them is the
  // rate at which power is actually sampled, which is what a power-only GPU's energy rests on.
  unsigned n = 0;
  int type = 0;
  if (api_->samples != nullptr &&
      api_->samples(device, kNvmlTotalPowerSamples, 0, &type, &n, nullptr) == kNvmlSuccess &&
      n >= 2 && n <= 100000) {
    std::vector<NvmlSample> samples(n);
    if (api_->samples(device, kNvmlTotalPowerSamples, 0, &type, &n, samples.data()) ==
            kNvmlSuccess &&
        n >= 2 && n <= samples.size()) {
      std::vector<unsigned long long> times;
      for (unsigned i = 0; i < n; ++i) times.push_back(samples[i].time_us);
      std::sort(times.begin(), times.end());
      std::vector<unsigned long long> gaps;
      for (unsigned i = 1; i < n; ++i) {
        if (times[i] > times[i - 1]) gaps.push_back(times[i] - times[i - 1]);
      }
      if (!gaps.empty()) {
        std::nth_element(gaps.begin(), gaps.begin() + gaps.size() / 2, gaps.end());
        g.power_sample_interval_s = static_cast<double>(gaps[gaps.size() / 2]) / 1e6;
      }
    }
  }
  return g;
}

std::vector<unsigned> NvmlSource::cuda_device_order(const std::vector<void*>& handles,
                                                    const std::string& order) {
  std::vector<unsigned> out(handles.size());
  std::iota(out.begin(), out.end(), 0U);
  if (order == "PCI_BUS_ID" || handles.size() < 2) return out;  // NVML's order is PCI order
  // FASTEST_FIRST: rank by compute capability, then cores x maximum SM clock.
  struct Rank {
    int major = 0, minor = 0;
    double throughput = 0;
  };
  std::vector<Rank> ranks(handles.size());
  bool known = api_->compute_capability != nullptr && api_->num_cores != nullptr &&
               api_->max_clock != nullptr;
  for (std::size_t i = 0; known && i < handles.size(); ++i) {
    unsigned cores = 0, mhz = 0;
    known =
        handles[i] != nullptr &&
        api_->compute_capability(handles[i], &ranks[i].major, &ranks[i].minor) == kNvmlSuccess &&
        api_->num_cores(handles[i], &cores) == kNvmlSuccess &&
        api_->max_clock(handles[i], kNvmlClockSm, &mhz) == kNvmlSuccess;
    ranks[i].throughput = static_cast<double>(cores) * mhz;
  }
  if (!known) {
    order_note_ =
        "CUDA_DEVICE_ORDER is FASTEST_FIRST (CUDA's default), but this NVML cannot tell the GPUs' "
        "speed (compute capability, cores, SM clock): the CUDA indices in CUDA_VISIBLE_DEVICES "
        "were taken in PCI order; set CUDA_DEVICE_ORDER=PCI_BUS_ID to make this exact";
    return out;
  }
  std::stable_sort(out.begin(), out.end(), [&](unsigned a, unsigned b) {
    return std::tie(ranks[a].major, ranks[a].minor, ranks[a].throughput) >
           std::tie(ranks[b].major, ranks[b].minor, ranks[b].throughput);
  });
  return out;
}

std::optional<unsigned> NvmlSource::mig_parent_index(const std::string& entry,
                                                     const std::vector<void*>& handles,
                                                     const std::vector<std::string>& uuids) {
  // Old drivers name an instance MIG-GPU-<gpu uuid>/<gi>/<ci>: the parent is in the name.
  if (entry.rfind("MIG-GPU-", 0) == 0 && entry.find('/') != std::string::npos) {
    const std::string gpu = entry.substr(4, entry.find('/') - 4);
    for (unsigned i = 0; i < uuids.size(); ++i) {
      if (uuids[i] == gpu) return i;
    }
    return std::nullopt;
  }
  if (api_->handle_by_uuid == nullptr || api_->mig_parent == nullptr) return std::nullopt;
  nvmlDevice_t mig = nullptr;
  nvmlDevice_t parent = nullptr;
  if (api_->handle_by_uuid(entry.c_str(), &mig) != kNvmlSuccess ||
      api_->mig_parent(mig, &parent) != kNvmlSuccess) {
    return std::nullopt;
  }
  char uuid[kNvmlUuidBuffer] = {};
  const bool has_uuid =
      api_->get_uuid != nullptr && api_->get_uuid(parent, uuid, sizeof uuid) == kNvmlSuccess;
  for (unsigned i = 0; i < handles.size(); ++i) {
    if (handles[i] == parent || (has_uuid && !uuids[i].empty() && uuids[i] == uuid)) return i;
  }
  return std::nullopt;
}

NvmlSource::~NvmlSource() {
  if (initialised_ && api_->shutdown != nullptr) api_->shutdown();
  if (handle_ != nullptr) dlclose(handle_);
}

std::vector<double> NvmlSource::read() {
  std::vector<double> values(devices_.size());
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    if (domains_[i].kind == DomainKind::kCounter) {
      unsigned long long mj = 0;
      const nvmlReturn_t r = api_->total_energy(devices_[i], &mj);
      if (r != kNvmlSuccess) {
        throw Error("nvml: " + domains_[i].id +
                    ": nvmlDeviceGetTotalEnergyConsumption failed: " + api_->message(r));
      }
      values[i] = static_cast<double>(mj) / 1e3;
    } else {
      unsigned mw = 0;
      const nvmlReturn_t r = api_->power_usage(devices_[i], &mw);
      if (r != kNvmlSuccess) {
        throw Error("nvml: " + domains_[i].id +
                    ": nvmlDeviceGetPowerUsage failed: " + api_->message(r));
      }
      values[i] = mw / 1e3;
    }
  }
  return values;
}

}  // namespace greenbench::energy

namespace greenbench {

GpuReport describe_gpus(const std::string& nvml_lib) {
  const energy::NvmlSource source(nvml_lib);
  return source.report();
}

}  // namespace greenbench
