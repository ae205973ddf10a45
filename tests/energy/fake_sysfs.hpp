#pragma once
// Fake sysfs trees for the energy tests, laid out as the kernel lays out powercap and perf.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace greenbench::testing {

/// A temporary directory, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "greenbench-energy-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Writes `text` into `path` in place (same inode, as the kernel updates a sysfs file),
/// creating parent directories.
inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

/// Adds a RAPL zone `dir` (relative to root) with a name, counter and range.
inline void add_zone(const std::filesystem::path& root, const std::string& dir,
                     const std::string& name, unsigned long long energy_uj,
                     unsigned long long range_uj = 262143328850ULL) {
  write_file(root / dir / "name", name + "\n");
  write_file(root / dir / "energy_uj", std::to_string(energy_uj) + "\n");
  write_file(root / dir / "max_energy_range_uj", std::to_string(range_uj) + "\n");
}

/// Adds a sub-zone nested in its package zone and linked at the top level, as the kernel does.
inline void add_subzone(const std::filesystem::path& root, const std::string& parent,
                        const std::string& dir, const std::string& name,
                        unsigned long long energy_uj) {
  add_zone(root, parent + "/" + dir, name, energy_uj, 65712999613ULL);
  std::filesystem::create_directory_symlink(parent + "/" + dir, root / dir);
}

/// Two sockets with core, uncore (socket 0 only) and dram sub-zones, plus psys, an MMIO zone
/// that repeats package-0, and the control-type directory that has no counter.
inline void make_two_socket_powercap(const std::filesystem::path& root) {
  write_file(root / "intel-rapl" / "enabled", "1\n");
  add_zone(root, "intel-rapl:0", "package-0", 1000000);
  write_file(root / "intel-rapl:0" / "constraint_0_max_power_uw", "165000000\n");
  write_file(root / "intel-rapl:0" / "constraint_1_max_power_uw", "0\n");
  add_subzone(root, "intel-rapl:0", "intel-rapl:0:0", "core", 2000000);
  add_subzone(root, "intel-rapl:0", "intel-rapl:0:1", "uncore", 3000000);
  add_subzone(root, "intel-rapl:0", "intel-rapl:0:2", "dram", 4000000);
  add_zone(root, "intel-rapl:1", "package-1", 5000000);
  add_subzone(root, "intel-rapl:1", "intel-rapl:1:0", "core", 6000000);
  add_subzone(root, "intel-rapl:1", "intel-rapl:1:1", "dram", 7000000);
  add_zone(root, "intel-rapl:2", "psys", 8000000);
  add_zone(root, "intel-rapl-mmio:0", "package-0", 9000000);
}

}  // namespace greenbench::testing
