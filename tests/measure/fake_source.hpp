#pragma once
// An EnergySource whose readings the test controls: set values directly, or let counters run at
// a fixed power from a time origin (for runs of real commands).
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "greenbench/energy.hpp"
#include "greenbench/error.hpp"

namespace greenbench::testing {

class FakeSource : public EnergySource {
 public:
  FakeSource(std::string name, std::vector<DomainInfo> domains)
      : name_(std::move(name)), domains_(std::move(domains)), values_(domains_.size(), 0) {}

  [[nodiscard]] std::string name() const override { return name_; }
  [[nodiscard]] const std::vector<DomainInfo>& domains() const override { return domains_; }
  std::vector<double> read() override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++reads_;
    if (fail_after_ >= 0 && reads_ > fail_after_) throw Error(name_ + ": fake read failure");
    if (watts_.empty()) return values_;
    // Counters at constant power since `origin_`, wrapped at their range; gauges at that power.
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - origin_).count();
    std::vector<double> out(domains_.size());
    for (std::size_t i = 0; i < domains_.size(); ++i) {
      if (domains_[i].kind == DomainKind::kPower) {
        out[i] = watts_[i];
      } else {
        const double e = watts_[i] * t;
        out[i] = domains_[i].range_j > 0 ? std::fmod(e, domains_[i].range_j) : e;
      }
    }
    return out;
  }
  void attach(pid_t pid) override { *attached_ = pid; }
  [[nodiscard]] std::string parameters() const override { return parameters_; }

  void set(std::vector<double> values) {
    std::lock_guard<std::mutex> lock(mutex_);
    values_ = std::move(values);
  }
  /// Counters run at these watts from now on.
  void run_at(std::vector<double> watts) {
    std::lock_guard<std::mutex> lock(mutex_);
    watts_ = std::move(watts);
    origin_ = std::chrono::steady_clock::now();
  }
  /// read() throws after this many successful reads.
  void fail_after(int reads) { fail_after_ = reads; }

  std::string parameters_;
  /// The pid attach() was given; shared so a test can read it after the source is gone.
  std::shared_ptr<std::atomic<pid_t>> attached_ = std::make_shared<std::atomic<pid_t>>(0);
  int reads() const { return reads_; }

 private:
  std::string name_;
  std::vector<DomainInfo> domains_;
  std::vector<double> values_;
  std::vector<double> watts_;
  std::chrono::steady_clock::time_point origin_;
  std::mutex mutex_;
  std::atomic<int> reads_{0};
  std::atomic<int> fail_after_{-1};
};

inline DomainInfo counter(const std::string& domain, int device, double range_j = 0,
                          Quality q = Quality::kMeasured, double max_power_w = 0) {
  DomainInfo d;
  d.id = domain + ":" + std::to_string(device);
  d.domain = domain;
  d.device = device;
  d.kind = DomainKind::kCounter;
  d.quality = q;
  d.range_j = range_j;
  d.max_power_w = max_power_w;
  return d;
}

inline DomainInfo gauge(const std::string& domain, int device) {
  DomainInfo d = counter(domain, device);
  d.kind = DomainKind::kPower;
  return d;
}

}  // namespace greenbench::testing
