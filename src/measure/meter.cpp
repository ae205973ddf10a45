// Reading the sources as one meter. The cumulative-energy design means a phase's energy is a
// plain difference of two snapshots taken when its markers arrived, whatever happened between.
#include "measure/meter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <set>

#include "greenbench/error.hpp"

namespace greenbench::measure {

namespace {

// The contract domains in display order; anything else a source reports comes after them.
const std::vector<std::string>& domain_order() {
  static const std::vector<std::string> order = {"cpu_package", "cpu_core", "cpu_uncore",
                                                 "dram",        "psys",     "gpu"};
  return order;
}

}  // namespace

Meter::Meter(std::vector<std::unique_ptr<EnergySource>> sources, std::vector<std::string>* warnings)
    : sources_(std::move(sources)), warnings_(warnings) {
  std::set<std::string> seen;
  for (std::size_t s = 0; s < sources_.size(); ++s) {
    if (warnings_ != nullptr) {
      for (const auto& note : sources_[s]->notes()) warnings_->push_back(note);
    }
    const auto& ds = sources_[s]->domains();
    for (std::size_t i = 0; i < ds.size(); ++i) {
      if (!seen.insert(ds[i].id).second) {
        if (warnings_ != nullptr) {
          warnings_->push_back("domain '" + ds[i].id + "' of source '" + sources_[s]->name() +
                               "' is already measured by another source; ignored");
        }
        continue;
      }
      domains_.push_back(ds[i]);
      slots_.push_back({s, i});
    }
  }
  source_alive_.assign(sources_.size(), true);
  raw_.resize(sources_.size());
  last_raw_.assign(domains_.size(), 0);
  cumulative_j_.assign(domains_.size(), 0);
  good_until_.assign(domains_.size(), std::numeric_limits<double>::infinity());

  present_.assign(domains_.size(), true);
  build_keys();
}

void Meter::build_keys() {
  std::vector<std::string> sums;
  for (const auto& d : domain_order()) {
    for (std::size_t k = 0; k < domains_.size(); ++k) {
      const auto& info = domains_[k];
      if (!present_[k]) continue;
      if (info.domain == d) {
        sums.push_back(d);
        break;
      }
    }
  }
  for (std::size_t k = 0; k < domains_.size(); ++k) {
    const auto& info = domains_[k];
    if (!present_[k]) continue;
    if (std::find(sums.begin(), sums.end(), info.domain) == sums.end()) {
      sums.push_back(info.domain);
    }
  }
  bool any_total = false;
  for (std::size_t k = 0; k < domains_.size(); ++k) {
    any_total = any_total || (present_[k] && counts_in_total(domains_[k].domain));
  }
  keys_.clear();
  if (any_total) keys_.push_back("total");
  keys_.insert(keys_.end(), sums.begin(), sums.end());
  for (std::size_t k = 0; k < domains_.size(); ++k) {
    const auto& info = domains_[k];
    if (!present_[k]) continue;
    if (info.id != info.domain) keys_.push_back(info.id);
  }
  key_members_.assign(keys_.size(), {});
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    for (std::size_t k = 0; k < domains_.size(); ++k) {
      if (!present_[k]) continue;
      const DomainInfo& d = domains_[k];
      const bool member = keys_[i] == "total" ? counts_in_total(d.domain)
                                              : (keys_[i] == d.domain || keys_[i] == d.id);
      if (member) key_members_[i].push_back(k);
    }
  }
}

void Meter::key_power(const std::vector<double>& from_j, const std::vector<double>& to_j,
                      double seconds, std::vector<double>* out) const {
  out->assign(keys_.size(), 0.0);
  if (seconds <= 0) return;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    double joules = 0;
    for (std::size_t k : key_members_[i]) {
      joules += std::isinf(good_until_[k]) ? to_j[k] - from_j[k]
                                           : std::numeric_limits<double>::quiet_NaN();
    }
    (*out)[i] = joules / seconds;
  }
}

bool Meter::key_estimated(std::size_t i) const {
  for (std::size_t k : key_members_.at(i)) {
    if (domains_[k].quality == Quality::kEstimated) return true;
  }
  return false;
}

double Meter::max_interval_s() const {
  double limit = 0;
  for (const auto& d : domains_) {
    if (d.kind != DomainKind::kCounter || d.range_j <= 0 || d.max_power_w <= 0) continue;
    const double wrap_s = d.range_j / d.max_power_w / 2;
    if (limit == 0 || wrap_s < limit) limit = wrap_s;
  }
  return limit;
}

void Meter::attach(pid_t pid) {
  for (std::size_t s = 0; s < sources_.size(); ++s) {
    if (!source_alive_[s]) continue;
    try {
      sources_[s]->attach(pid);
    } catch (const std::exception& e) {
      source_alive_[s] = false;
      if (warnings_ != nullptr) {
        warnings_->push_back("source '" + sources_[s]->name() +
                             "' cannot follow the command and is not used: " + e.what());
      }
    }
  }
}

void Meter::read_all(double t) {
  for (std::size_t s = 0; s < sources_.size(); ++s) {
    if (!source_alive_[s]) continue;
    try {
      std::vector<double> values = sources_[s]->read();
      if (values.size() != sources_[s]->domains().size()) {
        throw Error("returned " + std::to_string(values.size()) + " values for " +
                    std::to_string(sources_[s]->domains().size()) + " domains");
      }
      raw_[s] = std::move(values);
    } catch (const std::exception& e) {
      source_alive_[s] = false;
      std::string msg = "source '" + sources_[s]->name() + "' failed";
      if (started_) {
        // Its domains keep no value from the last good reading on: a frozen counter would give
        // later phases 0 J that look measured.
        std::string ids;
        for (std::size_t k = 0; k < slots_.size(); ++k) {
          if (slots_[k].source != s || !present_[k]) continue;
          good_until_[k] = last_t_;
          ids += (ids.empty() ? "" : ", ") + domains_[k].id;
        }
        char when[160];
        std::snprintf(when, sizeof when, " %.3f s into the run (last good reading at %.3f s)",
                      t - start_t_, last_t_ - start_t_);
        msg += when;
        if (!ids.empty()) {
          msg += "; " + ids +
                 " not measured from then on: every phase that spans that time gets quality "
                 "'failed' and no value for them and for the sums that contain them";
        }
      }
      if (warnings_ != nullptr) warnings_->push_back(msg + ": " + e.what());
    }
  }
}

void Meter::start(double t) {
  started_ = false;  // a source failing now is simply not used: it never gave a reading
  read_all(t);
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    const auto& slot = slots_[k];
    present_[k] = source_alive_[slot.source];
    if (present_[k]) last_raw_[k] = raw_[slot.source][slot.index];
    good_until_[k] = std::numeric_limits<double>::infinity();
  }
  build_keys();
  std::fill(cumulative_j_.begin(), cumulative_j_.end(), 0.0);
  start_t_ = last_t_ = t;
  started_ = true;
}

void Meter::sample(double t) {
  if (t < last_t_) t = last_t_;
  const double dt = t - last_t_;
  read_all(t);
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    const auto& slot = slots_[k];
    if (!source_alive_[slot.source]) continue;
    const double now = raw_[slot.source][slot.index];
    const DomainInfo& d = domains_[k];
    if (d.kind == DomainKind::kCounter) {
      cumulative_j_[k] += counter_delta_j(last_raw_[k], now, d.range_j);
    } else {
      cumulative_j_[k] += (last_raw_[k] + now) / 2 * dt;
    }
    last_raw_[k] = now;
  }
  last_t_ = t;
}

DomainEnergy Meter::aggregate(const std::vector<double>& from_j, const std::vector<double>& to_j,
                              double to_t) const {
  DomainEnergy out;
  std::set<std::string> failed;
  auto add = [&out, &failed](const std::string& key, double joules, Quality q, bool lost) {
    if (lost) failed.insert(key);
    out.energy_j[key] += joules;
    auto [it, inserted] = out.quality.emplace(key, to_string(q));
    if (!inserted && q == Quality::kEstimated) it->second = to_string(Quality::kEstimated);
  };
  for (std::size_t k = 0; k < domains_.size(); ++k) {
    if (!present_[k]) continue;
    const DomainInfo& d = domains_[k];
    const double joules = to_j[k] - from_j[k];
    // The source failed before the end of this span: part of the energy was never read.
    const bool lost = to_t > good_until_[k];
    if (d.id != d.domain) add(d.id, joules, d.quality, lost);
    add(d.domain, joules, d.quality, lost);
    if (counts_in_total(d.domain)) add("total", joules, d.quality, lost);
  }
  for (const auto& key : failed) {
    out.energy_j.erase(key);
    out.quality[key] = "failed";
  }
  return out;
}

std::map<std::string, double> Meter::resolution(const DomainEnergy& energy, double seconds) const {
  std::map<std::string, double> out;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const auto it = energy.energy_j.find(keys_[i]);
    if (it == energy.energy_j.end()) continue;  // failed, or not in this span
    double steps = 0, interval = 0;
    for (const std::size_t k : key_members_[i]) {
      if (!present_[k]) continue;
      steps += 2 * domains_[k].resolution_j;
      interval = std::max(interval, domains_[k].update_interval_s);
    }
    const double joules = std::abs(it->second);
    const double power = seconds > 0 ? joules / seconds : 0;
    out[keys_[i]] = steps + interval * power + joules * 4 * std::numeric_limits<double>::epsilon();
  }
  return out;
}

std::vector<SourceRecord> Meter::source_records() const {
  std::vector<SourceRecord> out;
  for (std::size_t s = 0; s < sources_.size(); ++s) {
    SourceRecord r;
    r.name = sources_[s]->name();
    bool estimated = false;
    for (std::size_t k = 0; k < slots_.size(); ++k) {
      if (slots_[k].source != s || !present_[k]) continue;
      r.domains.push_back(domains_[k].id);
      estimated = estimated || domains_[k].quality == Quality::kEstimated;
    }
    if (r.domains.empty()) continue;  // never gave a reading: its failure is in the warnings
    r.quality = to_string(estimated ? Quality::kEstimated : Quality::kMeasured);
    r.parameters = sources_[s]->parameters();
    out.push_back(std::move(r));
  }
  return out;
}

std::map<std::string, double> average_power(const DomainEnergy& energy, double seconds) {
  std::map<std::string, double> out;
  if (seconds <= 0) return out;
  for (const auto& [key, joules] : energy.energy_j) out[key] = joules / seconds;
  return out;
}

}  // namespace greenbench::measure
