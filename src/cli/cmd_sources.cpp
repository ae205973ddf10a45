// greenbench sources: which energy sources this machine has, what they read, and how to enable
// the ones that cannot be read.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.hpp"
#include "cli/source_options.hpp"
#include "core/json_dump.hpp"
#include "energy/diagnosis.hpp"
#include "energy/sources.hpp"
#include "greenbench/energy.hpp"
#include "greenbench/measure.hpp"

namespace greenbench::cli {
namespace {

constexpr const char* kParanoidPath = "/proc/sys/kernel/perf_event_paranoid";

constexpr const char* kHelp =
    "usage: greenbench sources [OPTIONS]\n"
    "\n"
    "Lists the energy sources greenbench tries (RAPL through powercap, RAPL through perf,\n"
    "NVIDIA GPUs through NVML, and the CPU estimate), the domains each can read, why a source\n"
    "cannot be read and how to fix it. The CPU estimate is not a counter: it turns the CPU time\n"
    "of the measured processes into joules with a fixed power model, is used only where no CPU\n"
    "energy counter is readable, and is always marked 'estimated' with that model. Where no\n"
    "counter is readable, it says why in plain words (no RAPL in this machine or VM, counters\n"
    "readable by root only, perf not allowed) and what to do about it.\n"
    "\n"
    "options:\n";

std::string describe(const DomainInfo& d) {
  char text[160];
  if (d.quality == Quality::kEstimated) {
    std::snprintf(text, sizeof text, "estimate from CPU time (not an energy counter)");
  } else if (d.kind == DomainKind::kPower) {
    std::snprintf(text, sizeof text, "power gauge (W, integrated over time)");
  } else if (d.range_j > 0) {
    std::snprintf(text, sizeof text, "energy counter, wraps at %.1f J", d.range_j);
  } else {
    std::snprintf(text, sizeof text, "energy counter");
  }
  std::string out = text;
  if (d.max_power_w > 0) {
    std::snprintf(text, sizeof text, ", at most %.0f W", d.max_power_w);
    out += text;
  }
  if (!counts_in_total(d.domain)) out += ", not in total";
  return out;
}

// How a GPU's energy is read: its counter, or power samples (at the driver's sampling period,
// where NVML tells it, read by greenbench every --interval-ms).
std::string gpu_reading(const energy::NvmlSource* nvml, std::size_t k) {
  const GpuReport report = nvml->report();  // by value: a reference into it must outlive it
  const GpuInfo& g = report.gpus.at(k);
  if (g.energy_counter) return "has an energy counter: its energy is read from it";
  std::string text = "no energy counter: its energy is integrated from power samples, read every " +
                     std::to_string(MeasureOptions{}.interval_ms) + " ms (--interval-ms)";
  if (g.power_sample_interval_s) {
    char rate[96];
    std::snprintf(rate, sizeof rate, "; the driver samples power every %.0f ms (%.0f Hz)",
                  *g.power_sample_interval_s * 1e3, 1 / *g.power_sample_interval_s);
    text += rate;
  } else {
    text += "; the driver's own power-sampling rate is not known";
  }
  return text;
}

}  // namespace

int cmd_sources(const Args& args) {
  SourceOptions options = SourceOptions::from_environment();
  bool json = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kHelp, stdout);
      std::fputs(kSourceOptionsHelp, stdout);
      std::fputs("  --json                    print JSON\n  --help                    this text\n",
                 stdout);
      return 0;
    }
    if (args[i] == "--json") {
      json = true;
      continue;
    }
    if (parse_source_option(args, i, options)) continue;
    std::fprintf(stderr,
                 "greenbench sources: unknown option '%s' (see greenbench sources --help)\n",
                 args[i].c_str());
    return 2;
  }

  std::vector<SourceStatus> statuses;
  const auto sources = detect_sources(options, &statuses);
  std::map<std::string, const EnergySource*> used;
  for (const auto& s : sources) used[s->name()] = s.get();
  bool cpu_measured = false;
  for (const auto& s : sources) {
    for (const auto& d : s->domains()) {
      if (d.quality == Quality::kMeasured && d.domain == "cpu_package") cpu_measured = true;
    }
  }
  const std::vector<energy::CounterDiagnosis> diagnosis =
      cpu_measured ? std::vector<energy::CounterDiagnosis>{}
                   : energy::diagnose_cpu_counters(options.powercap_root, options.perf_root,
                                                   kParanoidPath, ::geteuid());
  const double watts_per_core =
      options.cpu_watts_per_core >= 0 ? options.cpu_watts_per_core : energy::kDefaultWattsPerCore;
  const double idle_watts =
      options.cpu_idle_watts >= 0 ? options.cpu_idle_watts : energy::kDefaultIdleWatts;

  if (json) {
    nlohmann::json out;
    out["options"] = {{"powercap_root", options.powercap_root},
                      {"perf_root", options.perf_root},
                      {"nvml_lib", options.nvml_lib}};
    out["sources"] = nlohmann::json::array();
    for (const auto& st : statuses) {
      nlohmann::json j = {{"name", st.name},       {"readable", st.readable},
                          {"used", st.used},       {"quality", to_string(st.quality)},
                          {"domains", st.domains}, {"reason", st.reason},
                          {"fix", st.fix},         {"parameters", st.parameters}};
      out["sources"].push_back(std::move(j));
    }
    if (const auto it = used.find("nvml"); it != used.end()) {
      out["gpus"] = nlohmann::json::array();
      const GpuReport report = dynamic_cast<const energy::NvmlSource*>(it->second)->report();
      for (const auto& g : report.gpus) {
        nlohmann::json jg = {{"id", g.id}, {"name", g.name}, {"energy_counter", g.energy_counter}};
        if (g.power_sample_interval_s) jg["power_sample_interval_s"] = *g.power_sample_interval_s;
        out["gpus"].push_back(std::move(jg));
      }
    }
    out["cpu_counter_readable"] = cpu_measured;
    out["cpu_counter_diagnosis"] = nlohmann::json::array();
    for (const auto& d : diagnosis) {
      out["cpu_counter_diagnosis"].push_back(
          {{"cause", d.cause}, {"explanation", d.explanation}, {"fix", d.fix}});
    }
    out["cpu_estimate"] = {{"watts_per_core", watts_per_core},
                           {"idle_watts", idle_watts},
                           {"model", energy::cpu_estimate_model_text(watts_per_core, idle_watts)},
                           {"bias", energy::kCpuEstimateBias}};
    std::printf("%s\n", dump_json(out, 2).c_str());
    return 0;
  }

  bool gpu_measured = false;
  std::string using_line;
  for (const auto& st : statuses) {
    std::string state = st.used ? "used" : st.readable ? "readable, not used" : "not readable";
    if (st.readable) state += std::string(", ") + to_string(st.quality);
    std::printf("%-14s %s\n", st.name.c_str(), state.c_str());
    if (const auto it = used.find(st.name); it != used.end()) {
      const auto* nvml = dynamic_cast<const energy::NvmlSource*>(it->second);
      for (std::size_t k = 0; k < it->second->domains().size(); ++k) {
        const DomainInfo& d = it->second->domains()[k];
        std::string text = describe(d);
        if (nvml != nullptr && !nvml->gpu_names()[k].empty())
          text += " (" + nvml->gpu_names()[k] + ")";
        std::printf("    %-16s %s\n", d.id.c_str(), text.c_str());
        if (nvml != nullptr) std::printf("    %-16s %s\n", "", gpu_reading(nvml, k).c_str());
        if (d.domain == "gpu") gpu_measured = true;
      }
      if (!using_line.empty()) using_line += ", ";
      using_line += st.name + " (" + to_string(st.quality) + ")";
    } else if (!st.domains.empty()) {
      std::string ids;
      for (const auto& id : st.domains) ids += (ids.empty() ? "" : " ") + id;
      std::printf("    domains: %s\n", ids.c_str());
    }
    if (!st.parameters.empty()) std::printf("    model: %s\n", st.parameters.c_str());
    if (!st.reason.empty())
      std::printf("    %s: %s\n", st.readable ? "note" : "why", st.reason.c_str());
    if (!st.fix.empty()) std::printf("    fix: %s\n", st.fix.c_str());
  }
  std::printf("\nmeasuring with: %s\n", using_line.empty() ? "nothing" : using_line.c_str());
  if (!cpu_measured) {
    std::printf(
        "No CPU energy counter is readable here: CPU energy is %s.\n",
        used.contains("cpu-estimate") ? "estimated from CPU time, not measured" : "not measured");
    if (!diagnosis.empty()) std::printf("\nWhy there is no CPU energy counter here:\n");
    for (const auto& d : diagnosis) {
      std::printf("  - %s.\n    What you can do: %s.\n", d.explanation.c_str(), d.fix.c_str());
    }
    if (used.contains("cpu-estimate")) {
      std::printf(
          "\nThe CPU estimate is a model, not a measurement:\n  %s\n"
          "  (set the watts with --cpu-watts-per-core and --cpu-idle-watts)\n  Known bias: %s.\n",
          energy::cpu_estimate_model_text(watts_per_core, idle_watts).c_str(),
          energy::kCpuEstimateBias);
    }
  }
  if (!gpu_measured) std::printf("No GPU energy is measured here.\n");
  return 0;
}

}  // namespace greenbench::cli
