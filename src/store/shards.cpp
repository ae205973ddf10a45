// Merging the shard stores of Slurm tasks into the study's store, and reading node identity back.
#include "store/shards.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/json_dump.hpp"
#include "greenbench/error.hpp"
#include "greenbench/slurm.hpp"
#include "greenbench/store.hpp"

namespace greenbench {

namespace fs = std::filesystem;
using nlohmann::json;
using store::Database;
using store::Statement;
using store::Transaction;

namespace {

// Kept apart from the run tables so that a store written without Slurm is unchanged, and so that
// the run tables stay those of a local study (every reader of a local store reads these too).
constexpr const char* kSlurmSchema = R"sql(
CREATE TABLE IF NOT EXISTS slurm_runs (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id),
  node TEXT NOT NULL,               -- SLURMD_NODENAME of the task ('' when it never started)
  job_id TEXT NOT NULL,             -- the array job
  task_id INTEGER NOT NULL,         -- SLURM_ARRAY_TASK_ID
  shard TEXT NOT NULL               -- shard file name ('' for a failure recorded without one)
);
CREATE TABLE IF NOT EXISTS slurm_nodes (
  node TEXT PRIMARY KEY,
  hardware TEXT NOT NULL,           -- CPU model (and GPU models): nodes differing here are never pooled
  environment TEXT NOT NULL         -- the node's environment, JSON
);
CREATE TABLE IF NOT EXISTS slurm_merged_shards (
  shard TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  outcome TEXT NOT NULL             -- merged | replaced | superseded
);
)sql";

// One merger at a time per results directory (the waiting submitter, --resume and the final job
// may overlap); the store itself is only ever written by one process at a time.
class MergeLock {
 public:
  explicit MergeLock(const std::string& path)
      : fd_(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw Error(path + ": cannot create the lock file: " + std::strerror(errno));
    if (flock(fd_, LOCK_EX) != 0) {
      close(fd_);
      throw Error(path + ": cannot lock: " + std::strerror(errno));
    }
  }
  MergeLock(const MergeLock&) = delete;
  MergeLock& operator=(const MergeLock&) = delete;
  ~MergeLock() { close(fd_); }

 private:
  int fd_;
};

json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot read");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
}

std::vector<std::string> columns_of(Database& db, const std::string& schema,
                                    const std::string& table) {
  std::vector<std::string> out;
  Statement q(db, "PRAGMA " + schema + ".table_info(" + table + ")");
  while (q.step()) out.push_back(q.text(1));
  return out;
}

std::string joined(const std::vector<std::string>& items, const std::string& prefix = "") {
  std::string s;
  for (const auto& c : items) s += (s.empty() ? "" : ", ") + prefix + c;
  return s;
}

// The tables that hang off runs(id): every table with a run_id column but ours.
std::vector<std::string> child_tables(Database& db) {
  std::vector<std::string> tables;
  {
    Statement q(db, "SELECT name FROM main.sqlite_master WHERE type = 'table' ORDER BY name");
    while (q.step()) tables.push_back(q.text(0));
  }
  std::vector<std::string> out;
  for (const auto& t : tables) {
    if (t.rfind("slurm_", 0) == 0 || t == "runs") continue;
    const auto cols = columns_of(db, "main", t);
    if (std::find(cols.begin(), cols.end(), "run_id") != cols.end()) out.push_back(t);
  }
  return out;
}

void delete_run(Database& db, long long run_id, const std::vector<std::string>& children) {
  for (const auto& t : children) {
    Statement d(db, "DELETE FROM main." + t + " WHERE run_id = ?");
    d.bind(1, run_id).run();
  }
  Statement s(db, "DELETE FROM main.slurm_runs WHERE run_id = ?");
  s.bind(1, run_id).run();
  Statement r(db, "DELETE FROM main.runs WHERE id = ?");
  r.bind(1, run_id).run();
}

void update_node_environment(Database& db, const std::string& node, const json& env) {
  const std::string hardware = hardware_of(env);
  Statement up(db,
               "INSERT INTO main.slurm_nodes (node, hardware, environment) VALUES (?, ?, ?) "
               "ON CONFLICT(node) DO UPDATE SET hardware = excluded.hardware, "
               "environment = excluded.environment");
  up.bind(1, node).bind(2, hardware).bind(3, dump_json(env)).run();
  // The study's environment names every node and its hardware; a study that ran on one kind of
  // node also gets that node's machine keys, so it reads like a local study's environment.
  Statement q(db, "SELECT environment FROM main.study WHERE id = 1");
  if (!q.step()) throw Error(db.file() + ": the study row is missing");
  json study_env = json::parse(q.text(0));
  q.reset();
  if (!study_env.contains("cpu_model")) {
    for (const auto& [key, value] : env.items()) {
      if (!study_env.contains(key)) study_env[key] = value;
    }
    study_env.erase("hostname");
  }
  study_env["slurm_nodes"][node] = hardware;
  Statement set(db, "UPDATE main.study SET environment = ? WHERE id = 1");
  set.bind(1, dump_json(study_env)).run();
}

}  // namespace

std::string hardware_of(const json& env) {
  std::string hw = env.value("cpu_model", std::string("unknown CPU"));
  if (env.contains("gpu_models") && env["gpu_models"].is_array() && !env["gpu_models"].empty()) {
    std::string gpus;
    for (const auto& g : env["gpu_models"]) {
      gpus += (gpus.empty() ? "" : ", ") + (g.is_string() ? g.get<std::string>() : g.dump());
    }
    hw += " + " + gpus;
  }
  return hw;
}

MergeSummary merge_shards(const std::string& out_dir) {
  const fs::path dir(out_dir);
  const fs::path shards = dir / "shards";
  const std::string file = (dir / "results.sqlite").string();
  MergeSummary summary;
  std::error_code ec;
  if (!fs::is_directory(shards, ec)) return summary;
  MergeLock lock((dir / ".merge.lock").string());
  // Opening through ResultStore migrates an older schema before rows are copied into it.
  { ResultStore::open(file); }
  Database db(file, SQLITE_OPEN_READWRITE);
  db.exec("PRAGMA busy_timeout = 10000");
  db.exec(kSlurmSchema);
  std::set<std::string> merged;
  {
    Statement q(db, "SELECT shard FROM slurm_merged_shards");
    while (q.step()) merged.insert(q.text(0));
  }
  // A shard counts once its task wrote the done marker: a store without it is a run in flight,
  // or one that Slurm killed (recorded from the task's state instead).
  std::vector<fs::path> done;
  for (const auto& entry : fs::directory_iterator(shards, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string suffix = ".done.json";
    if (name.size() > suffix.size() && name.ends_with(suffix)) done.push_back(entry.path());
  }
  std::sort(done.begin(), done.end());
  const auto children = child_tables(db);
  const auto run_columns = [&] {
    auto cols = columns_of(db, "main", "runs");
    cols.erase(std::remove(cols.begin(), cols.end(), "id"), cols.end());
    return cols;
  }();
  for (const auto& marker_path : done) {
    const std::string marker_name = marker_path.filename().string();
    const std::string shard = marker_name.substr(0, marker_name.size() - std::strlen(".done.json"));
    if (merged.count(shard)) {
      ++summary.skipped;
      continue;
    }
    const json marker = read_json_file(marker_path);
    const fs::path shard_file = shards / (shard + ".sqlite");
    if (!fs::is_regular_file(shard_file, ec)) {
      throw Error(shard_file.string() + ": missing, though its task marked it done");
    }
    {
      Statement attach(db, "ATTACH DATABASE ? AS shard");
      attach.bind(1, shard_file.string()).run();
    }
    try {
      Transaction t(db);
      long long shard_run = -1;
      int position = -1;
      {
        Statement q(db, "SELECT id, position FROM shard.runs");
        if (q.step()) {
          shard_run = q.integer(0);
          position = int(q.integer(1));
        }
        if (q.step()) throw Error(shard_file.string() + ": holds more than one run");
      }
      if (shard_run < 0) throw Error(shard_file.string() + ": holds no run");
      long long existing = -1;
      std::string existing_status;
      {
        Statement q(db, "SELECT id, status FROM main.runs WHERE position = ?");
        q.bind(1, position);
        if (q.step()) {
          existing = q.integer(0);
          existing_status = q.text(1);
        }
      }
      std::string outcome = "merged";
      if (existing >= 0 && existing_status == "ok") {
        outcome = "superseded";  // a run stored ok is never replaced
        ++summary.skipped;
      } else {
        if (existing >= 0) {
          delete_run(db, existing, children);
          outcome = "replaced";
          ++summary.replaced;
        }
        {
          Statement copy(db, "INSERT INTO main.runs (" + joined(run_columns) + ") SELECT " +
                                 joined(run_columns) + " FROM shard.runs WHERE id = ?");
          copy.bind(1, shard_run).run();
        }
        const long long run_id = sqlite3_last_insert_rowid(db.handle());
        for (const auto& table : children) {
          auto cols = columns_of(db, "main", table);
          std::vector<std::string> select;
          for (const auto& c : cols) select.push_back(c == "run_id" ? "?" : c);
          Statement copy(db, "INSERT INTO main." + table + " (" + joined(cols) + ") SELECT " +
                                 joined(select) + " FROM shard." + table + " WHERE run_id = ?");
          copy.bind(1, run_id).bind(2, shard_run).run();
        }
        const std::string node = marker.value("node", std::string());
        Statement ins(db,
                      "INSERT INTO main.slurm_runs (run_id, node, job_id, task_id, shard) "
                      "VALUES (?, ?, ?, ?, ?)");
        ins.bind(1, run_id)
            .bind(2, node)
            .bind(3, marker.value("job_id", std::string()))
            .bind(4, marker.value("task_id", 0))
            .bind(5, shard)
            .run();
        Statement env(db, "SELECT environment FROM shard.study WHERE id = 1");
        if (env.step()) {
          json node_env = json::parse(env.text(0));
          if (marker.contains("gpu_models")) node_env["gpu_models"] = marker["gpu_models"];
          update_node_environment(db, node, node_env);
        }
        ++summary.merged;
      }
      Statement mark(db, "INSERT INTO main.slurm_merged_shards VALUES (?, ?, ?)");
      mark.bind(1, shard).bind(2, position).bind(3, outcome).run();
      t.commit();
    } catch (...) {
      db.exec("DETACH DATABASE shard");
      throw;
    }
    db.exec("DETACH DATABASE shard");
  }
  return summary;
}

bool record_slurm_failure(const std::string& out_dir, const StoredRun& run, const std::string& node,
                          const std::string& job_id, int task_id) {
  const fs::path dir(out_dir);
  const std::string file = (dir / "results.sqlite").string();
  MergeLock lock((dir / ".merge.lock").string());
  ResultStore store = ResultStore::open(file);
  for (const auto& r : store.runs()) {
    if (r.position == run.position) return false;
  }
  store.add_run(run);
  Database db(file, SQLITE_OPEN_READWRITE);
  db.exec("PRAGMA busy_timeout = 10000");
  db.exec(kSlurmSchema);
  Statement ins(db,
                "INSERT INTO slurm_runs (run_id, node, job_id, task_id, shard) "
                "SELECT id, ?, ?, ?, '' FROM runs WHERE position = ?");
  ins.bind(1, node).bind(2, job_id).bind(3, task_id).bind(4, run.position).run();
  return true;
}

namespace store {

void attach_slurm_nodes(Database& db, ResultSet& rs) {
  {
    Statement probe(db,
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                    "name IN ('slurm_runs', 'slurm_nodes')");
    if (!probe.step() || probe.integer(0) < 2) return;
  }
  std::map<long long, std::pair<std::string, std::string>> node_of;  // run id -> node, hardware
  Statement q(db,
              "SELECT r.id, s.node, coalesce(n.hardware, ''), r.model, r.framework, r.phase, "
              "r.status, r.warmup FROM runs r JOIN slurm_runs s ON s.run_id = r.id "
              "LEFT JOIN slurm_nodes n ON n.node = s.node ORDER BY s.node, r.position");
  std::map<std::tuple<std::string, std::string, std::string, std::string>, NodeCount> counts;
  while (q.step()) {
    const std::string node = q.text(1).empty() ? "(never started)" : q.text(1);
    node_of[q.integer(0)] = {node, q.text(2)};
    auto& n = counts[{node, q.text(3), q.text(4), q.text(5)}];
    n.node = node;
    n.hardware = q.text(2);
    n.model = q.text(3);
    n.framework = q.text(4);
    n.phase = q.text(5);
    if (q.text(6) == "ok") {
      if (q.integer(7) == 0) ++n.ok;
    } else {
      ++n.failed;
    }
  }
  for (auto& [key, n] : counts) rs.node_counts.push_back(n);
  for (auto& o : rs.observations) {
    const auto it = node_of.find(o.run_id);
    if (it == node_of.end()) continue;
    o.node = it->second.first;
    o.hardware = it->second.second;
  }
}

}  // namespace store
}  // namespace greenbench
