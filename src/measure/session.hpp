#pragma once
// A measurement session: marker lines in, phases with their energy out.
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "greenbench/record.hpp"
#include "measure/marker_parser.hpp"
#include "measure/meter.hpp"

namespace greenbench::measure {

/// Turns time-stamped marker bytes and meter readings into phases, steps, metrics and info.
/// Single-threaded: the sampler loop owns it while the command runs.
class Session {
 public:
  /// `meter` must have been start()ed at the run's start time; `warnings` collects malformed
  /// lines and phases closed at exit.
  Session(Meter* meter, std::vector<std::string>* warnings,
          std::function<void(const std::string&)> on_marker = {});

  /// Bytes read from the marker pipe at monotonic time t. A begin, end or step among them makes
  /// the meter read at t (once per call: lines that arrive together share one reading).
  void feed(std::string_view bytes, double t);
  /// The run ended at t: reads the meter, handles an unterminated last line, closes open phases.
  void finish(double t);
  /// Appends the per-tick power sample (average over the interval since the previous tick).
  void tick(double t);

  /// Fills phases ("run" first), steps, metrics, info, trace and warnings of `record`.
  void fill(RunRecord* record, bool keep_trace) const;
  /// The innermost open marker phase, "run" when none is open.
  [[nodiscard]] const std::string& current_phase() const {
    return stack_.empty() ? run_.name : phases_[stack_.back().index].name;
  }
  /// Number of malformed lines seen.
  [[nodiscard]] std::size_t malformed_lines() const { return malformed_; }

 private:
  struct OpenPhase {
    std::size_t index;             // into phases_
    std::vector<double> begin_j;   // meter snapshot when it began
    std::vector<double> step_j;    // snapshot at its latest step line (begin_j before the first)
    double step_t = 0;             // meter time of that snapshot
    std::size_t group = kNoGroup;  // its steps, in groups_, from its first step line on
  };
  static constexpr std::size_t kNoGroup = static_cast<std::size_t>(-1);
  // A step as the sampler thread keeps it: the energy per flat domain, aggregated into keys only
  // in fill(), so that a step line costs one reading and no map building. It covers `count`
  // consecutive step lines where its phase had more than kMaxStepRecords of them.
  struct Step {
    int64_t index;  // of the last line it covers
    int64_t count;
    std::size_t seq;      // line number of that line: the order of arrival across phases
    double from_t, to_t;  // meter times
    std::vector<double> delta_j;
  };
  // The steps of one phase (one begin/end pair, or the run outside any phase). Past
  // kMaxStepRecords records, pairs of neighbours are merged (the first step always stays alone)
  // and `stride` doubles: memory, record and store stay bounded however many steps a phase has.
  struct StepGroup {
    std::size_t phase;  // into phases_, or kRunPhase
    std::vector<Step> steps;
    int64_t stride = 1;
  };
  static constexpr std::size_t kRunPhase = static_cast<std::size_t>(-1);
  void add_step(int64_t index);
  void handle(const LineSplitter::Line& line, double t, bool* sampled);
  void malformed(const std::string& why, std::string_view text);
  void close_phase(const OpenPhase& open, double t, bool at_exit);

  Meter* meter_;
  std::vector<std::string>* warnings_;
  std::function<void(const std::string&)> on_marker_;
  LineSplitter splitter_;
  std::vector<LineSplitter::Line> lines_;  // reused between feeds
  std::vector<PhaseRecord> phases_;        // marker phases in order of beginning
  std::vector<OpenPhase> stack_;
  std::vector<MetricRecord> metrics_;
  std::vector<StepGroup> groups_;
  std::size_t run_group_ = kNoGroup;
  std::vector<double> run_step_j_;  // step lines outside any marker phase: the run's snapshot
  double run_step_t_ = 0;
  std::size_t empty_steps_ = 0;  // steps of 0 s: their line shared a reading with the previous
  std::map<std::string, std::string> info_;
  std::size_t line_number_ = 0;
  std::size_t malformed_ = 0;
  PhaseRecord run_;
  bool finished_ = false;
  // Power trace.
  std::vector<PowerSample> trace_;
  std::vector<double> tick_j_;  // cumulative snapshot at the previous tick
  double tick_t_ = 0;
};

/// A phase keeps at most this many step records; past it, neighbouring steps are merged.
inline constexpr std::size_t kMaxStepRecords = 10000;

/// Warnings for individual malformed lines stop after this many; the total is always reported.
inline constexpr std::size_t kMaxLineWarnings = 20;

}  // namespace greenbench::measure
