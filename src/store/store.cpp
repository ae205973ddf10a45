// The results store: schema, migrations, writing one run per transaction, reading result sets.
#include "greenbench/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "core/json_dump.hpp"
#include "greenbench/error.hpp"
#include "store/shards.hpp"
#include "store/sqlite.hpp"

namespace greenbench {

namespace {

using nlohmann::json;
using store::Database;
using store::Statement;
using store::Transaction;

// Version 1. Later versions append a migration to kMigrations; a store is brought up to date
// when it is opened, inside one transaction.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE study (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  kind TEXT NOT NULL,               -- 'study' | 'import'
  settings TEXT NOT NULL,           -- effective settings, JSON
  environment TEXT NOT NULL,        -- machine, versions, energy sources, JSON
  created_at REAL NOT NULL          -- seconds since the Unix epoch
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  position INTEGER NOT NULL UNIQUE, -- place in the study's plan
  framework TEXT NOT NULL,
  model TEXT NOT NULL,
  phase TEXT NOT NULL,              -- the configuration's phase: train | infer
  repetition INTEGER NOT NULL,
  warmup INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')),
  reason TEXT NOT NULL,
  exit_code INTEGER NOT NULL,
  term_signal INTEGER NOT NULL,
  started_at REAL NOT NULL,
  duration_s REAL NOT NULL,
  checkpoint TEXT NOT NULL,
  command TEXT NOT NULL,            -- argv, JSON
  sources TEXT NOT NULL,            -- energy sources used, JSON
  info TEXT NOT NULL,               -- `info` marker lines, JSON
  warnings TEXT NOT NULL            -- JSON array
);
CREATE TABLE phases (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  start_s REAL NOT NULL,
  end_s REAL NOT NULL,
  duration_s REAL NOT NULL,
  closed_at_exit INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE phase_energy (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  phase_seq INTEGER NOT NULL,
  domain TEXT NOT NULL,             -- cpu_package, dram, gpu, total, cpu_package:0, ...
  energy_j REAL NOT NULL,
  quality TEXT NOT NULL,            -- measured | estimated
  energy_above_idle_j REAL,
  PRIMARY KEY (run_id, phase_seq, domain)
);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  unit TEXT NOT NULL,
  phase TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE power_samples (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq INTEGER NOT NULL,
  t_s REAL NOT NULL,
  domain TEXT NOT NULL,
  power_w REAL NOT NULL,
  PRIMARY KEY (run_id, seq, domain)
);
CREATE TABLE observations (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  metric TEXT NOT NULL,
  value REAL NOT NULL,
  unit TEXT NOT NULL,
  quality TEXT NOT NULL,
  PRIMARY KEY (run_id, metric)
);
)sql";

// kMigrations[i] brings a store from version i+1 to version i+2. A new store is version 1 with
// every migration applied, so the schema is written down once.
//
// Version 2: a run can be 'invalid' (it ran, but a source failed part-way or a metric is not a
// number); an energy of quality 'failed' has no value (NULL); a metric that is NaN is stored as
// NULL (SQLite turns NaN into NULL; ±infinity it keeps as REAL). SQLite cannot change a CHECK or
// NOT NULL constraint in place, so the three tables are copied.
constexpr const char* kMigrationV2 = R"sql(
CREATE TABLE runs_v2 (
  id INTEGER PRIMARY KEY,
  position INTEGER NOT NULL UNIQUE, -- place in the study's plan
  framework TEXT NOT NULL,
  model TEXT NOT NULL,
  phase TEXT NOT NULL,              -- the configuration's phase: train | infer
  repetition INTEGER NOT NULL,
  warmup INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout', 'invalid')),
  reason TEXT NOT NULL,
  exit_code INTEGER NOT NULL,
  term_signal INTEGER NOT NULL,
  started_at REAL NOT NULL,
  duration_s REAL NOT NULL,
  checkpoint TEXT NOT NULL,
  command TEXT NOT NULL,            -- argv, JSON
  sources TEXT NOT NULL,            -- energy sources used, JSON
  info TEXT NOT NULL,               -- `info` marker lines, JSON
  warnings TEXT NOT NULL            -- JSON array
);
INSERT INTO runs_v2 SELECT * FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v2 RENAME TO runs;
CREATE TABLE phase_energy_v2 (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  phase_seq INTEGER NOT NULL,
  domain TEXT NOT NULL,             -- cpu_package, dram, gpu, total, cpu_package:0, ...
  energy_j REAL,                    -- NULL when quality is 'failed'
  quality TEXT NOT NULL,            -- measured | estimated | failed
  energy_above_idle_j REAL,         -- NULL without an idle power for the domain
  PRIMARY KEY (run_id, phase_seq, domain)
);
INSERT INTO phase_energy_v2 SELECT * FROM phase_energy;
DROP TABLE phase_energy;
ALTER TABLE phase_energy_v2 RENAME TO phase_energy;
CREATE TABLE metrics_v2 (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL,                       -- NULL: the command reported NaN
  unit TEXT NOT NULL,
  phase TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
INSERT INTO metrics_v2 SELECT * FROM metrics;
DROP TABLE metrics;
ALTER TABLE metrics_v2 RENAME TO metrics;
)sql";

// Version 3: every energy value carries its resolution (energy_resolution_j), NULL where it is not
// known (runs stored before, imported values).
constexpr const char* kMigrationV3 = R"sql(
ALTER TABLE phase_energy ADD COLUMN resolution_j REAL;
ALTER TABLE observations ADD COLUMN resolution_j REAL;
)sql";

// Version 4: the `step` marker lines of each run (RunRecord::steps) and their energy per domain,
// and the op profiles of a study with `profile = true`, one per configuration (the summary of
// greenbench/profile.hpp as JSON; never part of the statistics).
constexpr const char* kMigrationV4 = R"sql(
CREATE TABLE steps (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq INTEGER NOT NULL,             -- order of arrival
  phase TEXT NOT NULL,              -- innermost open phase when the line arrived
  step_index INTEGER NOT NULL,      -- as the worker wrote it (the last one's, when step_count > 1)
  step_count INTEGER NOT NULL,      -- step lines it covers: 1, more where a phase had > 10 000
  t_s REAL NOT NULL,                -- end of the step, seconds since the run started
  duration_s REAL NOT NULL,         -- since the previous step line of the phase, or its begin
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE step_energy (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  step_seq INTEGER NOT NULL,
  domain TEXT NOT NULL,             -- as in phase_energy
  energy_j REAL,                    -- NULL when quality is 'failed'
  quality TEXT NOT NULL,            -- measured | estimated | failed
  resolution_j REAL,                -- NULL where not known
  PRIMARY KEY (run_id, step_seq, domain)
);
CREATE TABLE profiles (
  framework TEXT NOT NULL,
  model TEXT NOT NULL,
  phase TEXT NOT NULL,
  profile TEXT NOT NULL,            -- profile_json(), JSON
  created_at REAL NOT NULL,         -- seconds since the Unix epoch
  PRIMARY KEY (framework, model, phase)
);
)sql";

const std::vector<const char*> kMigrations{kMigrationV2, kMigrationV3, kMigrationV4};

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

int schema_version(Database& db) {
  Statement probe(
      db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'");
  if (!probe.step() || probe.integer(0) == 0) {
    throw Error(db.file() + ": not a greenbench results store (no schema_version table)");
  }
  Statement q(db, "SELECT version FROM schema_version");
  if (!q.step()) throw Error(db.file() + ": schema_version table is empty");
  return int(q.integer(0));
}

void migrate(Database& db) {
  const int version = schema_version(db);
  if (version > kStoreSchemaVersion) {
    throw Error(db.file() + ": written by a newer greenbench (schema version " +
                std::to_string(version) + ", this one reads up to " +
                std::to_string(kStoreSchemaVersion) + ")");
  }
  if (version == kStoreSchemaVersion) return;
  // Copying a table that others reference needs foreign keys off (SQLite's own recipe for
  // schema changes; the pragma has no effect inside a transaction), checked before the commit.
  db.exec("PRAGMA foreign_keys = OFF");
  {
    Transaction t(db);
    for (int v = version; v < kStoreSchemaVersion; ++v) db.exec(kMigrations[size_t(v - 1)]);
    db.exec("UPDATE schema_version SET version = " + std::to_string(kStoreSchemaVersion));
    {
      Statement check(db, "PRAGMA foreign_key_check");
      if (check.step()) throw Error(db.file() + ": migration broke a foreign key; left unchanged");
    }
    t.commit();
  }
  db.exec("PRAGMA foreign_keys = ON");
}

json parse_json(const std::string& text, const std::string& file, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(file + ": " + what + " is not valid JSON: " + e.what());
  }
}

// The profiles table's rows (none in a store older than version 4, which has no such table).
std::vector<json> read_profiles(Database& db, const std::string& file) {
  std::vector<json> out;
  Statement probe(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='profiles'");
  if (!probe.step() || probe.integer(0) == 0) return out;
  Statement q(db, "SELECT profile FROM profiles ORDER BY model, phase, framework");
  while (q.step()) out.push_back(parse_json(q.text(0), file, "a stored profile"));
  return out;
}

std::string failure_line(const std::string& model, const std::string& framework,
                         const std::string& phase, int repetition, bool warmup,
                         const std::string& status, const std::string& reason) {
  return model + "/" + framework + "/" + phase + " " + (warmup ? "warm-up " : "") + "#" +
         std::to_string(repetition) + ": " + (status == "invalid" ? "invalid: " : "") + reason;
}

}  // namespace

struct ResultStore::Db {
  Db(const std::string& file, int flags) : db(file, flags) {}
  Database db;
};

// Throws unless `file` is a results store we can open for reading, with the OS's reason.
static void require_readable_store(const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw Error("cannot read results store " + file + ": is a folder");
  }
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error("cannot read results store " + file + ": " + std::strerror(err));
  }
  ::close(fd);
}

std::string store_file_path(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return (std::filesystem::path(path) / "results.sqlite").string();
  }
  return path;
}

ResultStore::ResultStore(std::string file, std::unique_ptr<Db> db)
    : file_(std::move(file)), db_(std::move(db)) {}
ResultStore::ResultStore(ResultStore&&) noexcept = default;
ResultStore& ResultStore::operator=(ResultStore&&) noexcept = default;
ResultStore::~ResultStore() = default;

ResultStore ResultStore::create(const std::string& file, const json& settings,
                                const json& environment, const std::string& kind) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    throw Error(file + ": already exists (resume it with --resume, or choose another --out)");
  }
  auto db = std::make_unique<Db>(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  Transaction t(db->db);
  db->db.exec(kSchemaV1);
  for (const char* migration : kMigrations) db->db.exec(migration);
  db->db.exec("INSERT INTO schema_version VALUES (" + std::to_string(kStoreSchemaVersion) + ")");
  Statement insert(db->db,
                   "INSERT INTO study (id, kind, settings, environment, created_at) "
                   "VALUES (1, ?, ?, ?, ?)");
  insert.bind(1, kind)
      .bind(2, dump_json(settings))
      .bind(3, dump_json(environment))
      .bind(4, now_s());
  insert.run();
  t.commit();
  return ResultStore(file, std::move(db));
}

ResultStore ResultStore::open(const std::string& file) {
  require_readable_store(file);
  auto db = std::make_unique<Db>(file, SQLITE_OPEN_READWRITE);
  migrate(db->db);
  return ResultStore(file, std::move(db));
}

json ResultStore::settings() const {
  Statement q(db_->db, "SELECT settings FROM study WHERE id = 1");
  if (!q.step()) throw Error(file_ + ": the study row is missing");
  return parse_json(q.text(0), file_, "the study settings");
}

void ResultStore::update_study(const json& settings, const json& environment) {
  Statement q(db_->db, "UPDATE study SET settings = ?, environment = ? WHERE id = 1");
  q.bind(1, dump_json(settings)).bind(2, dump_json(environment));
  q.run();
}

json ResultStore::environment() const {
  Statement q(db_->db, "SELECT environment FROM study WHERE id = 1");
  if (!q.step()) throw Error(file_ + ": the study row is missing");
  return parse_json(q.text(0), file_, "the environment");
}

std::vector<StoredRun> ResultStore::runs() const {
  std::vector<StoredRun> out;
  std::map<long long, size_t> index;
  Statement q(db_->db,
              "SELECT id, position, framework, model, phase, repetition, warmup, status, reason, "
              "exit_code, started_at, duration_s, checkpoint FROM runs ORDER BY position");
  while (q.step()) {
    StoredRun r;
    index[q.integer(0)] = out.size();
    r.position = int(q.integer(1));
    r.framework = q.text(2);
    r.model = q.text(3);
    r.phase = q.text(4);
    r.repetition = int(q.integer(5));
    r.warmup = q.integer(6) != 0;
    r.status = q.text(7);
    r.reason = q.text(8);
    r.exit_code = int(q.integer(9));
    r.started_at = q.real(10);
    r.duration_s = q.real(11);
    r.checkpoint = q.text(12);
    out.push_back(std::move(r));
  }
  Statement obs(db_->db,
                "SELECT run_id, metric, value, unit, quality, IFNULL(resolution_j, 0) FROM "
                "observations");
  while (obs.step()) {
    StoredRun& r = out[index.at(obs.integer(0))];
    Observation o;
    o.model = r.model;
    o.framework = r.framework;
    o.phase = r.phase;
    o.run = r.repetition;
    o.warmup = r.warmup;
    o.run_id = obs.integer(0);
    o.metric = obs.text(1);
    o.value = obs.real(2);
    o.unit = obs.text(3);
    o.quality = obs.text(4);
    o.resolution = obs.real(5);
    r.observations.push_back(std::move(o));
  }
  return out;
}

void ResultStore::add_profile(const std::string& framework, const std::string& model,
                              const std::string& phase, const json& profile) {
  Database& db = db_->db;
  Transaction t(db);
  Statement q(db,
              "INSERT OR REPLACE INTO profiles (framework, model, phase, profile, created_at) "
              "VALUES (?, ?, ?, ?, ?)");
  q.bind(1, framework).bind(2, model).bind(3, phase).bind(4, dump_json(profile)).bind(5, now_s());
  q.run();
  t.commit();
}

std::vector<json> ResultStore::profiles() const { return read_profiles(db_->db, file_); }

void ResultStore::add_run(const StoredRun& run, const json& environment) {
  Database& db = db_->db;
  Transaction t(db);
  const RunRecord& rec = run.record;
  json sources = json::array();
  for (const auto& s : rec.sources) {
    json js = {{"name", s.name}, {"quality", s.quality}, {"domains", s.domains}};
    if (!s.parameters.empty()) js["parameters"] = s.parameters;
    sources.push_back(std::move(js));
  }
  Statement insert(db,
                   "INSERT INTO runs (position, framework, model, phase, repetition, warmup, "
                   "status, reason, exit_code, term_signal, started_at, duration_s, checkpoint, "
                   "command, sources, info, warnings) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, run.position)
      .bind(2, run.framework)
      .bind(3, run.model)
      .bind(4, run.phase)
      .bind(5, run.repetition)
      .bind(6, run.warmup ? 1 : 0)
      .bind(7, run.status)
      .bind(8, run.reason)
      .bind(9, run.exit_code)
      .bind(10, rec.term_signal)
      .bind(11, run.started_at)
      .bind(12, run.duration_s)
      .bind(13, run.checkpoint)
      .bind(14, dump_json(json(rec.command)))
      .bind(15, dump_json(sources))
      .bind(16, dump_json(json(rec.info)))
      .bind(17, dump_json(json(rec.warnings)));
  insert.run();
  const long long run_id = sqlite3_last_insert_rowid(db.handle());

  Statement phase(db, "INSERT INTO phases VALUES (?, ?, ?, ?, ?, ?, ?)");
  Statement energy(db, "INSERT INTO phase_energy VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (size_t i = 0; i < rec.phases.size(); ++i) {
    const auto& p = rec.phases[i];
    phase.bind(1, run_id).bind(2, int(i)).bind(3, p.name).bind(4, p.start_s).bind(5, p.end_s);
    phase.bind(6, p.duration_s).bind(7, p.closed_at_exit ? 1 : 0);
    phase.run();
    // Every domain with a value, and every failed one (quality 'failed', no value).
    std::set<std::string> domains;
    for (const auto& [domain, joules] : p.energy_j) domains.insert(domain);
    for (const auto& [domain, quality] : p.quality) domains.insert(domain);
    for (const auto& domain : domains) {
      const auto q = p.quality.find(domain);
      const auto joules = p.energy_j.find(domain);
      energy.bind(1, run_id).bind(2, int(i)).bind(3, domain);
      if (joules == p.energy_j.end())
        energy.bind_null(4);
      else
        energy.bind(4, joules->second);
      energy.bind(5, q == p.quality.end() ? std::string("measured") : q->second);
      const auto above = p.energy_above_idle_j.find(domain);
      if (above == p.energy_above_idle_j.end())
        energy.bind_null(6);
      else
        energy.bind(6, above->second);
      const auto resolution = p.energy_resolution_j.find(domain);
      if (resolution == p.energy_resolution_j.end() || joules == p.energy_j.end())
        energy.bind_null(7);
      else
        energy.bind(7, resolution->second);
      energy.run();
    }
  }
  Statement step(db, "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?)");
  Statement step_energy(db, "INSERT INTO step_energy VALUES (?, ?, ?, ?, ?, ?)");
  for (size_t i = 0; i < rec.steps.size(); ++i) {
    const auto& s = rec.steps[i];
    step.bind(1, run_id).bind(2, int(i)).bind(3, s.phase).bind(4, static_cast<long long>(s.index));
    step.bind(5, static_cast<long long>(s.count)).bind(6, s.t_s).bind(7, s.duration_s);
    step.run();
    for (const auto& [domain, quality] : s.quality) {
      const auto joules = s.energy_j.find(domain);
      step_energy.bind(1, run_id).bind(2, int(i)).bind(3, domain);
      if (joules == s.energy_j.end())
        step_energy.bind_null(4);
      else
        step_energy.bind(4, joules->second);
      step_energy.bind(5, quality);
      const auto resolution = s.energy_resolution_j.find(domain);
      if (resolution == s.energy_resolution_j.end() || joules == s.energy_j.end())
        step_energy.bind_null(6);
      else
        step_energy.bind(6, resolution->second);
      step_energy.run();
    }
  }
  Statement metric(db, "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)");
  for (size_t i = 0; i < rec.metrics.size(); ++i) {
    const auto& m = rec.metrics[i];
    metric.bind(1, run_id).bind(2, int(i)).bind(3, m.name).bind(5, m.unit);
    if (std::isnan(m.value))
      metric.bind_null(4);  // what SQLite would make of NaN anyway, but said here
    else
      metric.bind(4, m.value);
    metric.bind(6, m.phase);
    metric.run();
  }
  Statement sample(db, "INSERT INTO power_samples VALUES (?, ?, ?, ?, ?)");
  for (size_t i = 0; i < rec.trace.size(); ++i) {
    const auto& s = rec.trace[i];
    for (size_t d = 0; d < s.power_w.size() && d < rec.trace_domains.size(); ++d) {
      if (std::isnan(s.power_w[d])) continue;  // no value (a failed source): a gap in the chart
      sample.bind(1, run_id).bind(2, int(i)).bind(3, s.t_s).bind(4, rec.trace_domains[d]);
      sample.bind(5, s.power_w[d]);
      sample.run();
    }
  }
  Statement observation(db, "INSERT OR REPLACE INTO observations VALUES (?, ?, ?, ?, ?, ?)");
  for (const auto& o : run.observations) {
    observation.bind(1, run_id).bind(2, o.metric).bind(3, o.value).bind(4, o.unit);
    observation.bind(5, o.quality);
    if (o.resolution > 0)
      observation.bind(6, o.resolution);
    else
      observation.bind_null(6);
    observation.run();
  }
  if (!environment.is_null()) {
    Statement env(db, "UPDATE study SET environment = ? WHERE id = 1");
    env.bind(1, dump_json(environment));
    env.run();
  }
  t.commit();
}

std::vector<Observation> observations_from_record(const RunRecord& record,
                                                  const std::string& phase) {
  // The configured phase's marker phase where the workload marked it (summed if it marked it more
  // than once), else the whole process.
  std::vector<const PhaseRecord*> chosen;
  for (const auto& p : record.phases) {
    if (p.name == phase) chosen.push_back(&p);
  }
  if (chosen.empty()) {
    for (const auto& p : record.phases) {
      if (p.name == "run") {
        chosen.push_back(&p);
        break;
      }
    }
  }
  std::map<std::string, double> energy;
  std::map<std::string, double> resolution;  // summed over the chosen phases; < 0 = unknown
  std::map<std::string, double> above_idle;
  std::map<std::string, int> above_idle_phases;  // chosen phases that have it
  std::map<std::string, bool> estimated;
  bool any_estimated = false;
  double duration = chosen.empty() ? record.duration_s : 0;
  for (const PhaseRecord* p : chosen) {
    duration += p->duration_s;
    for (const auto& [domain, joules] : p->energy_j) {
      // Per-device detail (cpu_package:0) stays in the store; compare works on domains.
      if (domain.find(':') != std::string::npos) continue;
      energy[domain] += joules;
      const auto r = p->energy_resolution_j.find(domain);
      if (r == p->energy_resolution_j.end())
        resolution[domain] = -1;
      else if (resolution[domain] >= 0)
        resolution[domain] += r->second;
      if (const auto a = p->energy_above_idle_j.find(domain); a != p->energy_above_idle_j.end()) {
        above_idle[domain] += a->second;
        ++above_idle_phases[domain];
      }
      const auto q = p->quality.find(domain);
      const bool est = q != p->quality.end() && q->second == "estimated";
      estimated[domain] = estimated[domain] || est;
      any_estimated = any_estimated || est;
    }
  }
  std::vector<Observation> out;
  auto add = [&](const std::string& metric, double value, const std::string& unit,
                 const std::string& quality, double resolution_j = 0) {
    Observation o;
    o.phase = phase;
    o.metric = metric;
    o.value = value;
    o.unit = unit;
    o.quality = quality;
    o.resolution = resolution_j > 0 ? resolution_j : 0;
    out.push_back(std::move(o));
  };
  for (const auto& [domain, joules] : energy) {
    // `total` is estimated as soon as one of its parts is, whatever the record says about it.
    bool est = estimated[domain] || (domain == "total" && any_estimated);
    add("energy_" + domain, joules, "J", est ? "estimated" : "measured", resolution[domain]);
    if (above_idle_phases[domain] == int(chosen.size())) {
      add(std::string(kAboveIdlePrefix) + domain, above_idle[domain], "J",
          est ? "estimated" : "measured", resolution[domain]);
    }
  }
  add("duration", duration, "s", "measured");
  std::map<std::string, const MetricRecord*> last;
  for (const auto& m : record.metrics) {
    if (m.name == "duration" || m.name.rfind("energy_", 0) == 0) continue;
    if (!std::isfinite(m.value)) continue;
    last[m.name] = &m;
  }
  for (const auto& [name, m] : last) add(name, m->value, m->unit, "measured");
  return out;
}

namespace {

// Puts the chosen energy basis under the energy_* names compare and report read.
void select_energy_basis(ResultSet* rs, EnergyBasis basis) {
  const std::string prefix = kAboveIdlePrefix;
  auto& obs = rs->observations;
  if (basis == EnergyBasis::kGross) {
    std::erase_if(obs, [&](const Observation& o) { return o.metric.rfind(prefix, 0) == 0; });
    return;
  }
  const bool any = std::any_of(
      obs.begin(), obs.end(), [&](const Observation& o) { return o.metric.rfind(prefix, 0) == 0; });
  if (!any) {
    throw Error(rs->path +
                ": no run has energy above idle: no idle power was measured (idle_baseline = 0, "
                "or no energy counter to read it with; an import needs energy_above_idle_* "
                "rows); use --energy gross");
  }
  std::erase_if(obs, [&](const Observation& o) {
    return o.metric.rfind("energy_", 0) == 0 && o.metric.rfind(prefix, 0) != 0;
  });
  for (auto& o : obs) {
    if (o.metric.rfind(prefix, 0) == 0) o.metric = "energy_" + o.metric.substr(prefix.size());
  }
  rs->energy_basis = "above-idle";
}

}  // namespace

EnergyBasis parse_energy_basis(const std::string& text) {
  if (text == "gross") return EnergyBasis::kGross;
  if (text == "above-idle") return EnergyBasis::kAboveIdle;
  throw Error("--energy: want gross or above-idle, got '" + text + "'");
}

ResultSet load_results(const std::string& path, EnergyBasis basis) {
  const std::string file = store_file_path(path);
  require_readable_store(file);
  Database db(file, SQLITE_OPEN_READONLY);
  const int version = schema_version(db);
  if (version > kStoreSchemaVersion) {
    throw Error(file + ": written by a newer greenbench (schema version " +
                std::to_string(version) + ")");
  }
  ResultSet rs;
  rs.path = path;
  std::string kind;
  {
    Statement q(db, "SELECT kind, settings, environment FROM study WHERE id = 1");
    if (!q.step()) throw Error(file + ": the study row is missing");
    kind = q.text(0);
    rs.settings = parse_json(q.text(1), file, "the study settings");
    rs.environment = parse_json(q.text(2), file, "the environment");
  }
  const bool imported = kind == "import";
  rs.profiles = read_profiles(db, file);
  {
    Statement q(
        db,
        "SELECT model, framework, phase, repetition, warmup, status, reason, info FROM runs "
        "ORDER BY position");
    // The info entries of a configuration that all its successful runs agree on.
    std::map<std::tuple<std::string, std::string, std::string>, std::map<std::string, std::string>>
        agreed;
    while (q.step()) {
      ++rs.runs_total;
      if (q.text(5) == "ok") {
        ++rs.runs_ok;
        std::map<std::string, std::string> info;
        const json parsed = json::parse(q.text(7), nullptr, false);
        if (parsed.is_object()) {
          for (const auto& [key, value] : parsed.items()) {
            info[key] = value.is_string() ? value.get<std::string>() : value.dump();
          }
        }
        const auto key = std::make_tuple(q.text(0), q.text(1), q.text(2));
        if (auto it = agreed.find(key); it == agreed.end()) {
          agreed.emplace(key, std::move(info));
        } else {
          std::erase_if(it->second, [&](const auto& kv) {
            auto other = info.find(kv.first);
            return other == info.end() || other->second != kv.second;
          });
        }
      } else {
        ++rs.runs_failed;
        rs.failures.push_back(failure_line(q.text(0), q.text(1), q.text(2), int(q.integer(3)),
                                           q.integer(4) != 0, q.text(5), q.text(6)));
      }
    }
    if (kind != "import") {
      for (auto& [key, info] : agreed) {
        rs.config_info.push_back(
            {std::get<0>(key), std::get<1>(key), std::get<2>(key), std::move(info)});
      }
    }
  }
  Statement q(db,
              std::string("SELECT r.id, r.model, r.framework, r.phase, r.repetition, r.warmup, "
                          "o.metric, o.value, o.unit, o.quality, ") +
                  // A store before schema 3 (read-only here, so not migrated) has no resolution.
                  (version >= 3 ? "IFNULL(o.resolution_j, 0)" : "0") +
                  " FROM observations o JOIN runs r ON r.id = o.run_id "
                  "WHERE r.status = 'ok' ORDER BY r.position, o.metric");
  while (q.step()) {
    Observation o;
    o.run_id = imported ? 0 : q.integer(0);
    o.model = q.text(1);
    o.framework = q.text(2);
    o.phase = q.text(3);
    o.run = int(q.integer(4));
    o.warmup = q.integer(5) != 0;
    o.metric = q.text(6);
    o.value = q.real(7);
    o.unit = q.text(8);
    o.quality = q.text(9);
    o.resolution = q.real(10);
    rs.observations.push_back(std::move(o));
  }
  store::attach_slurm_nodes(db, rs);
  select_energy_basis(&rs, basis);
  return rs;
}

std::vector<RunTrace> load_traces(const std::string& path, bool representative_only) {
  const std::string file = store_file_path(path);
  require_readable_store(file);
  Database db(file, SQLITE_OPEN_READONLY);
  schema_version(db);

  // Candidates: successful measured runs, with the value that ranks them.
  struct Candidate {
    long long id;
    std::string model, framework, phase;
    int run;
    double energy = NAN, duration = NAN;
  };
  std::vector<Candidate> candidates;
  {
    Statement q(db,
                "SELECT r.id, r.model, r.framework, r.phase, r.repetition, "
                "(SELECT value FROM observations WHERE run_id = r.id AND metric = 'energy_total'), "
                "(SELECT value FROM observations WHERE run_id = r.id AND metric = 'duration') "
                "FROM runs r WHERE r.status = 'ok' AND r.warmup = 0 "
                "AND EXISTS (SELECT 1 FROM power_samples s WHERE s.run_id = r.id) "
                "ORDER BY r.position");
    while (q.step()) {
      Candidate c{q.integer(0), q.text(1), q.text(2), q.text(3), int(q.integer(4))};
      if (!q.is_null(5)) c.energy = q.real(5);
      if (!q.is_null(6)) c.duration = q.real(6);
      candidates.push_back(std::move(c));
    }
  }
  std::vector<const Candidate*> chosen;
  if (!representative_only) {
    for (const auto& c : candidates) chosen.push_back(&c);
  } else {
    std::map<std::tuple<std::string, std::string, std::string>, std::vector<const Candidate*>>
        groups;
    for (const auto& c : candidates) groups[{c.model, c.framework, c.phase}].push_back(&c);
    for (auto& [key, members] : groups) {
      const bool by_energy = std::all_of(members.begin(), members.end(),
                                         [](const Candidate* c) { return !std::isnan(c->energy); });
      auto value = [&](const Candidate* c) { return by_energy ? c->energy : c->duration; };
      // The lower median for an even count: an actual run, not an average of two.
      std::vector<const Candidate*> sorted = members;
      std::stable_sort(sorted.begin(), sorted.end(),
                       [&](const Candidate* a, const Candidate* b) { return value(a) < value(b); });
      chosen.push_back(sorted[(sorted.size() - 1) / 2]);
    }
  }
  std::vector<RunTrace> traces;
  Statement samples(db,
                    "SELECT seq, t_s, domain, power_w FROM power_samples WHERE run_id = ? "
                    "ORDER BY seq");
  Statement phases(db, "SELECT name, start_s, end_s FROM phases WHERE run_id = ? ORDER BY seq");
  for (const Candidate* c : chosen) {
    RunTrace t;
    t.run_id = c->id;
    t.model = c->model;
    t.framework = c->framework;
    t.phase = c->phase;
    t.run = c->run;
    std::map<std::string, size_t> domain_index;
    long long last_seq = -1;
    samples.bind(1, c->id);
    while (samples.step()) {
      const long long seq = samples.integer(0);
      if (seq != last_seq) {
        t.t_s.push_back(samples.real(1));
        t.power_w.emplace_back(t.domains.size(), NAN);
        last_seq = seq;
      }
      const std::string domain = samples.text(2);
      auto it = domain_index.find(domain);
      if (it == domain_index.end()) {
        it = domain_index.emplace(domain, t.domains.size()).first;
        t.domains.push_back(domain);
        for (auto& row : t.power_w) row.resize(t.domains.size(), NAN);
      }
      t.power_w.back()[it->second] = samples.real(3);
    }
    samples.reset();
    phases.bind(1, c->id);
    while (phases.step()) {
      t.phases.push_back({phases.text(0), {phases.real(1), phases.real(2)}});
    }
    phases.reset();
    traces.push_back(std::move(t));
  }
  return traces;
}

}  // namespace greenbench
