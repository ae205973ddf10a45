#pragma once
// The marker protocol (contract): parsing one line, and splitting a byte stream into lines.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace greenbench::measure {

/// Longest marker line in bytes, newline included (one atomic pipe write, PIPE_BUF on Linux).
inline constexpr std::size_t kMaxMarkerLine = 4096;
/// Longest phase, metric or info name.
inline constexpr std::size_t kMaxMarkerName = 64;

/// Whether `name` matches [a-z0-9_.-]{1,64}.
bool is_valid_marker_name(std::string_view name);

/// What one marker line says.
struct MarkerLine {
  enum class Verb { kBegin, kEnd, kStep, kMetric, kInfo, kBlank, kInvalid };
  Verb verb = Verb::kInvalid;
  std::string name;   ///< phase, metric name or info key
  int64_t index = 0;  ///< step index (0 to 2^63-1)
  double value = 0;   ///< metric value
  std::string unit;   ///< metric unit, may be empty
  std::string text;   ///< info text
  std::string error;  ///< why the line is invalid
};

/// Parses one line (without its newline). Never throws: bad lines come back as kInvalid.
MarkerLine parse_marker_line(std::string_view line);

/// A line for a warning (greenbench::printable): control characters and bytes that are not UTF-8
/// escaped, cut to `max_chars` characters and "…".
std::string printable_excerpt(std::string_view line, std::size_t max_chars = 80);

/// `bytes` as valid UTF-8: each byte that does not start a well-formed character (bad lead byte,
/// truncated, overlong, surrogate, above U+10FFFF) becomes U+FFFD.
std::string valid_utf8(std::string_view bytes);

/// Splits a byte stream into lines; a line longer than kMaxMarkerLine is dropped and reported.
class LineSplitter {
 public:
  struct Line {
    std::string text;
    bool overlong = false;  ///< text is the start of a line that was too long
  };
  /// Appends bytes and returns the lines they complete.
  void feed(std::string_view bytes, std::vector<Line>* out);
  /// The unterminated rest, if any, as a final line (the writer exited without a newline).
  void flush(std::vector<Line>* out);

 private:
  std::string pending_;
  bool discarding_ = false;  // inside an overlong line: drop bytes until the next newline
};

}  // namespace greenbench::measure
