// The study file's [slurm] table and the Slurm time check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "greenbench/error.hpp"
#include "greenbench/slurm.hpp"
#include "greenbench/study.hpp"

namespace greenbench {
namespace {

using ::testing::HasSubstr;

TEST(SlurmSettings, TableIsRead) {
  const StudySettings s = parse_study(R"(name = "x"
[slurm]
partition = "gpu"
time = "1:30:00"
nodes = 4
sbatch_args = ["--account=proj", "--constraint=icelake"]
)");
  EXPECT_EQ(s.slurm.partition, "gpu");
  EXPECT_EQ(s.slurm.time, "1:30:00");
  EXPECT_EQ(s.slurm.nodes, 4);
  EXPECT_EQ(s.slurm.sbatch_args,
            (std::vector<std::string>{"--account=proj", "--constraint=icelake"}));
  // Where a study runs is not what it measures: the stored settings do not include it, so a
  // local and a Slurm run of one study have the same settings and --resume accepts either.
  EXPECT_FALSE(to_json(make_effective(s)).contains("slurm"));
}

TEST(SlurmSettings, EveryProblemIsNamedWithItsLine) {
  try {
    parse_study(R"(name = "x"
[slurm]
partition = ""
time = "soon"
nodes = 0
sbatch_args = "--account=proj"
partitoin = "gpu"
)",
                "s.toml");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_THAT(m, HasSubstr("s.toml:3: key 'slurm.partition': expected a non-empty string"));
    EXPECT_THAT(m, HasSubstr("s.toml:4: key 'slurm.time': expected a Slurm time limit"));
    EXPECT_THAT(m, HasSubstr("s.toml:5: key 'slurm.nodes'"));
    EXPECT_THAT(m, HasSubstr("s.toml:6: key 'slurm.sbatch_args': expected an array of strings"));
    EXPECT_THAT(m, HasSubstr("s.toml:7: key 'slurm.partitoin': unknown key"));
  }
  EXPECT_THROW(parse_study("slurm = 3\n"), Error);
}

TEST(SlurmSettings, TimeLimits) {
  for (const char* ok : {"30", "30:00", "2:00:00", "1-12", "1-12:00", "1-12:00:00", "UNLIMITED"}) {
    EXPECT_EQ(slurm_time_problem(ok), "") << ok;
  }
  for (const char* bad : {"", "soon", "1:2:3:4", "-5", "1-", "1h", "12:"}) {
    EXPECT_NE(slurm_time_problem(bad), "") << bad;
  }
}

}  // namespace
}  // namespace greenbench
