// run --slurm, and the two commands Slurm runs for it: slurm-task and slurm-merge.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "greenbench/error.hpp"
#include "greenbench/report.hpp"
#include "greenbench/slurm.hpp"
#include "greenbench/store.hpp"

namespace greenbench::cli {

namespace {

std::atomic<bool> g_slurm_stop{false};

void request_slurm_stop(int /*sig*/) { g_slurm_stop.store(true); }

void catch_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = request_slurm_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string self_exe() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("/proc/self/exe: cannot find this program: " + ec.message());
  return exe.string();
}

}  // namespace

int run_slurm(const EffectiveSettings& effective, const SlurmCliRequest& request) {
  catch_stop_signals();
  SlurmRunOptions o;
  o.out_dir = request.out_dir;
  o.study_file = request.study_file;
  o.overrides = request.overrides;
  o.resume = request.resume;
  o.wait = request.wait;
  o.greenbench_exe = self_exe();
  o.progress = &std::cerr;
  o.progress_in_place = isatty(STDERR_FILENO) != 0;
  o.stop = &g_slurm_stop;
  const SlurmOutcome outcome = run_study_slurm(effective, o);
  const std::string& resume_hint = request.resume_hint;
  if (outcome.job_id.empty()) {
    std::cerr << "results in " << outcome.store_file << "\n";
  } else if (outcome.interrupted || !request.wait) {
    std::cerr << (outcome.interrupted ? "stopped waiting; " : "") << "job array " << outcome.job_id
              << " goes on without this command. Follow it with\n  squeue -r -j " << outcome.job_id
              << "\nand merge what finished (resubmitting what failed) with\n  " << resume_hint
              << "\n";
    return outcome.interrupted ? 130 : 0;
  } else {
    std::cerr << outcome.ok << " ok, " << outcome.failed << " failed";
    if (outcome.already_stored > 0)
      std::cerr << " (" << outcome.already_stored << " stored before)";
    std::cerr << "; results in " << outcome.store_file << "\n";
    if (outcome.overhead_median_s >= 0) {
      std::fprintf(stderr,
                   "harness overhead per run (node free or submitted -> task's first marker), "
                   "median: %.2f s\n",
                   outcome.overhead_median_s);
    }
    if (outcome.failed > 0)
      std::cerr << "runs failed; resubmit them with\n  " << resume_hint << "\n";
  }
  const ResultSet results = load_results(request.out_dir);
  ComparisonSet comparison;
  try {
    comparison = compare_results(results);
    print_comparison(comparison, std::cout);
  } catch (const Error& e) {
    std::cerr << "greenbench run: no comparison: " << e.what() << "\n";
  }
  const std::string report_path = (std::filesystem::path(request.out_dir) / "report.html").string();
  std::ofstream html(report_path);
  if (!html) throw Error(report_path + ": cannot write the report");
  write_html_report(results, comparison, load_traces(request.out_dir), html);
  std::cout << "report: " << report_path << "\n";
  return 0;
}

int cmd_slurm_task(const Args& args) {
  if (args.size() != 2) throw Error("usage: greenbench slurm-task DIR SUBMISSION (run by Slurm)");
  catch_stop_signals();
  return run_slurm_task(args[0], std::stoi(args[1]), std::cerr, &g_slurm_stop);
}

int cmd_slurm_merge(const Args& args) {
  if (args.size() != 1) throw Error("usage: greenbench slurm-merge DIR (run by Slurm)");
  const MergeSummary m = settle_slurm_study(args[0]);
  std::cerr << "merged " << m.merged << " shard(s) (" << m.replaced << " replacing failed runs), "
            << m.skipped << " already merged, " << m.failures
            << " run(s) recorded as failed by Slurm\n";
  return 0;
}

}  // namespace greenbench::cli
