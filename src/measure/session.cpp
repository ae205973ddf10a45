// Phases from markers. The meter is read when a begin/end arrives, so a phase's energy is the
// difference of two counter readings taken at its markers, not an interpolation between ticks.
#include "measure/session.hpp"

#include <cstdio>

namespace greenbench::measure {

Session::Session(Meter* meter, std::vector<std::string>* warnings,
                 std::function<void(const std::string&)> on_marker)
    : meter_(meter), warnings_(warnings), on_marker_(std::move(on_marker)) {
  run_.name = "run";
  tick_j_ = meter_->cumulative_j();
  tick_t_ = meter_->start_time();
}

void Session::malformed(const std::string& why, std::string_view text) {
  ++malformed_;
  if (malformed_ <= kMaxLineWarnings) {
    warnings_->push_back("marker line " + std::to_string(line_number_) + " ignored: " + why +
                         ": \"" + printable_excerpt(text) + "\"");
  }
}

void Session::feed(std::string_view bytes, double t) {
  if (finished_) return;
  lines_.clear();
  splitter_.feed(bytes, &lines_);
  bool sampled = false;
  for (const auto& line : lines_) handle(line, t, &sampled);
}

void Session::handle(const LineSplitter::Line& line, double t, bool* sampled) {
  ++line_number_;
  if (on_marker_) on_marker_(line.text);
  if (line.overlong) {
    malformed("line longer than " + std::to_string(kMaxMarkerLine - 1) + " bytes", line.text);
    return;
  }
  const MarkerLine m = parse_marker_line(line.text);
  auto sample_once = [&] {
    if (!*sampled) {
      meter_->sample(t);
      *sampled = true;
    }
  };
  switch (m.verb) {
    case MarkerLine::Verb::kBlank:
      return;
    case MarkerLine::Verb::kInvalid:
      malformed(m.error, line.text);
      return;
    case MarkerLine::Verb::kBegin: {
      sample_once();
      PhaseRecord p;
      p.name = m.name;
      p.start_s = meter_->last_time() - meter_->start_time();
      phases_.push_back(std::move(p));
      stack_.push_back({phases_.size() - 1, meter_->cumulative_j()});
      return;
    }
    case MarkerLine::Verb::kEnd: {
      if (stack_.empty()) {
        malformed("end of phase '" + m.name + "' but no phase is open", line.text);
        return;
      }
      const std::string& innermost = phases_[stack_.back().index].name;
      if (innermost != m.name) {
        malformed(
            "end of phase '" + m.name + "' but the innermost open phase is '" + innermost + "'",
            line.text);
        return;
      }
      sample_once();
      close_phase(stack_.back(), meter_->last_time(), false);
      stack_.pop_back();
      return;
    }
    case MarkerLine::Verb::kMetric:
      metrics_.push_back(
          {m.name, m.value, m.unit, stack_.empty() ? "run" : phases_[stack_.back().index].name});
      return;
    case MarkerLine::Verb::kInfo:
      info_[m.name] = m.text;
      return;
  }
}

void Session::close_phase(const OpenPhase& open, double t, bool at_exit) {
  PhaseRecord& p = phases_[open.index];
  p.end_s = t - meter_->start_time();
  p.duration_s = p.end_s - p.start_s;
  DomainEnergy e = meter_->aggregate(open.begin_j, meter_->cumulative_j());
  p.energy_resolution_j = meter_->resolution(e, p.duration_s);
  p.energy_j = std::move(e.energy_j);
  p.quality = std::move(e.quality);
  p.closed_at_exit = at_exit;
}

void Session::tick(double t) {
  const auto& now_j = meter_->cumulative_j();
  const double dt = t - tick_t_;
  if (dt > 0) {
    PowerSample s;
    s.t_s = t - meter_->start_time();
    meter_->key_power(tick_j_, now_j, dt, &s.power_w);
    trace_.push_back(std::move(s));
  }
  tick_j_ = now_j;
  tick_t_ = t;
}

void Session::finish(double t) {
  if (finished_) return;
  lines_.clear();
  splitter_.flush(&lines_);
  bool sampled = false;
  for (const auto& line : lines_) handle(line, t, &sampled);
  if (t > meter_->last_time() || meter_->last_time() == meter_->start_time()) meter_->sample(t);
  const double end = meter_->last_time();
  if (!stack_.empty()) {
    std::string names;
    for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
      close_phase(*it, end, true);
      names += (names.empty() ? "'" : ", '") + phases_[it->index].name + "'";
    }
    warnings_->push_back("phase" + std::string(stack_.size() > 1 ? "s " : " ") + names +
                         " left open by the command; closed when it exited");
    stack_.clear();
  }
  if (malformed_ > kMaxLineWarnings) {
    warnings_->push_back(std::to_string(malformed_) +
                         " malformed marker lines in all (only the first " +
                         std::to_string(kMaxLineWarnings) + " are listed)");
  }
  run_.start_s = 0;
  run_.end_s = end - meter_->start_time();
  run_.duration_s = run_.end_s;
  DomainEnergy e = meter_->aggregate(std::vector<double>(meter_->cumulative_j().size(), 0),
                                     meter_->cumulative_j());
  run_.energy_resolution_j = meter_->resolution(e, run_.duration_s);
  run_.energy_j = std::move(e.energy_j);
  run_.quality = std::move(e.quality);
  finished_ = true;
}

void Session::fill(RunRecord* record, bool keep_trace) const {
  record->phases.clear();
  record->phases.push_back(run_);
  record->phases.insert(record->phases.end(), phases_.begin(), phases_.end());
  record->metrics = metrics_;
  record->info = info_;
  record->duration_s = run_.duration_s;
  if (keep_trace) {
    record->trace_domains = meter_->keys();
    record->trace = trace_;
  }
}

}  // namespace greenbench::measure
