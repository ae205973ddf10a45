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

std::vector<PlannedRun> make_plan(const EffectiveSettings& e) {
  const auto& configs = e.configurations;
  const StudySettings& s = e.settings;
  std::vector<PlannedRun> warmups, measured;

  // Configurations in the order a sequential study runs them: as listed, except that an infer
  // configuration waits for the train configuration of its framework x model when there is one.
  std::set<std::string> trained;
  for (const auto& c : configs) {
    if (c.phase == "train") trained.insert(group_of(c));
  }
  std::vector<int> config_order;
  {
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
  }

  std::vector<PlannedRun> runs;
  if (s.order == "sequential") {
    // Configuration by configuration, as the ICSE study did; warm-ups just before their own
    // configuration's repetitions.
    for (int c : config_order) {
      for (int w = 1; w <= s.warmup; ++w) runs.push_back({0, c, w, true, ""});
      for (int r = 1; r <= s.repetitions; ++r) runs.push_back({0, c, r, false, ""});
    }
  } else {
    // Every warm-up first, so that every measured run finds caches, page cache and clocks already
    // warmed by each configuration; then all measured runs shuffled together, so that slow drifts
    // of the machine (temperature, background load) spread over all configurations alike.
    for (int c : config_order) {
      for (int w = 1; w <= s.warmup; ++w) warmups.push_back({0, c, w, true, ""});
      for (int r = 1; r <= s.repetitions; ++r) measured.push_back({0, c, r, false, ""});
    }
    StudyRng rng(s.seed);
    shuffle(warmups, rng);
    shuffle(measured, rng);
    runs = warmups;
    runs.insert(runs.end(), measured.begin(), measured.end());
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
