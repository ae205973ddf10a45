// A worker's op profile mapped onto the taxonomy, with time shares and attributed energy.
#include "greenbench/profile.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "greenbench/error.hpp"

namespace greenbench {

namespace {

// An op's category: every op of the optimizer's pass is the optimizer's cost, whatever it
// computes; otherwise the taxonomy's row ("" when it has none).
std::string category_of(const OpTaxonomy& taxonomy, const std::string& framework,
                        const std::string& name, const std::string& pass) {
  return pass == "optimizer" ? "optimizer" : taxonomy.category(framework, name);
}

using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Reads the fields of one JSON document, naming the document and the field in every error.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error(source_ + ": field '" + field + "': " + problem);
  }
  static std::string shown(const json& v) { return printable(v.dump(), 60); }

  const json& member(const json& object, const std::string& prefix, const char* key) const {
    const auto it = object.find(key);
    if (it == object.end()) fail(prefix + key, "missing");
    return *it;
  }
  std::string text(const json& object, const std::string& prefix, const char* key,
                   bool allow_empty = false) const {
    const json& v = member(object, prefix, key);
    if (!v.is_string()) fail(prefix + key, "expected a string, got " + shown(v));
    auto s = v.get<std::string>();
    if (s.empty() && !allow_empty) fail(prefix + key, "empty");
    return s;
  }
  // A finite number >= min (null read as NaN where allow_null).
  double number(const json& object, const std::string& prefix, const char* key, double min,
                bool allow_null = false) const {
    const json& v = member(object, prefix, key);
    return number_value(v, prefix + key, min, allow_null);
  }
  double number_value(const json& v, const std::string& field, double min,
                      bool allow_null = false) const {
    if (allow_null && v.is_null()) return kNaN;
    if (!v.is_number()) fail(field, "expected a number, got " + shown(v));
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < min) {
      fail(field,
           "expected a finite number >= " + printable(json(min).dump()) + ", got " + shown(v));
    }
    return d;
  }
  int64_t integer(const json& object, const std::string& prefix, const char* key,
                  int64_t min) const {
    const json& v = member(object, prefix, key);
    if (!v.is_number_integer()) fail(prefix + key, "expected a whole number, got " + shown(v));
    const auto i = v.get<int64_t>();
    if (i < min) fail(prefix + key, "expected >= " + std::to_string(min) + ", got " + shown(v));
    return i;
  }
  const json& array(const json& object, const std::string& prefix, const char* key) const {
    const json& v = member(object, prefix, key);
    if (!v.is_array()) fail(prefix + key, "expected an array, got " + shown(v));
    return v;
  }
  std::vector<double> numbers(const json& object, const std::string& prefix, const char* key,
                              double min, bool allow_null = false) const {
    std::vector<double> out;
    const json& a = array(object, prefix, key);
    for (std::size_t i = 0; i < a.size(); ++i) {
      out.push_back(
          number_value(a[i], prefix + key + "[" + std::to_string(i) + "]", min, allow_null));
    }
    return out;
  }

 private:
  std::string source_;
};

bool known_pass(const std::string& pass) {
  return pass == "forward" || pass == "backward" || pass == "optimizer";
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

double median_of(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double mean_of(const std::vector<double>& v, std::size_t begin, std::size_t end) {
  double sum = 0;
  for (std::size_t i = begin; i < end; ++i) sum += v[i];
  return sum / static_cast<double>(end - begin);
}

// Shares and attributed energy of every op, category and the overhead, from self_s.
void attribute(Profile& p) {
  for (const auto& c : op_categories()) p.categories[c] = CategoryShare{};
  double covered = 0;
  for (auto& op : p.ops) {
    op.energy_j = p.phase_energy_j * op.self_s / p.phase_s;
    CategoryShare& c = p.categories[op.category];
    c.self_s += op.self_s;
    covered += op.self_s;
  }
  for (auto& [name, c] : p.categories) {
    c.share = c.self_s / p.phase_s;
    c.energy_j = p.phase_energy_j * c.share;
  }
  p.framework_overhead_s = p.phase_s - covered;
  p.framework_overhead_share = p.framework_overhead_s / p.phase_s;
  p.framework_overhead_energy_j = p.phase_energy_j * p.framework_overhead_share;
}

}  // namespace

StepEnergySummary summarise_step_energy(const std::vector<double>& step_energy_j) {
  StepEnergySummary s;
  s.steps = static_cast<int64_t>(step_energy_j.size());
  if (step_energy_j.empty()) return s;
  s.first_j = step_energy_j.front();
  const std::vector<double> steady(step_energy_j.begin() + 1, step_energy_j.end());
  s.steady_median_j = median_of(steady);
  if (steady.size() >= 2) {
    const std::size_t tenth = std::max<std::size_t>(1, steady.size() / 10);
    const double first = mean_of(steady, 0, tenth);
    const double last = mean_of(steady, steady.size() - tenth, steady.size());
    if (first > 0) s.drift = last / first - 1;
  }
  return s;
}

std::vector<double> step_energies(const RunRecord& record, const std::string& phase,
                                  std::string* quality) {
  std::vector<double> out;
  std::string worst = "measured";
  for (const auto& s : record.steps) {
    if (s.phase != phase) continue;
    const auto e = s.energy_j.find("total");
    const auto q = s.quality.find("total");
    if (e == s.energy_j.end() || q == s.quality.end() || q->second == "failed") {
      *quality = "";
      return {};
    }
    if (q->second != "measured") worst = q->second;
    out.push_back(e->second);
  }
  *quality = out.empty() ? "" : worst;
  return out;
}

double median_step_s(const Profile& profile) { return median_of(profile.step_s); }

Profile summarise_profile(const json& worker, const OpTaxonomy& taxonomy, double phase_energy_j,
                          const std::string& energy_quality, const std::string& source) {
  const Reader r(source);
  if (!worker.is_object()) throw Error(source + ": expected a JSON object (a worker's profile)");
  Profile p;
  p.framework = r.text(worker, "", "framework");
  p.framework_version = r.text(worker, "", "framework_version", true);
  p.profiler = r.text(worker, "", "profiler", true);
  p.model = r.text(worker, "", "model");
  p.scale = r.text(worker, "", "scale");
  p.phase = r.text(worker, "", "phase");
  if (p.phase != "train" && p.phase != "infer") {
    r.fail("phase", "expected \"train\" or \"infer\", got " + Reader::shown(worker["phase"]));
  }
  p.device = r.text(worker, "", "device");
  p.precision = r.text(worker, "", "precision");
  p.threads = static_cast<int>(r.integer(worker, "", "threads", 0));
  p.steps = r.integer(worker, "", "steps", 1);
  p.phase_s = r.number(worker, "", "phase_s", 0);
  if (p.phase_s <= 0)
    r.fail("phase_s", "expected a time > 0, got " + Reader::shown(worker["phase_s"]));
  p.step_s = r.numbers(worker, "", "step_s", 0);
  if (static_cast<int64_t>(p.step_s.size()) != p.steps) {
    r.fail("step_s", "has " + std::to_string(p.step_s.size()) + " entries, but steps is " +
                         std::to_string(p.steps));
  }

  if (worker.contains("step_start_s")) {
    p.step_start_s = r.numbers(worker, "", "step_start_s", 0);
    if (p.step_start_s.size() != p.step_s.size()) {
      r.fail("step_start_s", "has " + std::to_string(p.step_start_s.size()) +
                                 " entries, but steps is " + std::to_string(p.steps));
    }
  }

  const json& ops = r.array(worker, "", "ops");
  std::set<std::pair<std::string, std::string>> seen;
  std::set<std::string> unmapped;
  double self_sum = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const std::string at = "ops[" + std::to_string(i) + "].";
    if (!ops[i].is_object()) r.fail("ops[" + std::to_string(i) + "]", "expected an object");
    ProfiledOp op;
    op.name = r.text(ops[i], at, "name");
    op.pass = r.text(ops[i], at, "pass");
    if (!known_pass(op.pass)) {
      r.fail(at + "pass",
             "expected forward, backward or optimizer, got " + Reader::shown(ops[i]["pass"]));
    }
    op.self_s = r.number(ops[i], at, "self_s", 0);
    op.calls = r.integer(ops[i], at, "calls", 0);
    if (!seen.insert({op.name, op.pass}).second) {
      r.fail(at + "name", "a second entry for op '" + printable(op.name) + "' in pass " + op.pass);
    }
    op.category = category_of(taxonomy, p.framework, op.name, op.pass);
    if (op.category.empty()) {
      op.category = "other";
      unmapped.insert(op.name);
    }
    self_sum += op.self_s;
    p.ops.push_back(std::move(op));
  }
  // Sums of many small floats: allow rounding, nothing more.
  const double slack = 1e-9 * std::max(1.0, p.phase_s);
  if (self_sum > p.phase_s + slack) {
    r.fail("ops", "self times add up to " + json(self_sum).dump() + " s, more than phase_s " +
                      json(p.phase_s).dump() + " s");
  }
  if (worker.contains("ops_self_s")) {
    const double stated = r.number(worker, "", "ops_self_s", 0);
    if (std::fabs(stated - self_sum) > 1e-6 * std::max(1.0, self_sum)) {
      r.fail("ops_self_s", json(stated).dump() + " s, but the ops' self_s add up to " +
                               json(self_sum).dump() + " s");
    }
  }
  std::sort(p.ops.begin(), p.ops.end(), [](const ProfiledOp& a, const ProfiledOp& b) {
    if (a.self_s != b.self_s) return a.self_s > b.self_s;
    if (a.name != b.name) return a.name < b.name;
    return a.pass < b.pass;
  });
  p.unmapped.assign(unmapped.begin(), unmapped.end());

  if (worker.contains("spans")) {
    const json& spans = r.array(worker, "", "spans");
    p.spans.reserve(spans.size());
    for (std::size_t i = 0; i < spans.size(); ++i) {
      const std::string at = "spans[" + std::to_string(i) + "].";
      if (!spans[i].is_object()) r.fail("spans[" + std::to_string(i) + "]", "expected an object");
      ProfiledSpan s;
      s.name = r.text(spans[i], at, "name");
      s.pass = r.text(spans[i], at, "pass");
      if (!known_pass(s.pass)) {
        r.fail(at + "pass",
               "expected forward, backward or optimizer, got " + Reader::shown(spans[i]["pass"]));
      }
      s.step = r.integer(spans[i], at, "step", 0);
      s.start_s = r.number(spans[i], at, "start_s", 0);
      s.dur_s = r.number(spans[i], at, "dur_s", 0);
      s.category = category_of(taxonomy, p.framework, s.name, s.pass);
      if (s.category.empty()) s.category = "other";
      p.spans.push_back(std::move(s));
    }
  }

  if (!std::isnan(phase_energy_j) && (!std::isfinite(phase_energy_j) || phase_energy_j < 0)) {
    throw Error(source + ": the phase energy to attribute must be finite and >= 0, got " +
                json(phase_energy_j).dump());
  }
  p.phase_energy_j = phase_energy_j;
  p.energy_quality = std::isnan(phase_energy_j) ? std::string() : energy_quality;
  attribute(p);
  return p;
}

json profile_json(const Profile& p) {
  json ops = json::array();
  for (const auto& op : p.ops) {
    ops.push_back({{"name", op.name},
                   {"pass", op.pass},
                   {"category", op.category},
                   {"self_s", op.self_s},
                   {"calls", op.calls},
                   {"energy_j", number_or_null(op.energy_j)}});
  }
  json categories = json::object();
  for (const auto& [name, c] : p.categories) {
    categories[name] = {
        {"self_s", c.self_s}, {"share", c.share}, {"energy_j", number_or_null(c.energy_j)}};
  }
  json out = {
      {"framework", p.framework},
      {"framework_version", p.framework_version},
      {"profiler", p.profiler},
      {"model", p.model},
      {"scale", p.scale},
      {"phase", p.phase},
      {"device", p.device},
      {"precision", p.precision},
      {"threads", p.threads},
      {"steps", p.steps},
      {"phase_s", p.phase_s},
      {"ops", std::move(ops)},
      {"categories", std::move(categories)},
      {"framework_overhead_s", p.framework_overhead_s},
      {"framework_overhead_share", p.framework_overhead_share},
      {"framework_overhead_energy_j", number_or_null(p.framework_overhead_energy_j)},
      {"unmapped", p.unmapped},
      {"phase_energy_j", number_or_null(p.phase_energy_j)},
      {"energy_quality", p.energy_quality.empty() ? json(nullptr) : json(p.energy_quality)},
      {"energy_attribution",
       "attributed: phase_energy_j x self_s / phase_s (a time-share model, not a per-op "
       "measurement)"},
      {"profiler_overhead", number_or_null(p.profiler_overhead)},
      {"unprofiled_step_s", number_or_null(p.unprofiled_step_s)},
      {"step_s", p.step_s},
  };
  json energies = json::array();
  for (double e : p.step_energy_j) energies.push_back(number_or_null(e));
  out["step_energy_j"] = std::move(energies);
  out["step_energy_quality"] =
      p.step_energy_quality.empty() ? json(nullptr) : json(p.step_energy_quality);
  if (!p.step_energy_j.empty()) {
    const StepEnergySummary s = summarise_step_energy(p.step_energy_j);
    out["step_energy"] = {{"steps", s.steps},
                          {"first_j", number_or_null(s.first_j)},
                          {"steady_median_j", number_or_null(s.steady_median_j)},
                          {"drift", number_or_null(s.drift)}};
  }
  return out;
}

Profile profile_from_json(const json& j) {
  const Reader r("profile");
  if (!j.is_object()) throw Error("profile: expected a JSON object");
  Profile p;
  p.framework = r.text(j, "", "framework");
  p.framework_version = r.text(j, "", "framework_version", true);
  p.profiler = r.text(j, "", "profiler", true);
  p.model = r.text(j, "", "model");
  p.scale = r.text(j, "", "scale");
  p.phase = r.text(j, "", "phase");
  p.device = r.text(j, "", "device");
  p.precision = r.text(j, "", "precision");
  p.threads = static_cast<int>(r.integer(j, "", "threads", 0));
  p.steps = r.integer(j, "", "steps", 0);
  p.phase_s = r.number(j, "", "phase_s", 0);
  const json& ops = r.array(j, "", "ops");
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const std::string at = "ops[" + std::to_string(i) + "].";
    if (!ops[i].is_object()) r.fail("ops[" + std::to_string(i) + "]", "expected an object");
    ProfiledOp op;
    op.name = r.text(ops[i], at, "name");
    op.pass = r.text(ops[i], at, "pass");
    op.category = r.text(ops[i], at, "category");
    op.self_s = r.number(ops[i], at, "self_s", 0);
    op.calls = r.integer(ops[i], at, "calls", 0);
    op.energy_j = r.number(ops[i], at, "energy_j", 0, true);
    p.ops.push_back(std::move(op));
  }
  const json& categories = r.member(j, "", "categories");
  if (!categories.is_object()) r.fail("categories", "expected an object");
  for (const auto& [name, c] : categories.items()) {
    const std::string at = "categories." + name + ".";
    if (!c.is_object()) r.fail("categories." + name, "expected an object");
    CategoryShare share;
    share.self_s = r.number(c, at, "self_s", 0);
    share.share = r.number(c, at, "share", 0);
    share.energy_j = r.number(c, at, "energy_j", 0, true);
    p.categories[name] = share;
  }
  // The overhead is phase_s less what ops cover; rounding may leave it a hair below zero.
  p.framework_overhead_s = r.number(j, "", "framework_overhead_s", -1e-6);
  p.framework_overhead_share = r.number(j, "", "framework_overhead_share", -1e-6);
  p.framework_overhead_energy_j = r.number(j, "", "framework_overhead_energy_j", -1e-3, true);
  for (const auto& name : r.array(j, "", "unmapped")) {
    if (!name.is_string()) r.fail("unmapped", "expected strings, got " + Reader::shown(name));
    p.unmapped.push_back(name.get<std::string>());
  }
  p.phase_energy_j = r.number(j, "", "phase_energy_j", 0, true);
  const json& quality = r.member(j, "", "energy_quality");
  if (!quality.is_null()) p.energy_quality = r.text(j, "", "energy_quality");
  p.profiler_overhead = r.number(j, "", "profiler_overhead", -1, true);
  p.unprofiled_step_s = r.number(j, "", "unprofiled_step_s", 0, true);
  p.step_s = r.numbers(j, "", "step_s", 0);
  p.step_energy_j = r.numbers(j, "", "step_energy_j", 0, true);
  if (!r.member(j, "", "step_energy_quality").is_null()) {
    p.step_energy_quality = r.text(j, "", "step_energy_quality");
  }
  return p;
}

}  // namespace greenbench
