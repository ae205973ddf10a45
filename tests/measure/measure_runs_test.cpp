// `greenbench measure --runs N`: the statistics of repeated runs (summaries, ratios against the
// first command, warnings, exports), the live status line in a pseudo-terminal, and the shell
// quoting of printed commands.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fake_source.hpp"
#include "greenbench/error.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/shell.hpp"
#include "measure/repeat.hpp"
#include "measure/run.hpp"

namespace greenbench::measure {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// --- shell quoting -------------------------------------------------------------------------

TEST(ShellQuote, WordsReadBackByAShell) {
  EXPECT_EQ(shell_quote("sh"), "sh");
  EXPECT_EQ(shell_quote("exit 3"), "'exit 3'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("a\\b"), "'a\\b'");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_quote("--json=x.json"), "--json=x.json");
  EXPECT_EQ(shell_quote("a\nb"), "$'a\\nb'");
  EXPECT_EQ(shell_quote("\x1b[31m'"), "$'\\x1b[31m\\''");
  EXPECT_EQ(shell_quote("caf\xc3\xa9"), "'caf\xc3\xa9'");
  EXPECT_EQ(shell_quote("\xff"), "$'\\xff'");
  EXPECT_EQ(shell_join({"sh", "-c", "exit 3"}), "sh -c 'exit 3'");
}

TEST(ShellQuote, BashReadsEveryQuotedWordBackAsItWas) {
  if (std::system("command -v bash >/dev/null 2>&1") != 0) GTEST_SKIP() << "no bash";
  const std::vector<std::string> words = {"plain",
                                          "two words",
                                          "it's",
                                          "a\\b\\'c",
                                          "tab\there",
                                          "new\nline",
                                          "esc\x1b",
                                          "\xff\xfe",
                                          "caf\xc3\xa9",
                                          "$x `y` \"z\"",
                                          "*?[",
                                          "~",
                                          "\xe2\x80\xae"
                                          "rtl"};
  for (const auto& w : words) {
    // printf '%s' WORD | od: compare the bytes bash passes on with the original.
    const std::string cmd = "bash -c " + shell_quote("printf '%s' " + shell_quote(w)) + " > " +
                            "/tmp/gb-shell-quote-test.out";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << w;
    std::ifstream in("/tmp/gb-shell-quote-test.out", std::ios::binary);
    const std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(back, w) << shell_quote(w);
    EXPECT_FALSE(has_control_character(shell_quote(w))) << shell_quote(w);
  }
  std::remove("/tmp/gb-shell-quote-test.out");
}

// --- statistics of repeated runs ----------------------------------------------------------------

PhaseRecord phase(const std::string& name, double duration_s, double joules, bool estimated,
                  double resolution_j = 0) {
  PhaseRecord p;
  p.name = name;
  p.duration_s = duration_s;
  p.end_s = duration_s;
  const std::string q = estimated ? "estimated" : "measured";
  for (const char* key : {"total", "cpu_package", "cpu_package:0"}) {
    p.energy_j[key] = joules;
    p.quality[key] = q;
    if (resolution_j > 0) p.energy_resolution_j[key] = resolution_j;
  }
  return p;
}

RepeatedRun make_run(std::size_t command, int run, double seconds, double joules,
                     bool estimated = false, int exit_code = 0) {
  RepeatedRun r;
  r.command = command;
  r.run = run;
  r.record.exit_code = exit_code;
  r.record.duration_s = seconds;
  r.record.phases.push_back(phase("run", seconds, joules, estimated, 0.01));
  classify(&r, "");
  return r;
}

TEST(RepeatSummary, DescribesEachQuantityOfTheSuccessfulRuns) {
  std::vector<RepeatedRun> runs;
  const double seconds[] = {1.0, 1.2, 1.1, 0.9, 1.3};
  for (int i = 0; i < 5; ++i) runs.push_back(make_run(0, i + 1, seconds[i], 10 * seconds[i]));
  runs.push_back(make_run(0, 6, 50, 500, false, 1));  // failed: not in the statistics
  RepeatedRun warm = make_run(0, 1, 40, 400);
  warm.warmup = true;  // not counted
  runs.push_back(warm);
  const auto s = summarise(runs, {{"a"}});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].measured, 6);
  EXPECT_EQ(s[0].ok, 5);
  ASSERT_EQ(s[0].quantities.size(), 3u);  // duration, energy_total, energy_cpu_package
  const auto& d = s[0].quantities[0];
  EXPECT_EQ(d.quantity, "duration");
  EXPECT_EQ(d.unit, "s");
  EXPECT_EQ(d.summary.n, 5u);
  EXPECT_NEAR(d.summary.mean, 1.1, 1e-12);
  EXPECT_NEAR(d.summary.median, 1.1, 1e-12);
  EXPECT_NEAR(d.summary.sd, std::sqrt(0.025), 1e-12);
  EXPECT_DOUBLE_EQ(d.summary.min, 0.9);
  EXPECT_DOUBLE_EQ(d.summary.max, 1.3);
  EXPECT_EQ(s[0].quantities[1].quantity, "energy_total");
  EXPECT_NEAR(s[0].quantities[1].summary.mean, 11, 1e-12);
  EXPECT_DOUBLE_EQ(s[0].quantities[1].resolution, 0.01);
  EXPECT_EQ(runs[5].status, "failed");
  EXPECT_EQ(runs[5].reason, "exit status 1");
}

TEST(RepeatSummary, APhaseMarkedTwiceInARunCountsOnceSummedAndMetricsKeepTheirPhase) {
  RepeatedRun r = make_run(0, 1, 3, 30);
  r.record.phases.push_back(phase("epoch", 1, 10, false));
  r.record.phases.push_back(phase("epoch", 1.5, 12, false));
  r.record.metrics.push_back({"loss", 0.9, "", "epoch"});
  r.record.metrics.push_back({"loss", 0.5, "", "epoch"});
  r.record.metrics.push_back({"accuracy", 0.7, "%", "run"});
  const auto s = summarise({r}, {{"a"}});
  std::map<std::pair<std::string, std::string>, double> got;
  for (const auto& q : s[0].quantities) got[{q.phase, q.quantity}] = q.summary.median;
  EXPECT_DOUBLE_EQ((got[{"epoch", "duration"}]), 2.5);
  EXPECT_DOUBLE_EQ((got[{"epoch", "energy_total"}]), 22);
  EXPECT_DOUBLE_EQ((got[{"epoch", "loss"}]), 0.5);
  EXPECT_DOUBLE_EQ((got[{"run", "accuracy"}]), 0.7);
  EXPECT_EQ(got.count({"run", "loss"}), 0u);
  EXPECT_EQ(s[0].quantities[0].phase, "run");
}

std::vector<RepeatedRun> two_commands(double factor, int n = 5, bool estimated = false) {
  std::vector<RepeatedRun> runs;
  for (int i = 0; i < n; ++i) {
    const double base = 1.0 + 0.01 * i;
    runs.push_back(make_run(0, i + 1, base, 10 * base, estimated));
    runs.push_back(make_run(1, i + 1, factor * base, 10 * factor * base, estimated));
  }
  return runs;
}

TEST(RepeatRatios, ASeparatedSecondCommandIsSlowerWithTheCompareStatistics) {
  const auto s = summarise(two_commands(2.0), {{"a"}, {"b"}});
  const auto r = ratios_to_first(s);
  ASSERT_EQ(r.size(), 2u);  // duration and energy_total; cpu_package is part of the total
  EXPECT_EQ(r[0].quantity, "duration");
  EXPECT_EQ(r[1].quantity, "energy_total");
  EXPECT_EQ(r[0].command, 1u);
  EXPECT_NEAR(r[0].stats.hl_ratio, 2.0, 1e-9);
  EXPECT_LE(r[0].stats.hl_ci_low, 2.0);
  EXPECT_GE(r[0].stats.hl_ci_high, 2.0);
  // Complete separation at 5 vs 5: exact p = 2 / C(10, 5); Holm over the family of 2.
  EXPECT_NEAR(r[0].stats.p_value, 2.0 / 252, 1e-12);
  EXPECT_NEAR(r[0].stats.p_holm, 4.0 / 252, 1e-12);
  EXPECT_DOUBLE_EQ(r[0].stats.a12, 1.0);
  EXPECT_EQ(r[0].verdict, "higher");
  const std::string text = summary_text(s, r, 0);
  EXPECT_THAT(text, HasSubstr("command 2 took 2.00× ["));
  EXPECT_THAT(text, HasSubstr("the time of command 1 — p_holm 0.0159 (exact), Â12 1.00 large: "
                              "slower"));
  // A faster command reads as such.
  const auto faster = ratios_to_first(summarise(two_commands(0.5), {{"a"}, {"b"}}));
  EXPECT_EQ(faster[0].verdict, "lower");
}

TEST(RepeatRatios, EqualCommandsAreNotSignificantAndTinyDifferencesWithinResolution) {
  const auto same = ratios_to_first(summarise(two_commands(1.0), {{"a"}, {"b"}}));
  EXPECT_EQ(same[0].verdict, "not_significant");
  // 0.09 % apart: the energy medians differ by ~0.009 J, below the 0.01 J resolution.
  const auto tiny = ratios_to_first(summarise(two_commands(1.0009), {{"a"}, {"b"}}));
  EXPECT_EQ(tiny[1].quantity, "energy_total");
  EXPECT_EQ(tiny[1].verdict, "within_resolution");
}

TEST(RepeatRatios, EstimatedEnergyStaysLabelledInEveryOutput) {
  const auto runs = two_commands(2.0, 5, true);
  const auto s = summarise(runs, {{"a"}, {"b"}});
  const auto r = ratios_to_first(s);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_FALSE(r[0].estimated);  // duration is measured
  EXPECT_TRUE(r[1].estimated);
  const std::string text = summary_text(s, r, 0);
  EXPECT_THAT(text, HasSubstr("energy total (est.)"));
  EXPECT_THAT(text, HasSubstr("the energy of command 1 (est.)"));
  const json j = repeat_json(json::object(), runs, s, r, {});
  EXPECT_TRUE(j["commands"][0]["summary"][1]["estimated"].get<bool>());
  EXPECT_TRUE(j["comparisons"][1]["estimated"].get<bool>());
  const std::string csv = repeat_csv(runs, {{"a"}, {"b"}});
  EXPECT_THAT(csv, HasSubstr("1,a,1,ok,run,energy_total,10,J,true,0.01\n"));
  EXPECT_THAT(csv, HasSubstr("1,a,1,ok,run,duration,1,s,false,\n"));
  EXPECT_THAT(repeat_markdown(s, r, 0), HasSubstr("energy total (est.)"));
}

TEST(RepeatExports, JsonHoldsEveryRunSummaryAndComparison) {
  auto runs = two_commands(2.0);
  runs.push_back(make_run(1, 6, 9, 90, false, 3));
  const auto s = summarise(runs, {{"a"}, {"sh", "-c", "exit 3"}});
  const auto r = ratios_to_first(s);
  const json j = repeat_json({{"runs", 6}}, runs, s, r, {"w"});
  EXPECT_EQ(j["settings"]["runs"], 6);
  EXPECT_EQ(j["runs"].size(), 11u);
  EXPECT_EQ(j["runs"][10]["status"], "failed");
  EXPECT_EQ(j["runs"][10]["record"]["exit_code"], 3);
  EXPECT_EQ(j["commands"][1]["command_line"], "sh -c 'exit 3'");
  EXPECT_EQ(j["commands"][1]["ok_runs"], 5);
  EXPECT_EQ(j["commands"][1]["measured_runs"], 6);
  EXPECT_EQ(j["comparisons"][0]["ratio_method"], "hodges-lehmann");
  EXPECT_EQ(j["comparisons"][0]["verdict"], "higher");
  EXPECT_EQ(j["warnings"][0], "w");
  // CSV: one row per command × measured run × phase × quantity; a comma-holding command quoted.
  const std::string csv = repeat_csv(runs, {{"a"}, {"x,y"}});
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 11 * 3);
  EXPECT_THAT(csv, HasSubstr("2,\"x,y\",6,failed,run,duration,9,s,false,\n"));
}

TEST(RepeatSummary, GoldenText) {
  const auto s = summarise(two_commands(2.0, 3), {{"sh", "-c", "exit 0"}, {"b"}});
  const std::string text = summary_text(s, ratios_to_first(s), 1);
  // Command 1: 1.00, 1.01, 1.02 s and 10.0, 10.1, 10.2 J; command 2 twice that. With 3 runs per
  // side the smallest exact p is 2 / C(6, 3) = 0.1 (0.2 after Holm over 2), and the
  // distribution-free interval cannot reach 95 %: the ratio of medians with its bootstrap
  // interval stands in, and says so.
  EXPECT_EQ(text,
            "command 1: sh -c 'exit 0'\n"
            "  3 of 3 measured runs ok (after 1 warm-up)\n"
            "  phase  quantity                    mean ± σ   median        min … max  n\n"
            "  ------------------------------------------------------------------------\n"
            "  run    duration            1.010 ± 0.0100 s  1.010 s  1.000 … 1.020 s  3\n"
            "  run    energy total         10.10 ± 0.100 J  10.10 J  10.00 … 10.20 J  3\n"
            "  run    energy cpu_package   10.10 ± 0.100 J  10.10 J  10.00 … 10.20 J  3\n"
            "\n"
            "command 2: b\n"
            "  3 of 3 measured runs ok (after 1 warm-up)\n"
            "  phase  quantity                    mean ± σ   median        min … max  n\n"
            "  ------------------------------------------------------------------------\n"
            "  run    duration            2.020 ± 0.0200 s  2.020 s  2.000 … 2.040 s  3\n"
            "  run    energy total         20.20 ± 0.200 J  20.20 J  20.00 … 20.40 J  3\n"
            "  run    energy cpu_package   20.20 ± 0.200 J  20.20 J  20.00 … 20.40 J  3\n"
            "\n"
            "Against command 1 (Hodges–Lehmann ratio command k / command 1, two-sided "
            "Mann–Whitney U p Holm-adjusted over 2 comparisons, Â12 = P(k > 1)):\n"
            "  run: command 2 took 2.00× [1.96, 2.04] (ratio of medians, bootstrap interval) the "
            "time of command 1 — p_holm 0.2 (exact), Â12 1.00 large: not significant\n"
            "  run: command 2 used 2.00× [1.96, 2.04] (ratio of medians, bootstrap interval) the "
            "energy of command 1 — p_holm 0.2 (exact), Â12 1.00 large: not significant\n");
}

TEST(RepeatWarnings, PhasesShorterThanTheSourcesResolve) {
  std::vector<RepeatedRun> runs;
  for (int i = 0; i < 3; ++i) {
    RepeatedRun r = make_run(0, i + 1, 0.03, 0.3, true);
    r.record.phases[0].energy_resolution_j = {{"total", 0.3}, {"cpu_package", 0.3}};
    r.record.phases.push_back(phase("long", 2, 20, true));
    runs.push_back(std::move(r));
  }
  const auto s = summarise(runs, {{"a"}});
  const auto w = short_phase_warnings(s, {{"cpu-estimate", 0.01}});
  ASSERT_EQ(w.size(), 1u);  // only 'run', 30 ms < 10 ticks; 'long' (2 s) is fine
  EXPECT_EQ(w[0],
            "phase 'run' of command 1 lasts 30 ms (median), shorter than 10 × the 10 ms "
            "update interval of cpu-estimate, which cannot resolve it: its total energy resolves "
            "to ±100% of the median");
  EXPECT_TRUE(short_phase_warnings(s, {{"rapl-powercap", 0.001}}).empty());
}

TEST(RepeatWarnings, EachRecordWarningOnceWithWhereItCameFrom) {
  auto runs = two_commands(1.0, 2);
  runs[0].record.warnings = {"x", "x"};
  runs[2].record.warnings = {"x"};
  runs[3].record.warnings = {"y"};
  EXPECT_EQ(collected_warnings(runs), (std::vector<std::string>{"x (2 of 2 runs of command 1)",
                                                                "y (1 of 2 runs of command 2)"}));
}

// --- the status hook of measure_command ------------------------------------------------------

TEST(LiveStatus, ReportsElapsedTimePhaseAndPowerWhileTheCommandRuns) {
  std::vector<LiveStatus> seen;
  MeasureOptions o;
  o.interval_ms = 20;
  o.status_interval_s = 0.1;
  o.on_status = [&seen](const LiveStatus& s) { seen.push_back(s); };
  auto source = std::make_unique<greenbench::testing::FakeSource>(
      "fake", std::vector<DomainInfo>{greenbench::testing::counter("cpu_package", 0)});
  source->run_at({20});
  std::vector<std::unique_ptr<EnergySource>> sources;
  sources.push_back(std::move(source));
  const RunRecord r = measure_with_sources(
      {"sh", "-c", "sleep 0.35; echo 'begin train' >&$GREENBENCH_MARKER_FD; sleep 0.5"}, o,
      std::move(sources));
  ASSERT_EQ(r.exit_code, 0);
  ASSERT_GE(seen.size(), 4u);
  EXPECT_EQ(seen.front().phase, "run");
  EXPECT_EQ(seen.back().phase, "train");
  EXPECT_GT(seen.back().elapsed_s, seen.front().elapsed_s);
  ASSERT_EQ(seen.back().keys, (std::vector<std::string>{"total", "cpu_package"}));
  EXPECT_NEAR(seen.back().power_w[0], 20, 2);
  EXPECT_FALSE(seen.back().estimated[0]);
}

// --- the command line ---------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "greenbench-runs-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Result {
  int rc = -1;
  std::string out, err;
};

class MeasureRuns : public ::testing::Test {
 protected:
  // Runs greenbench measure with its stdout and stderr in files (not a terminal).
  Result measure(const std::vector<std::string>& args) {
    std::string line = shell_quote(std::string(GREENBENCH_BIN_DIR) + "/greenbench") + " measure";
    for (const auto& a : args) line += " " + shell_quote(a);
    line += " >" + shell_quote(path("out").string()) + " 2>" + shell_quote(path("err").string());
    const int status = std::system(line.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(path("out")), slurp(path("err"))};
  }
  fs::path path(const std::string& name) const { return dir_.path() / name; }
  // A command that appends `tag` to the log: the order of the runs.
  std::vector<std::string> logging(const std::string& tag) const {
    return {"sh", "-c", "printf " + tag + " >> " + shell_quote(path("log").string())};
  }
  TempDir dir_;
};

TEST_F(MeasureRuns, RunsAreInterleavedAfterWarmUpsWithPrepareBeforeEach) {
  std::vector<std::string> args = {"--runs",    "3",
                                   "--warmup",  "1",
                                   "--prepare", "printf p >> " + shell_quote(path("log").string()),
                                   "--"};
  for (const auto& w : logging("A")) args.push_back(w);
  args.emplace_back("--");
  for (const auto& w : logging("B")) args.push_back(w);
  const Result r = measure(args);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(slurp(path("log")), "pApBpApBpApBpApB");
  EXPECT_THAT(r.err, HasSubstr("command 1: sh -c 'printf A >> "));
  EXPECT_THAT(r.err, HasSubstr("3 of 3 measured runs ok (after 1 warm-up)"));
  EXPECT_THAT(r.err, HasSubstr("Against command 1"));
  EXPECT_THAT(r.err, HasSubstr("command 2 took "));
  // Not a terminal: no status line, no control characters at all.
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos);
}

TEST_F(MeasureRuns, AFailedRunMakesTheExitStatusNonZeroAndIsNamed) {
  // The second run of the command fails (a counter file says which run it is).
  const std::string counter = shell_quote(path("n").string());
  const Result r = measure({"--runs", "3", "--export-json", path("runs.json").string(),
                            "--export-csv", path("runs.csv").string(), "--export-markdown",
                            path("runs.md").string(), "--", "sh", "-c",
                            "echo x >> " + counter + "; if [ $(wc -l < " + counter +
                                ") = 2 ]; then echo 'out of cheese' >&2; exit 4; fi"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("greenbench measure: 1 of 3 measured runs failed: run 2 of "
                               "command 1: failed (exit status 4: out of cheese)"));
  EXPECT_THAT(r.err, HasSubstr("2 of 3 measured runs ok"));
  const json j = json::parse(slurp(path("runs.json")));
  ASSERT_EQ(j["runs"].size(), 3u);
  EXPECT_EQ(j["runs"][1]["status"], "failed");
  EXPECT_EQ(j["commands"][0]["ok_runs"], 2);
  EXPECT_TRUE(j["settings"]["interleaved"].get<bool>());
  const std::string csv = slurp(path("runs.csv"));
  EXPECT_EQ(csv.rfind("command,command_line,run,status,phase,quantity,value,unit,estimated,"
                      "resolution\n",
                      0),
            0u);
  EXPECT_THAT(csv, HasSubstr(",2,failed,run,duration,"));
  EXPECT_THAT(slurp(path("runs.md")), HasSubstr("| phase | quantity |"));
}

TEST_F(MeasureRuns, OptionsOfTheRepeatedModeNeedRuns) {
  for (const auto& option : std::vector<std::vector<std::string>>{
           {"--warmup", "1"}, {"--prepare", "true"}, {"--export-json", "x"}, {"--show-output"}}) {
    std::vector<std::string> args = option;
    args.insert(args.end(), {"--", "true"});
    const Result r = measure(args);
    EXPECT_EQ(r.rc, 2) << option[0];
    EXPECT_THAT(r.err, HasSubstr(option[0] + ": only with --runs N"));
  }
  EXPECT_EQ(measure({"--runs", "0", "--", "true"}).rc, 2);
  EXPECT_EQ(measure({"--runs", "2", "--json", "x", "--", "true"}).rc, 2);
  const Result empty = measure({"--runs", "2", "--", "true", "--", "--", "true"});
  EXPECT_EQ(empty.rc, 2);
  EXPECT_THAT(empty.err, HasSubstr("missing command 2"));
  const Result cannot = measure({"--runs", "2", "--", "greenbench-no-such-program"});
  EXPECT_EQ(cannot.rc, 127);
  EXPECT_THAT(cannot.err, HasSubstr("cannot start 'greenbench-no-such-program'"));
}

TEST_F(MeasureRuns, WithoutRunsLaterDoubleDashesBelongToTheCommand) {
  const Result r =
      measure({"--json", path("r.json").string(), "--", "sh", "-c", "exit 0", "--", "x"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json::parse(slurp(path("r.json")))["command"].size(), 5u);
}

// Runs greenbench with its stdin, stdout and stderr on a pseudo-terminal; returns what the
// terminal showed and the exit status.
std::pair<std::string, int> in_terminal(const std::vector<std::string>& args) {
  int master = -1;
  struct winsize ws {};
  ws.ws_col = 200;
  ws.ws_row = 40;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid == 0) {
    std::vector<std::string> argv = {std::string(GREENBENCH_BIN_DIR) + "/greenbench", "measure"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> p;
    for (auto& a : argv) p.push_back(a.data());
    p.push_back(nullptr);
    execv(p[0], p.data());
    _exit(127);
  }
  std::string shown;
  char buf[4096];
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    struct pollfd fd = {master, POLLIN, 0};
    if (poll(&fd, 1, 100) > 0) {
      const ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO once the child has closed the terminal
      shown.append(buf, static_cast<std::size_t>(n));
    }
    if (std::chrono::steady_clock::now() > until) {
      kill(pid, SIGKILL);
      break;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  return {shown, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(StatusLineInATerminal, UpdatesInPlaceAndIsClearedAtTheEnd) {
  const auto [shown, rc] = in_terminal({"--", "sh", "-c",
                                        "sleep 0.6; echo 'begin train' >&$GREENBENCH_MARKER_FD; "
                                        "sleep 0.8"});
  ASSERT_EQ(rc, 0) << shown;
  const std::string erase = "\r\x1b[K";
  // Several redraws, with the elapsed time, the phase and the power per domain.
  std::size_t redraws = 0;
  for (auto at = shown.find(erase); at != std::string::npos; at = shown.find(erase, at + 1)) {
    ++redraws;
  }
  EXPECT_GE(redraws, 4u) << shown;
  EXPECT_THAT(shown, HasSubstr(" s · run · total "));
  EXPECT_THAT(shown, HasSubstr(" s · train · total "));
  EXPECT_THAT(shown, HasSubstr(" W (est.)"));
  // Erased before the table: the table's first line follows an erase.
  const auto table = shown.find("greenbench measure: sh -c");
  ASSERT_NE(table, std::string::npos) << shown;
  EXPECT_EQ(shown.rfind(erase, table), table - erase.size()) << shown;
  // No status line after the table.
  EXPECT_EQ(shown.find(" · ", table), std::string::npos);
}

TEST(StatusLineInATerminal, RepeatedModeSaysWhichRunOfWhichCommand) {
  const auto [shown, rc] = in_terminal({"--runs", "2", "--", "sleep", "0.4", "--", "sleep", "0.3"});
  ASSERT_EQ(rc, 0) << shown;
  EXPECT_THAT(shown, HasSubstr("run 1/2 of command 1"));
  EXPECT_THAT(shown, HasSubstr("run 2/2 of command 2"));
}

TEST(StatusLineInATerminal, NoStatusAndQuietDrawNothing) {
  for (const char* option : {"--no-status", "--quiet"}) {
    const auto [shown, rc] = in_terminal({option, "--", "sleep", "0.6"});
    ASSERT_EQ(rc, 0) << shown;
    EXPECT_EQ(shown.find('\x1b'), std::string::npos) << option << ": " << shown;
  }
}

}  // namespace
}  // namespace greenbench::measure
