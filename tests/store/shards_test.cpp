// Merging Slurm shard stores into a study's store: once each, failed runs replaced, ok runs kept,
// node identity read back by load_results. (The end-to-end test with a real Slurm is
// tests/study/slurm_cluster_test.cpp.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "greenbench/slurm.hpp"
#include "greenbench/store.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / "greenbench-shards-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    fs::create_directories(dir_ + "/shards");
    ResultStore::create(dir_ + "/results.sqlite", {{"name", "s"}}, {{"slurm", json::object()}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  static StoredRun run_at(int position, const std::string& framework, const std::string& status,
                          double duration) {
    StoredRun r;
    r.position = position;
    r.framework = framework;
    r.model = "m";
    r.phase = "train";
    r.repetition = position + 1;
    r.status = status;
    r.reason = status == "ok" ? "" : "exit code 1";
    r.duration_s = duration;
    if (status == "ok") {
      Observation o;
      o.metric = "duration";
      o.value = duration;
      o.unit = "s";
      r.observations.push_back(o);
    }
    PhaseRecord p;
    p.name = "run";
    p.duration_s = duration;
    p.energy_j["cpu_package"] = 2 * duration;
    r.record.phases.push_back(p);
    return r;
  }

  // A task's shard and its done marker, as run_slurm_task leaves them.
  void shard(const std::string& name, const StoredRun& run, const std::string& node,
             const std::string& cpu) {
    ResultStore s = ResultStore::create(dir_ + "/shards/" + name + ".sqlite", {{"name", "s"}},
                                        {{"cpu_model", cpu}, {"hostname", node}});
    s.add_run(run);
    std::ofstream(dir_ + "/shards/" + name + ".done.json") << json{
        {"node", node},
        {"job_id", "7"},
        {"task_id", run.position},
        {"position", run.position},
        {"status", run.status}}.dump();
  }

  std::string dir_;
};

TEST_F(ShardsTest, EachShardIsMergedOnceWithItsNode) {
  shard("0000.7_0", run_at(0, "a", "ok", 1.0), "n1", "cpu X");
  shard("0001.7_1", run_at(1, "b", "ok", 2.0), "n2", "cpu X");
  // A task in flight (no done marker) is left alone.
  ResultStore::create(dir_ + "/shards/0002.7_2.sqlite", {{"name", "s"}}, json::object());
  MergeSummary m = merge_shards(dir_);
  EXPECT_EQ(m.merged, 2);
  m = merge_shards(dir_);
  EXPECT_EQ(m.merged, 0);
  EXPECT_EQ(m.skipped, 2);
  const auto runs = ResultStore::open(dir_ + "/results.sqlite").runs();
  ASSERT_EQ(runs.size(), 2u);
  const ResultSet rs = load_results(dir_);
  ASSERT_EQ(rs.observations.size(), 2u);
  EXPECT_EQ(rs.observations[0].node, "n1");
  EXPECT_EQ(rs.observations[1].node, "n2");
  EXPECT_EQ(rs.observations[1].hardware, "cpu X");
  ASSERT_EQ(rs.node_counts.size(), 2u);
  EXPECT_EQ(rs.node_counts[0].ok, 1);
  // The study's environment names every node, and reads like the node's where all are alike.
  EXPECT_EQ(rs.environment["slurm_nodes"]["n2"], "cpu X");
  EXPECT_EQ(rs.environment["cpu_model"], "cpu X");
}

TEST_F(ShardsTest, AFailedRunIsReplacedAnOkRunNever) {
  StoredRun killed = run_at(0, "a", "failed", 0);
  killed.reason = "slurm: job 7_0 ended CANCELLED";
  EXPECT_TRUE(record_slurm_failure(dir_, killed, "n1", "7", 0));
  EXPECT_FALSE(record_slurm_failure(dir_, killed, "n1", "7", 0));  // once
  shard("0000.8_0", run_at(0, "a", "ok", 1.5), "n1", "cpu X");
  MergeSummary m = merge_shards(dir_);
  EXPECT_EQ(m.merged, 1);
  EXPECT_EQ(m.replaced, 1);
  shard("0000.9_0", run_at(0, "a", "ok", 9.0), "n1", "cpu X");  // a duplicate
  m = merge_shards(dir_);
  EXPECT_EQ(m.merged, 0);
  const auto runs = ResultStore::open(dir_ + "/results.sqlite").runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "ok");
  EXPECT_DOUBLE_EQ(runs[0].duration_s, 1.5);
  const ResultSet rs = load_results(dir_);
  ASSERT_EQ(rs.observations.size(), 1u);
  EXPECT_DOUBLE_EQ(rs.observations[0].value, 1.5);
}

}  // namespace
}  // namespace greenbench
