// The plan: seeded, reproducible order; warm-ups first; infer never before its train run.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "greenbench/error.hpp"
#include "greenbench/study.hpp"

namespace greenbench {
namespace {

EffectiveSettings study(const std::string& order, std::uint64_t seed, int reps = 5,
                        int warmup = 1) {
  StudySettings s;
  s.models = {"ncf", "resnet50", "transformer_xl"};  // 12 configurations
  s.order = order;
  s.seed = seed;
  s.repetitions = reps;
  s.warmup = warmup;
  s.threads = 2;
  return make_effective(s);
}

std::vector<std::string> ids(const std::vector<PlannedRun>& plan) {
  std::vector<std::string> out;
  for (const auto& r : plan) out.push_back(r.id);
  return out;
}

// Values from tests/study/xoshiro_reference.py, an independent implementation of the generator:
// the same seed must give the same order on every platform and standard library.
TEST(StudyRng, MatchesTheReferenceSequence) {
  StudyRng one(1);
  EXPECT_EQ(one.next(), 0xb3f2af6d0fc710c5ULL);
  EXPECT_EQ(one.next(), 0x853b559647364ceaULL);
  EXPECT_EQ(one.next(), 0x92f89756082a4514ULL);
  StudyRng answer(42);
  EXPECT_EQ(answer.next(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(answer.next(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(answer.next(), 0xae17533239e499a1ULL);
}

TEST(StudyRng, BelowStaysInRangeAndCoversIt) {
  StudyRng rng(3);
  std::map<std::uint64_t, int> counts;
  for (int i = 0; i < 6000; ++i) ++counts[rng.below(6)];
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [value, count] : counts) {
    EXPECT_LT(value, 6u);
    EXPECT_GT(count, 800);  // 1000 expected; 800 is > 6 standard deviations away
  }
}

TEST(StudyPlan, EveryRunExactlyOnceWithPositionsAndIds) {
  const auto e = study("interleaved", 1);
  const auto plan = make_plan(e);
  ASSERT_EQ(plan.size(), 72u);
  std::set<std::tuple<int, int, bool>> seen;
  for (size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(plan[i].position, int(i));
    EXPECT_TRUE(seen.insert({plan[i].configuration, plan[i].repetition, plan[i].warmup}).second);
  }
  const auto all = ids(plan);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 72u);
  const auto& c = e.configurations[size_t(plan[0].configuration)];
  EXPECT_EQ(plan[0].id.substr(0, 5), "0000-");
  EXPECT_NE(plan[0].id.find(c.framework + "-" + c.model + "-" + c.phase + "-w1"),
            std::string::npos);
}

TEST(StudyPlan, SeededReproducibleAndSeedDependent) {
  EXPECT_EQ(ids(make_plan(study("interleaved", 1))), ids(make_plan(study("interleaved", 1))));
  EXPECT_NE(ids(make_plan(study("interleaved", 1))), ids(make_plan(study("interleaved", 2))));
  // Pinned to default_order(1) of tests/study/xoshiro_reference.py, which shuffles and repairs
  // independently: a change of the shuffle would silently change every study's order.
  const auto plan = make_plan(study("interleaved", 1, 1, 0));
  std::vector<std::string> got;
  for (const auto& r : plan) got.push_back(r.id.substr(5));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "tensorflow-transformer_xl-train-r1", "tensorflow-resnet50-train-r1",
                     "pytorch-transformer_xl-train-r1", "pytorch-transformer_xl-infer-r1",
                     "tensorflow-transformer_xl-infer-r1", "pytorch-resnet50-train-r1",
                     "pytorch-ncf-train-r1", "pytorch-ncf-infer-r1", "pytorch-resnet50-infer-r1",
                     "tensorflow-ncf-train-r1", "tensorflow-ncf-infer-r1",
                     "tensorflow-resnet50-infer-r1"}))
      << "the interleaved order of seed 1 changed";
}

TEST(StudyPlan, InterleavedDiffersFromSequential) {
  const auto interleaved = make_plan(study("interleaved", 1));
  const auto sequential = make_plan(study("sequential", 1));
  EXPECT_NE(ids(interleaved), ids(sequential));
  // Interleaved: no long blocks of one configuration among the measured runs.
  int longest = 1, current = 1;
  for (size_t i = 1; i < interleaved.size(); ++i) {
    current = interleaved[i].configuration == interleaved[i - 1].configuration ? current + 1 : 1;
    longest = std::max(longest, current);
  }
  EXPECT_LT(longest, 6);
}

TEST(StudyPlan, SequentialRunsConfigurationByConfiguration) {
  const auto e = study("sequential", 1, 3, 1);
  const auto plan = make_plan(e);
  ASSERT_EQ(plan.size(), 48u);
  for (size_t block = 0; block < plan.size() / 4; ++block) {
    const int config = plan[block * 4].configuration;
    EXPECT_TRUE(plan[block * 4].warmup);  // the warm-up opens its configuration's block
    for (size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(plan[block * 4 + k].configuration, config);
      if (k > 0) {
        EXPECT_FALSE(plan[block * 4 + k].warmup);
        EXPECT_EQ(plan[block * 4 + k].repetition, int(k));
      }
    }
  }
  // Like the ICSE study: for a model and phase, all runs of one framework, then the other.
  EXPECT_EQ(e.configurations[size_t(plan[0].configuration)].framework, "pytorch");
  EXPECT_EQ(e.configurations[size_t(plan[4].configuration)].framework, "tensorflow");
}

TEST(StudyPlan, InterleavedPutsAllWarmupsFirst) {
  const auto plan = make_plan(study("interleaved", 5, 5, 2));
  ASSERT_EQ(plan.size(), 84u);
  for (size_t i = 0; i < plan.size(); ++i) EXPECT_EQ(plan[i].warmup, i < 24) << i;
}

// For every framework x model that is trained in the study, the first run of it is a train run,
// whatever the seed, the order and the number of warm-ups.
TEST(StudyPlan, InferNeverPrecedesTheFirstTrainRunOfItsModel) {
  for (const std::string order : {"interleaved", "sequential"}) {
    for (int warmup : {0, 1, 2}) {
      for (std::uint64_t seed = 0; seed < 200; ++seed) {
        const auto e = study(order, seed, 3, warmup);
        std::set<std::string> trained;
        for (const auto& r : make_plan(e)) {
          const auto& c = e.configurations[size_t(r.configuration)];
          const std::string group = c.framework + "/" + c.model;
          if (c.phase == "train")
            trained.insert(group);
          else
            ASSERT_TRUE(trained.count(group)) << order << " seed " << seed << " " << r.id;
        }
      }
    }
  }
}

TEST(StudyPlan, CommandsListedInferFirstStillTrainFirst) {
  const StudySettings s = parse_study(R"(
order = "sequential"
repetitions = 2
warmup = 0
[[command]]
framework = "x"
model = "m"
phase = "infer"
argv = ["/bin/true"]
[[command]]
framework = "x"
model = "m"
phase = "train"
argv = ["/bin/true"]
)");
  const auto e = make_effective(s);
  const auto plan = make_plan(e);
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(e.configurations[size_t(plan[0].configuration)].phase, "train");
  EXPECT_EQ(e.configurations[size_t(plan[1].configuration)].phase, "train");
  EXPECT_EQ(e.configurations[size_t(plan[2].configuration)].phase, "infer");
}

TEST(StudyPlan, AnExtendedPlanKeepsEveryStoredPositionAndAddsTheNewRunsAfter) {
  for (const std::string order : {"interleaved", "sequential"}) {
    const auto first = make_plan(study(order, 9, 3));
    const auto extended = make_plan(study(order, 9, 6), {3, 4, 6});
    ASSERT_EQ(extended.size(), first.size() + 12u * 3) << order;
    for (size_t i = 0; i < first.size(); ++i) {
      EXPECT_EQ(extended[i].id, first[i].id) << order;  // same place, same run, same log name
    }
    std::set<std::tuple<int, int, bool>> seen;
    for (size_t i = 0; i < extended.size(); ++i) {
      EXPECT_EQ(extended[i].position, int(i));
      EXPECT_TRUE(
          seen.insert({extended[i].configuration, extended[i].repetition, extended[i].warmup})
              .second);
      if (i >= first.size()) {
        EXPECT_FALSE(extended[i].warmup);
        // Repetition 4 (the first extension) entirely before 5 and 6 (the second).
        EXPECT_EQ(extended[i].repetition == 4, i < first.size() + 12) << order << " " << i;
      }
    }
    // Reproducible, and the same as make_plan(e) when nothing was extended.
    EXPECT_EQ(ids(make_plan(study(order, 9, 6), {3, 4, 6})), ids(extended));
    EXPECT_EQ(ids(make_plan(study(order, 9, 3), {3})), ids(first));
  }
  // Sequential extensions go configuration by configuration too.
  const auto seq = make_plan(study("sequential", 9, 4), {3, 4});
  EXPECT_EQ(seq[seq.size() - 12].configuration + 1, seq[seq.size() - 11].configuration);
}

TEST(StudyPlan, AHistoryThatDoesNotRiseToTheStudysRepetitionsIsRefused) {
  EXPECT_THROW(make_plan(study("interleaved", 1, 5), {3, 4}), Error);
  EXPECT_THROW(make_plan(study("interleaved", 1, 5), {5, 5}), Error);
  EXPECT_THROW(make_plan(study("interleaved", 1, 5), {0, 5}), Error);
  EXPECT_THROW(make_plan(study("interleaved", 1, 5), {}), Error);
}

TEST(StudyPlan, AnAutoStudyRunsBlocksOfOneRunPerConfiguration) {
  StudySettings s;
  s.repetitions_auto = true;
  s.min_repetitions = 3;
  s.max_repetitions = 6;
  s.repetitions = 6;
  s.warmup = 1;
  s.threads = 2;
  const EffectiveSettings e = make_effective(s);
  const auto plan = make_plan(e);
  const std::size_t configs = e.configurations.size();
  ASSERT_EQ(plan.size(), configs * 7);
  for (std::size_t i = 0; i < configs; ++i) EXPECT_TRUE(plan[i].warmup);
  // Block r holds repetition r of every configuration, once, before block r + 1.
  for (int r = 1; r <= 6; ++r) {
    std::set<int> seen;
    for (std::size_t k = 0; k < configs; ++k) {
      const PlannedRun& run = plan[configs * std::size_t(r) + k];
      EXPECT_FALSE(run.warmup);
      EXPECT_EQ(run.repetition, r) << run.id;
      seen.insert(run.configuration);
    }
    EXPECT_EQ(seen.size(), configs);
  }
  // Shuffled within blocks: not every block in configuration order.
  bool shuffled = false;
  for (std::size_t i = configs; i + 1 < plan.size(); ++i) {
    if (plan[i].repetition == plan[i + 1].repetition &&
        plan[i].configuration > plan[i + 1].configuration)
      shuffled = true;
  }
  EXPECT_TRUE(shuffled);
}

TEST(StudyPlan, WorkerArgvCarriesTheSettings) {
  const auto e = study("interleaved", 9);
  const auto plan = make_plan(e);
  const auto& c = e.configurations[size_t(plan[0].configuration)];
  const auto argv = run_argv(e, plan[0], "/opt/gb/bin", "/tmp/x.ckpt");
  const std::string worker = c.framework == "pytorch" ? "greenbench-torch" : "greenbench-tf";
  EXPECT_EQ(argv,
            (std::vector<std::string>{"/opt/gb/bin/" + worker, "--model", c.model, "--phase",
                                      c.phase, "--scale", "tiny", "--seed", "9", "--threads", "2",
                                      "--numerics", "default", "--checkpoint", "/tmp/x.ckpt"}));
  EXPECT_EQ(run_argv(e, plan[0], "/opt/gb/bin", "").size(), 13u);
}

}  // namespace
}  // namespace greenbench
