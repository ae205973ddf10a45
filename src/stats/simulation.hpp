#pragma once
// Seeded Monte-Carlo checks of the intervals and the sequential rule, shared by the tests (small
// trial counts) and bench/stats_bench.cpp (the full tables); not part of the public API.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "greenbench/stats.hpp"

namespace greenbench::stats::sim {

// Coverage of the Hodges–Lehmann and (optionally) bootstrap intervals of a / b when a is `ratio`
// times a draw from `distribution` ("lognormal": sigma 0.3; "skewed": 1 + Exp(1)) and b a draw
// from it, n per side.
struct Coverage {
  double hl = 0;         // fraction of trials whose HL interval holds the true ratio
  double hl_level = 0;   // the level the HL interval achieves at this n (>= 0.95)
  double bootstrap = 0;  // the same for the bootstrap percentile interval; NaN when not run
  std::size_t trials = 0;
};
Coverage interval_coverage(const std::string& distribution, std::size_t n, std::size_t trials,
                           std::uint64_t seed, int bootstrap_resamples);

// A family of `family` comparisons, each a against b with log-normal noise (coefficient of
// variation cv) and a true ratio a / b of 1 + shift, decided by SequentialFamily and by a fixed
// design of fixed_n runs with Holm over the family.
struct SequentialResult {
  double family_rejection = 0;  // fraction of trials with any a_cheaper/b_cheaper decision
  double power = 0;             // fraction of comparisons decided in the true direction
  double wrong_direction = 0;   // fraction of comparisons decided against the truth
  double equivalent = 0;        // fraction of comparisons decided equivalent
  double mean_runs = 0;         // runs per side: decided_at, or max_n when undecided
  double fixed_power = 0;       // fraction significant in the true direction at fixed_n
  double fixed_family_rejection = 0;
  std::size_t trials = 0;
};
SequentialResult simulate_sequential(const SequentialOptions& options, std::size_t family,
                                     double shift, double cv, std::size_t fixed_n,
                                     std::size_t trials, std::uint64_t seed);

// The ICSE study's primary comparisons per phase (six models, energy_total and duration, the
// PAPER.md means as true values) with log-normal run-to-run noise cv, replayed sequentially
// (min_n..max_n) and analysed as a fixed design of max_n runs.
struct StudyResult {
  double mean_runs = 0;          // runs per side per configuration (stops when both are decided)
  double agreement = 0;          // fraction of comparisons with the fixed design's decision
  double contradictions = 0;     // fraction decided opposite to the fixed design
  double fixed_significant = 0;  // fraction significant in the fixed design
  std::size_t trials = 0;
};
StudyResult simulate_icse_study(const SequentialOptions& options, double cv, std::size_t trials,
                                std::uint64_t seed);

}  // namespace greenbench::stats::sim
