// greenbench: measure and compare what deep-learning frameworks cost.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.hpp"
#include "greenbench/error.hpp"
#include "greenbench/version.hpp"

namespace {

constexpr const char* kUsage = R"(usage: greenbench COMMAND [OPTIONS]

Measures the energy (CPU package, DRAM, GPU), run time and accuracy of deep-learning workloads
and says, with statistics, which framework is cheaper and by how much.

commands:
  sources                 list the energy sources of this machine, and how to enable missing ones
  measure [opts] -- CMD   run CMD, measure its energy per phase, exit with its status
  run [STUDY.toml]        run a study (default: both frameworks x built-in models, tiny scale)
  compare RESULTS         compare frameworks in a results store with rank tests and effect sizes
  report RESULTS          write a self-contained HTML (or Markdown) report of a results store
  import CSV --out DIR    turn long-format measurements taken elsewhere into a results store
  export RESULTS --csv F  write a results store's measured values as long-format CSV
  profile --model M       where a model's time and energy go, op by op, in each framework

Run 'greenbench COMMAND --help' for the options of a command.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace greenbench;
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("greenbench %s (%s)\n", kVersion, kGitRevision);
    return 0;
  }
  const std::string command = argv[1];
  const cli::Args args(argv + 2, argv + argc);
  try {
    if (command == "sources") return cli::cmd_sources(args);
    if (command == "measure") return cli::cmd_measure(args);
    if (command == "run") return cli::cmd_run(args);
    if (command == "compare") return cli::cmd_compare(args);
    if (command == "report") return cli::cmd_report(args);
    if (command == "import") return cli::cmd_import(args);
    if (command == "export") return cli::cmd_export(args);
    if (command == "profile") return cli::cmd_profile(args);
    if (command == "slurm-task") return cli::cmd_slurm_task(args);
    if (command == "slurm-merge") return cli::cmd_slurm_merge(args);
    std::fprintf(stderr, "greenbench: unknown command '%s' (see greenbench --help)\n",
                 printable(command).c_str());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "greenbench %s: %s\n", printable(command).c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "greenbench %s: internal error: %s\n", command.c_str(), e.what());
    return 70;
  }
}
