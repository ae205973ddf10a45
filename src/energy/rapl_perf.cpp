// RAPL energy counters through the perf_event "power" PMU: one event per domain and socket.
//
// Layout: <perf_root>/power/type, power/cpumask (one CPU per socket), power/events/energy-<x>
// ("event=0x02"), energy-<x>.scale (joules per count) and energy-<x>.unit ("Joules").
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

// RAPL energy counters are updated about every millisecond.
constexpr double kRaplUpdateS = 1e-3;

namespace fs = std::filesystem;

constexpr double kFallbackMaxPowerW = 500;  // as for powercap: perf states no limit

// perf event name -> contract domain. energy-gpu is the integrated GPU (RAPL PP1), which lies
// inside the package: it is powercap's "uncore", not a discrete GPU, and must not add to total.
struct EventDomain {
  const char* event;
  const char* domain;
};
constexpr EventDomain kEvents[] = {{"energy-pkg", "cpu_package"},
                                   {"energy-cores", "cpu_core"},
                                   {"energy-gpu", "cpu_uncore"},
                                   {"energy-ram", "dram"},
                                   {"energy-psys", "psys"}};

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  std::string text = out.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// "event=0x02" -> 2. The power PMU's events use no other terms; anything else is rejected.
std::optional<uint64_t> parse_event_config(const std::string& text) {
  if (text.rfind("event=", 0) != 0 || text.find(',') != std::string::npos) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str() + 6, &end, 0);
  if (errno != 0 || end == text.c_str() + 6 || *end != '\0') return std::nullopt;
  return value;
}

std::string paranoid_from_proc() {
  return read_text("/proc/sys/kernel/perf_event_paranoid").value_or("");
}

}  // namespace

PerfOps PerfOps::system() {
  PerfOps ops;
  ops.open = [](uint32_t type, uint64_t config, int cpu) -> int {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = type;
    attr.config = config;
    const long fd = ::syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd >= 0 ? static_cast<int>(fd) : -errno;
  };
  ops.read = [](int fd, uint64_t* value) {
    return ::read(fd, value, sizeof *value) == static_cast<ssize_t>(sizeof *value);
  };
  ops.close = [](int fd) { ::close(fd); };
  ops.paranoid = paranoid_from_proc;
  return ops;
}

std::vector<int> parse_cpu_list(const std::string& text, const std::string& path) {
  std::vector<int> cpus;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    const long first = std::strtol(item.c_str(), &end, 10);
    long last = first;
    if (*end == '-') last = std::strtol(end + 1, &end, 10);
    if (end == item.c_str() || *end != '\0' || first < 0 || last < first) {
      throw Error(path + ": not a CPU list: '" + text + "'");
    }
    for (long cpu = first; cpu <= last; ++cpu) cpus.push_back(static_cast<int>(cpu));
  }
  if (cpus.empty()) throw Error(path + ": empty CPU list");
  return cpus;
}

RaplPerfSource::RaplPerfSource() : RaplPerfSource("/sys/bus/event_source/devices") {}

RaplPerfSource::RaplPerfSource(std::string perf_root, PerfOps ops,
                               const std::set<std::string>& skip_domains)
    : root_(std::move(perf_root)), ops_(std::move(ops)) {
  const fs::path pmu = fs::path(root_) / "power";
  const auto type_text = read_text(pmu / "type");
  if (!type_text) {
    problems_.push_back({"no RAPL 'power' PMU at " + pmu.string() +
                             " (not a RAPL-capable CPU, or a virtual machine that hides RAPL)",
                         "run on bare metal with an Intel or AMD CPU, or point --perf-root / "
                         "GREENBENCH_PERF_ROOT at the perf event_source devices"});
    return;
  }
  const auto type = parse_event_config("event=" + *type_text);
  if (!type) {
    problems_.push_back({(pmu / "type").string() + ": not a PMU type: '" + *type_text + "'",
                         "check the perf tree, or use --perf-root"});
    return;
  }
  std::vector<int> cpus;
  try {
    const auto mask = read_text(pmu / "cpumask");
    cpus = parse_cpu_list(mask.value_or(""), (pmu / "cpumask").string());
  } catch (const Error& e) {
    problems_.push_back({e.what(), "check the perf tree, or use --perf-root"});
    return;
  }

  bool permission_reported = false;
  for (const auto& [event, domain] : kEvents) {
    if (skip_domains.count(domain) != 0) continue;
    const fs::path base = pmu / "events" / event;
    const auto config_text = read_text(base);
    if (!config_text) continue;  // this CPU has no such domain
    const auto config = parse_event_config(*config_text);
    const auto scale_text = read_text(base.string() + ".scale");
    const auto unit = read_text(base.string() + ".unit");
    const double scale = scale_text ? std::strtod(scale_text->c_str(), nullptr) : 0;
    if (!config || !(scale > 0) || unit != "Joules") {
      problems_.push_back({base.string() + ": unexpected event description (config '" +
                               config_text.value_or("") + "', scale '" + scale_text.value_or("") +
                               "', unit '" + unit.value_or("") +
                               "'; expected event=0x.., a "
                               "positive scale and Joules)",
                           "check the perf tree, or use --perf-root"});
      continue;
    }
    for (std::size_t socket = 0; socket < cpus.size(); ++socket) {
      // psys is one platform-wide counter; the kernel accepts it on the first CPU only.
      if (std::string(domain) == "psys" && socket > 0) break;
      const int fd = ops_.open(static_cast<uint32_t>(*type), *config, cpus[socket]);
      if (fd < 0) {
        const int err = -fd;
        if (err == EACCES || err == EPERM) {
          if (!permission_reported) {
            const std::string paranoid = ops_.paranoid ? ops_.paranoid() : "";
            problems_.push_back(
                {std::string("perf_event_open(power/") + event + ", cpu " +
                     std::to_string(cpus[socket]) + ") was refused (" + std::strerror(err) +
                     "): system-wide perf events need kernel.perf_event_paranoid <= 0" +
                     (paranoid.empty() ? "" : " (it is " + paranoid + ")") + " or CAP_PERFMON",
                 "'sudo sysctl kernel.perf_event_paranoid=0' (until reboot), or grant the "
                 "capability: 'sudo setcap cap_perfmon+ep $(command -v greenbench)'"});
            permission_reported = true;
          }
        } else {
          problems_.push_back({std::string("perf_event_open(power/") + event + ", cpu " +
                                   std::to_string(cpus[socket]) + ") failed: " + std::strerror(err),
                               "check that the CPU supports this RAPL domain"});
        }
        continue;
      }
      DomainInfo info;
      info.domain = domain;
      info.device = static_cast<int>(socket);
      info.id = info.domain == "psys" ? "psys" : info.domain + ":" + std::to_string(socket);
      info.kind = DomainKind::kCounter;
      info.quality = Quality::kMeasured;
      info.range_j = 0;  // perf accumulates the 32-bit hardware counter into 64 bits
      info.max_power_w = kFallbackMaxPowerW;
      info.resolution_j = scale;  // joules per count, from the event's .scale file
      info.update_interval_s = kRaplUpdateS;
      domains_.push_back(std::move(info));
      fds_.push_back(fd);
      scale_j_.push_back(scale);
    }
  }
  if (domains_.empty() && problems_.empty()) {
    problems_.push_back({"the 'power' PMU at " + pmu.string() + " lists no energy events" +
                             (skip_domains.empty() ? "" : " that another source does not read"),
                         "this CPU exposes no RAPL domains through perf"});
  }
}

RaplPerfSource::~RaplPerfSource() {
  for (const int fd : fds_) ops_.close(fd);
}

std::vector<double> RaplPerfSource::read() {
  std::vector<double> values(fds_.size());
  for (std::size_t i = 0; i < fds_.size(); ++i) {
    uint64_t count = 0;
    if (!ops_.read(fds_[i], &count)) {
      throw Error("rapl-perf: cannot read the perf event of " + domains_[i].id + ": " +
                  std::strerror(errno));
    }
    values[i] = static_cast<double>(count) * scale_j_[i];
  }
  return values;
}

}  // namespace greenbench::energy
