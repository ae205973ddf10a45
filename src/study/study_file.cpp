// The study file: parsing with line numbers, command-line overrides, effective settings.
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include "greenbench/error.hpp"
#include "greenbench/label.hpp"
#include "greenbench/study.hpp"
#include "study/slurm_toml.hpp"

namespace greenbench {

const std::vector<std::string>& known_models() {
  // The models the built-in workers implement (workloads/common model_names()). External
  // [[command]] workloads may use any model name.
  static const std::vector<std::string> kModels{"ncf", "resnet50", "transformer_xl",
                                                "ssd", "gnmt",     "mask_rcnn"};
  return kModels;
}

const std::vector<std::string>& known_frameworks() {
  static const std::vector<std::string> kFrameworks{"pytorch", "tensorflow"};
  return kFrameworks;
}

namespace {

const std::vector<std::string> kPhases{"train", "infer"};
const std::vector<std::string> kScales{"tiny", "small", "paper"};
const std::vector<std::string> kOrders{"interleaved", "sequential"};
// The names `measure --source` takes; the same power-model bound as the CLI's (none but >= 0).
const std::vector<std::string> kSourceNames{"rapl-powercap", "rapl-perf", "nvml", "cpu-estimate"};
constexpr double kMaxWatts = 1e6;
const std::vector<std::string> kTopKeys{"name",
                                        "frameworks",
                                        "models",
                                        "phases",
                                        "scale",
                                        "repetitions",
                                        "min_repetitions",
                                        "max_repetitions",
                                        "alpha",
                                        "equivalence_margin",
                                        "warmup",
                                        "order",
                                        "seed",
                                        "cooldown",
                                        "cooldown_tolerance",
                                        "cooldown_max",
                                        "timeout",
                                        "idle_baseline",
                                        "threads",
                                        "numerics",
                                        "device",
                                        "precision",
                                        "profile",
                                        "sources",
                                        "cpu_watts_per_core",
                                        "cpu_idle_watts",
                                        "carbon_intensity",
                                        "region",
                                        "pue",
                                        "price",
                                        "currency",
                                        "command",
                                        "slurm"};
const std::vector<std::string> kCommandKeys{"framework", "model", "phase", "argv", "cwd"};
constexpr size_t kRequiredCommandKeys = 4;  // all but cwd

// Upper bounds of the study file's numbers (README, "The study file"): far above any sensible
// study, low enough that a typo cannot plan 10^19 runs or wait for years.
constexpr std::int64_t kMaxRepetitions = 10000;
constexpr std::int64_t kMaxWarmup = 1000;
constexpr std::int64_t kMaxThreads = 4096;
constexpr double kMaxCooldownS = 3600;
constexpr double kMaxCooldownTolerance = 1;
constexpr double kMaxTimeoutS = 7 * 24 * 3600;
constexpr double kMaxIdleBaselineS = 3600;
constexpr size_t kMaxPlannedRuns = 1000000;
constexpr size_t kMaxNameLength = 100;
constexpr size_t kMaxStringLength = 4096;

namespace fs = std::filesystem;

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// "unknown value 'x'; expected one of a, b (did you mean 'y'?)" — the suggestion saves a round
// trip for the commonest mistake, a typo.
std::string unknown_name(const std::string& what, const std::string& value,
                         const std::vector<std::string>& allowed) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& candidate : allowed) {
    const size_t d = edit_distance(value, candidate);
    if (d < best_distance) best_distance = d, best = candidate;
  }
  std::string message = "unknown " + what + " '" + printable(value) + "'";
  if (!best.empty()) message += " (did you mean '" + best + "'?)";
  return message + "; expected one of " + join(allowed, ", ");
}

// How a TOML value reads in an error message.
std::string describe_node(const toml::node& node) {
  if (const auto* s = node.as_string()) return "\"" + printable(s->get()) + "\"";
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) {
    std::ostringstream out;
    out << f->get();
    return out.str();
  }
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date/time";
}

const std::vector<std::string> kPrecisions{"fp32", "tf32", "bf16", "fp16"};

// "cpu", "cuda", or "cuda:N" with N a plain decimal index (as the workers' --device takes it).
bool valid_device(const std::string& s) {
  if (s == "cpu" || s == "cuda") return true;
  if (s.rfind("cuda:", 0) != 0 || s.size() < 6 || s.size() > 9) return false;
  const std::string n = s.substr(5);
  return n.find_first_not_of("0123456789") == std::string::npos && (n == "0" || n[0] != '0') &&
         std::stoi(n) <= 1023;
}
// Collects every problem of a study file with its line, so one run of the parser reports them all.
class Checker {
 public:
  Checker(const std::string& source, fs::path base_dir)
      : source_(printable(source, 200)), base_dir_(std::move(base_dir)) {}

  void error(const toml::source_region& where, const std::string& key, const std::string& message) {
    std::string line = source_;
    if (where.begin.line > 0) line += ":" + std::to_string(where.begin.line);
    errors_.push_back({where.begin.line, line + ": key '" + printable(key, 100) + "': " + message});
  }

  // Strings reach file names, argv and the terminal: no control characters (a NUL would cut an
  // argument short), no invalid UTF-8 (toml++ refuses it already) and no megabyte values.
  std::optional<std::string> string(const toml::node& node, const std::string& key) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      error(node.source(), key, "expected a string, got " + describe_node(node));
      return std::nullopt;
    }
    if (has_control_character(s->get())) {
      error(node.source(), key,
            "expected a string without control characters, got " + describe_node(node));
      return std::nullopt;
    }
    if (s->get().size() > kMaxStringLength) {
      error(node.source(), key,
            "expected at most " + std::to_string(kMaxStringLength) + " bytes, got " +
                std::to_string(s->get().size()) + " (" + describe_node(node) + ")");
      return std::nullopt;
    }
    return s->get();
  }

  std::optional<std::string> choice(const toml::node& node, const std::string& key,
                                    const std::string& what,
                                    const std::vector<std::string>& allowed) {
    auto s = string(node, key);
    if (!s) return std::nullopt;
    if (!contains(allowed, *s)) {
      error(node.source(), key, unknown_name(what, *s, allowed));
      return std::nullopt;
    }
    return s;
  }

  std::optional<std::vector<std::string>> name_list(const toml::node& node, const std::string& key,
                                                    const std::string& what,
                                                    const std::vector<std::string>& allowed) {
    const auto* array = node.as_array();
    if (array == nullptr) {
      error(node.source(), key, "expected an array of strings, got " + describe_node(node));
      return std::nullopt;
    }
    if (array->empty()) {
      error(node.source(), key, "expected at least one " + what + ", got an empty array");
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (size_t i = 0; i < array->size(); ++i) {
      const std::string item_key = key + "[" + std::to_string(i) + "]";
      auto s = choice(*array->get(i), item_key, what, allowed);
      if (!s) {
        ok = false;
      } else if (contains(out, *s)) {
        error(array->get(i)->source(), item_key, "'" + *s + "' is listed twice");
        ok = false;
      } else {
        out.push_back(*s);
      }
    }
    return ok ? std::optional(out) : std::nullopt;
  }

  // Checked in 64 bits, before the caller narrows it.
  std::optional<std::int64_t> integer(const toml::node& node, const std::string& key,
                                      std::int64_t min, std::int64_t max) {
    const auto* i = node.as_integer();
    if (i == nullptr || i->get() < min || i->get() > max) {
      error(
          node.source(), key,
          (max == std::numeric_limits<std::int64_t>::max()
               ? "expected an integer >= " + std::to_string(min)
               : "expected an integer from " + std::to_string(min) + " to " + std::to_string(max)) +
              ", got " + describe_node(node));
      return std::nullopt;
    }
    return i->get();
  }

  // Integers and floats both read as seconds or fractions.
  std::optional<double> number(const toml::node& node, const std::string& key, double min,
                               bool min_exclusive, double max, const std::string& expected) {
    double value = 0;
    if (const auto* i = node.as_integer()) {
      value = static_cast<double>(i->get());
    } else if (const auto* f = node.as_floating_point()) {
      value = f->get();
    } else {
      error(node.source(), key, "expected " + expected + ", got " + describe_node(node));
      return std::nullopt;
    }
    if (!std::isfinite(value) || value < min || (min_exclusive && value == min) || value > max) {
      error(node.source(), key, "expected " + expected + ", got " + describe_node(node));
      return std::nullopt;
    }
    return value;
  }

  void unknown_key(const toml::key& key, const std::string& shown,
                   const std::vector<std::string>& allowed) {
    error(key.source(), shown, unknown_name("key", std::string(key.str()), allowed));
  }

  void command(const toml::table& table, size_t index, StudySettings& settings) {
    const std::string prefix = "command[" + std::to_string(index) + "]";
    CommandSpec spec;
    bool ok = true;
    for (const auto& [key, node] : table) {
      const std::string name(key.str());
      const std::string shown = prefix + "." + name;
      if (name == "framework" || name == "model") {
        auto s = string(node, shown);
        if (s && !label_problem(*s).empty()) {
          error(node.source(), shown, label_problem(*s));
          s.reset();
        }
        if (!s)
          ok = false;
        else
          (name == "framework" ? spec.framework : spec.model) = *s;
      } else if (name == "phase") {
        auto s = choice(node, shown, "phase", kPhases);
        if (s)
          spec.phase = *s;
        else
          ok = false;
      } else if (name == "argv") {
        const auto* array = node.as_array();
        if (array == nullptr) {
          error(node.source(), shown, "expected an array of strings, got " + describe_node(node));
          ok = false;
          continue;
        }
        if (array->empty()) {
          error(node.source(), shown, "expected a non-empty array (the program and its arguments)");
          ok = false;
          continue;
        }
        for (size_t i = 0; i < array->size(); ++i) {
          auto s = string(*array->get(i), shown + "[" + std::to_string(i) + "]");
          if (!s)
            ok = false;
          else
            spec.argv.push_back(*s);
        }
        if (ok && spec.argv[0].empty()) {
          error(node.source(), shown, "the program (argv[0]) is empty");
          ok = false;
        } else if (ok && spec.argv[0].find('/') != std::string::npos) {
          // A path to the program is checked now, where the line is known, not in every run.
          const fs::path program = resolve(spec.argv[0]);
          if (!fs::is_regular_file(program) || access(program.c_str(), X_OK) != 0) {
            error(array->get(0)->source(), shown + "[0]",
                  "'" + printable(program.string(), 200) +
                      "' is not an executable file (a relative program path is relative to "
                      "the study file's folder)");
            ok = false;
          }
        }
      } else if (name == "cwd") {
        auto s = string(node, shown);
        if (s && s->empty()) {
          error(node.source(), shown, "expected a directory, got \"\"");
          s.reset();
        } else if (s && !fs::is_directory(resolve(*s))) {
          error(node.source(), shown,
                "'" + printable(resolve(*s).string(), 200) +
                    "' is not a directory (a relative cwd is relative to the study file's "
                    "folder)");
          s.reset();
        }
        if (s)
          spec.cwd = *s;
        else
          ok = false;
      } else {
        unknown_key(key, shown, kCommandKeys);
        ok = false;
      }
    }
    for (size_t k = 0; k < kRequiredCommandKeys; ++k) {
      const std::string& required = kCommandKeys[k];
      if (!table.contains(required)) {
        error(table.source(), prefix, "missing key '" + required + "'");
        ok = false;
      }
    }
    if (ok) settings.commands.push_back(std::move(spec));
  }

  [[nodiscard]] fs::path resolve(const std::string& path) const {
    return (base_dir_ / path).lexically_normal();
  }

  // In file order: toml++ hands out a table's keys sorted by name, not as written.
  [[nodiscard]] std::vector<std::string> errors() const {
    auto sorted = errors_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& e : sorted) out.push_back(std::move(e.second));
    return out;
  }

 private:
  std::string source_;
  fs::path base_dir_;
  std::vector<std::pair<toml::source_index, std::string>> errors_;
};

void throw_if_errors(const std::vector<std::string>& errors) {
  if (!errors.empty()) throw Error(join(errors, "\n"));
}

// The keys of a sequential study (`repetitions = "auto"`), checked together: they bound each
// other, mean nothing in a fixed design, and need interleaved blocks to look at.
void parse_sequential_keys(Checker& check,
                           const std::vector<std::pair<std::string, const toml::node*>>& keys,
                           StudySettings& s) {
  const toml::node* min_node = nullptr;
  const toml::node* max_node = nullptr;
  for (const auto& [name, node] : keys) {
    if (!s.repetitions_auto) {
      check.error(node->source(), name, "is used only with repetitions = \"auto\"");
      continue;
    }
    if (name == "min_repetitions") {
      if (auto v = check.integer(*node, name, 2, kMaxRepetitions)) {
        s.min_repetitions = int(*v), min_node = node;
      }
    } else if (name == "max_repetitions") {
      if (auto v = check.integer(*node, name, 2, kMaxRepetitions)) {
        s.max_repetitions = int(*v), max_node = node;
      }
    } else if (name == "alpha") {
      if (auto v = check.number(*node, name, 0, true, 0.5, "a level in (0, 0.5] such as 0.05")) {
        s.alpha = *v;
      }
    } else if (name == "equivalence_margin") {
      if (auto v =
              check.number(*node, name, 0, false, 0.5, "a fraction in [0, 0.5] such as 0.02")) {
        s.equivalence_margin = *v;
      }
    }
  }
  if (!s.repetitions_auto) return;
  if (s.min_repetitions > s.max_repetitions) {
    const toml::node* at = max_node ? max_node : min_node;
    check.error(at->source(), max_node ? "max_repetitions" : "min_repetitions",
                "max_repetitions (" + std::to_string(s.max_repetitions) +
                    ") is below min_repetitions (" + std::to_string(s.min_repetitions) + ")");
  }
  s.repetitions = s.max_repetitions;  // the plan holds every run the study may need
}

}  // namespace

StudySettings parse_study(const std::string& text, const std::string& source,
                          const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw Error(printable(source, 200) + ":" + std::to_string(e.source().begin.line) + ":" +
                std::to_string(e.source().begin.column) +
                ": syntax error: " + printable(e.description(), 200));
  }
  StudySettings s;
  std::error_code ec;
  s.base_dir = fs::absolute(base_dir.empty() ? fs::path(".") : fs::path(base_dir), ec)
                   .lexically_normal()
                   .string();
  if (ec) throw Error(printable(source, 200) + ": cannot resolve its folder: " + ec.message());
  if (s.base_dir.size() > 1 && s.base_dir.back() == '/') s.base_dir.pop_back();
  Checker check(source, s.base_dir);
  std::vector<std::pair<std::string, const toml::node*>> sequential_keys;
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (name == "name") {
      if (auto v = check.string(node, name)) {
        // The name becomes a directory under results/, so it must be one path component.
        if (v->empty() || *v == "." || *v == ".." || v->find('/') != std::string::npos ||
            v->size() > kMaxNameLength) {
          check.error(node.source(), name,
                      "expected a non-empty name of at most " + std::to_string(kMaxNameLength) +
                          " bytes without '/', got " + describe_node(node));
        } else {
          s.name = *v;
        }
      }
    } else if (name == "frameworks") {
      if (auto v = check.name_list(node, name, "framework", known_frameworks())) s.frameworks = *v;
    } else if (name == "models") {
      s.models_given = true;
      if (auto v = check.name_list(node, name, "model", known_models())) s.models = *v;
    } else if (name == "phases") {
      if (auto v = check.name_list(node, name, "phase", kPhases)) s.phases = *v;
    } else if (name == "scale") {
      if (auto v = check.choice(node, name, "scale", kScales)) s.scale = *v;
    } else if (name == "repetitions") {
      if (const auto* str = node.as_string()) {
        if (str->get() == "auto")
          s.repetitions_auto = true;
        else
          check.error(node.source(), name,
                      "expected an integer from 1 to " + std::to_string(kMaxRepetitions) +
                          " or \"auto\", got " + describe_node(node));
      } else if (auto v = check.integer(node, name, 1, kMaxRepetitions)) {
        s.repetitions = int(*v);
      }
    } else if (name == "min_repetitions" || name == "max_repetitions" || name == "alpha" ||
               name == "equivalence_margin") {
      sequential_keys.emplace_back(name, &node);
    } else if (name == "warmup") {
      if (auto v = check.integer(node, name, 0, kMaxWarmup)) s.warmup = int(*v);
    } else if (name == "order") {
      if (auto v = check.choice(node, name, "order", kOrders)) s.order = *v;
    } else if (name == "seed") {
      if (auto v = check.integer(node, name, 0, std::numeric_limits<std::int64_t>::max())) {
        s.seed = static_cast<std::uint64_t>(*v);
      }
    } else if (name == "cooldown") {
      if (const auto* str = node.as_string()) {
        if (str->get() == "adaptive")
          s.cooldown_s = -1;
        else
          check.error(node.source(), name,
                      "expected \"adaptive\" or a number of seconds, got " + describe_node(node));
      } else if (auto v = check.number(node, name, 0, false, kMaxCooldownS,
                                       "\"adaptive\" or a number of seconds from 0 to 3600")) {
        s.cooldown_s = *v;
      }
    } else if (name == "cooldown_tolerance") {
      if (auto v = check.number(node, name, 0, true, kMaxCooldownTolerance,
                                "a fraction above 0 and at most 1, such as 0.1")) {
        s.cooldown_tolerance = *v;
      }
    } else if (name == "cooldown_max") {
      if (auto v = check.number(node, name, 0, false, kMaxCooldownS,
                                "a number of seconds from 0 to 3600")) {
        s.cooldown_max_s = *v;
      }
    } else if (name == "timeout") {
      if (auto v = check.number(node, name, 0, true, kMaxTimeoutS,
                                "a number of seconds above 0 and at most 604800 (7 days)")) {
        s.timeout_s = *v;
      }
    } else if (name == "idle_baseline") {
      if (auto v = check.number(node, name, 0, false, kMaxIdleBaselineS,
                                "a number of seconds from 0 to 3600")) {
        s.idle_baseline_s = *v;
      }
    } else if (name == "threads") {
      if (auto v = check.integer(node, name, 1, kMaxThreads)) s.threads = int(*v);
    } else if (name == "numerics") {
      if (auto v = check.choice(node, name, "numerics", {"default", "strict"})) s.numerics = *v;
    } else if (name == "device") {
      if (auto v = check.string(node, name)) {
        if (valid_device(*v))
          s.device = *v;
        else
          check.error(node.source(), name,
                      "expected \"cpu\", \"cuda\" or \"cuda:N\" (N a GPU index from 0 to 1023), "
                      "got " +
                          describe_node(node));
      }
    } else if (name == "precision") {
      if (auto v = check.choice(node, name, "precision", kPrecisions)) s.precision = *v;
    } else if (name == "profile") {
      if (const auto* b = node.as_boolean()) {
        s.profile = b->get();
      } else {
        check.error(node.source(), name, "expected true or false, got " + describe_node(node));
      }
    } else if (name == "sources") {
      if (auto v = check.name_list(node, name, "source", kSourceNames)) s.sources = *v;
    } else if (name == "cpu_watts_per_core" || name == "cpu_idle_watts") {
      if (auto v = check.number(node, name, 0, false, kMaxWatts, "a number of watts >= 0")) {
        (name == "cpu_idle_watts" ? s.cpu_idle_watts : s.cpu_watts_per_core) = *v;
      }
    } else if (name == "carbon_intensity" || name == "pue" || name == "price") {
      // Conversion factors (README, "Energy as kWh, CO2e and cost"): shown, never applied to
      // the measured values. Ranges as check_carbon_intensity, check_pue, check_price.
      const double max = name == "pue" ? 3 : std::numeric_limits<double>::max();
      const char* expected = name == "pue"                ? "a PUE from 1 to 3"
                             : name == "carbon_intensity" ? "g CO2e per kWh, a number >= 0"
                                                          : "a price per kWh, a number >= 0";
      if (auto v = check.number(node, name, name == "pue" ? 1 : 0, false, max, expected)) {
        (name == "pue"     ? s.carbon.pue
         : name == "price" ? s.carbon.price
                           : s.carbon.carbon_intensity) = *v;
      }
    } else if (name == "region" || name == "currency") {
      if (auto v = check.string(node, name))
        (name == "region" ? s.carbon.region : s.carbon.currency) = *v;
    } else if (name == "slurm") {
      for (const auto& [where, key_shown, message] : parse_slurm_table(node, s.slurm)) {
        check.error(where, key_shown, message);
      }
    } else if (name == "command") {
      const auto* array = node.as_array();
      if (array == nullptr || !array->is_array_of_tables()) {
        check.error(node.source(), name, "expected [[command]] tables, got " + describe_node(node));
        continue;
      }
      for (size_t i = 0; i < array->size(); ++i) check.command(*array->get(i)->as_table(), i, s);
    } else {
      check.unknown_key(key, name, kTopKeys);
    }
  }
  parse_sequential_keys(check, sequential_keys, s);
  if (s.precision == "tf32" && s.device == "cpu") {
    check.error(root["precision"].node()->source(), "precision",
                "tf32 is a mode of NVIDIA tensor cores; it needs device = \"cuda\" (on the CPU "
                "use fp32 or bf16)");
  }
  if (s.repetitions_auto && s.order == "sequential") {
    check.error(root["order"].node()->source(), "order",
                "repetitions = \"auto\" looks after blocks of one run per configuration, so it "
                "needs order = \"interleaved\"");
  }
  throw_if_errors(check.errors());
  return s;
}

StudySettings parse_study_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw Error(printable(path, 200) + ": is a folder, not a study file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw Error("cannot read study file " + printable(path, 200) + ": " +
                (err != 0 ? std::strerror(err) : "cannot open it"));
  }
  // Read one byte more than allowed, to know the file is too big without reading all of it.
  constexpr std::streamsize kMaxBytes = 1 << 20;
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), kMaxBytes + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > size_t(kMaxBytes)) {
    throw Error(printable(path, 200) + ": larger than 1 MiB; not a study file");
  }
  // Relative paths in [[command]] are relative to the study file's folder.
  return parse_study(text, path, fs::path(path).parent_path().string());
}

void apply_overrides(StudySettings& s, const StudyOverrides& o) {
  std::vector<std::string> errors;
  auto names = [&](const std::optional<std::vector<std::string>>& list, const char* option,
                   const std::string& what, const std::vector<std::string>& allowed,
                   std::vector<std::string>& target) {
    if (!list) return;
    if (list->empty()) {
      errors.push_back(std::string(option) + ": expected a comma-separated list of " + what + "s");
      return;
    }
    std::vector<std::string> out;
    for (const auto& item : *list) {
      if (!contains(allowed, item)) {
        errors.push_back(std::string(option) + ": " + unknown_name(what, item, allowed));
      } else if (!contains(out, item)) {
        out.push_back(item);
      }
    }
    target = out;
  };
  if (o.repetitions) {
    if (*o.repetitions < 1 || *o.repetitions > kMaxRepetitions) {
      errors.push_back("--reps: expected an integer from 1 to " + std::to_string(kMaxRepetitions) +
                       ", got " + std::to_string(*o.repetitions));
    } else {
      s.repetitions = *o.repetitions;
      s.repetitions_auto = false;  // --reps asks for a fixed design
    }
  }
  names(o.frameworks, "--frameworks", "framework", known_frameworks(), s.frameworks);
  if (o.models) s.models_given = true;
  names(o.models, "--models", "model", known_models(), s.models);
  names(o.phases, "--phases", "phase", kPhases, s.phases);
  if (o.scale) {
    if (!contains(kScales, *o.scale)) {
      errors.push_back("--scale: " + unknown_name("scale", *o.scale, kScales));
    } else {
      s.scale = *o.scale;
    }
  }
  names(o.sources, "--source", "source", kSourceNames, s.sources);
  if (o.cpu_watts_per_core) s.cpu_watts_per_core = *o.cpu_watts_per_core;
  if (o.cpu_idle_watts) s.cpu_idle_watts = *o.cpu_idle_watts;
  throw_if_errors(errors);
}

EffectiveSettings make_effective(const StudySettings& settings) {
  EffectiveSettings e;
  e.settings = settings;
  if (settings.carbon.any()) e.carbon = resolve_carbon(settings.carbon, "study key");
  if (e.settings.threads <= 0) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    e.settings.threads = online > 0 ? int(online) : 1;
  }
  std::vector<std::string> errors;
  // A study of commands runs only them, unless it names models for the built-in workers too.
  if (settings.commands.empty() || settings.models_given) {
    // Model, then phase, then framework: the order a sequential study runs them in, which puts the
    // training of a model before its inference, as the checkpoints need.
    for (const auto& model : settings.models) {
      for (const auto& phase : settings.phases) {
        for (const auto& framework : settings.frameworks) {
          e.configurations.push_back({framework, model, phase, {}, {}});
        }
      }
    }
  }
  for (const auto& c : settings.commands) {
    const auto same = [&](const Configuration& other) {
      return other.framework == c.framework && other.model == c.model && other.phase == c.phase;
    };
    if (std::any_of(e.configurations.begin(), e.configurations.end(), same)) {
      errors.push_back("study: [[command]] " + c.framework + " " + c.model + " " + c.phase +
                       " is a configuration the study already has; each model x framework x "
                       "phase may appear once");
      continue;
    }
    e.configurations.push_back({c.framework, c.model, c.phase, c.argv, c.cwd});
  }
  if (e.configurations.empty()) errors.push_back("study: no configuration to run");
  // Bounded before make_plan allocates it: each bound alone still allows a million runs.
  const size_t runs_per_configuration =
      size_t(std::max(0, settings.repetitions)) + size_t(std::max(0, settings.warmup));
  if (e.configurations.size() * runs_per_configuration > kMaxPlannedRuns) {
    errors.push_back("study: " + std::to_string(e.configurations.size()) + " configurations x " +
                     std::to_string(runs_per_configuration) + " runs is more than the " +
                     std::to_string(kMaxPlannedRuns) + " runs a study may plan");
  }
  throw_if_errors(errors);
  if (settings.cooldown_s < 0 && settings.idle_baseline_s <= 0) {
    e.warnings.push_back(
        "cooldown is adaptive but idle_baseline is 0: there is no idle power to return to, so "
        "runs follow each other without a cooldown");
  }
  return e;
}

nlohmann::json to_json(const EffectiveSettings& e) {
  const StudySettings& s = e.settings;
  nlohmann::json j;
  j["name"] = s.name;
  j["frameworks"] = s.frameworks;
  j["models"] = s.models;
  j["phases"] = s.phases;
  j["scale"] = s.scale;
  if (s.repetitions_auto) {
    j["repetitions"] = "auto";
    j["min_repetitions"] = static_cast<unsigned>(s.min_repetitions);
    j["max_repetitions"] = static_cast<unsigned>(s.max_repetitions);
    j["alpha"] = s.alpha;
    j["equivalence_margin"] = s.equivalence_margin;
  } else {
    j["repetitions"] = s.repetitions;
  }
  j["warmup"] = s.warmup;
  j["order"] = s.order;
  j["seed"] = s.seed;
  if (s.cooldown_s < 0)
    j["cooldown"] = "adaptive";
  else
    j["cooldown"] = s.cooldown_s;
  j["cooldown_tolerance"] = s.cooldown_tolerance;
  j["cooldown_max"] = s.cooldown_max_s;
  j["timeout"] = s.timeout_s;
  j["idle_baseline"] = s.idle_baseline_s;
  j["threads"] = s.threads;
  j["numerics"] = s.numerics;
  j["device"] = s.device;
  j["precision"] = s.precision;
  // Written only when chosen, so the stores of studies that did not choose them still resume.
  if (s.profile) j["profile"] = true;
  if (!s.sources.empty()) j["sources"] = s.sources;
  if (s.cpu_watts_per_core >= 0) j["cpu_watts_per_core"] = s.cpu_watts_per_core;
  if (s.cpu_idle_watts >= 0) j["cpu_idle_watts"] = s.cpu_idle_watts;
  if (e.carbon.any()) j["conversion"] = carbon_json(e.carbon);
  j["configurations"] = nlohmann::json::array();
  for (const auto& c : e.configurations) {
    nlohmann::json jc = {{"framework", c.framework}, {"model", c.model}, {"phase", c.phase}};
    if (!c.argv.empty()) jc["argv"] = c.argv;
    if (!c.cwd.empty()) jc["cwd"] = c.cwd;
    j["configurations"].push_back(std::move(jc));
  }
  return j;
}

std::vector<std::string> command_argv(const EffectiveSettings& e, const Configuration& c) {
  std::vector<std::string> argv = c.argv;
  if (!argv.empty() && argv[0].find('/') != std::string::npos && argv[0][0] != '/') {
    argv[0] = (fs::path(e.settings.base_dir) / argv[0]).lexically_normal().string();
  }
  return argv;
}

std::string command_working_dir(const EffectiveSettings& e, const Configuration& c) {
  if (c.argv.empty()) return "";
  const fs::path base(e.settings.base_dir);
  return c.cwd.empty() ? base.string() : (base / c.cwd).lexically_normal().string();
}

std::string describe(const EffectiveSettings& e) {
  const StudySettings& s = e.settings;
  std::ostringstream out;
  const int runs_per_config = s.repetitions + s.warmup;
  out << "study '" << s.name << "': " << e.configurations.size() << " configurations x ("
      << s.warmup << " warm-up + " << (s.repetitions_auto ? "up to " : "") << s.repetitions
      << " repetitions) = " << (s.repetitions_auto ? "at most " : "")
      << e.configurations.size() * runs_per_config << " runs, order " << s.order << ", seed "
      << s.seed << "\n";
  out << "  scale " << s.scale << ", threads " << s.threads << ", numerics " << s.numerics
      << ", device " << s.device << ", precision " << s.precision << ", timeout " << s.timeout_s
      << " s, idle baseline " << s.idle_baseline_s << " s, cooldown ";
  if (s.cooldown_s < 0) {
    out << "adaptive (within " << s.cooldown_tolerance * 100 << "% of idle, at most "
        << s.cooldown_max_s << " s)";
  } else {
    out << s.cooldown_s << " s";
  }
  out << "\n";
  if (s.profile) {
    int profiled = 0;
    for (const Configuration& c : e.configurations) profiled += c.argv.empty() ? 1 : 0;
    out << "  profile: " << profiled
        << " profiled run(s) after the measured ones, one per built-in configuration (never in "
           "the statistics)\n";
  }
  if (s.repetitions_auto) {
    out << "  repetitions auto: looks from " << s.min_repetitions << " to " << s.max_repetitions
        << " runs per configuration, alpha " << s.alpha << ", equivalence within ±"
        << s.equivalence_margin * 100 << "%\n";
  }
  if (!s.sources.empty() || s.cpu_watts_per_core >= 0 || s.cpu_idle_watts >= 0) {
    out << "  sources ";
    for (size_t i = 0; i < s.sources.size(); ++i) out << (i ? "," : "") << s.sources[i];
    if (s.sources.empty()) out << "all readable";
    if (s.cpu_watts_per_core >= 0) out << ", CPU estimate " << s.cpu_watts_per_core << " W/core";
    if (s.cpu_idle_watts >= 0) out << ", CPU estimate idle " << s.cpu_idle_watts << " W";
    out << "\n";
  }
  for (const auto& w : e.warnings) out << "  warning: " << w << "\n";
  return out.str();
}

}  // namespace greenbench
