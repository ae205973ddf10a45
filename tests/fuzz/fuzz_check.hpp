#pragma once
// What every fuzz target checks besides "no crash, no sanitizer finding": the invariants of the
// parser's result, and that an error message is clean (valid UTF-8, no control character other
// than the newline between its lines, no line longer than kMaxMessageLine bytes).
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "greenbench/error.hpp"

#define FUZZ_CHECK(condition)                                                                  \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace greenbench::fuzz {

inline constexpr std::size_t kMaxMessageLine = 1024;

// `max_line`: the longest line allowed, kMaxMessageLine unless the text is not a message.
inline void check_clean(std::string_view text, bool newlines_allowed,
                        std::size_t max_line = kMaxMessageLine) {
  FUZZ_CHECK(is_valid_utf8(text));
  while (!text.empty()) {
    const std::size_t nl = newlines_allowed ? text.find('\n') : std::string_view::npos;
    const std::string_view line = text.substr(0, nl);
    if (has_control_character(line) || line.size() > max_line) {
      std::fprintf(stderr, "unclean message line: %s\n", printable(line, 2000).c_str());
      std::abort();
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

/// An error message: one or more clean lines.
inline void check_message(std::string_view message) {
  FUZZ_CHECK(!message.empty());
  check_clean(message, true);
}

}  // namespace greenbench::fuzz
