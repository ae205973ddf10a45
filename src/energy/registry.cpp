// Detection of the energy sources a measurement uses, and the small shared helpers.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "energy/sources.hpp"
#include "greenbench/error.hpp"

namespace greenbench {

const char* to_string(Quality q) { return q == Quality::kEstimated ? "estimated" : "measured"; }

bool counts_in_total(const std::string& domain) {
  const std::string name = domain.substr(0, domain.find(':'));
  return name == "cpu_package" || name == "dram" || name == "gpu";
}

SourceOptions SourceOptions::from_environment() {
  SourceOptions options;
  if (const char* v = std::getenv("GREENBENCH_POWERCAP_ROOT"); v != nullptr && *v != '\0') {
    options.powercap_root = v;
  }
  if (const char* v = std::getenv("GREENBENCH_PERF_ROOT"); v != nullptr && *v != '\0') {
    options.perf_root = v;
  }
  if (const char* v = std::getenv("GREENBENCH_NVML_LIB"); v != nullptr && *v != '\0') {
    options.nvml_lib = v;
  }
  return options;
}

namespace {

using energy::Problem;

bool has_cpu_domain(const EnergySource& source) {
  return std::any_of(source.domains().begin(), source.domains().end(),
                     [](const DomainInfo& d) { return d.domain == "cpu_package"; });
}

// Readable means at least one domain; problems with other domains still go into the reason.
SourceStatus status_of(const EnergySource& source, const std::vector<Problem>& problems) {
  SourceStatus status;
  status.name = source.name();
  status.readable = !source.domains().empty();
  for (const auto& d : source.domains()) {
    status.domains.push_back(d.id);
    if (d.quality == Quality::kEstimated) status.quality = Quality::kEstimated;
  }
  for (const auto& note : source.notes()) {
    if (!status.reason.empty()) status.reason += "; ";
    status.reason += note;
  }
  for (const auto& p : problems) {
    if (!status.reason.empty()) status.reason += "; ";
    status.reason += p.reason;
    if (status.fix.find(p.fix) == std::string::npos) {
      if (!status.fix.empty()) status.fix += "; ";
      status.fix += p.fix;
    }
  }
  status.parameters = source.parameters();
  return status;
}

SourceStatus skipped(const char* name, std::string reason) {
  SourceStatus status;
  status.name = name;
  status.reason = std::move(reason);
  return status;
}

}  // namespace

std::vector<std::unique_ptr<EnergySource>> detect_sources(const SourceOptions& options,
                                                          std::vector<SourceStatus>* status) {
  return energy::detect_sources(options, status, energy::PerfOps::system());
}

std::vector<std::unique_ptr<EnergySource>> energy::detect_sources(const SourceOptions& options,
                                                                  std::vector<SourceStatus>* status,
                                                                  const PerfOps& perf_ops) {
  static const std::vector<std::string> kKnown = {energy::kPowercapName, energy::kPerfName,
                                                  energy::kNvmlName, energy::kEstimateName};
  for (const auto& name : options.only) {
    if (std::find(kKnown.begin(), kKnown.end(), name) == kKnown.end()) {
      throw Error("unknown energy source '" + name +
                  "' (known: rapl-powercap, rapl-perf, nvml, cpu-estimate)");
    }
  }
  // A negative value selects the estimate's default; NaN or infinity is a caller's mistake.
  if (!std::isfinite(options.cpu_watts_per_core)) {
    throw Error("cpu_watts_per_core must be a finite number, got " +
                std::to_string(options.cpu_watts_per_core));
  }
  auto wanted = [&](const char* name) {
    return options.only.empty() ||
           std::find(options.only.begin(), options.only.end(), name) != options.only.end();
  };
  const char* kNotSelected = "not selected";

  std::vector<std::unique_ptr<EnergySource>> sources;
  std::vector<SourceStatus> statuses;
  bool cpu_counter = false;

  // RAPL: powercap first; perf for the domains powercap does not read (e.g. a tree with psys
  // only), never for one it reads: both read the same hardware counters, so using both for one
  // domain would count its energy twice.
  std::set<std::string> powercap_domains;
  if (wanted(energy::kPowercapName)) {
    auto source = std::make_unique<energy::RaplPowercapSource>(options.powercap_root);
    statuses.push_back(status_of(*source, source->problems()));
    if (!source->domains().empty()) {
      cpu_counter = has_cpu_domain(*source);
      for (const auto& d : source->domains()) powercap_domains.insert(d.domain);
      statuses.back().used = true;
      sources.push_back(std::move(source));
    }
  } else {
    statuses.push_back(skipped(energy::kPowercapName, kNotSelected));
  }
  static const std::set<std::string> kPerfDomains = {"cpu_package", "cpu_core", "cpu_uncore",
                                                     "dram", "psys"};
  const bool perf_has_more =
      std::any_of(kPerfDomains.begin(), kPerfDomains.end(),
                  [&](const std::string& d) { return powercap_domains.count(d) == 0; });
  if (!wanted(energy::kPerfName)) {
    statuses.push_back(skipped(energy::kPerfName, kNotSelected));
  } else if (!perf_has_more) {
    statuses.push_back(skipped(energy::kPerfName,
                               "not used: rapl-powercap already reads every RAPL domain "
                               "(using both would count them twice)"));
  } else {
    auto source =
        std::make_unique<energy::RaplPerfSource>(options.perf_root, perf_ops, powercap_domains);
    statuses.push_back(status_of(*source, source->problems()));
    if (!powercap_domains.empty()) {
      std::string skipped_list;
      for (const auto& d : powercap_domains) skipped_list += (skipped_list.empty() ? "" : ", ") + d;
      auto& reason = statuses.back().reason;
      reason = (reason.empty() ? "" : reason + "; ") + "not used for " + skipped_list +
               ", which rapl-powercap reads (using both would count them twice)";
    }
    if (!source->domains().empty()) {
      cpu_counter = cpu_counter || has_cpu_domain(*source);
      statuses.back().used = true;
      sources.push_back(std::move(source));
    }
  }

  if (wanted(energy::kNvmlName)) {
    auto source = std::make_unique<energy::NvmlSource>(options.nvml_lib);
    statuses.push_back(status_of(*source, source->problems()));
    if (!source->domains().empty()) {
      statuses.back().used = true;
      sources.push_back(std::move(source));
    }
  } else {
    statuses.push_back(skipped(energy::kNvmlName, kNotSelected));
  }

  if (!wanted(energy::kEstimateName)) {
    statuses.push_back(skipped(energy::kEstimateName, kNotSelected));
  } else {
    auto source = std::make_unique<energy::CpuEstimateSource>(options.cpu_watts_per_core,
                                                              options.cpu_idle_watts);
    SourceStatus s = status_of(*source, {});
    if (cpu_counter) {
      s.reason = "not used: a CPU energy counter is readable";
    } else {
      s.used = true;
      sources.push_back(std::move(source));
    }
    statuses.push_back(std::move(s));
  }
  if (status != nullptr) *status = std::move(statuses);
  return sources;
}

}  // namespace greenbench
