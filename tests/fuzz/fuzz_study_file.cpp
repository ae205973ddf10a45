// Fuzzes the study-file parser and what follows it: parse_study, make_effective, to_json,
// describe and (for small studies) make_plan.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "greenbench/error.hpp"
#include "greenbench/study.hpp"

using namespace greenbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // "/" as the study's folder: relative program paths and cwd resolve against real folders.
    const StudySettings s = parse_study(text, "fuzz.toml", "/");
    FUZZ_CHECK(s.repetitions >= 1 && s.repetitions <= 10000);
    FUZZ_CHECK(s.warmup >= 0 && s.warmup <= 1000);
    FUZZ_CHECK(s.threads >= 0 && s.threads <= 4096);
    FUZZ_CHECK(s.timeout_s > 0 && s.timeout_s <= 7 * 24 * 3600);
    FUZZ_CHECK(s.idle_baseline_s >= 0 && s.idle_baseline_s <= 3600);
    FUZZ_CHECK(s.cooldown_s <= 3600 && s.cooldown_max_s >= 0 && s.cooldown_max_s <= 3600);
    FUZZ_CHECK(s.cooldown_tolerance > 0 && s.cooldown_tolerance <= 1);
    FUZZ_CHECK(!has_control_character(s.name) && s.name.size() <= 100);
    for (const auto& c : s.commands) {
      FUZZ_CHECK(!c.argv.empty() && !c.argv[0].empty());
      for (const auto& a : c.argv) FUZZ_CHECK(!has_control_character(a));
    }
    const EffectiveSettings e = make_effective(s);
    const std::string json = to_json(e).dump();  // stored with the results: valid UTF-8
    FUZZ_CHECK(is_valid_utf8(json) && !has_control_character(json));
    (void)describe(e);
    const std::size_t runs =
        e.configurations.size() * std::size_t(e.settings.repetitions + e.settings.warmup);
    FUZZ_CHECK(runs <= 1000000);
    if (runs <= 2000) FUZZ_CHECK(make_plan(e).size() == runs);
    for (const auto& c : e.configurations) {
      if (c.argv.empty()) continue;
      FUZZ_CHECK(!command_argv(e, c).empty());
      FUZZ_CHECK(!command_working_dir(e, c).empty());
    }
  } catch (const Error& error) {
    fuzz::check_message(error.what());
  }
  return 0;
}
