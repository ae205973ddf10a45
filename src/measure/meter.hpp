#pragma once
// The meter: a set of energy sources read together, turned into cumulative energy per domain.
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "greenbench/energy.hpp"
#include "greenbench/record.hpp"

namespace greenbench::measure {

/// Energy per key ("cpu_package:0", "cpu_package", "total", ...) with the quality of each key.
struct DomainEnergy {
  std::map<std::string, double> energy_j;
  std::map<std::string, std::string> quality;
};

/// Reads all sources in one batch per call and keeps, per domain, the energy since start():
/// counters through counter_delta_j (one wrap at most between reads), power gauges integrated
/// with the trapezoid rule. A source whose read() throws is dropped with a warning naming it, its
/// domains and the time; from its last good reading on, its domains have no value: every energy
/// that spans that time (and every sum containing them, `total` included) is quality `failed`.
class Meter {
 public:
  /// Takes the sources; warnings (dropped sources, duplicate domains) go to `warnings`.
  Meter(std::vector<std::unique_ptr<EnergySource>> sources, std::vector<std::string>* warnings);

  /// Longest read interval at which no counter can wrap twice (range_j / max_power_w, with a
  /// safety factor of 2); 0 when no counter limits it.
  [[nodiscard]] double max_interval_s() const;

  /// Tells every source which process tree to follow.
  void attach(pid_t pid);
  /// First reading at monotonic time t; cumulative energy (re)starts at 0.
  void start(double t);
  /// Reads all sources at time t (>= the previous reading) and accumulates.
  void sample(double t);

  /// Cumulative joules per flat domain since start(), parallel to domains().
  [[nodiscard]] const std::vector<double>& cumulative_j() const { return cumulative_j_; }
  [[nodiscard]] const std::vector<DomainInfo>& domains() const { return domains_; }
  [[nodiscard]] double last_time() const { return last_t_; }
  [[nodiscard]] double start_time() const { return start_t_; }

  /// Per-device ids, per-domain sums and `total` (cpu_package + dram + gpu) of the energy
  /// between two cumulative snapshots, the later one taken at meter time to_t. Domains nothing
  /// provides are absent; a key whose source had failed before to_t has quality "failed" and no
  /// energy.
  [[nodiscard]] DomainEnergy aggregate(const std::vector<double>& from_j,
                                       const std::vector<double>& to_j, double to_t) const;
  /// As above, with the later snapshot taken at the latest reading (last_time()).
  [[nodiscard]] DomainEnergy aggregate(const std::vector<double>& from_j,
                                       const std::vector<double>& to_j) const {
    return aggregate(from_j, to_j, last_t_);
  }
  /// The resolution of each key of `energy` over a span of `seconds` (contract
  /// `energy_resolution_j`): per member domain two reading steps (one at each end), plus the
  /// members' longest update interval × the key's mean power, plus float rounding.
  [[nodiscard]] std::map<std::string, double> resolution(const DomainEnergy& energy,
                                                         double seconds) const;
  /// The keys aggregate() produces, in display order: total, domain sums, device ids.
  [[nodiscard]] const std::vector<std::string>& keys() const { return keys_; }
  /// Average power per key (parallel to keys()) between two snapshots `seconds` apart, written
  /// into `out` without allocating: the per-tick path of the power trace. A key with a member
  /// whose source has failed by now gets NaN (no value), not a frozen 0 W.
  void key_power(const std::vector<double>& from_j, const std::vector<double>& to_j, double seconds,
                 std::vector<double>* out) const;

  /// Whether key i of keys() has a member domain whose value comes from a model.
  [[nodiscard]] bool key_estimated(std::size_t i) const;

  /// The sources in use (dropped ones included), for the record.
  [[nodiscard]] std::vector<SourceRecord> source_records() const;

 private:
  struct Slot {
    std::size_t source = 0;  // index into sources_
    std::size_t index = 0;   // index into that source's read() result
  };
  void read_all(double t);
  void build_keys();

  std::vector<std::unique_ptr<EnergySource>> sources_;
  std::vector<bool> source_alive_;
  std::vector<std::string>* warnings_;
  std::vector<DomainInfo> domains_;
  std::vector<Slot> slots_;
  std::vector<bool> present_;     // per flat domain: its source gave the first reading
  std::vector<double> last_raw_;  // last raw reading per flat domain
  std::vector<double> cumulative_j_;
  std::vector<double> good_until_;  // per flat domain: last good reading of a failed source, or inf
  std::vector<std::string> keys_;
  std::vector<std::vector<std::size_t>> key_members_;  // per key: the flat domains it sums
  std::vector<std::vector<double>> raw_;               // per source: the latest read() result
  double start_t_ = 0;
  double last_t_ = 0;
  bool started_ = false;
};

/// Average power per aggregate key over `seconds`, from two cumulative snapshots.
std::map<std::string, double> average_power(const DomainEnergy& energy, double seconds);

}  // namespace greenbench::measure
