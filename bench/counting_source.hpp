#pragma once
// Shared by the benchmarks of the meter and of the marker lines.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "greenbench/energy.hpp"

// A source that returns fixed, slowly rising counters: isolates the meter from I/O.
class CountingSource : public greenbench::EnergySource {
 public:
  explicit CountingSource(int domains) {
    for (int i = 0; i < domains; ++i) {
      greenbench::DomainInfo d;
      d.domain = i % 2 == 0 ? "cpu_package" : "dram";
      d.device = i / 2;
      d.id = d.domain + ":" + std::to_string(d.device);
      d.range_j = 262143.328850;
      domains_.push_back(d);
    }
    values_.assign(domains_.size(), 0);
  }
  [[nodiscard]] std::string name() const override { return "counting"; }
  [[nodiscard]] const std::vector<greenbench::DomainInfo>& domains() const override {
    return domains_;
  }
  std::vector<double> read() override {
    for (auto& v : values_) v += 0.5;
    return values_;
  }

 private:
  std::vector<greenbench::DomainInfo> domains_;
  std::vector<double> values_;
};

/// A powercap tree (package-0 and its dram zone, as the kernel lays them out) in a temporary
/// folder, removed at scope exit.
class FakePowercapTree {
 public:
  explicit FakePowercapTree(const std::string& tag)
      : root_(std::filesystem::temp_directory_path() /
              ("gb-bench-" + tag + "-" + std::to_string(getpid()))) {
    zone(root_ / "intel-rapl:0", "package-0", "123456789012");
    zone(root_ / "intel-rapl:0" / "intel-rapl:0:2", "dram", "23456789012");
    std::filesystem::create_directory_symlink(root_ / "intel-rapl:0" / "intel-rapl:0:2",
                                              root_ / "intel-rapl:0:2");
  }
  ~FakePowercapTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  FakePowercapTree(const FakePowercapTree&) = delete;
  FakePowercapTree& operator=(const FakePowercapTree&) = delete;
  [[nodiscard]] std::string root() const { return root_.string(); }

 private:
  static void zone(const std::filesystem::path& dir, const char* name, const char* uj) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "name") << name << "\n";
    std::ofstream(dir / "energy_uj") << uj << "\n";
    std::ofstream(dir / "max_energy_range_uj") << "262143328850\n";
  }
  std::filesystem::path root_;
};
