// The order of a study's runs, and the PRNG that shuffles it.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "greenbench/error.hpp"
#include "greenbench/study.hpp"

namespace greenbench {

namespace {

// Fisher–Yates with our own PRNG: std::shuffle and the standard distributions are allowed to
// differ between library implementations, and the order must be the same everywhere.
template <typename T>
void shuffle(std::vector<T>& items, StudyRng& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng.below(i));
    std::swap(items[i - 1], items[j]);
  }
}

std::string group_of(const Configuration& c) { return c.framework + "\x1f" + c.model; }

}  // namespace

std::uint64_t StudyRng::below(std::uint64_t bound) {
  if (bound == 0) throw Error("StudyRng::below: bound must be positive");
  // Reject the top sliver of the range that would make some values more likely than others.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t x = 0;
  do x = next();
  while (x >= limit);
  return x % bound;
}

namespace {

// Configurations in the order a sequential study runs them: as listed, except that an infer
// configuration waits for the train configuration of its framework x model when there is one.
std::vector<int> configuration_order(const std::vector<Configuration>& configs,
                                     const std::set<std::string>& trained) {
  std::vector<int> config_order;
  std::set<std::string> done;
  std::vector<int> deferred;
  for (int i = 0; i < int(configs.size()); ++i) {
    const auto& c = configs[i];
    if (c.phase == "infer" && trained.count(group_of(c)) && !done.count(group_of(c))) {
      deferred.push_back(i);
      continue;
    }
    config_order.push_back(i);
    if (c.phase == "train") {
      done.insert(group_of(c));
      for (auto it = deferred.begin(); it != deferred.end();) {
        if (group_of(configs[*it]) == group_of(c)) {
          config_order.push_back(*it);
          it = deferred.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  return config_order;
}

// The first plan of a study with `repetitions` measured runs per configuration.
std::vector<PlannedRun> first_plan(const EffectiveSettings& e, int repetitions) {
  const auto& configs = e.configurations;
  const StudySettings& s = e.settings;
  std::set<std::string> trained;
  for (const auto& c : configs) {
    if (c.phase == "train") trained.insert(group_of(c));
  }
  const std::vector<int> config_order = configuration_order(configs, trained);

  std::vector<PlannedRun> runs, warmups, measured;
  if (s.order == "sequential") {
    // Configuration by configuration, as the ICSE study did; warm-ups just before their own
    // configuration's repetitions.
    for (int c : config_order) {
      for (int w = 1; w <= s.warmup; ++w) runs.push_back({0, c, w, true, ""});
      for (int r = 1; r <= repetitions; ++r) runs.push_back({0, c, r, false, ""});
    }
    return runs;
  }
  // Every warm-up first, so that every measured run finds caches, page cache and clocks already
  // warmed by each configuration; then all measured runs shuffled together, so that slow drifts
  // of the machine (temperature, background load) spread over all configurations alike.
  for (int c : config_order) {
    for (int w = 1; w <= s.warmup; ++w) warmups.push_back({0, c, w, true, ""});
    for (int r = 1; r <= repetitions; ++r) measured.push_back({0, c, r, false, ""});
  }
  StudyRng rng(s.seed);
  shuffle(warmups, rng);
  runs = warmups;
  if (s.repetitions_auto) {
    // A sequential study looks after each block of one run per configuration: the measured runs
    // are shuffled within each block, and block r precedes block r + 1.
    for (int r = 1; r <= repetitions; ++r) {
      std::vector<PlannedRun> block;
      for (const auto& m : measured) {
        if (m.repetition == r) block.push_back(m);
      }
      shuffle(block, rng);
      runs.insert(runs.end(), block.begin(), block.end());
    }
  } else {
    shuffle(measured, rng);
    runs.insert(runs.end(), measured.begin(), measured.end());
  }
  // An infer run loads a checkpoint that a train run of its framework x model saved: move the
  // first train run of each such group in front of the group's first infer run. Moving one
  // element keeps every other group's relative order, so the groups can be fixed one by one.
  for (const auto& group : trained) {
    int first_train = -1, first_infer = -1;
    for (int i = 0; i < int(runs.size()); ++i) {
      const auto& c = configs[runs[i].configuration];
      if (group_of(c) != group) continue;
      if (c.phase == "train" && first_train < 0) first_train = i;
      if (c.phase == "infer" && first_infer < 0) first_infer = i;
    }
    if (first_infer >= 0 && first_train > first_infer) {
      const PlannedRun moved = runs[first_train];
      runs.erase(runs.begin() + first_train);
      runs.insert(runs.begin() + first_infer, moved);
    }
  }
  return runs;
}

// The runs an extension from `from` to `to` repetitions adds, ordered like the study: shuffled
// together (with a generator of their own, so the first plan's order is untouched) or
// configuration by configuration. The first plan already ran a train run of every group, so an
// infer run here always finds a checkpoint.
std::vector<PlannedRun> extension(const EffectiveSettings& e, int from, int to, int round) {
  const auto& configs = e.configurations;
  const StudySettings& s = e.settings;
  std::set<std::string> trained;
  for (const auto& c : configs) {
    if (c.phase == "train") trained.insert(group_of(c));
  }
  std::vector<PlannedRun> runs;
  for (int c : configuration_order(configs, trained)) {
    for (int r = from + 1; r <= to; ++r) runs.push_back({0, c, r, false, ""});
  }
  if (s.order != "sequential") {
    StudyRng rng(s.seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(round)));
    shuffle(runs, rng);
  }
  return runs;
}

}  // namespace

std::vector<PlannedRun> make_plan(const EffectiveSettings& e) {
  return make_plan(e, {e.settings.repetitions});
}

std::vector<PlannedRun> make_plan(const EffectiveSettings& e,
                                  const std::vector<int>& repetitions_history) {
  const auto& configs = e.configurations;
  if (repetitions_history.empty() || repetitions_history.back() != e.settings.repetitions) {
    throw Error("make_plan: the repetitions history must end with the study's " +
                std::to_string(e.settings.repetitions) + " repetitions");
  }
  for (size_t k = 0; k < repetitions_history.size(); ++k) {
    if (repetitions_history[k] < 1 ||
        (k > 0 && repetitions_history[k] <= repetitions_history[k - 1])) {
      throw Error("make_plan: the repetitions history must rise from 1 or more, got " +
                  std::to_string(repetitions_history[k]) + " at step " + std::to_string(k + 1));
    }
  }
  std::vector<PlannedRun> runs = first_plan(e, repetitions_history.front());
  for (size_t k = 1; k < repetitions_history.size(); ++k) {
    const auto more =
        extension(e, repetitions_history[k - 1], repetitions_history[k], static_cast<int>(k));
    runs.insert(runs.end(), more.begin(), more.end());
  }
  for (int i = 0; i < int(runs.size()); ++i) {
    auto& r = runs[i];
    const auto& c = configs[r.configuration];
    r.position = i;
    char id[64];
    std::snprintf(id, sizeof id, "%04d", i);
    r.id = std::string(id) + "-" + c.framework + "-" + c.model + "-" + c.phase + "-" +
           (r.warmup ? "w" : "r") + std::to_string(r.repetition);
  }
  return runs;
}

}  // namespace greenbench
