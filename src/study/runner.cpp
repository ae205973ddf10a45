// Running a study: one measured process per planned run, stored as it finishes.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "core/json_dump.hpp"
#include "core/last_line.hpp"
#include "greenbench/error.hpp"
#include "greenbench/profile.hpp"
#include "greenbench/report.hpp"
#include "greenbench/store.hpp"
#include "greenbench/study.hpp"
#include "study/progress.hpp"

namespace greenbench {

namespace fs = std::filesystem;

namespace {

// Adaptive cooldown reads idle power in windows this long: long enough for RAPL's ~1 ms updates
// to average out, short enough that a machine already at idle waits only this once.
constexpr double kCooldownWindowS = 0.5;

double wall_now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double steady_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string self_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

std::string worker_name(const std::string& framework) {
  if (framework == "pytorch") return "greenbench-torch";
  if (framework == "tensorflow") return "greenbench-tf";
  throw Error("no built-in worker for framework '" + framework + "'");
}

std::string signal_name(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? std::string("SIG") + name : std::to_string(sig);
}

bool stop_requested(const RunnerOptions& o) {
  return o.stop != nullptr && o.stop->load(std::memory_order_relaxed);
}

// The first top-level key whose value differs, to say in one line why a resume is refused.
std::string first_difference(const nlohmann::json& stored, const nlohmann::json& wanted) {
  for (const auto& [key, value] : wanted.items()) {
    if (!stored.contains(key)) return key + " is missing there";
    if (stored[key] != value) {
      return key + " is " + dump_json(stored[key]) + " there, " + dump_json(value) + " here";
    }
  }
  for (const auto& [key, value] : stored.items()) {
    if (!wanted.contains(key)) return key + " is set there only";
  }
  return "";
}

std::string group_of(const Configuration& c) { return c.framework + "-" + c.model; }

// The lock of a results directory. The file holds the run id of the greenbench that holds it,
// so the next one can end processes left running by one that was killed.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw Error(path + ": cannot create the lock file: " + std::strerror(errno));
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      close(fd_);
      throw Error(path + ": another greenbench is running a study in this directory");
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() { close(fd_); }

  /// Reads the previous holder's run id and writes a new one of ours; returns ours.
  std::string swap_run_id() {
    char buf[128];
    const ssize_t n = pread(fd_, buf, sizeof buf - 1, 0);
    previous_.assign(buf, n > 0 ? size_t(n) : 0);
    while (!previous_.empty() && (previous_.back() == '\n' || previous_.back() == ' ')) {
      previous_.pop_back();
    }
    // Only what we write ourselves: anything else is not a run id worth a /proc scan.
    if (previous_.rfind("gb-", 0) != 0 || previous_.find_first_of("\n\t ") != std::string::npos) {
      previous_.clear();
    }
    const std::string ours =
        "gb-" + std::to_string(getpid()) + "-" +
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    const std::string line = ours + "\n";
    // A lock file we cannot write only costs the leftover check of the next greenbench.
    if (ftruncate(fd_, 0) == 0) {
      [[maybe_unused]] const ssize_t n = pwrite(fd_, line.data(), line.size(), 0);
    }
    return ours;
  }
  [[nodiscard]] const std::string& previous_run_id() const { return previous_; }

 private:
  int fd_;
  std::string previous_;
};

// Which built-in framework x model groups pass checkpoints from train to infer runs.
std::set<std::string> checkpoint_groups(const EffectiveSettings& e) {
  std::set<std::string> train, infer, both;
  for (const auto& c : e.configurations) {
    if (!c.argv.empty()) continue;
    (c.phase == "train" ? train : infer).insert(group_of(c));
  }
  for (const auto& g : train) {
    if (infer.count(g)) both.insert(g);
  }
  return both;
}

void merge_record_into_environment(nlohmann::json& env, const Configuration& c,
                                   const RunRecord& record, bool* changed) {
  const auto version = record.info.find("framework_version");
  if (version != record.info.end()) {
    auto& versions = env["framework_versions"];
    if (!versions.is_object()) versions = nlohmann::json::object();
    if (!versions.contains(c.framework) || versions[c.framework] != version->second) {
      versions[c.framework] = version->second;
      *changed = true;
    }
  }
  auto& sources = env["sources"];
  if (!sources.is_array()) sources = nlohmann::json::array();
  for (const auto& s : record.sources) {
    bool known = false;
    for (const auto& js : sources) known = known || js.value("name", "") == s.name;
    if (known) continue;
    nlohmann::json js = {{"name", s.name}, {"quality", s.quality}, {"domains", s.domains}};
    if (!s.parameters.empty()) js["parameters"] = s.parameters;
    sources.push_back(std::move(js));
    *changed = true;
  }
}

// The keys whose idle power adaptive cooldown compares: total where the sources give one, and
// the GPUs' own where a GPU is measured (a GPU cools down more slowly than the CPU, and its idle
// power is a small part of the total, so the total alone comes back before the GPU does).
std::vector<std::string> reference_domains(const std::map<std::string, double>& idle) {
  std::vector<std::string> keys;
  for (const char* key : {"total", "cpu_package"}) {
    const auto it = idle.find(key);
    if (it != idle.end() && it->second > 0) {
      keys.emplace_back(key);
      break;
    }
  }
  for (const auto& [key, watts] : idle) {
    if (keys.empty() && watts > 0 && key.find(':') == std::string::npos) keys.push_back(key);
  }
  const auto gpu = idle.find("gpu");
  if (gpu != idle.end() && gpu->second > 0 &&
      std::find(keys.begin(), keys.end(), "gpu") == keys.end()) {
    keys.emplace_back("gpu");
  }
  return keys;
}

}  // namespace

std::vector<std::string> run_argv(const EffectiveSettings& e, const PlannedRun& run,
                                  const std::string& worker_dir, const std::string& checkpoint) {
  const Configuration& c = e.configurations.at(size_t(run.configuration));
  if (!c.argv.empty()) return command_argv(e, c);
  std::vector<std::string> argv{(fs::path(worker_dir) / worker_name(c.framework)).string(),
                                "--model",
                                c.model,
                                "--phase",
                                c.phase,
                                "--scale",
                                e.settings.scale,
                                "--seed",
                                std::to_string(e.settings.seed),
                                "--threads",
                                std::to_string(e.settings.threads),
                                "--numerics",
                                e.settings.numerics};
  // Only where the study asks for them: the workers' defaults are cpu and fp32.
  if (e.settings.device != "cpu") argv.insert(argv.end(), {"--device", e.settings.device});
  if (e.settings.precision != "fp32") {
    argv.insert(argv.end(), {"--precision", e.settings.precision});
  }
  if (!checkpoint.empty()) {
    argv.push_back("--checkpoint");
    argv.push_back(checkpoint);
  }
  return argv;
}

namespace {

// Fills status and reason of a run from its record: ok, failed (exit code, signal) or timeout.
// The worker's own last words (its stderr's last line) say most.
void classify_run(const RunRecord& record, const StudySettings& s, const std::string& stderr_path,
                  StoredRun* stored) {
  stored->exit_code = record.exit_code;
  stored->duration_s = record.duration_s;
  if (record.timed_out) {
    stored->status = "timeout";
    std::ostringstream reason;
    reason << "timed out after " << s.timeout_s << " s";
    stored->reason = reason.str();
  } else if (record.exit_code != 0) {
    stored->status = "failed";
    if (record.term_signal != 0) {
      stored->reason = "killed by signal " + std::to_string(record.term_signal) + " (" +
                       signal_name(record.term_signal) + ")";
    } else {
      stored->reason = "exit code " + std::to_string(record.exit_code);
    }
  } else if (const auto why = invalid_reason(record)) {
    stored->status = "invalid";  // ran, but not a measurement: kept, never compared
    stored->reason = *why;
  }
  if (stored->status == "failed" || stored->status == "timeout") {
    // Our warnings only when the worker said nothing (a timeout's warning repeats the reason).
    const std::string last_err = last_line_of(stderr_path);
    if (!last_err.empty())
      stored->reason += ": " + last_err;
    else if (stored->status == "failed" && record.term_signal == 0 && !record.warnings.empty())
      stored->reason += ": " + record.warnings.back();
  }
}

// The settings without `repetitions`: what must match for a study to be extended.
nlohmann::json without_repetitions(nlohmann::json settings) {
  if (settings.is_object()) settings.erase("repetitions");
  return settings;
}

// The repetition counts a stored study was planned with: its first plan, then each extension.
std::vector<int> repetitions_history(const nlohmann::json& settings, const nlohmann::json& env) {
  std::vector<int> history;
  const auto it = env.find("repetitions_history");
  if (it != env.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_number_integer()) history.push_back(v.get<int>());
    }
  }
  const auto reps = settings.find("repetitions");
  const int stored = reps != settings.end() && reps->is_number_integer() ? reps->get<int>() : 0;
  if (stored == 0) return {};  // an auto study: planned once, with max_repetitions
  if (history.empty() || history.back() != stored) history = {stored};
  return history;
}

// Per configuration, whether its warm-ups are all done and all failed: then its other runs
// cannot be expected to do better and are not run.
struct WarmupTally {
  int done = 0, ok = 0;
  std::string reason;  // the last failed warm-up's
  std::string log;     // and its stderr log
};

// The median of the values of `metric` over the configuration's measured (non-warm-up) runs, with
// the quality of the values; nullopt when no run has it.
std::optional<std::pair<double, std::string>> median_observation(const std::vector<StoredRun>& runs,
                                                                 const Configuration& c,
                                                                 const std::string& metric) {
  std::vector<double> values;
  std::string quality = "measured";
  for (const StoredRun& r : runs) {
    if (r.warmup || r.status != "ok" || r.framework != c.framework || r.model != c.model ||
        r.phase != c.phase)
      continue;
    for (const Observation& o : r.observations) {
      if (o.metric != metric) continue;
      values.push_back(o.value);
      if (o.quality != "measured") quality = o.quality;
    }
  }
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return std::make_pair(median, quality);
}

std::string profile_key(const std::string& framework, const std::string& model,
                        const std::string& phase) {
  return framework + "-" + model + "-" + phase;
}

std::string config_label(const Configuration& c) {
  return c.framework + " " + c.model + " " + c.phase;
}

// Where an auto study stands after the look at n runs per configuration: the decisions of
// `compare --sequential` replayed over the stored runs of the first n blocks, and which
// configurations may stop (every comparison they take part in decided).
struct SequentialState {
  int look = 0;
  int undecided = 0;
  std::vector<bool> stopped;  // per configuration
  nlohmann::json json;        // stored in the environment as "sequential"
};

SequentialState sequential_state(const EffectiveSettings& e, const std::string& file, int n) {
  const StudySettings& s = e.settings;
  SequentialState state;
  state.look = n;
  ResultSet results = load_results(file);
  std::erase_if(results.observations, [n](const Observation& o) { return o.run > n; });
  CompareSettings settings;
  settings.alpha = s.alpha;
  settings.sequential = true;
  settings.sequential_options.min_n = std::size_t(s.min_repetitions);
  settings.sequential_options.max_n = std::size_t(s.max_repetitions);
  settings.sequential_options.alpha = s.alpha;
  settings.sequential_options.equivalence_margin = s.equivalence_margin;
  settings.stats.bootstrap.resamples = 100;  // decisions use rank tests only
  if (s.seed > 0) settings.stats.bootstrap.seed = s.seed;
  ComparisonSet set;
  const std::set<std::string> frameworks(s.frameworks.begin(), s.frameworks.end());
  bool comparable = false;
  {
    std::set<std::string> seen;
    for (const auto& o : results.observations) seen.insert(o.framework);
    comparable = seen.size() >= 2;
  }
  if (comparable) set = compare_results(results, settings);
  // Per configuration: takes part in an undecided comparison; and its last decision's look.
  std::map<std::string, bool> undecided;
  std::map<std::string, std::size_t> last_decided;
  nlohmann::json comparisons = nlohmann::json::array();
  for (const auto& c : set.comparisons) {
    if (c.decision.empty()) continue;  // not a verdict comparison, or not comparable
    comparisons.push_back({{"model", c.model},
                           {"phase", c.phase},
                           {"metric", c.metric},
                           {"a", c.a},
                           {"b", c.b},
                           {"decision", c.decision},
                           {"decided_at", c.decided_at}});
    for (const std::string& f : {c.a, c.b}) {
      const std::string key = f + "\x1f" + c.model + "\x1f" + c.phase;
      if (c.decision == "undecided") {
        undecided[key] = true;
        ++state.undecided;
      } else {
        last_decided[key] = std::max(last_decided[key], c.decided_at);
      }
    }
  }
  state.undecided /= 2;  // each comparison was counted once per side
  nlohmann::json stopped = nlohmann::json::array();
  for (const auto& c : e.configurations) {
    const std::string key = c.framework + "\x1f" + c.model + "\x1f" + c.phase;
    const bool stop = n >= s.min_repetitions && !undecided.count(key);
    state.stopped.push_back(stop);
    if (stop) {
      const auto it = last_decided.find(key);
      stopped.push_back(
          {{"framework", c.framework},
           {"model", c.model},
           {"phase", c.phase},
           {"runs", it == last_decided.end() ? std::size_t(s.min_repetitions) : it->second}});
    }
  }
  state.json = {{"look", n},
                {"undecided", state.undecided},
                {"comparisons", std::move(comparisons)},
                {"stopped", std::move(stopped)}};
  return state;
}

}  // namespace

StudyOutcome run_study(const EffectiveSettings& e, const RunnerOptions& o) {
  if (!o.measure) throw Error("run_study: no measure function given");
  const StudySettings& s = e.settings;
  const nlohmann::json settings_json = to_json(e);
  const fs::path out(o.out_dir);
  const std::string file = o.store_file.empty() ? (out / "results.sqlite").string() : o.store_file;
  const fs::path out_absolute = fs::absolute(out);
  const std::string worker_dir = o.worker_dir.empty() ? self_dir() : o.worker_dir;
  // The study's choice of sources and power model over the caller's (the machine's roots stay).
  SourceOptions sources = o.sources;
  if (!s.sources.empty()) sources.only = s.sources;
  if (s.cpu_watts_per_core >= 0) sources.cpu_watts_per_core = s.cpu_watts_per_core;
  if (s.cpu_idle_watts >= 0) sources.cpu_idle_watts = s.cpu_idle_watts;

  // Everything that can be refused is checked before the idle baseline makes the user wait.
  for (const auto& c : e.configurations) {
    if (!c.argv.empty()) continue;
    const fs::path worker = fs::path(worker_dir) / worker_name(c.framework);
    if (access(worker.c_str(), X_OK) != 0) {
      throw Error(worker.string() + ": the " + c.framework +
                  " worker is not there (build it, or leave '" + c.framework +
                  "' out with --frameworks)");
    }
  }
  std::error_code ec;
  const bool existing = fs::exists(file, ec);
  if (o.resume && !existing) {
    throw Error(file + ": no results store to resume (run without --resume to start one)");
  }
  for (const char* sub : {"logs", "checkpoints"}) {
    fs::create_directories(out / sub, ec);
    if (ec) throw Error((out / sub).string() + ": cannot create the directory: " + ec.message());
  }
  // One greenbench at a time per results directory: two would run the same runs twice. The
  // kernel drops the lock when the process dies, even by kill -9.
  FileLock lock(o.store_file.empty() ? (out / ".lock").string() : o.store_file + ".lock");
  // Our runs carry this id in their environment. An earlier greenbench killed together with
  // its watchdog may have left processes running: end those before anything runs beside them.
  const std::string run_id = lock.swap_run_id();
  if (!lock.previous_run_id().empty()) {
    const int ended = kill_leftover_processes(lock.previous_run_id());
    if (ended > 0 && o.progress) {
      *o.progress << "warning: ended " << ended << " process" << (ended == 1 ? "" : "es")
                  << " still running from an earlier greenbench on " << o.out_dir << "\n";
    }
  }

  StudyOutcome outcome;
  outcome.store_file = file;
  std::optional<ResultStore> store;
  nlohmann::json env;
  std::vector<int> history{s.repetitions};
  if (existing) {
    store.emplace(ResultStore::open(file));
    nlohmann::json stored = store->settings();
    // A key that a later greenbench added, at its default value here, is what a store made
    // before it meant: such a store can still be resumed.
    const nlohmann::json defaults = to_json(EffectiveSettings{});
    for (const auto& [key, value] : settings_json.items()) {
      if (!stored.contains(key) && defaults.contains(key) && defaults[key] == value) {
        stored[key] = value;
      }
    }
    env = store->environment();
    const int stored_reps =
        stored.contains("repetitions") && stored["repetitions"].is_number_integer()
            ? stored["repetitions"].get<int>()
            : 0;
    const bool extends = stored != settings_json &&
                         without_repetitions(stored) == without_repetitions(settings_json) &&
                         !s.repetitions_auto && stored_reps > 0 && s.repetitions > stored_reps;
    if (stored != settings_json && !extends) {
      throw Error(file + ": holds study '" + stored.value("name", std::string("?")) +
                  "' with other settings (" + first_difference(stored, settings_json) + "); " +
                  (o.resume ? "resume with the same study file and options"
                            : "choose another --out, or use the same study file and options"));
    }
    history = repetitions_history(stored, env);
    if (history.empty()) history = {s.repetitions};
    if (extends) {
      if (!o.resume) {
        throw Error(file + ": holds this study with " + std::to_string(stored_reps) +
                    " repetitions (add --resume to extend it to " + std::to_string(s.repetitions) +
                    ", or choose another --out)");
      }
      // New repetitions get new positions after the stored ones: the stored runs keep theirs.
      history.push_back(s.repetitions);
      env["repetitions_history"] = history;
      store->update_study(settings_json, env);
      outcome.extended_from = stored_reps;
    }
  }
  const std::vector<PlannedRun> plan = make_plan(e, history);
  outcome.planned = int(plan.size());

  // Auto studies: the state at each look, computed once (the look at n needs blocks 1..n stored,
  // which the block order of the plan guarantees whenever a run of block n + 1 is next).
  std::map<int, SequentialState> looks;
  bool sequential_dirty = false;
  auto state_at = [&](int n) -> const SequentialState& {
    auto it = looks.find(n);
    if (it == looks.end()) {
      it = looks.emplace(n, sequential_state(e, file, n)).first;
      if (!env.contains("sequential") ||
          (env["sequential"].value("look", 0) <= n && env["sequential"] != it->second.json)) {
        env["sequential"] = it->second.json;
        sequential_dirty = true;
      }
    }
    return it->second;
  };
  // In an auto study a measured run is not needed once its configuration stopped at the look
  // before its block.
  auto not_needed = [&](const PlannedRun& run) {
    return s.repetitions_auto && !run.warmup && run.repetition - 1 >= s.min_repetitions &&
           state_at(run.repetition - 1).stopped[size_t(run.configuration)];
  };

  std::set<int> done;
  int last_block = 0;  // auto studies: the highest block with a measured run stored
  std::map<std::string, std::string> latest_checkpoint;
  std::map<int, WarmupTally> warmups;  // per configuration
  if (existing) {
    for (const auto& r : store->runs()) {
      const bool in_plan = r.position >= 0 && r.position < int(plan.size());
      const PlannedRun* p = in_plan ? &plan[size_t(r.position)] : nullptr;
      const Configuration* c = p ? &e.configurations[size_t(p->configuration)] : nullptr;
      if (!p || c->framework != r.framework || c->model != r.model || c->phase != r.phase ||
          p->repetition != r.repetition || p->warmup != r.warmup) {
        throw Error(file + ": stored run at position " + std::to_string(r.position) +
                    " does not match the study's plan");
      }
      done.insert(r.position);
      if (r.status != "ok") ++outcome.failed_before;
      if (r.warmup) {
        WarmupTally& t = warmups[p->configuration];
        ++t.done;
        if (r.status == "ok") {
          ++t.ok;
        } else {
          t.reason = r.reason;
          t.log = (out / "logs" / (p->id + ".err")).string();
        }
      }
      if (r.phase == "train" && r.status == "ok" && !r.checkpoint.empty() &&
          fs::exists(out / r.checkpoint, ec)) {
        latest_checkpoint[group_of(*c)] = r.checkpoint;
      }
    }
    outcome.already_stored = int(done.size());
    for (const auto& run : plan) {
      if (!run.warmup && done.count(run.position))
        last_block = std::max(last_block, run.repetition);
    }
    bool left = false;
    for (const auto& run : plan) {
      if (!done.count(run.position) && !not_needed(run)) {
        left = true;
        break;
      }
    }
    if (s.profile && o.positions.empty()) {
      // A study with profile = true is complete once each built-in configuration has one.
      std::set<std::string> have;
      for (const auto& p : store->profiles()) {
        have.insert(
            profile_key(p.value("framework", ""), p.value("model", ""), p.value("phase", "")));
      }
      for (const auto& c : e.configurations) {
        if (c.argv.empty() && !have.count(profile_key(c.framework, c.model, c.phase))) left = true;
      }
    }
    if (!left) {
      if (s.repetitions_auto && last_block >= s.min_repetitions) {
        outcome.undecided = state_at(last_block).undecided;
        if (sequential_dirty) store->update_study(settings_json, env);
      }
      // Nothing left to run: no idle baseline, no change to the store.
      outcome.complete = true;
      return outcome;
    }
    if (!o.resume) {
      throw Error(file +
                  ": already exists (add --resume to finish that study, or choose another "
                  "--out)");
    }
  }

  // Configurations whose warm-ups all failed: their remaining runs are stored as failed, not run.
  auto cannot_run = [&](int configuration) {
    const auto it = warmups.find(configuration);
    return s.warmup > 0 && it != warmups.end() && it->second.done >= s.warmup && it->second.ok == 0;
  };
  auto say_cannot_run = [&](int configuration) {
    if (!o.progress) return;
    int left = 0;
    for (const auto& run : plan)
      left += run.configuration == configuration && !done.count(run.position);
    if (left == 0) return;
    const WarmupTally& t = warmups[configuration];
    *o.progress << (o.progress_in_place ? "\r\033[K" : "")
                << "error: " << config_label(e.configurations[size_t(configuration)])
                << ": every warm-up failed (" << t.reason << "), so its " << left
                << " remaining run" << (left == 1 ? "" : "s") << " are not run; see " << t.log
                << "\n"
                << std::flush;
  };
  for (const auto& [configuration, tally] : warmups) {
    if (cannot_run(configuration)) say_cannot_run(configuration);
  }

  // The idle baseline: interruptible, and skipped at once where the sources cannot see idle.
  MeasureOptions idle_options;
  idle_options.sources = sources;
  idle_options.stop = o.stop;
  std::map<std::string, double> idle;
  if (s.idle_baseline_s > 0) {
    if (!o.idle_power) throw Error("run_study: no idle-power function given");
    // Said once, instead of spending the baseline reading sources that cannot see idle power.
    const bool measurable = !o.idle_power_measurable || o.idle_power_measurable(idle_options);
    if (measurable) {
      if (o.progress) *o.progress << "measuring idle power for " << s.idle_baseline_s << " s\n";
      idle = o.idle_power(idle_options, s.idle_baseline_s);
    }
    if (stop_requested(o)) {
      outcome.interrupted = true;
      return outcome;
    }
    if (idle.empty() && o.progress) {
      *o.progress << "warning: these energy sources cannot measure idle power (the CPU estimate "
                     "counts only the runs' own CPU time): no idle baseline"
                  << (s.cooldown_s < 0 ? ", and adaptive cooldown is skipped" : "") << "\n";
    }
  }

  if (existing) {
    if (!idle.empty()) env["idle_power_w_on_resume"] = idle;
  } else {
    env = capture_environment(o.sources);
    if (!idle.empty()) env["idle_power_w"] = idle;
    env["idle_baseline_s"] = s.idle_baseline_s;
    store.emplace(ResultStore::create(file, settings_json, env));
  }

  const std::set<std::string> with_checkpoints = checkpoint_groups(e);
  const std::vector<std::string> cool_keys = reference_domains(idle);
  if (s.cooldown_s < 0 && s.idle_baseline_s > 0 && cool_keys.empty() && !idle.empty() &&
      o.progress) {
    *o.progress << "warning: no idle power could be read, so adaptive cooldown is skipped\n";
  }

  // A resumed study's new idle baseline is written with its first run.
  bool env_dirty = existing && !idle.empty();
  // The ETA: per configuration, the measured time of each finished run (its cooldown included,
  // failed runs too); a resumed study starts from its stored runs' durations.
  std::map<int, std::vector<double>> durations;
  if (existing) {
    for (const auto& r : store->runs()) {
      if (r.duration_s > 0 && r.position >= 0 && r.position < int(plan.size()))
        durations[plan[size_t(r.position)].configuration].push_back(r.duration_s);
    }
  }
  int done_ok = outcome.already_stored - outcome.failed_before;
  int done_failed = outcome.failed_before;
  auto remaining_configs = [&] {
    std::vector<int> left;
    for (const auto& r : plan) {
      if (done.count(r.position) || (!o.positions.empty() && !o.positions.count(r.position)))
        continue;
      left.push_back(r.configuration);
    }
    return left;
  };
  auto progress_counts = [&] {
    const std::vector<int> left = remaining_configs();
    const auto eta = estimate_remaining_s(durations, left);
    std::ostringstream text;
    text << " · " << done_ok << " done, " << done_failed << " failed, " << left.size() << " left · "
         << (eta ? std::string("ETA ") + (s.repetitions_auto ? "at most " : "") + format_eta(*eta)
                 : std::string("ETA unknown"));
    return text.str();
  };
  // Cooldown lines: on a terminal one line rewritten each second, else a plain line at most
  // every 10 s, so a log is not flooded.
  double last_cooldown_line = -1e9;
  auto cooldown_status = [&](const std::string& text, bool force) {
    if (!o.progress) return;
    const double now = steady_now_s();
    if (o.progress_in_place) {
      if (!force && now - last_cooldown_line < 1) return;
      *o.progress << "\r\033[K" << text << std::flush;
    } else {
      if (now - last_cooldown_line < 10) return;
      *o.progress << text << "\n" << std::flush;
    }
    last_cooldown_line = now;
  };
  bool first_run = true;
  bool warned_cooldown = false;
  for (const PlannedRun& run : plan) {
    if (done.count(run.position)) continue;
    if (!o.positions.empty() && !o.positions.count(run.position)) continue;
    if (not_needed(run)) {
      ++outcome.not_needed;
      continue;
    }
    if (stop_requested(o)) {
      outcome.interrupted = true;
      break;
    }
    const Configuration& c = e.configurations[size_t(run.configuration)];
    const std::string group = group_of(c);

    StoredRun stored;
    stored.position = run.position;
    stored.framework = c.framework;
    stored.model = c.model;
    stored.phase = c.phase;
    stored.repetition = run.repetition;
    stored.warmup = run.warmup;

    if (cannot_run(run.configuration)) {
      const WarmupTally& t = warmups[run.configuration];
      stored.status = "failed";
      stored.reason = "not run: every warm-up of this configuration failed (" + t.reason +
                      "; see " + t.log + ")";
      stored.exit_code = -1;
      stored.started_at = wall_now_s();
      store->add_run(stored, env_dirty || sequential_dirty ? env : nlohmann::json(nullptr));
      env_dirty = sequential_dirty = false;
      done.insert(run.position);
      ++outcome.skipped;
      ++done_failed;
      continue;
    }

    // Cooldown before every run but the first of this session, so the machine starts each
    // measured run from the same state; the last run needs none after it.
    const double slot_start = steady_now_s();
    if (!first_run) {
      if (s.cooldown_s > 0) {
        const double until = steady_now_s() + s.cooldown_s;
        bool first_line = true;
        while (steady_now_s() < until && !stop_requested(o)) {
          char text[96];
          std::snprintf(text, sizeof text, "cooldown: %.0f s left of %g s",
                        std::ceil(until - steady_now_s()), s.cooldown_s);
          cooldown_status(text, first_line);
          first_line = false;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      } else if (s.cooldown_s < 0 && !cool_keys.empty() && s.cooldown_max_s > 0) {
        const double until = steady_now_s() + s.cooldown_max_s;
        bool first_line = true;
        while (!stop_requested(o)) {
          const auto now = o.idle_power(idle_options, kCooldownWindowS);
          // Cool once every reference power is back within tolerance of its idle value.
          std::string cool_key;
          for (const auto& key : cool_keys) {
            const auto it = now.find(key);
            if (it != now.end() && it->second > idle.at(key) * (1 + s.cooldown_tolerance)) {
              cool_key = key;
              break;
            }
          }
          if (cool_key.empty()) break;
          const auto it = now.find(cool_key);
          const double limit = idle.at(cool_key) * (1 + s.cooldown_tolerance);
          char text[200];
          std::snprintf(text, sizeof text,
                        "cooldown: %s %.1f W, waiting for <= %.1f W (idle %.1f W + %g%%), at most "
                        "%.0f s more",
                        cool_key.c_str(), it->second, limit, idle.at(cool_key),
                        s.cooldown_tolerance * 100,
                        std::max(0.0, std::ceil(until - steady_now_s())));
          cooldown_status(text, first_line);
          first_line = false;
          if (steady_now_s() >= until) {
            // Said once: on a machine whose idle power rose since the baseline (another load),
            // every cooldown lasts cooldown_max, and the user should know why the study crawls.
            if (!warned_cooldown && o.progress) {
              *o.progress << (o.progress_in_place ? "\r\033[K" : "") << "warning: " << cool_key
                          << " power " << it->second << " W did not come back within "
                          << s.cooldown_tolerance * 100 << "% of the idle " << idle.at(cool_key)
                          << " W in cooldown_max = " << s.cooldown_max_s << " s\n";
            }
            warned_cooldown = true;
            break;
          }
        }
      }
      if (stop_requested(o)) {
        outcome.interrupted = true;
        break;
      }
    }
    first_run = false;

    // Progress: position in the whole plan, ETA from this session's mean time per run.
    std::ostringstream label;
    label << "[" << run.position + 1 << "/" << plan.size() << "] " << c.framework << " " << c.model
          << " " << c.phase << " "
          << (run.warmup
                  ? "warm-up " + std::to_string(run.repetition) + "/" + std::to_string(s.warmup)
                  : "rep " + std::to_string(run.repetition) + "/" + std::to_string(s.repetitions));
    if (s.repetitions_auto && !run.warmup && !looks.empty()) {
      label << " · " << looks.rbegin()->second.undecided << " undecided";
    }
    const std::string eta = progress_counts();
    if (o.progress) {
      if (o.progress_in_place)
        *o.progress << "\r\033[K" << label.str() << eta << std::flush;
      else
        *o.progress << label.str() << eta << "\n" << std::flush;
    }

    std::string checkpoint;
    bool runnable = true;
    // Checkpoints are stored relative to the results directory, so a moved directory resumes.
    if (c.argv.empty() && with_checkpoints.count(group)) {
      if (c.phase == "train") {
        checkpoint = "checkpoints/" + group + "-" + (run.warmup ? "w" : "") +
                     std::to_string(run.repetition) + ".ckpt";
      } else if (latest_checkpoint.count(group)) {
        checkpoint = latest_checkpoint[group];
      } else if (o.find_checkpoint &&
                 !(checkpoint = o.find_checkpoint(group, run.position)).empty()) {
        // found by the hook (another Slurm task's train run)
      } else {
        runnable = false;
        stored.status = "failed";
        stored.reason = "no checkpoint: no train run of " + c.framework + " " + c.model +
                        " has succeeded before this run";
        stored.exit_code = -1;
        stored.started_at = wall_now_s();
      }
    }
    stored.checkpoint = checkpoint;

    const std::string stderr_path = (out / "logs" / (run.id + ".err")).string();
    if (runnable) {
      MeasureOptions mo;
      mo.sources = sources;
      mo.timeout_s = s.timeout_s;
      mo.forward_signals = true;
      mo.keep_trace = true;
      // A study runs unattended: its runs read nothing, so Ctrl-C reaches us, not the worker
      // alone, and ends the run in flight through `stop`.
      mo.stdin_path = "/dev/null";
      mo.stop = o.stop;
      mo.run_id = run_id;
      mo.working_dir = command_working_dir(e, c);
      mo.stdout_path = (out / "logs" / (run.id + ".out")).string();
      mo.stderr_path = stderr_path;
      if (o.progress && o.progress_in_place) {
        std::ostream* progress = o.progress;
        const std::string prefix = label.str();
        mo.on_marker = [progress, prefix, eta](const std::string& line) {
          if (line.rfind("begin ", 0) != 0) return;
          *progress << "\r\033[K" << prefix << " · " << line.substr(6) << eta << std::flush;
        };
      }
      const std::vector<std::string> argv = run_argv(
          e, run, worker_dir, checkpoint.empty() ? "" : (out_absolute / checkpoint).string());
      stored.started_at = wall_now_s();
      RunRecord record = o.measure(argv, mo);
      if (!idle.empty()) set_idle_power(&record, idle);  // energy above the study's idle power

      // A run cut short by Ctrl-C (ours, or the terminal's signal reaching the child) is not a
      // measurement: drop it, so --resume runs it again.
      const bool killed_by_user =
          !record.timed_out && (record.term_signal == SIGINT || record.term_signal == SIGTERM);
      if (stop_requested(o) || killed_by_user) {
        outcome.interrupted = true;
        break;
      }
      classify_run(record, s, stderr_path, &stored);
      if (stored.status == "ok") {
        stored.observations = observations_from_record(record, c.phase);
        if (c.phase == "train" && !checkpoint.empty() && fs::exists(out / checkpoint, ec)) {
          latest_checkpoint[group] = checkpoint;
        }
      }
      merge_record_into_environment(env, c, record, &env_dirty);
      stored.record = std::move(record);
    }
    store->add_run(stored, env_dirty || sequential_dirty ? env : nlohmann::json(nullptr));
    env_dirty = sequential_dirty = false;
    if (!run.warmup) last_block = std::max(last_block, run.repetition);
    done.insert(run.position);
    // Failed runs took their time too, and a configuration that fails tends to fail alike.
    if (runnable) durations[run.configuration].push_back(steady_now_s() - slot_start);
    ++(stored.status == "ok" ? done_ok : done_failed);
    if (stored.status == "ok")
      ++outcome.ok;
    else if (stored.status == "timeout")
      ++outcome.timed_out;
    else
      ++outcome.failed;
    if (stored.status != "ok" && o.progress) {
      if (o.progress_in_place) *o.progress << "\r\033[K" << label.str();
      *o.progress << "  " << stored.status << ": " << stored.reason << "\n" << std::flush;
    }
    if (run.warmup) {
      WarmupTally& t = warmups[run.configuration];
      ++t.done;
      if (stored.status == "ok") {
        ++t.ok;
      } else {
        t.reason = stored.reason;
        t.log = stderr_path;
      }
      if (cannot_run(run.configuration)) say_cannot_run(run.configuration);
    }
  }
  if (o.progress && o.progress_in_place) *o.progress << "\n" << std::flush;

  // profile = true: one profiled run per built-in configuration, after the measured runs (a
  // Slurm task leaves them to a local resume). Their timings are perturbed by the profiler, so
  // they are stored apart and never observed: the phase energy split over the op categories is
  // the median of the configuration's measured runs.
  if (s.profile && !outcome.interrupted && o.positions.empty()) {
    std::set<std::string> have;
    for (const auto& p : store->profiles()) {
      have.insert(
          profile_key(p.value("framework", ""), p.value("model", ""), p.value("phase", "")));
    }
    const std::vector<StoredRun> stored_runs = store->runs();
    fs::create_directories(out / "profiles", ec);
    std::optional<OpTaxonomy> taxonomy;
    int index = 0, total = 0;
    for (const auto& c : e.configurations) total += c.argv.empty() ? 1 : 0;
    for (size_t ci = 0; ci < e.configurations.size(); ++ci) {
      const Configuration& c = e.configurations[ci];
      if (!c.argv.empty()) continue;
      ++index;
      const std::string key = profile_key(c.framework, c.model, c.phase);
      if (have.count(key)) continue;
      if (stop_requested(o)) {
        outcome.interrupted = true;
        break;
      }
      const std::string label = "[profile " + std::to_string(index) + "/" + std::to_string(total) +
                                "] " + c.framework + " " + c.model + " " + c.phase;
      auto say = [&](const std::string& text) {
        if (!o.progress) return;
        *o.progress << (o.progress_in_place ? "\r\033[K" : "") << text << "\n" << std::flush;
      };
      const std::string group = group_of(c);
      std::string checkpoint;
      if (with_checkpoints.count(group) && c.phase == "infer") {
        if (!latest_checkpoint.count(group)) {
          say("warning: " + label + ": not profiled: no train run of " + c.framework + " " +
              c.model + " has succeeded");
          continue;
        }
        checkpoint = (out_absolute / latest_checkpoint[group]).string();
      }
      const auto energy = median_observation(stored_runs, c, "energy_total");
      if (!energy) {
        say("warning: " + label + ": not profiled: no measured run succeeded");
        continue;
      }
      say(label);
      PlannedRun as_run;
      as_run.configuration = int(ci);
      std::vector<std::string> argv = run_argv(e, as_run, worker_dir, checkpoint);
      const fs::path file_path = out_absolute / "profiles" / (key + ".json");
      argv.insert(argv.end(), {"--profile", file_path.string()});
      MeasureOptions mo;
      mo.sources = sources;
      mo.timeout_s = s.timeout_s;
      mo.stdin_path = "/dev/null";
      mo.stop = o.stop;
      mo.run_id = run_id;
      mo.keep_trace = false;
      mo.stdout_path = (out / "logs" / ("profile-" + key + ".out")).string();
      mo.stderr_path = (out / "logs" / ("profile-" + key + ".err")).string();
      fs::remove(file_path, ec);
      const RunRecord record = o.measure(argv, mo);
      if (stop_requested(o)) {
        outcome.interrupted = true;
        break;
      }
      if (record.exit_code != 0 || !fs::exists(file_path, ec)) {
        const std::string why = last_line_of(mo.stderr_path);
        say("warning: " + label + ": the profiled run failed (exit code " +
            std::to_string(record.exit_code) + (why.empty() ? "" : ": " + why) + "); see " +
            mo.stderr_path);
        continue;
      }
      try {
        if (!taxonomy) taxonomy = OpTaxonomy::builtin();
        std::ifstream in(file_path);
        const nlohmann::json worker = nlohmann::json::parse(in);
        Profile profile =
            summarise_profile(worker, *taxonomy, energy->first, energy->second, file_path.string());
        const char* step_metric = c.phase == "train" ? "step_s_median" : "batch_s_median";
        if (const auto unprofiled = median_observation(stored_runs, c, step_metric);
            unprofiled && unprofiled->first > 0 && !profile.step_s.empty()) {
          std::vector<double> steps = profile.step_s;
          std::sort(steps.begin(), steps.end());
          const size_t n = steps.size();
          const double median = n % 2 ? steps[n / 2] : (steps[n / 2 - 1] + steps[n / 2]) / 2;
          profile.profiler_overhead = median / unprofiled->first - 1;
        }
        if (!profile.unmapped.empty()) {
          std::string names;
          for (const auto& n : profile.unmapped) names += (names.empty() ? "" : ", ") + n;
          say("warning: " + label + ": ops missing from the taxonomy (counted in other): " + names);
        }
        store->add_profile(c.framework, c.model, c.phase, profile_json(profile));
      } catch (const std::exception& err) {
        say("warning: " + label + ": the profile cannot be read: " + err.what());
      }
    }
  }

  if (s.repetitions_auto && !outcome.interrupted && last_block >= s.min_repetitions) {
    // The last look: the decisions `compare --sequential` replays from the stored runs.
    const SequentialState& last = state_at(last_block);
    outcome.undecided = last.undecided;
    if (sequential_dirty) store->update_study(settings_json, env);
  }
  return outcome;
}

}  // namespace greenbench
