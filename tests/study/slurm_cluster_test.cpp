// `greenbench run --slurm` against a real Slurm: munged, slurmctld and slurmd started by this test
// from Debian's packages (tests/study/slurm_cluster.sh), one node with this machine's cores,
// non-default ports, stopped by PID at the end. Skips with the reason where that cannot run.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "greenbench/store.hpp"
#include "store/sqlite.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kGreenbench = std::string(GREENBENCH_BIN_DIR) + "/greenbench";
const std::string kCluster = std::string(GREENBENCH_SOURCE_DIR) + "/tests/study/slurm_cluster.sh";

struct Result {
  int status = -1;
  std::string output;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

Result wait_for(pid_t pid, const std::string& log) {
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(log)};
}

Result run(const std::vector<std::string>& argv, const std::string& log) {
  return wait_for(spawn(argv, log), log);
}

std::string g_cluster_dir;
std::string g_skip;

class SlurmClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kGreenbench.c_str(), X_OK) != 0) {
      g_skip = kGreenbench + " is not built";
      return;
    }
    g_cluster_dir = (fs::temp_directory_path() / "greenbench-slurm-XXXXXX").string();
    if (mkdtemp(g_cluster_dir.data()) == nullptr) {
      g_skip = "cannot create a temporary directory";
      return;
    }
    const Result r = run({"bash", kCluster, "start", g_cluster_dir}, g_cluster_dir + ".log");
    if (r.status != 0) {
      g_skip = r.output.empty() ? "the local Slurm cluster did not start" : r.output;
      run({"bash", kCluster, "stop", g_cluster_dir}, g_cluster_dir + ".stop.log");
      return;
    }
    setenv("SLURM_CONF", (g_cluster_dir + "/slurm.conf").c_str(), 1);
  }
  static void TearDownTestSuite() {
    if (g_cluster_dir.empty()) return;
    run({"bash", kCluster, "stop", g_cluster_dir}, g_cluster_dir + ".stop.log");
    if (getenv("GREENBENCH_KEEP_SLURM_DIR") == nullptr) fs::remove_all(g_cluster_dir);
    fs::remove(g_cluster_dir + ".log");
    fs::remove(g_cluster_dir + ".stop.log");
  }
  void SetUp() override {
    if (!g_skip.empty()) GTEST_SKIP() << g_skip;
    // Inside the cluster's directory: slurmd runs the tasks as root on this machine, and every
    // "node" sees it, as a shared file system would be seen.
    dir_ = g_cluster_dir + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

// Two command "frameworks" with fixed metrics: the same statistics wherever they run.
const char* kCommandsStudy = R"(name = "slurm-commands"
repetitions = 3
warmup = 1
idle_baseline = 0
cooldown = 0
[[command]]
framework = "fast"
model = "m"
phase = "train"
argv = ["/bin/sh", "-c", "echo 'metric score 2' >&$GREENBENCH_MARKER_FD; sleep 0.2"]
[[command]]
framework = "slow"
model = "m"
phase = "train"
argv = ["/bin/sh", "-c", "echo 'metric score 3' >&$GREENBENCH_MARKER_FD; sleep 0.4"]
)";

struct RunRow {
  int position;
  std::string status, reason, node, job;
};

std::vector<RunRow> rows(const std::string& store) {
  store::Database db(store, SQLITE_OPEN_READONLY);
  store::Statement q(db,
                     "SELECT r.position, r.status, r.reason, coalesce(s.node, ''), "
                     "coalesce(s.job_id, '') FROM runs r LEFT JOIN slurm_runs s ON "
                     "s.run_id = r.id ORDER BY r.position");
  std::vector<RunRow> out;
  while (q.step()) out.push_back({int(q.integer(0)), q.text(1), q.text(2), q.text(3), q.text(4)});
  return out;
}

std::string short_hostname() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string h = host;
  return h.substr(0, h.find('.'));
}

TEST_F(SlurmClusterTest, CommandsStudyIsMergedOnceAndComparesAsLocally) {
  const std::string study = write("study.toml", kCommandsStudy);
  const Result r = run({kGreenbench, "run", study, "--out", dir_ + "/out", "--slurm",
                        "--slurm-time", "5", "--slurm-nodes", "1"},
                       dir_ + "/run.log");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("submitted job array"));
  EXPECT_THAT(r.output, HasSubstr("8 ok, 0 failed"));
  EXPECT_THAT(r.output, HasSubstr("harness overhead per run"));
  auto stored = rows(dir_ + "/out/results.sqlite");
  ASSERT_EQ(stored.size(), 8u);  // 2 configurations x (1 warm-up + 3 repetitions)
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(stored[size_t(i)].position, i);
    EXPECT_EQ(stored[size_t(i)].status, "ok") << stored[size_t(i)].reason;
    EXPECT_EQ(stored[size_t(i)].node, short_hostname());
    EXPECT_FALSE(stored[size_t(i)].job.empty());
  }
  // Merging again (the final job, or --resume) changes nothing.
  const Result again = run({kGreenbench, "slurm-merge", dir_ + "/out"}, dir_ + "/merge.log");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("merged 0 shard(s)"));
  EXPECT_EQ(rows(dir_ + "/out/results.sqlite").size(), 8u);

  // The same study run locally compares the same way.
  const Result local = run({kGreenbench, "run", study, "--out", dir_ + "/local"}, dir_ + "/l.log");
  ASSERT_EQ(local.status, 0) << local.output;
  ASSERT_EQ(
      run({kGreenbench, "compare", dir_ + "/out", "--json", dir_ + "/s.json"}, dir_ + "/c1").status,
      0);
  ASSERT_EQ(run({kGreenbench, "compare", dir_ + "/local", "--json", dir_ + "/l.json"}, dir_ + "/c2")
                .status,
            0);
  EXPECT_THAT(slurp(dir_ + "/c1"), HasSubstr("nodes: " + short_hostname() + " 6 runs"));
  const auto s = nlohmann::json::parse(slurp(dir_ + "/s.json"));
  const auto l = nlohmann::json::parse(slurp(dir_ + "/l.json"));
  ASSERT_EQ(s["comparisons"].size(), l["comparisons"].size());
  for (size_t i = 0; i < s["comparisons"].size(); ++i) {
    const auto& a = s["comparisons"][i];
    const auto& b = l["comparisons"][i];
    EXPECT_EQ(a["metric"], b["metric"]);
    EXPECT_EQ(a["n_a"], b["n_a"]);
    EXPECT_EQ(a["n_b"], b["n_b"]);
    EXPECT_EQ(a["test"], b["test"]);
    if (a["metric"] == "score") {  // fixed values: every statistic is the same
      for (const char* key : {"median_a", "median_b", "p_value", "p_holm", "a12", "cliffs_delta"}) {
        EXPECT_EQ(a[key], b[key]) << key;
      }
    }
  }
  EXPECT_EQ(s["settings"]["nodes"]["method"], "single node");
  const std::string html = slurp(dir_ + "/out/report.html");
  EXPECT_THAT(html, HasSubstr("<section id=\"nodes\">"));
  EXPECT_THAT(html, HasSubstr("<td>" + short_hostname() + "</td>"));
}

// run's source options reach every task: the study's power model and sources are the ones used.
TEST_F(SlurmClusterTest, SourceOptionsReachTheTasks) {
  const std::string study =
      write("study.toml", "cpu_idle_watts = 2\n" + std::string(kCommandsStudy));
  const Result r =
      run({kGreenbench, "run", study, "--out", dir_ + "/out", "--slurm", "--slurm-time", "5",
           "--source", "cpu-estimate", "--cpu-watts-per-core", "3"},
          dir_ + "/run.log");
  ASSERT_EQ(r.status, 0) << r.output;
  const ResultSet stored = load_results(dir_ + "/out");
  EXPECT_EQ(stored.settings["cpu_watts_per_core"], 3.0);
  EXPECT_EQ(stored.settings["cpu_idle_watts"], 2.0);
  EXPECT_EQ(stored.settings["sources"], nlohmann::json::array({"cpu-estimate"}));
  EXPECT_THAT(stored.environment.dump(), HasSubstr("3 W per busy core"));
  EXPECT_THAT(stored.environment.dump(), HasSubstr("2 W idle"));
}

TEST_F(SlurmClusterTest, CancelledTaskIsFailedAndResumeCompletesIt) {
  const std::string study = write("study.toml", R"(name = "slurm-cancel"
repetitions = 2
warmup = 0
idle_baseline = 0
cooldown = 0
[[command]]
framework = "a"
model = "m"
phase = "train"
argv = ["/bin/sleep", "2"]
[[command]]
framework = "b"
model = "m"
phase = "train"
argv = ["/bin/sleep", "2"]
)");
  const std::string out = dir_ + "/out";
  const pid_t submitter =
      spawn({kGreenbench, "run", study, "--out", out, "--slurm"}, dir_ + "/run.log");
  // Cancel the second task once it has started its run.
  std::string job;
  for (int i = 0; i < 300 && job.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out + "/shards", ec)) {
      const std::string name = e.path().filename().string();
      const auto underscore = name.find("_1.started.json");
      if (underscore != std::string::npos) {
        job = name.substr(5, underscore - 5);  // "0001.<job>_1.started.json"
      }
    }
  }
  ASSERT_FALSE(job.empty()) << slurp(dir_ + "/run.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(run({"scancel", job + "_1"}, dir_ + "/scancel.log").status, 0)
      << slurp(dir_ + "/scancel.log");
  const Result r = wait_for(submitter, dir_ + "/run.log");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("3 ok, 1 failed"));
  auto stored = rows(out + "/results.sqlite");
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_EQ(stored[1].status, "failed");
  EXPECT_THAT(stored[1].reason, HasSubstr("slurm: job " + job + "_1 ended CANCELLED"));
  EXPECT_THAT(stored[1].reason, HasSubstr("terminated by SIGTERM"));

  const Result resumed =
      run({kGreenbench, "run", study, "--out", out, "--slurm", "--resume"}, dir_ + "/resume.log");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("1 run(s), one per task"));
  stored = rows(out + "/results.sqlite");
  ASSERT_EQ(stored.size(), 4u);
  std::set<int> positions;
  for (const auto& row : stored) {
    positions.insert(row.position);
    EXPECT_EQ(row.status, "ok") << row.position << ": " << row.reason;
  }
  EXPECT_EQ(positions.size(), 4u);
}

TEST_F(SlurmClusterTest, NoWaitLeavesTheMergeToADependentJob) {
  const std::string study = write("study.toml", kCommandsStudy);
  const Result r = run({kGreenbench, "run", study, "--out", dir_ + "/out", "--slurm", "--no-wait",
                        "--reps", "1", "--sbatch-arg", "--comment=greenbench-test"},
                       dir_ + "/run.log");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("merge job"));
  EXPECT_THAT(r.output, HasSubstr("squeue -r -j"));
  // Nothing merged yet when it returns; the merge job fills the store once the array is done.
  size_t stored = 0;
  for (int i = 0; i < 600 && stored < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stored = rows(dir_ + "/out/results.sqlite").size();
  }
  EXPECT_EQ(stored, 4u);  // 2 configurations x (1 warm-up + 1 repetition)
}

TEST_F(SlurmClusterTest, CtrlCLeavesTheJobsAloneAndResumeMergesThem) {
  const std::string study = write("study.toml", kCommandsStudy);
  const std::string out = dir_ + "/out";
  const pid_t submitter =
      spawn({kGreenbench, "run", study, "--out", out, "--slurm", "--reps", "1"}, dir_ + "/run.log");
  for (int i = 0; i < 100 && slurp(dir_ + "/run.log").find("submitted") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(submitter, SIGINT);
  const Result r = wait_for(submitter, dir_ + "/run.log");
  EXPECT_EQ(r.status, 130) << r.output;
  EXPECT_THAT(r.output, HasSubstr("goes on without this command"));
  EXPECT_THAT(r.output, HasSubstr("--slurm --resume"));
  // The array runs on; once its four tasks are done, --resume merges them and submits nothing.
  int done = 0;
  for (int i = 0; i < 600 && done < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    done = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out + "/shards", ec)) {
      done += e.path().string().ends_with(".done.json");
    }
  }
  ASSERT_EQ(done, 4);
  const Result resumed =
      run({kGreenbench, "run", study, "--out", out, "--slurm", "--resume", "--reps", "1"},
          dir_ + "/resume.log");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("nothing to submit"));
  const auto stored = rows(out + "/results.sqlite");
  ASSERT_EQ(stored.size(), 4u);
  for (const auto& row : stored) EXPECT_EQ(row.status, "ok") << row.reason;
}

TEST_F(SlurmClusterTest, TinyWorkerStudy) {
  for (const char* worker : {"greenbench-torch", "greenbench-tf"}) {
    if (access((std::string(GREENBENCH_BIN_DIR) + "/" + worker).c_str(), X_OK) != 0) {
      GTEST_SKIP() << worker << " is not built";
    }
  }
  const std::string study = write("study.toml", R"(name = "slurm-workers"
models = ["ncf"]
repetitions = 1
warmup = 0
idle_baseline = 0
cooldown = 0
threads = 1
)");
  const Result r =
      run({kGreenbench, "run", study, "--out", dir_ + "/out", "--slurm"}, dir_ + "/run.log");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto stored = rows(dir_ + "/out/results.sqlite");
  ASSERT_EQ(stored.size(), 4u);  // 2 frameworks x train, infer
  for (const auto& row : stored) {
    EXPECT_EQ(row.status, "ok") << row.reason;
    EXPECT_EQ(row.node, short_hostname());
  }
  // Each infer task loaded the checkpoint its framework's train task (another task) saved.
  for (const auto& run : ResultStore::open(dir_ + "/out/results.sqlite").runs()) {
    EXPECT_EQ(run.checkpoint, "checkpoints/" + run.framework + "-ncf-1.ckpt") << run.position;
  }
  const ResultSet results = load_results(dir_ + "/out");
  int with_node = 0;
  for (const auto& o : results.observations) with_node += o.node == short_hostname();
  EXPECT_EQ(with_node, int(results.observations.size()));
  EXPECT_EQ(results.node_counts.size(), 4u);  // one node x four configurations
}

}  // namespace
}  // namespace greenbench
