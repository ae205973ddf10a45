// Fuzzes the marker protocol: the byte stream split into lines (LineSplitter), each line parsed
// (parse_marker_line); every finite double and every step index, written as the clients write
// them, read back.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "measure/marker_parser.hpp"

using namespace greenbench;
using namespace greenbench::measure;

namespace {

// Whether the metric's value (the third word) is written as nan or inf, in any case and sign.
bool spelled_non_finite(std::string_view line) {
  // The parser trims carriage returns with the spaces and tabs around the line ("\r\tmetric").
  std::size_t at = line.find_first_not_of(" \t\r");
  for (int word = 0; word < 2; ++word) {
    at = line.find_first_not_of(" \t", at);
    at = line.find_first_of(" \t", at);
    if (at == std::string_view::npos) return false;
  }
  // The parser reads the value with strtod, which skips every C-locale space first ("\rnan").
  at = line.find_first_not_of(" \t\n\v\f\r", at);
  if (at == std::string_view::npos) return false;
  if (line[at] == '+' || line[at] == '-') ++at;
  std::string head(line.substr(at, 3));
  for (char& c : head) c = static_cast<char>(c | 0x20);
  return head == "nan" || head == "inf";
}

void check_line(const LineSplitter::Line& line) {
  if (line.overlong) {
    FUZZ_CHECK(line.text.size() == kMaxMarkerLine);
    return;
  }
  FUZZ_CHECK(line.text.size() < kMaxMarkerLine);
  FUZZ_CHECK(line.text.find('\n') == std::string::npos);
  const MarkerLine m = parse_marker_line(line.text);
  switch (m.verb) {
    case MarkerLine::Verb::kBegin:
    case MarkerLine::Verb::kEnd:
      FUZZ_CHECK(is_valid_marker_name(m.name));
      break;
    case MarkerLine::Verb::kStep: {
      // Only plain decimal digits pass, and they mean what they say: written back, the index
      // reads the same (leading zeros aside).
      FUZZ_CHECK(m.index >= 0);
      char digits[32];
      const auto end = std::to_chars(digits, digits + sizeof digits, m.index).ptr;
      FUZZ_CHECK(line.text.find(std::string_view(digits, end - digits)) != std::string::npos);
      break;
    }
    case MarkerLine::Verb::kMetric:
      FUZZ_CHECK(is_valid_marker_name(m.name));
      // NaN and infinity pass only as written (a diverged run reports them), never by overflow.
      if (!std::isfinite(m.value)) FUZZ_CHECK(spelled_non_finite(line.text));
      fuzz::check_clean(m.unit, false);
      break;
    case MarkerLine::Verb::kInfo:
      FUZZ_CHECK(is_valid_marker_name(m.name));
      // Not a message but a value for the record: as long as the line allows, each byte made at
      // most three (a control character or a stray byte becomes U+FFFD).
      fuzz::check_clean(m.text, false, 3 * (kMaxMarkerLine - 1));
      break;
    case MarkerLine::Verb::kInvalid:
      FUZZ_CHECK(!m.error.empty());
      fuzz::check_clean(m.error, false);
      break;
    case MarkerLine::Verb::kBlank:
      break;
  }
  fuzz::check_clean(printable_excerpt(line.text), false);
}

// The Python client writes repr(float(value)), the shortest round-trip form; C++ clients write
// %.17g. Both must come back bit for bit.
void check_round_trip(double v) {
  if (!std::isfinite(v)) return;
  char shortest[64];
  const auto end = std::to_chars(shortest, shortest + sizeof shortest, v).ptr;
  char g17[64];
  std::snprintf(g17, sizeof g17, "%.17g", v);
  for (const std::string& text : {std::string(shortest, end), std::string(g17)}) {
    const MarkerLine m = parse_marker_line("metric x " + text);
    FUZZ_CHECK(m.verb == MarkerLine::Verb::kMetric);
    FUZZ_CHECK(std::bit_cast<std::uint64_t>(m.value) == std::bit_cast<std::uint64_t>(v));
  }
}

// The C++ client writes "step " and the index with std::to_chars, the Python one with %d.
void check_step_round_trip(std::uint64_t bits) {
  const auto index = static_cast<std::int64_t>(bits >> 1);  // every value in [0, 2^63-1]
  char line[40] = "step ";
  const auto end = std::to_chars(line + 5, line + sizeof line, index).ptr;
  const MarkerLine m = parse_marker_line(std::string_view(line, end - line));
  FUZZ_CHECK(m.verb == MarkerLine::Verb::kStep);
  FUZZ_CHECK(m.index == index);
  // One more than the largest index, or a sign, is refused with a reason.
  const MarkerLine over = parse_marker_line("step 9223372036854775808");
  FUZZ_CHECK(over.verb == MarkerLine::Verb::kInvalid && !over.error.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The pipe hands over arbitrary chunks: split the input at a point it chooses itself.
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  LineSplitter splitter;
  std::vector<LineSplitter::Line> lines;
  splitter.feed(bytes.substr(0, cut), &lines);
  splitter.feed(bytes.substr(cut), &lines);
  splitter.flush(&lines);
  for (const auto& line : lines) check_line(line);
  for (std::size_t i = 0; i + 8 <= size && i < 64; i += 8) {
    double v = 0;
    std::memcpy(&v, data + i, sizeof v);
    check_round_trip(v);
    std::uint64_t bits = 0;
    std::memcpy(&bits, data + i, sizeof bits);
    check_step_round_trip(bits);
  }
  return 0;
}
