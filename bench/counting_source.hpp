#pragma once
// Shared by the benchmarks of the meter and of the marker lines.
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
