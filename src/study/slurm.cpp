// Studies on a Slurm cluster: submitting a job array, the array task, waiting, resume.
//
// Mapping: one run per array task, each task --exclusive on its node. A task holds a whole node
// for exactly one measured process, so no other job's work is ever inside a run's energy (RAPL and
// NVML count the whole package and device, not a job); a failure, a time limit or a preemption
// costs one run and names it; and the array index order is the plan's interleaved order, which
// Slurm starts lowest index first, so that the shuffle still spreads drifts over configurations.
#include "greenbench/slurm.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/json_dump.hpp"
#include "energy/sources.hpp"
#include "greenbench/error.hpp"
#include "greenbench/measure.hpp"
#include "greenbench/store.hpp"

extern char** environ;

namespace greenbench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double wall_now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Captured {
  int status = -1;  ///< exit status; -1 = could not start
  std::string out;  ///< stdout and stderr
};

// Runs a Slurm client (argv, never a shell) and collects what it prints.
Captured capture(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  Captured result;
  if (rc != 0) {
    close(fds[0]);
    result.out = argv[0] + ": " + std::strerror(rc);
    return result;
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      result.out.append(buffer, size_t(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
  return s.substr(i);
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    if (!d.empty() && access((fs::path(d) / program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

void write_json_atomically(const fs::path& path, const json& value) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) throw Error(tmp.string() + ": cannot write");
    out << dump_json(value) << "\n";
    if (!out) throw Error(tmp.string() + ": cannot write");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(path.string() + ": cannot write: " + ec.message());
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot read");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

json overrides_json(const StudyOverrides& o) {
  json j = json::object();
  if (o.repetitions) j["repetitions"] = *o.repetitions;
  if (o.models) j["models"] = *o.models;
  if (o.frameworks) j["frameworks"] = *o.frameworks;
  if (o.phases) j["phases"] = *o.phases;
  if (o.scale) j["scale"] = *o.scale;
  if (o.sources) j["sources"] = *o.sources;
  if (o.cpu_watts_per_core) j["cpu_watts_per_core"] = *o.cpu_watts_per_core;
  if (o.cpu_idle_watts) j["cpu_idle_watts"] = *o.cpu_idle_watts;
  return j;
}

StudyOverrides overrides_from(const json& j) {
  StudyOverrides o;
  if (j.contains("repetitions")) o.repetitions = j["repetitions"].get<int>();
  if (j.contains("models")) o.models = j["models"].get<std::vector<std::string>>();
  if (j.contains("frameworks")) o.frameworks = j["frameworks"].get<std::vector<std::string>>();
  if (j.contains("phases")) o.phases = j["phases"].get<std::vector<std::string>>();
  if (j.contains("scale")) o.scale = j["scale"].get<std::string>();
  if (j.contains("sources")) o.sources = j["sources"].get<std::vector<std::string>>();
  if (j.contains("cpu_watts_per_core"))
    o.cpu_watts_per_core = j["cpu_watts_per_core"].get<double>();
  if (j.contains("cpu_idle_watts")) o.cpu_idle_watts = j["cpu_idle_watts"].get<double>();
  return o;
}

// The task rebuilds the effective settings from the study file itself (so that keys this code
// does not know travel too) and refuses to run if they are not the ones submitted.
EffectiveSettings rebuild(const json& request, const std::string& where) {
  StudySettings s = request["study_file"].is_string()
                        ? parse_study_file(request["study_file"].get<std::string>())
                        : StudySettings{};
  apply_overrides(s, overrides_from(request["overrides"]));
  s.threads = request["settings"].value("threads", 0);  // resolved once, on the submitting host
  EffectiveSettings e = make_effective(s);
  if (to_json(e) != request["settings"]) {
    throw Error(where + ": the study file " + request["study_file"].dump() +
                " no longer gives the submitted settings; resubmit with --resume after "
                "restoring it");
  }
  return e;
}

std::string shard_name(int position, const std::string& job, int task) {
  char p[16];
  std::snprintf(p, sizeof p, "%04d", position);
  return std::string(p) + "." + job + "_" + std::to_string(task);
}

std::string group_of(const Configuration& c) { return c.framework + "-" + c.model; }

// Markers of every task in DIR/shards, by shard name: started, done, killed.
struct Markers {
  std::map<std::string, json> started, done, killed;
};

Markers read_markers(const fs::path& shards) {
  Markers m;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(shards, ec)) {
    const std::string name = entry.path().filename().string();
    for (auto [suffix, target] :
         {std::pair{".started.json", &m.started}, std::pair{".done.json", &m.done},
          std::pair{".killed.json", &m.killed}}) {
      if (name.size() > std::strlen(suffix) && name.ends_with(suffix)) {
        try {
          (*target)[name.substr(0, name.size() - std::strlen(suffix))] = read_json(entry.path());
        } catch (const Error&) {
          // written by a task at this moment (markers are renamed into place, so rarely)
        }
      }
    }
  }
  return m;
}

// Waits for the train runs of `group` planned before `position` to finish (as far as the tasks
// say), at most `limit_s`, then gives the checkpoint of the latest successful one.
std::string find_checkpoint_in_shards(const EffectiveSettings& e,
                                      const std::vector<PlannedRun>& plan, const fs::path& dir,
                                      const std::string& group, int position, double limit_s,
                                      std::ostream& log) {
  std::set<int> earlier_train;
  for (const auto& r : plan) {
    const auto& c = e.configurations[size_t(r.configuration)];
    if (r.position < position && c.phase == "train" && group_of(c) == group) {
      earlier_train.insert(r.position);
    }
  }
  const double until = wall_now_s() + limit_s;
  bool said = false;
  for (;;) {
    const Markers m = read_markers(dir / "shards");
    std::set<int> finished;
    int best = -1;
    std::string best_checkpoint;
    for (const auto* markers : {&m.done, &m.killed}) {
      for (const auto& [name, j] : *markers) {
        const int p = j.value("position", -1);
        if (!earlier_train.count(p)) continue;
        finished.insert(p);
        const std::string ckpt = j.value("checkpoint", std::string());
        std::error_code ec;
        if (j.value("status", std::string()) == "ok" && !ckpt.empty() &&
            fs::exists(dir / ckpt, ec) && p > best) {
          best = p;
          best_checkpoint = ckpt;
        }
      }
    }
    if (finished.size() == earlier_train.size() || wall_now_s() >= until) return best_checkpoint;
    if (!said) {
      log << "waiting for " << earlier_train.size() - finished.size() << " earlier train run(s) of "
          << group << " to save a checkpoint\n"
          << std::flush;
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// squeue's view of one array job: task id -> state ("PENDING", "RUNNING", ...).
std::map<int, std::pair<std::string, std::string>> squeue_tasks(const std::string& job) {
  std::map<int, std::pair<std::string, std::string>> out;
  const Captured c = capture({"squeue", "-h", "-r", "-j", job, "-o", "%K|%T|%r"});
  if (c.status != 0) return out;  // a job squeue no longer knows is not in its queue
  std::istringstream lines(c.out);
  for (std::string line; std::getline(lines, line);) {
    const auto a = line.find('|');
    const auto b = line.find('|', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    try {
      out[std::stoi(line.substr(0, a))] = {line.substr(a + 1, b - a - 1), line.substr(b + 1)};
    } catch (const std::exception&) {
    }
  }
  return out;
}

// Why Slurm ended a task that left no result: sacct where accounting runs, else scontrol while
// the controller still remembers the job (MinJobAge), else what the task itself wrote.
std::string slurm_reason(const std::string& job, int task, const json* killed,
                         const fs::path& task_log) {
  const std::string id = job + "_" + std::to_string(task);
  std::string state, reason;
  const Captured sacct = capture({"sacct", "-n", "-P", "-X", "-j", id, "-o", "State,Reason"});
  if (sacct.status == 0 && !trim(sacct.out).empty()) {
    const std::string line = trim(sacct.out.substr(0, sacct.out.find('\n')));
    state = line.substr(0, line.find('|'));
    if (line.find('|') != std::string::npos) reason = line.substr(line.find('|') + 1);
  } else {
    const Captured sc = capture({"scontrol", "-o", "show", "job", id});
    if (sc.status == 0) {
      auto field = [&](const std::string& key) {
        const auto at = sc.out.find(" " + key + "=");
        if (at == std::string::npos) return std::string();
        const auto start = at + key.size() + 2;
        return sc.out.substr(start, sc.out.find(' ', start) - start);
      };
      state = field("JobState");
      reason = field("Reason");
    }
  }
  std::string text = "slurm: job " + id;
  if (!state.empty()) {
    text += " ended " + state;
    if (!reason.empty() && reason != "None") text += " (reason " + reason + ")";
  } else {
    text +=
        " ended without a result; its state is no longer known (no accounting for sacct, "
        "and scontrol forgets a job MinJobAge after it ends)";
  }
  if (killed) text += "; the task was " + killed->value("what", std::string("terminated"));
  std::ifstream log(task_log);
  std::string last, line;
  while (std::getline(log, line)) {
    if (!trim(line).empty()) last = trim(line);
  }
  if (!last.empty() && !killed) text += ": " + last.substr(0, 300);
  return text;
}

struct Submission {
  int number = 0;
  std::string job_id;
  double submitted_at = 0;
  std::vector<int> positions;  ///< array index -> plan position
};

std::vector<Submission> read_submissions(const fs::path& slurm_dir) {
  std::vector<Submission> out;
  for (int k = 0;; ++k) {
    const fs::path p = slurm_dir / ("submission-" + std::to_string(k) + ".json");
    std::error_code ec;
    if (!fs::exists(p, ec)) break;
    const json j = read_json(p);
    Submission s;
    s.number = k;
    s.job_id = j.value("job_id", std::string());
    s.submitted_at = j.value("submitted_at", 0.0);
    s.positions = j.at("positions").get<std::vector<int>>();
    out.push_back(std::move(s));
  }
  return out;
}

std::string format_array(int n, int nodes) {
  std::string spec = "0-" + std::to_string(n - 1);
  if (nodes > 0) spec += "%" + std::to_string(nodes);
  return spec;
}

// What one pass over a submission found.
struct Tally {
  int queued = 0, running = 0, done = 0, failed = 0;
  bool finished = false;
};

StoredRun labels_of(const EffectiveSettings& e, const PlannedRun& p) {
  const Configuration& c = e.configurations[size_t(p.configuration)];
  StoredRun r;
  r.position = p.position;
  r.framework = c.framework;
  r.model = c.model;
  r.phase = c.phase;
  r.repetition = p.repetition;
  r.warmup = p.warmup;
  r.status = "failed";
  r.exit_code = -1;
  r.started_at = wall_now_s();
  return r;
}

// One look at a submission: markers, then squeue; a task gone from the queue without a done
// marker on two looks in a row is recorded as failed with Slurm's reason.
Tally look(const EffectiveSettings& e, const std::vector<PlannedRun>& plan, const fs::path& dir,
           const Submission& sub, std::set<int>* gone_once) {
  Tally t;
  const auto queue = squeue_tasks(sub.job_id);
  const Markers m = read_markers(dir / "shards");
  std::set<int> stored;
  {
    ResultStore store = ResultStore::open((dir / "results.sqlite").string());
    for (const auto& r : store.runs()) stored.insert(r.position);
  }
  int finished = 0;
  for (int index = 0; index < int(sub.positions.size()); ++index) {
    const int position = sub.positions[size_t(index)];
    const std::string name = shard_name(position, sub.job_id, index);
    if (const auto d = m.done.find(name); d != m.done.end()) {
      (d->second.value("status", std::string()) == "ok" ? t.done : t.failed) += 1;
      ++finished;
      continue;
    }
    const auto q = queue.find(index);
    if (q != queue.end()) {
      gone_once->erase(index);
      if (q->second.first == "PENDING")
        ++t.queued;
      else
        ++t.running;
      continue;
    }
    if (!gone_once->count(index)) {
      gone_once->insert(index);
      ++t.running;  // between its last marker and the queue's view: look again
      continue;
    }
    const auto started = m.started.find(name);
    const auto killed = m.killed.find(name);
    if (!stored.count(position)) {
      StoredRun r = labels_of(e, plan[size_t(position)]);
      r.reason = slurm_reason(
          sub.job_id, index, killed == m.killed.end() ? nullptr : &killed->second,
          dir / "slurm" / "logs" / (sub.job_id + "_" + std::to_string(index) + ".out"));
      const std::string node =
          started == m.started.end() ? "" : started->second.value("node", std::string());
      record_slurm_failure(dir.string(), r, node, sub.job_id, index);
    }
    ++t.failed;
    ++finished;
  }
  t.finished = finished == int(sub.positions.size());
  return t;
}

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Submission to the task's first marker, per run: for tasks that waited for a node held by an
// earlier task of the study, from the moment that node came free.
double overhead_median(const Submission& sub, const Markers& m) {
  std::map<std::string, std::vector<std::pair<double, double>>> by_node;  // start, end
  for (int index = 0; index < int(sub.positions.size()); ++index) {
    const std::string name = shard_name(sub.positions[size_t(index)], sub.job_id, index);
    const auto s = m.started.find(name);
    const auto d = m.done.find(name);
    if (s == m.started.end() || d == m.done.end()) continue;
    by_node[s->second.value("node", std::string())].push_back(
        {s->second.value("started_at", 0.0), d->second.value("finished_at", 0.0)});
  }
  std::vector<double> gaps;
  for (auto& [node, spans] : by_node) {
    std::sort(spans.begin(), spans.end());
    double free_at = sub.submitted_at;
    for (const auto& [start, end] : spans) {
      gaps.push_back(start - std::max(free_at, sub.submitted_at));
      free_at = end;
    }
  }
  return median(gaps);
}

}  // namespace

SlurmOutcome run_study_slurm(const EffectiveSettings& e, const SlurmRunOptions& o) {
  for (const char* program : {"sbatch", "squeue"}) {
    if (!on_path(program)) {
      throw Error(std::string(program) +
                  ": not found on PATH (run --slurm needs the Slurm client commands)");
    }
  }
  const SlurmSettings& slurm = e.settings.slurm;
  const fs::path dir = fs::absolute(o.out_dir);
  const fs::path slurm_dir = dir / "slurm";
  const std::string file = (dir / "results.sqlite").string();
  const json settings = to_json(e);
  const std::vector<PlannedRun> plan = make_plan(e);
  std::error_code ec;
  SlurmOutcome outcome;
  outcome.store_file = file;

  fs::create_directories(dir, ec);
  // One submitter per results directory at a time: two would submit the same runs twice. (The
  // tasks never take it; the kernel drops it when this process ends, even by kill -9.)
  const int lock_fd = open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (lock_fd >= 0) close(lock_fd);
    throw Error((dir / ".lock").string() +
                ": another greenbench is submitting or waiting for this study");
  }
  struct CloseLock {
    int fd;
    ~CloseLock() { close(fd); }
  } close_lock{lock_fd};

  std::set<int> active;  // positions of tasks still queued or running in an earlier submission
  std::map<int, std::string> stored;  // position -> status
  std::vector<Submission> earlier;
  if (o.resume) {
    if (!fs::exists(file, ec)) {
      throw Error(file + ": no results store to resume (run without --resume to start one)");
    }
    const json request = read_json(slurm_dir / "request.json");
    if (request["settings"] != settings) {
      throw Error(file +
                  ": holds other settings than this study and its options; resume with "
                  "the same study file and options");
    }
    merge_shards(dir.string());
    earlier = read_submissions(slurm_dir);
    for (const auto& sub : earlier) {
      const auto queue = squeue_tasks(sub.job_id);
      for (const auto& [index, state] : queue) {
        if (index >= 0 && index < int(sub.positions.size()))
          active.insert(sub.positions[size_t(index)]);
      }
    }
    // Tasks of earlier submissions that ended without a result: recorded as failed with Slurm's
    // reason (what a waiting submitter would have done), before deciding what to resubmit.
    for (const auto& sub : earlier) {
      std::set<int> gone;
      for (int i = 0; i < int(sub.positions.size()); ++i) gone.insert(i);  // looked at once
      look(e, plan, dir, sub, &gone);
    }
    merge_shards(dir.string());
    ResultStore store = ResultStore::open(file);
    for (const auto& r : store.runs()) stored[r.position] = r.status;
  } else {
    if (fs::exists(file, ec)) {
      throw Error(file +
                  ": already exists (add --resume to finish that study, or choose another "
                  "--out)");
    }
    for (const char* sub : {"shards", "slurm/logs", "logs", "checkpoints"}) {
      fs::create_directories(dir / sub, ec);
      if (ec) throw Error((dir / sub).string() + ": cannot create the directory: " + ec.message());
    }
    json request = {
        {"study_file", o.study_file ? json(fs::absolute(*o.study_file).string()) : json(nullptr)},
        {"overrides", overrides_json(o.overrides)},
        {"settings", settings}};
    write_json_atomically(slurm_dir / "request.json", request);
    json env = {{"slurm", {{"submitted_from", capture_environment().value("hostname", "")}}}};
    ResultStore::create(file, settings, env);
    merge_shards(dir.string());  // nothing to merge yet: adds the tables of node identity
  }

  std::vector<int> positions;
  for (const auto& r : plan) {
    const auto it = stored.find(r.position);
    if (active.count(r.position)) continue;
    if (it == stored.end() || it->second == "failed") positions.push_back(r.position);
  }
  for (const auto& [position, status] : stored) outcome.already_stored += status == "ok";
  if (!active.empty() && o.progress) {
    *o.progress << active.size() << " run(s) still queued or running from an earlier submission"
                << " are left to it\n";
  }
  if (positions.empty()) {
    if (o.progress) *o.progress << "nothing to submit: every run is stored or still in the queue\n";
    return outcome;
  }

  Submission sub;
  sub.number = int(earlier.size());
  sub.positions = positions;
  const fs::path sub_file = slurm_dir / ("submission-" + std::to_string(sub.number) + ".json");
  const fs::path script = slurm_dir / ("task-" + std::to_string(sub.number) + ".sh");
  {
    std::ofstream out(script);
    out << "#!/bin/sh\n# one run of study '" << e.settings.name << "' (written by greenbench)\n"
        << "exec " << shell_quote(o.greenbench_exe) << " slurm-task " << shell_quote(dir.string())
        << " " << sub.number << "\n";
    if (!out) throw Error(script.string() + ": cannot write");
  }
  fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec, ec);
  sub.submitted_at = wall_now_s();
  write_json_atomically(sub_file, {{"positions", positions}, {"submitted_at", sub.submitted_at}});

  std::vector<std::string> argv{"sbatch",
                                "--parsable",
                                "--exclusive",
                                "--nodes=1",
                                "--job-name=greenbench-" + e.settings.name,
                                "--array=" + format_array(int(positions.size()), slurm.nodes),
                                "--output=" + (slurm_dir / "logs" / "%A_%a.out").string(),
                                "--chdir=" + dir.string()};
  if (!slurm.partition.empty()) argv.push_back("--partition=" + slurm.partition);
  if (!slurm.time.empty()) argv.push_back("--time=" + slurm.time);
  argv.insert(argv.end(), slurm.sbatch_args.begin(), slurm.sbatch_args.end());
  argv.push_back(script.string());
  const Captured sb = capture(argv);
  if (sb.status != 0) {
    fs::remove(sub_file, ec);
    throw Error("sbatch refused the study (exit " + std::to_string(sb.status) +
                "): " + trim(sb.out));
  }
  sub.job_id = trim(sb.out.substr(0, sb.out.find_first_of(";\n")));
  outcome.job_id = sub.job_id;
  outcome.submitted = int(positions.size());
  write_json_atomically(sub_file, {{"positions", positions},
                                   {"submitted_at", sub.submitted_at},
                                   {"job_id", sub.job_id},
                                   {"sbatch", argv}});
  if (o.progress) {
    *o.progress << "submitted job array " << sub.job_id << ": " << positions.size()
                << " run(s), one per task, each --exclusive on its node\n"
                << std::flush;
  }

  if (!o.wait) {
    // Nobody waits: a small job after the array merges the shards.
    std::vector<std::string> merge{"sbatch",
                                   "--parsable",
                                   "--job-name=greenbench-merge-" + e.settings.name,
                                   "--dependency=afterany:" + sub.job_id,
                                   "--output=" + (slurm_dir / "logs" / "merge-%j.out").string(),
                                   "--chdir=" + dir.string()};
    if (!slurm.partition.empty()) merge.push_back("--partition=" + slurm.partition);
    merge.push_back("--wrap=exec " + shell_quote(o.greenbench_exe) + " slurm-merge " +
                    shell_quote(dir.string()));
    const Captured mj = capture(merge);
    if (o.progress) {
      if (mj.status == 0)
        *o.progress << "merge job " << trim(mj.out) << " runs after it\n";
      else
        *o.progress << "warning: the merge job was refused (" << trim(mj.out)
                    << "); merge with --resume\n";
    }
    return outcome;
  }

  std::set<int> gone_once;
  Tally t;
  std::string last_line;
  for (;;) {
    merge_shards(dir.string());
    t = look(e, plan, dir, sub, &gone_once);
    std::ostringstream line;
    line << "job " << sub.job_id << ": " << t.queued << " queued, " << t.running << " running, "
         << t.done << " done, " << t.failed << " failed (of " << positions.size() << ")";
    if (o.progress && line.str() != last_line) {
      *o.progress << (o.progress_in_place ? "\r\033[K" : "") << line.str()
                  << (o.progress_in_place ? "" : "\n") << std::flush;
      last_line = line.str();
    }
    if (t.finished) break;
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(long(o.poll_s * 1000));
    while (std::chrono::steady_clock::now() < until) {
      if (o.stop && o.stop->load()) {
        if (o.progress && o.progress_in_place) *o.progress << "\n";
        outcome.interrupted = true;
        return outcome;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (o.progress && o.progress_in_place) *o.progress << "\n";
  merge_shards(dir.string());
  outcome.waited = true;
  outcome.ok = t.done;
  outcome.failed = t.failed;
  outcome.overhead_median_s = overhead_median(sub, read_markers(dir / "shards"));
  return outcome;
}

MergeSummary settle_slurm_study(const std::string& out_dir) {
  const fs::path dir = fs::absolute(out_dir);
  MergeSummary summary = merge_shards(dir.string());
  const json request = read_json(dir / "slurm" / "request.json");
  const EffectiveSettings e = rebuild(request, (dir / "slurm" / "request.json").string());
  const auto plan = make_plan(e);
  for (const auto& sub : read_submissions(dir / "slurm")) {
    if (sub.job_id.empty() || !squeue_tasks(sub.job_id).empty()) continue;  // still going
    std::set<int> gone;
    for (int i = 0; i < int(sub.positions.size()); ++i) gone.insert(i);
    const auto before = ResultStore::open((dir / "results.sqlite").string()).runs().size();
    look(e, plan, dir, sub, &gone);
    summary.failures +=
        int(ResultStore::open((dir / "results.sqlite").string()).runs().size() - before);
  }
  return summary;
}

int run_slurm_task(const std::string& out_dir, int submission, std::ostream& log,
                   const std::atomic<bool>* stop) {
  const fs::path dir = fs::absolute(out_dir);
  const double started_at = wall_now_s();
  const char* task_env = std::getenv("SLURM_ARRAY_TASK_ID");
  const char* job_env = std::getenv("SLURM_ARRAY_JOB_ID");
  if (!task_env || !job_env) {
    throw Error(
        "slurm-task: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_JOB_ID are not set (this "
        "command is run by Slurm for `run --slurm`)");
  }
  const int index = std::atoi(task_env);
  const std::string job = job_env;
  const fs::path sub_file = dir / "slurm" / ("submission-" + std::to_string(submission) + ".json");
  const auto positions = read_json(sub_file).at("positions").get<std::vector<int>>();
  if (index < 0 || index >= int(positions.size())) {
    throw Error(sub_file.string() + ": has no array index " + std::to_string(index));
  }
  const int position = positions[size_t(index)];
  std::string node;
  if (const char* n = std::getenv("SLURMD_NODENAME")) node = n;
  if (node.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    node = host;
  }
  const std::string name = shard_name(position, job, index);
  const fs::path shards = dir / "shards";
  json identity = {{"node", node},
                   {"job_id", job},
                   {"task_id", index},
                   {"position", position},
                   {"started_at", started_at}};
  write_json_atomically(shards / (name + ".started.json"), identity);
  // The node's GPU models join its environment: nodes that differ in them are never pooled.
  {
    energy::NvmlSource nvml(SourceOptions::from_environment().nvml_lib);
    json gpus = json::array();
    for (const auto& g : nvml.gpu_names()) {
      if (!g.empty()) gpus.push_back(g);
    }
    identity["gpu_models"] = gpus;
  }

  const json request = read_json(dir / "slurm" / "request.json");
  const EffectiveSettings e = rebuild(request, (dir / "slurm" / "request.json").string());
  const auto plan = make_plan(e);
  RunnerOptions ro;
  ro.out_dir = dir.string();
  ro.store_file = (shards / (name + ".sqlite")).string();
  ro.positions = {position};
  ro.measure = measure_command;
  ro.idle_power = measure_idle_power;
  ro.progress = &log;
  ro.stop = stop;
  ro.find_checkpoint = [&](const std::string& group, int at) {
    return find_checkpoint_in_shards(e, plan, dir, group, at, e.settings.timeout_s, log);
  };
  const StudyOutcome outcome = run_study(e, ro);
  json marker = identity;
  marker["finished_at"] = wall_now_s();
  if (outcome.interrupted) {
    // Slurm's SIGTERM (scancel, time limit, preemption): the run is not a measurement. The
    // submitter records it as failed with Slurm's own reason.
    marker["what"] = "terminated by SIGTERM during the run";
    write_json_atomically(shards / (name + ".killed.json"), marker);
    return 143;
  }
  const auto runs = ResultStore::open(ro.store_file).runs();
  if (runs.size() != 1) throw Error(ro.store_file + ": expected one run");
  marker["status"] = runs[0].status;
  marker["checkpoint"] = runs[0].checkpoint;
  write_json_atomically(shards / (name + ".done.json"), marker);
  return 0;
}

}  // namespace greenbench
