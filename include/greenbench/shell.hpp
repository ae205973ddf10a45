#pragma once
/// Commands printed so that a POSIX shell reads them back as they were run.
#include <string>
#include <string_view>
#include <vector>

#include "greenbench/error.hpp"

namespace greenbench {

/// `word` as a POSIX shell reads it back, to print a command that can be pasted: as it is when
/// it holds only characters no shell treats specially, else in single quotes; a word with control
/// characters, reordering characters or bytes that are not UTF-8 in $'...' with escapes (bash,
/// zsh, ksh and POSIX.1-2024 sh read it), so that the printed line is one line of plain text.
inline std::string shell_quote(std::string_view word) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool plain = !word.empty() && word.find_first_not_of(
                                          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-./=:,+@%") == std::string_view::npos;
  if (plain) return std::string(word);
  // printable() escapes exactly what must not reach a terminal raw (and doubles a backslash,
  // which single quotes keep as it is).
  bool raw = true;
  for (std::string_view rest = word; !rest.empty() && raw;) {
    const std::size_t n = utf8_char_length(rest);
    raw = n != 0 && (rest[0] == '\\' || printable(rest.substr(0, n), 8) == rest.substr(0, n));
    rest.remove_prefix(n == 0 ? 1 : n);
  }
  if (raw) {
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }
  // $'...' reads printable()'s escapes back (\n, \t, \r, \\, \xHH, \uHHHH); a quote needs one.
  std::string out = "$'";
  while (!word.empty()) {
    const std::size_t n = utf8_char_length(word);
    if (n == 0) {
      const auto b = static_cast<unsigned char>(word[0]);
      out += {'\\', 'x', kHex[b >> 4], kHex[b & 15]};
    } else if (word[0] == '\'') {
      out += "\\'";
    } else {
      out += printable(word.substr(0, n), 8);
    }
    word.remove_prefix(n == 0 ? 1 : n);
  }
  return out + "'";
}

/// The words of a command line, each shell_quote()d, joined by single spaces.
inline std::string shell_join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += shell_quote(w);
  }
  return out;
}

}  // namespace greenbench
