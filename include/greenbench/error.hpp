#pragma once
/// The one exception type the library throws; the CLI turns it into a one-line message.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace greenbench {

/// An error whose message names what is wrong: the file, the field or line, and the value.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Length in bytes of the well-formed UTF-8 character at the start of `s`, or 0 where there is
/// none (bad lead byte, truncated, overlong, surrogate, above U+10FFFF).
inline std::size_t utf8_char_length(std::string_view s) {
  if (s.empty()) return 0;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

/// Whether `s` is well-formed UTF-8.
inline bool is_valid_utf8(std::string_view s) {
  while (!s.empty()) {
    const std::size_t n = utf8_char_length(s);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

/// Whether `s` holds a control character (C0, DEL or C1), which no name, path or label needs.
inline bool has_control_character(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    // C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8.
    if (c == 0xC2 && i + 1 < s.size()) {
      const auto next = static_cast<unsigned char>(s[i + 1]);
      if (next >= 0x80 && next <= 0x9F) return true;
    }
  }
  return false;
}

/// A user-provided value made safe to quote in a one-line message: control characters, the
/// characters that reorder text (bidi controls, line separators) and bytes that are not UTF-8 are
/// escaped (\n, \t, \x1b, \u202e), a backslash is doubled, and the result is cut to `max_chars`
/// characters followed by "…". The result is always valid UTF-8 without control characters.
inline std::string printable(std::string_view value, std::size_t max_chars = 60) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t shown = 0;  // characters in `out`
  while (!value.empty()) {
    const std::size_t n = utf8_char_length(value);
    std::string piece;
    if (n == 0) {  // not UTF-8: the byte's value
      const auto b = static_cast<unsigned char>(value[0]);
      piece = {'\\', 'x', kHex[b >> 4], kHex[b & 15]};
    } else if (n == 1) {
      const char c = value[0];
      const auto b = static_cast<unsigned char>(c);
      if (c == '\n') {
        piece = "\\n";
      } else if (c == '\t') {
        piece = "\\t";
      } else if (c == '\r') {
        piece = "\\r";
      } else if (c == '\\') {
        piece = "\\\\";
      } else if (b < 0x20 || b == 0x7f) {
        piece = {'\\', 'x', kHex[b >> 4], kHex[b & 15]};
      } else {
        piece = std::string(1, c);
      }
    } else {
      // Decode to test for the code points that control or reorder a terminal line.
      const auto b = [&](std::size_t i) { return static_cast<unsigned char>(value[i]) & 0x3Fu; };
      unsigned cp = 0;
      if (n == 2) cp = ((static_cast<unsigned char>(value[0]) & 0x1Fu) << 6) | b(1);
      if (n == 3) cp = ((static_cast<unsigned char>(value[0]) & 0x0Fu) << 12) | (b(1) << 6) | b(2);
      if (n == 4) {
        cp = ((static_cast<unsigned char>(value[0]) & 0x07u) << 18) | (b(1) << 12) | (b(2) << 6) |
             b(3);
      }
      const bool control = (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E ||
                           cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
                           (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
      if (control) {
        piece = {
            '\\',         'u', kHex[(cp >> 12) & 15], kHex[(cp >> 8) & 15], kHex[(cp >> 4) & 15],
            kHex[cp & 15]};
      } else {
        piece = std::string(value.substr(0, n));
      }
    }
    const std::size_t piece_chars = n > 1 && piece.size() == n ? 1 : piece.size();
    if (shown + piece_chars > max_chars) {
      out += "\xE2\x80\xA6";  // …
      return out;
    }
    out += piece;
    shown += piece_chars;
    value.remove_prefix(n == 0 ? 1 : n);
  }
  return out;
}

}  // namespace greenbench
