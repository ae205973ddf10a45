// Parsing of the energy-source options; shared so every command spells them the same way.
#include "cli/source_options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "cli/option_value.hpp"
#include "greenbench/error.hpp"

namespace greenbench::cli {

const char* const kSourceOptionsHelp =
    "  --powercap-root DIR       powercap sysfs tree (default /sys/class/powercap;\n"
    "                            env GREENBENCH_POWERCAP_ROOT)\n"
    "  --perf-root DIR           perf event_source devices (default\n"
    "                            /sys/bus/event_source/devices; env GREENBENCH_PERF_ROOT)\n"
    "  --nvml-lib PATH           NVML library to load (default libnvidia-ml.so.1;\n"
    "                            env GREENBENCH_NVML_LIB)\n"
    "  --cpu-watts-per-core W    CPU estimate: watts per busy core (default 10)\n"
    "  --cpu-idle-watts W        CPU estimate: idle watts added per second (default 0)\n"
    "  --source NAME[,NAME]      use only these sources: rapl-powercap, rapl-perf, nvml,\n"
    "                            cpu-estimate (repeatable)\n";

namespace {

double parse_watts(const std::string& option, const std::string& value) {
  char* end = nullptr;
  errno = 0;
  const double w = std::strtod(value.c_str(), &end);
  if (value.empty() || errno != 0 || *end != '\0' || !std::isfinite(w) || w < 0) {
    throw Error(option + ": expected a non-negative number of watts, got '" + printable(value) +
                "'");
  }
  return w;
}

}  // namespace

bool parse_source_option(const Args& args, std::size_t& i, SourceOptions& options) {
  static const char* const kOptions[] = {"--powercap-root",      "--perf-root",      "--nvml-lib",
                                         "--cpu-watts-per-core", "--cpu-idle-watts", "--source"};
  OptionValue opt(args, i);
  const std::string option = opt.name();
  bool known = false;
  for (const char* o : kOptions) known = known || option == o;
  if (!known) return false;
  const std::string value = opt.value();
  if (option == "--powercap-root") {
    options.powercap_root = value;
  } else if (option == "--perf-root") {
    options.perf_root = value;
  } else if (option == "--nvml-lib") {
    options.nvml_lib = value;
  } else if (option == "--cpu-watts-per-core") {
    options.cpu_watts_per_core = parse_watts(option, value);
  } else if (option == "--cpu-idle-watts") {
    options.cpu_idle_watts = parse_watts(option, value);
  } else {  // --source
    std::stringstream in(value);
    std::string name;
    while (std::getline(in, name, ',')) {
      if (name != "rapl-powercap" && name != "rapl-perf" && name != "nvml" &&
          name != "cpu-estimate") {
        throw Error("--source: unknown source '" + printable(name) +
                    "' (known: rapl-powercap, rapl-perf, nvml, cpu-estimate)");
      }
      options.only.push_back(name);
    }
  }
  return true;
}

void check_requested_sources(const SourceOptions& options) {
  if (options.only.empty()) return;
  std::vector<SourceStatus> statuses;
  detect_sources(options, &statuses);
  for (const auto& name : options.only) {
    for (const auto& s : statuses) {
      if (s.name != name || s.used || s.readable || s.reason.rfind("not used:", 0) == 0) continue;
      std::string line = "--source " + name + ": cannot be read here: " +
                         (s.reason.empty() ? "no domain found" : s.reason);
      if (!s.fix.empty()) line += " (to fix: " + s.fix + ")";
      throw Error(printable(line, 1000));
    }
  }
}

}  // namespace greenbench::cli
