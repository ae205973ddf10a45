// RAPL energy counters through the powercap sysfs tree (Intel and AMD, all sockets).
//
// The kernel lays zones out as <root>/intel-rapl:N/{name,energy_uj,max_energy_range_uj} with
// sub-zones nested as intel-rapl:N/intel-rapl:N:M/ and linked again at the top level
// (<root>/intel-rapl:N:M), so zones are deduplicated by their real path. On multi-die parts
// (e.g. Cascade Lake-AP, some AMD EPYC) each die is a zone of its own, named package-X-die-Y,
// with its own sub-zones: the dies of a package are summed into one cpu_package:X (and their
// dram into one dram:X), each die's counter unwrapped on its own.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench::energy {
namespace {

namespace fs = std::filesystem;

// Without a power limit to go by, 500 W bounds every package and DRAM domain sold today; an
// over-estimate only makes the sampler read more often than it must.
constexpr double kFallbackMaxPowerW = 500;

constexpr const char* kPermissionFix =
    "give a group read access with a udev rule instead, e.g. /etc/udev/rules.d/70-powercap.rules: "
    "SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chgrp -R power /sys%p\", "
    "RUN+=\"/bin/chmod -R g+r /sys%p\"; then 'sudo groupadd -f power', 'sudo usermod -aG power "
    "$USER', 'sudo udevadm trigger --subsystem-match=powercap --action=add' and log in again. "
    "Do not make the counters world-readable: that reopens CVE-2020-8694";

int system_open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

std::optional<std::string> read_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::optional<unsigned long long> parse_u64(const std::string& text) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0) return std::nullopt;
  while (*end == '\n' || *end == ' ') ++end;
  if (*end != '\0') return std::nullopt;
  return value;
}

// A RAPL zone directory: intel-rapl:0, intel-rapl:0:1, amd-rapl:0, intel-rapl-mmio:0 ...
const std::regex& zone_pattern() {
  static const std::regex pattern("^(intel|amd)-rapl(-mmio)?(:[0-9]+)+$");
  return pattern;
}

bool is_mmio(const fs::path& dir) {
  return dir.filename().string().find("-mmio") != std::string::npos;
}

// The zone number N in intel-rapl:N or intel-rapl:N:M.
int zone_socket_from_dirname(const fs::path& dir) {
  const std::string name = dir.filename().string();
  const auto colon = name.find(':');
  return colon == std::string::npos ? 0 : std::atoi(name.c_str() + colon + 1);
}

// "package-1" -> 1; also accepts "package-1-die-0" (a die is summed into its package).
std::optional<int> package_index(const std::string& zone_name) {
  static const std::regex pattern("^package-([0-9]+)(-die-[0-9]+)?$");
  std::smatch m;
  if (!std::regex_match(zone_name, m, pattern)) return std::nullopt;
  return std::stoi(m[1].str());
}

int domain_order(const std::string& domain) {
  static const char* const kOrder[] = {"cpu_package", "cpu_core", "cpu_uncore", "dram", "psys"};
  for (int i = 0; i < 5; ++i) {
    if (domain == kOrder[i]) return i;
  }
  return 5;
}

double max_power_w(const fs::path& dir) {
  // constraint_*_max_power_uw is the highest limit the zone accepts; the current limits may be
  // higher on some parts, so take the largest of both kinds.
  double best_uw = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("constraint_", 0) != 0) continue;
    if (!file.ends_with("_max_power_uw") && !file.ends_with("_power_limit_uw")) continue;
    if (const auto line = read_line(entry.path())) {
      if (const auto uw = parse_u64(*line)) best_uw = std::max(best_uw, static_cast<double>(*uw));
    }
  }
  return best_uw > 0 ? best_uw / 1e6 : kFallbackMaxPowerW;
}

struct Zone {
  fs::path dir;  // canonical
  DomainInfo info;
  bool mmio = false;
};

}  // namespace

std::optional<Problem> rapl_access_problem(const std::string& path, int open_errno, mode_t mode,
                                           uid_t euid) {
  if (open_errno == 0) return std::nullopt;
  if (open_errno == EACCES || open_errno == EPERM) {
    if (euid == 0) {
      return Problem{path + " cannot be opened even as root (" + std::strerror(open_errno) +
                         "): a container or security module hides the RAPL counters",
                     "run on the host, or give the container read access to /sys/class/powercap"};
    }
    if ((mode & (S_IRGRP | S_IROTH)) == 0) {
      return Problem{
          "RAPL energy counters are readable by root only since Linux 5.10 "
          "(CVE-2020-8694): " +
              path + " has mode " +
              [&] {
                char buf[8];
                std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
                return std::string(buf);
              }(),
          kPermissionFix};
    }
    return Problem{path + ": permission denied (is the user in the group that owns it?)",
                   kPermissionFix};
  }
  if (open_errno == ENOENT) {
    return Problem{
        path + " does not exist (a dangling link, or a zone without an energy counter)",
        "load the RAPL driver ('sudo modprobe intel_rapl_msr' on Intel and AMD), or point "
        "--powercap-root / GREENBENCH_POWERCAP_ROOT at the powercap tree"};
  }
  return Problem{path + ": " + std::strerror(open_errno),
                 "check that the powercap tree is intact, or use --powercap-root"};
}

RaplPowercapSource::RaplPowercapSource() : RaplPowercapSource("/sys/class/powercap") {}

RaplPowercapSource::RaplPowercapSource(std::string root, OpenFn open) : root_(std::move(root)) {
  if (!open) open = system_open;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) {
    problems_.push_back({"no powercap tree at " + root_ +
                             " (the kernel exposes none: not a RAPL-capable CPU, or a virtual "
                             "machine that hides RAPL)",
                         "run on bare metal with an Intel or AMD CPU and the intel_rapl_msr "
                         "module loaded, or point --powercap-root at the powercap tree"});
    return;
  }

  // Candidate zone directories: top-level entries and the sub-zones nested inside them.
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    if (!std::regex_match(entry.path().filename().string(), zone_pattern())) continue;
    candidates.push_back(entry.path());
    std::error_code sub_ec;
    for (const auto& sub : fs::directory_iterator(entry.path(), sub_ec)) {
      if (std::regex_match(sub.path().filename().string(), zone_pattern())) {
        candidates.push_back(sub.path());
      }
    }
  }
  std::sort(candidates.begin(), candidates.end());

  std::set<fs::path> seen;
  std::vector<Zone> zones;
  for (const auto& dir : candidates) {
    std::error_code canon_ec;
    const fs::path real = fs::canonical(dir, canon_ec);
    if (canon_ec) continue;  // a dangling top-level link: its target is listed, or absent
    if (!seen.insert(real).second) continue;
    const auto zone_name = read_line(real / "name");
    if (!zone_name) continue;

    Zone zone{real, {}, is_mmio(real)};
    DomainInfo& info = zone.info;
    if (const auto pkg = package_index(*zone_name)) {
      info.domain = "cpu_package";
      info.device = *pkg;
    } else if (*zone_name == "psys") {
      info.domain = "psys";
    } else if (*zone_name == "core" || *zone_name == "uncore" || *zone_name == "dram") {
      info.domain = *zone_name == "dram" ? "dram" : "cpu_" + *zone_name;
      // A sub-zone belongs to the socket of the package zone it is nested in.
      const fs::path parent = real.parent_path();
      const auto parent_name = read_line(parent / "name");
      const auto pkg = parent_name ? package_index(*parent_name) : std::nullopt;
      info.device = pkg ? *pkg : zone_socket_from_dirname(parent);
    } else {
      continue;  // a zone we do not know how to place (would risk double counting)
    }
    info.id = info.domain == "psys" ? "psys" : info.domain + ":" + std::to_string(info.device);
    info.kind = DomainKind::kCounter;
    info.quality = Quality::kMeasured;
    info.max_power_w = max_power_w(real);
    // powercap reports microjoules (the hardware unit behind, ~61 µJ, is not exposed); the
    // counters are updated about every millisecond.
    info.resolution_j = 61e-6;
    info.update_interval_s = 1e-3;
    zones.push_back(std::move(zone));
  }

  // MMIO zones repeat what the MSR interface already reports; keep them only where it does not.
  // MSR zones with the same id are the dies of one package (or their dram): summed.
  std::set<std::string> msr_ids;
  for (const auto& zone : zones) {
    if (!zone.mmio) msr_ids.insert(zone.info.id);
  }
  std::vector<std::vector<Zone>> groups;  // one per domain id
  std::map<std::string, std::size_t> group_of;
  for (auto& zone : zones) {
    if (zone.mmio && msr_ids.count(zone.info.id)) continue;
    const auto [it, inserted] = group_of.emplace(zone.info.id, groups.size());
    if (inserted) {
      groups.emplace_back();
    } else if (zone.mmio) {
      continue;  // a second MMIO zone of the same id would be the same counter again
    }
    groups[it->second].push_back(std::move(zone));
  }
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    const int oa = domain_order(a.front().info.domain);
    const int ob = domain_order(b.front().info.domain);
    return oa != ob ? oa < ob : a.front().info.device < b.front().info.device;
  });

  for (auto& group : groups) {
    DomainInfo info = group.front().info;
    std::vector<Counter> counters;
    bool readable = true;
    for (auto& zone : group) {
      const std::string energy_path = (zone.dir / "energy_uj").string();
      const int fd = open(energy_path);
      if (fd < 0) {
        struct stat st {};
        const mode_t mode = ::stat(energy_path.c_str(), &st) == 0 ? st.st_mode : 0;
        problems_.push_back(*rapl_access_problem(energy_path, -fd, mode, ::geteuid()));
        readable = false;
        break;
      }
      counters.push_back({fd, energy_path, 0, 0});
      const auto range_line = read_line(zone.dir / "max_energy_range_uj");
      const auto range_uj = range_line ? parse_u64(*range_line) : std::nullopt;
      if (!range_uj || *range_uj == 0) {
        problems_.push_back({(zone.dir / "max_energy_range_uj").string() +
                                 " is missing or not a positive integer: without the counter's "
                                 "range a wrap cannot be told from a reset",
                             "check the powercap tree, or use --powercap-root"});
        readable = false;
        break;
      }
      // Check once that the counter parses, so a broken zone is reported here and not mid-run.
      char buf[32];
      const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      buf[n > 0 ? n : 0] = '\0';
      if (n <= 0 || !parse_u64(buf)) {
        problems_.push_back({energy_path + ": not an energy counter in microjoules: '" +
                                 std::string(buf, n > 0 ? std::strcspn(buf, "\n") : 0) + "'",
                             "check the powercap tree, or use --powercap-root"});
        readable = false;
        break;
      }
      const double range_j = static_cast<double>(*range_uj) / 1e6;
      counters.back().range_j = range_j;
      // The sampler must read before the fastest-wrapping die wraps twice.
      info.range_j = info.range_j > 0 ? std::min(info.range_j, range_j) : range_j;
      info.max_power_w = std::max(info.max_power_w, zone.info.max_power_w);
    }
    if (!readable) {
      // Half a package is not the package: leave the whole domain out.
      for (const auto& c : counters) ::close(c.fd);
      continue;
    }
    domains_.push_back(info);
    counters_.push_back(std::move(counters));
  }
  sums_.assign(domains_.size(), -1);
  if (domains_.empty() && problems_.empty()) {
    problems_.push_back({"no RAPL zones under " + root_,
                         "load the RAPL driver ('sudo modprobe intel_rapl_msr'), or point "
                         "--powercap-root / GREENBENCH_POWERCAP_ROOT at the powercap tree"});
  }
}

RaplPowercapSource::~RaplPowercapSource() {
  for (const auto& counters : counters_) {
    for (const auto& c : counters) ::close(c.fd);
  }
}

std::vector<double> RaplPowercapSource::read() {
  std::vector<double> values(counters_.size());
  char buf[32];
  for (std::size_t i = 0; i < counters_.size(); ++i) {
    auto& counters = counters_[i];
    for (auto& c : counters) {
      // sysfs regenerates a file on every read at offset 0, so the descriptor stays open.
      const ssize_t n = ::pread(c.fd, buf, sizeof buf - 1, 0);
      if (n <= 0) {
        throw Error(c.path + ": cannot read the energy counter: " +
                    (n < 0 ? std::strerror(errno) : "empty file"));
      }
      buf[n] = '\0';
      const auto uj = parse_u64(buf);
      if (!uj) throw Error(c.path + ": not an energy counter in microjoules: '" + buf + "'");
      c.raw_j = static_cast<double>(*uj) / 1e6;
    }
    if (counters.size() == 1) {
      values[i] = counters[0].raw_j;  // the raw counter: the meter unwraps it
      continue;
    }
    // Several dies: unwrap each here and return their running sum, which never wraps.
    if (sums_[i] < 0) {
      sums_[i] = 0;
      for (auto& c : counters) sums_[i] += c.raw_j;
    } else {
      for (auto& c : counters) sums_[i] += counter_delta_j(c.last_j, c.raw_j, c.range_j);
    }
    for (auto& c : counters) c.last_j = c.raw_j;
    values[i] = sums_[i];
  }
  return values;
}

}  // namespace greenbench::energy
