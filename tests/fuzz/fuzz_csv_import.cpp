// Fuzzes the long-format CSV import (parse_long_csv, what `greenbench import` reads).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "greenbench/error.hpp"
#include "greenbench/store.hpp"

using namespace greenbench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const Observation& o : parse_long_csv(text, "fuzz.csv")) {
      FUZZ_CHECK(std::isfinite(o.value));
      FUZZ_CHECK(o.run >= 1);
      FUZZ_CHECK(!o.model.empty() && !o.framework.empty() && !o.phase.empty());
      if (o.metric.rfind("energy_", 0) == 0) FUZZ_CHECK(o.unit == "J");
      if (o.metric == "duration") FUZZ_CHECK(o.unit == "s");
      if (o.unit == "J" || o.unit == "s") {
        FUZZ_CHECK(o.value >= 0 && !std::signbit(o.value));
      }
      FUZZ_CHECK(o.quality == "measured" || o.quality == "estimated");
    }
  } catch (const Error& error) {
    fuzz::check_message(error.what());
  }
  return 0;
}
