// Phases from markers. The meter is read when a begin/end arrives, so a phase's energy is the
// difference of two counter readings taken at its markers, not an interpolation between ticks.
#include "measure/session.hpp"

#include <algorithm>
#include <cstdio>

namespace greenbench::measure {

Session::Session(Meter* meter, std::vector<std::string>* warnings,
                 std::function<void(const std::string&)> on_marker)
    : meter_(meter), warnings_(warnings), on_marker_(std::move(on_marker)) {
  run_.name = "run";
  tick_j_ = meter_->cumulative_j();
  tick_t_ = meter_->start_time();
  run_step_j_ = tick_j_;
  run_step_t_ = tick_t_;
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
      stack_.push_back({phases_.size() - 1, meter_->cumulative_j(), meter_->cumulative_j(),
                        meter_->last_time()});
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
    case MarkerLine::Verb::kStep:
      sample_once();
      add_step(m.index);
      return;
    case MarkerLine::Verb::kMetric:
      metrics_.push_back(
          {m.name, m.value, m.unit, stack_.empty() ? "run" : phases_[stack_.back().index].name});
      return;
    case MarkerLine::Verb::kInfo:
      info_[m.name] = m.text;
      return;
  }
}

void Session::add_step(int64_t index) {
  const auto& now_j = meter_->cumulative_j();
  const double now_t = meter_->last_time();
  std::vector<double>* from_j = &run_step_j_;
  double* from_t = &run_step_t_;
  std::size_t* group = &run_group_;
  std::size_t phase = kRunPhase;
  if (!stack_.empty()) {
    from_j = &stack_.back().step_j;
    from_t = &stack_.back().step_t;
    group = &stack_.back().group;
    phase = stack_.back().index;
  }
  if (*group == kNoGroup) {
    *group = groups_.size();
    groups_.push_back({phase, {}, 1});
  }
  StepGroup& g = groups_[*group];
  if (now_t == *from_t) ++empty_steps_;
  if (g.steps.size() > 1 && g.steps.back().count < g.stride) {
    Step& tail = g.steps.back();  // not yet a whole stride: the line joins it
    for (std::size_t k = 0; k < now_j.size(); ++k) tail.delta_j[k] += now_j[k] - (*from_j)[k];
    tail.index = index;
    tail.count += 1;
    tail.seq = line_number_;
    tail.to_t = now_t;
  } else {
    Step s{index, 1, line_number_, *from_t, now_t, std::vector<double>(now_j.size())};
    for (std::size_t k = 0; k < now_j.size(); ++k) s.delta_j[k] = now_j[k] - (*from_j)[k];
    g.steps.push_back(std::move(s));
    if (g.steps.size() > kMaxStepRecords) {
      // Merge neighbours after the first step; an odd one out stays the (partial) tail.
      std::size_t out = 1;
      for (std::size_t i = 1; i < g.steps.size(); i += 2, ++out) {
        Step merged = std::move(g.steps[i]);
        if (i + 1 < g.steps.size()) {
          const Step& next = g.steps[i + 1];
          for (std::size_t k = 0; k < merged.delta_j.size(); ++k) {
            merged.delta_j[k] += next.delta_j[k];
          }
          merged.index = next.index;
          merged.count += next.count;
          merged.seq = next.seq;
          merged.to_t = next.to_t;
        }
        g.steps[out] = std::move(merged);
      }
      g.steps.resize(out);
      g.stride *= 2;
    }
  }
  *from_j = now_j;
  *from_t = now_t;
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
  if (empty_steps_ > 0) {
    warnings_->push_back(
        std::to_string(empty_steps_) + " step line" + (empty_steps_ > 1 ? "s" : "") +
        " arrived in the same read of the marker pipe as the previous step or begin line of "
        "their phase: such steps have 0 s and 0 J (steps too short, or marked too fast, for the "
        "harness to tell apart)");
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
  record->steps.clear();
  std::vector<std::pair<std::size_t, const Step*>> order;  // (phase, step) in order of arrival
  for (const auto& g : groups_) {
    for (const auto& s : g.steps) order.emplace_back(g.phase, &s);
  }
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.second->seq < b.second->seq; });
  record->steps.reserve(order.size());
  const std::vector<double> zero(meter_->cumulative_j().size(), 0);
  for (const auto& [phase, s] : order) {
    StepRecord r;
    r.phase = phase == kRunPhase ? run_.name : phases_[phase].name;
    r.index = s->index;
    r.count = s->count;
    r.t_s = s->to_t - meter_->start_time();
    r.duration_s = s->to_t - s->from_t;
    DomainEnergy e = meter_->aggregate(zero, s->delta_j, s->to_t);
    r.energy_resolution_j = meter_->resolution(e, r.duration_s);
    r.energy_j = std::move(e.energy_j);
    r.quality = std::move(e.quality);
    record->steps.push_back(std::move(r));
  }
  record->metrics = metrics_;
  record->info = info_;
  record->duration_s = run_.duration_s;
  if (keep_trace) {
    record->trace_domains = meter_->keys();
    record->trace = trace_;
  }
}

}  // namespace greenbench::measure
