// A fake NVML library for tests: the subset of NVML's C ABI that greenbench loads with dlopen,
// driven by environment variables so a test (or a whole `greenbench` process) controls it:
//   FAKE_NVML_GPUS       comma list of GPU kinds: "energy" (has the total-energy counter),
//                        "power" (power draw only), "none" (neither); default "energy"
//   FAKE_NVML_WATTS      power per GPU, one value for all or a comma list; default 100
//   FAKE_NVML_STATE      optional file read on every query: one number per GPU, the energy
//                        counter in mJ for "energy" GPUs, the power in mW for "power" GPUs;
//                        GPUs without a number fall back to FAKE_NVML_WATTS
//   FAKE_NVML_INIT_ERROR nvmlInit_v2 returns this code (e.g. 9, driver not loaded)
//   FAKE_NVML_CC         compute capability per GPU, e.g. "8.0,9.0"; default 8.0 for all
//   FAKE_NVML_CORES      CUDA cores per GPU; default 6912
//   FAKE_NVML_SM_CLOCK   maximum SM clock per GPU in MHz; default 1410
//   FAKE_NVML_MIG        MIG instances, "<gpu index>=<MIG UUID>" comma list: found by
//                        nvmlDeviceGetHandleByUUID, parent through
//                        nvmlDeviceGetDeviceHandleFromMigDeviceHandle
//   FAKE_NVML_DRIVER     driver version; default "550.54.15"
//   FAKE_NVML_CUDA       CUDA version as NVML gives it (1000 x major + 10 x minor); default 12040
//   FAKE_NVML_PERSISTENCE persistence mode per GPU, 1 or 0; default 1
//   FAKE_NVML_SAMPLE_MS  the driver's power-sampling period per GPU in ms; default 20 (an empty
//                        or 0 entry: no samples, as NVML's NOT_FOUND)
//   FAKE_NVML_OLD        "1": the environment functions (driver and CUDA version, clocks,
//                        persistence, enforced and default power limit, samples) fail as
//                        NOT_SUPPORTED, like an old driver's
// Fixed: enforced power limit 250 W (management limit 300 W, default 350 W); SM clock 1410 of
// max 1410 MHz (FAKE_NVML_SM_CLOCK); memory clock 1215 of max 1593 MHz.
// Without a state file the energy counter advances with wall time at FAKE_NVML_WATTS.
// Built three times: complete; FAKE_NVML_MINIMAL (required functions and power draw only);
// FAKE_NVML_INCOMPLETE (lacks nvmlDeviceGetCount_v2).
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int kSuccess = 0;
constexpr int kUninitialized = 1;
constexpr int kInvalidArgument = 2;
constexpr int kNotSupported = 3;
constexpr int kInsufficientSize = 7;
constexpr unsigned long long kCounterStartMj = 1000000;  // a counter running since driver load

struct Gpu {
  std::string kind;
  double watts = 100;
  int cc_major = 8, cc_minor = 0;
  unsigned cores = 6912;
  unsigned sm_clock_mhz = 1410;
  int persistence = 1;
  double sample_ms = 20;
};

struct Mig {
  unsigned parent = 0;
  std::string uuid;
};

std::vector<Gpu> g_gpus;
std::vector<Mig> g_migs;
bool g_initialised = false;
double g_init_s = 0;

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<std::string> split(const char* text) {
  std::vector<std::string> items;
  std::stringstream in(text != nullptr ? text : "");
  std::string item;
  while (std::getline(in, item, ',')) items.push_back(item);
  return items;
}

// The state file's number for GPU i, if the file and the number exist.
bool state_value(unsigned i, double* value) {
  const char* path = std::getenv("FAKE_NVML_STATE");
  if (path == nullptr) return false;
  std::ifstream in(path);
  double v = 0;
  for (unsigned k = 0; k <= i; ++k) {
    if (!(in >> v)) return false;
  }
  *value = v;
  return true;
}

Gpu* device(void* handle) {
  for (auto& gpu : g_gpus) {
    if (&gpu == handle) return &gpu;
  }
  return nullptr;
}

[[maybe_unused]] bool old_driver() {
  const char* e = std::getenv("FAKE_NVML_OLD");
  return e != nullptr && std::string(e) == "1";
}

unsigned index_of(const Gpu* gpu) { return static_cast<unsigned>(gpu - g_gpus.data()); }

[[maybe_unused]] Mig* mig_device(void* handle) {
  for (auto& mig : g_migs) {
    if (&mig == handle) return &mig;
  }
  return nullptr;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int nvmlInit_v2() {
  if (const char* e = std::getenv("FAKE_NVML_INIT_ERROR")) return std::atoi(e);
  const char* kinds = std::getenv("FAKE_NVML_GPUS");
  const auto kind_list = split(kinds != nullptr ? kinds : "energy");
  const auto watts = split(std::getenv("FAKE_NVML_WATTS"));
  const auto cc = split(std::getenv("FAKE_NVML_CC"));
  const auto cores = split(std::getenv("FAKE_NVML_CORES"));
  const auto clocks = split(std::getenv("FAKE_NVML_SM_CLOCK"));
  const auto persistence = split(std::getenv("FAKE_NVML_PERSISTENCE"));
  const auto sample_ms = split(std::getenv("FAKE_NVML_SAMPLE_MS"));
  g_gpus.clear();
  for (std::size_t i = 0; i < kind_list.size(); ++i) {
    Gpu gpu{kind_list[i], 100};
    if (!watts.empty()) gpu.watts = std::atof((i < watts.size() ? watts[i] : watts[0]).c_str());
    if (i < cc.size()) std::sscanf(cc[i].c_str(), "%d.%d", &gpu.cc_major, &gpu.cc_minor);
    if (i < cores.size()) gpu.cores = static_cast<unsigned>(std::atoi(cores[i].c_str()));
    if (i < clocks.size()) gpu.sm_clock_mhz = static_cast<unsigned>(std::atoi(clocks[i].c_str()));
    if (i < persistence.size()) gpu.persistence = std::atoi(persistence[i].c_str());
    if (i < sample_ms.size()) gpu.sample_ms = std::atof(sample_ms[i].c_str());
    g_gpus.push_back(gpu);
  }
  g_migs.clear();
  for (const auto& entry : split(std::getenv("FAKE_NVML_MIG"))) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    g_migs.push_back(
        {static_cast<unsigned>(std::atoi(entry.substr(0, eq).c_str())), entry.substr(eq + 1)});
  }
  g_initialised = true;
  g_init_s = now_s();
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlShutdown() {
  if (!g_initialised) return kUninitialized;
  g_initialised = false;
  return kSuccess;
}

#ifndef FAKE_NVML_INCOMPLETE
__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned* count) {
  if (!g_initialised) return kUninitialized;
  if (count == nullptr) return kInvalidArgument;
  *count = static_cast<unsigned>(g_gpus.size());
  return kSuccess;
}
#endif

__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned index,
                                                                         void** handle) {
  if (!g_initialised) return kUninitialized;
  if (handle == nullptr || index >= g_gpus.size()) return kInvalidArgument;
  *handle = &g_gpus[index];
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerUsage(void* handle, unsigned* mw) {
  Gpu* gpu = device(handle);
  if (!g_initialised) return kUninitialized;
  if (gpu == nullptr || mw == nullptr) return kInvalidArgument;
  if (gpu->kind == "none") return kNotSupported;
  double value = 0;
  if (gpu->kind == "power" && state_value(index_of(gpu), &value)) {
    *mw = static_cast<unsigned>(value);
  } else {
    *mw = static_cast<unsigned>(gpu->watts * 1000);
  }
  return kSuccess;
}

#ifndef FAKE_NVML_MINIMAL
__attribute__((visibility("default"))) int nvmlDeviceGetTotalEnergyConsumption(
    void* handle, unsigned long long* mj) {
  Gpu* gpu = device(handle);
  if (!g_initialised) return kUninitialized;
  if (gpu == nullptr || mj == nullptr) return kInvalidArgument;
  if (gpu->kind != "energy") return kNotSupported;
  double value = 0;
  if (state_value(index_of(gpu), &value)) {
    *mj = static_cast<unsigned long long>(value);
  } else {
    *mj =
        kCounterStartMj + static_cast<unsigned long long>(gpu->watts * (now_s() - g_init_s) * 1e3);
  }
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetName(void* handle, char* name,
                                                             unsigned length) {
  Gpu* gpu = device(handle);
  if (gpu == nullptr || name == nullptr) return kInvalidArgument;
  const std::string text = "Fake GPU " + std::to_string(index_of(gpu)) + " (" + gpu->kind + ")";
  if (text.size() + 1 > length) return kInsufficientSize;
  std::memcpy(name, text.c_str(), text.size() + 1);
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetUUID(void* handle, char* uuid,
                                                             unsigned length) {
  Gpu* gpu = device(handle);
  if (gpu == nullptr || uuid == nullptr) return kInvalidArgument;
  char text[64];
  std::snprintf(text, sizeof text, "GPU-fa4e%04x-0000-4000-8000-%012x", index_of(gpu),
                index_of(gpu));
  if (std::strlen(text) + 1 > length) return kInsufficientSize;
  std::memcpy(uuid, text, std::strlen(text) + 1);
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerManagementLimit(void* handle,
                                                                             unsigned* mw) {
  Gpu* gpu = device(handle);
  if (gpu == nullptr || mw == nullptr) return kInvalidArgument;
  *mw = 300000;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetCudaComputeCapability(void* handle,
                                                                              int* major,
                                                                              int* minor) {
  Gpu* gpu = device(handle);
  if (gpu == nullptr || major == nullptr || minor == nullptr) return kInvalidArgument;
  *major = gpu->cc_major;
  *minor = gpu->cc_minor;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetNumGpuCores(void* handle, unsigned* cores) {
  Gpu* gpu = device(handle);
  if (gpu == nullptr || cores == nullptr) return kInvalidArgument;
  *cores = gpu->cores;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetMaxClockInfo(void* handle, int type,
                                                                     unsigned* mhz) {
  Gpu* gpu = device(handle);
  if (gpu == nullptr || mhz == nullptr) return kInvalidArgument;
  if (type == 1) {  // NVML_CLOCK_SM
    *mhz = gpu->sm_clock_mhz;
  } else if (type == 2 && !old_driver()) {  // NVML_CLOCK_MEM
    *mhz = 1593;
  } else {
    return kNotSupported;
  }
  return kSuccess;
}

// The functions greenbench records in a study's environment.
__attribute__((visibility("default"))) int nvmlSystemGetDriverVersion(char* version,
                                                                      unsigned length) {
  if (old_driver()) return kNotSupported;
  const char* e = std::getenv("FAKE_NVML_DRIVER");
  const std::string text = e != nullptr ? e : "550.54.15";
  if (version == nullptr || text.size() + 1 > length) return kInsufficientSize;
  std::memcpy(version, text.c_str(), text.size() + 1);
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlSystemGetCudaDriverVersion_v2(int* version) {
  if (old_driver()) return kNotSupported;
  if (version == nullptr) return kInvalidArgument;
  const char* e = std::getenv("FAKE_NVML_CUDA");
  *version = e != nullptr ? std::atoi(e) : 12040;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetEnforcedPowerLimit(void* handle,
                                                                           unsigned* mw) {
  Gpu* gpu = device(handle);
  if (old_driver()) return kNotSupported;
  if (gpu == nullptr || mw == nullptr) return kInvalidArgument;
  *mw = 250000;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerManagementDefaultLimit(void* handle,
                                                                                    unsigned* mw) {
  Gpu* gpu = device(handle);
  if (old_driver()) return kNotSupported;
  if (gpu == nullptr || mw == nullptr) return kInvalidArgument;
  *mw = 350000;
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetClockInfo(void* handle, int type,
                                                                  unsigned* mhz) {
  Gpu* gpu = device(handle);
  if (old_driver()) return kNotSupported;
  if (gpu == nullptr || mhz == nullptr) return kInvalidArgument;
  if (type == 1) {
    *mhz = gpu->sm_clock_mhz;
  } else if (type == 2) {
    *mhz = 1215;
  } else {
    return kNotSupported;
  }
  return kSuccess;
}

__attribute__((visibility("default"))) int nvmlDeviceGetPersistenceMode(void* handle, int* mode) {
  Gpu* gpu = device(handle);
  if (old_driver()) return kNotSupported;
  if (gpu == nullptr || mode == nullptr) return kInvalidArgument;
  *mode = gpu->persistence;
  return kSuccess;
}

// NVML_TOTAL_POWER_SAMPLES only: ten samples FAKE_NVML_SAMPLE_MS apart, in an unsorted buffer
// as the driver's ring buffer may hand them out.
__attribute__((visibility("default"))) int nvmlDeviceGetSamples(void* handle, int type,
                                                                unsigned long long /*last_seen*/,
                                                                int* value_type, unsigned* count,
                                                                unsigned long long* samples) {
  Gpu* gpu = device(handle);
  if (old_driver()) return kNotSupported;
  if (gpu == nullptr || count == nullptr || value_type == nullptr) return kInvalidArgument;
  if (type != 0) return kNotSupported;
  if (gpu->sample_ms <= 0) return 6;  // NVML_ERROR_NOT_FOUND: no samples yet
  constexpr unsigned kSamples = 10;
  if (samples == nullptr) {
    *count = kSamples;
    return kSuccess;
  }
  if (*count < kSamples) return kInsufficientSize;
  *value_type = 1;  // NVML_VALUE_TYPE_UNSIGNED_INT
  const auto start_us = static_cast<unsigned long long>(now_s() * 1e6);
  for (unsigned i = 0; i < kSamples; ++i) {
    const unsigned k = (i + 3) % kSamples;  // the ring buffer's oldest entry is not first
    samples[2 * i] = start_us + static_cast<unsigned long long>(k * gpu->sample_ms * 1e3);
    samples[2 * i + 1] = static_cast<unsigned long long>(gpu->watts * 1000);
  }
  *count = kSamples;
  return kSuccess;
}

// Finds a GPU or a MIG instance by its full UUID, as NVML does.
__attribute__((visibility("default"))) int nvmlDeviceGetHandleByUUID(const char* uuid,
                                                                     void** handle) {
  if (!g_initialised) return kUninitialized;
  if (uuid == nullptr || handle == nullptr) return kInvalidArgument;
  for (auto& mig : g_migs) {
    if (mig.uuid == uuid) {
      *handle = &mig;
      return kSuccess;
    }
  }
  for (auto& gpu : g_gpus) {
    char text[64];
    std::snprintf(text, sizeof text, "GPU-fa4e%04x-0000-4000-8000-%012x", index_of(&gpu),
                  index_of(&gpu));
    if (std::strcmp(text, uuid) == 0) {
      *handle = &gpu;
      return kSuccess;
    }
  }
  return 6;  // NVML_ERROR_NOT_FOUND
}

__attribute__((visibility("default"))) int nvmlDeviceGetDeviceHandleFromMigDeviceHandle(
    void* mig_handle, void** parent) {
  Mig* mig = mig_device(mig_handle);
  if (mig == nullptr || parent == nullptr || mig->parent >= g_gpus.size()) {
    return kInvalidArgument;
  }
  *parent = &g_gpus[mig->parent];
  return kSuccess;
}

__attribute__((visibility("default"))) const char* nvmlErrorString(int result) {
  switch (result) {
    case kSuccess:
      return "Success";
    case kUninitialized:
      return "Uninitialized";
    case kInvalidArgument:
      return "Invalid Argument";
    case kNotSupported:
      return "Not Supported";
    case 9:
      return "Driver Not Loaded";
    default:
      return "Unknown Error";
  }
}
#endif

}  // extern "C"
