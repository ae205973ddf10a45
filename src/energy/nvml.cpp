// NVIDIA GPUs through NVML, loaded with dlopen at run time so greenbench has no link dependency
// on the driver. The few NVML declarations needed are repeated here; nvml.h is not required.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

// From NVML's public ABI: nvmlReturn_t is an int enum (0 = success), nvmlDevice_t an opaque
// pointer; the energy counter is in millijoules, power in milliwatts.
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr unsigned kNvmlNameBuffer = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned kNvmlUuidBuffer = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE

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
  const char* (*error_string)(nvmlReturn_t) = nullptr;

  [[nodiscard]] std::string message(nvmlReturn_t r) const {
    const char* text = error_string != nullptr ? error_string(r) : nullptr;
    return text != nullptr ? std::string(text) + " (NVML error " + std::to_string(r) + ")"
                           : "NVML error " + std::to_string(r);
  }
};

std::vector<unsigned> select_visible_gpus(const std::optional<std::string>& value, unsigned count,
                                          const std::vector<std::string>& uuids) {
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
      if (index < count) match = static_cast<unsigned>(index);
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
    }
    // CUDA ignores everything from the first entry that names no device (MIG-... included).
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
  resolve(api_->error_string, "nvmlErrorString");
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
  const auto visible = select_visible_gpus(
      visible_env != nullptr ? std::optional<std::string>(visible_env) : std::nullopt, count,
      uuids);
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
    } else if (api_->power_usage != nullptr && api_->power_usage(device, &mw) == kNvmlSuccess) {
      info.kind = DomainKind::kPower;
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
    domains_.push_back(std::move(info));
    devices_.push_back(device);
  }
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
