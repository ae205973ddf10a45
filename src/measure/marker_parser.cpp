// Marker protocol parsing. Everything here is lenient in what it reports and strict in what it
// accepts: a bad line never stops a measurement, it only becomes a warning.
#include "measure/marker_parser.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace greenbench::measure {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Length of the well-formed UTF-8 character at the start of `s`, or 0 if there is none there
// (the ranges of the Unicode standard's table of well-formed byte sequences).
std::size_t utf8_char_length(std::string_view s) {
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
  if (s.size() < n) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

// Splits off the next whitespace-separated token; `rest` keeps what follows it.
std::string_view next_token(std::string_view* rest) {
  std::size_t i = 0;
  while (i < rest->size() && is_space((*rest)[i])) ++i;
  std::size_t j = i;
  while (j < rest->size() && !is_space((*rest)[j])) ++j;
  std::string_view token = rest->substr(i, j - i);
  rest->remove_prefix(j);
  return token;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

MarkerLine invalid(std::string error) {
  MarkerLine m;
  m.verb = MarkerLine::Verb::kInvalid;
  m.error = std::move(error);
  return m;
}

std::string quoted(std::string_view s) { return "'" + printable_excerpt(s, 72) + "'"; }

}  // namespace

bool is_valid_marker_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxMarkerName) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

MarkerLine parse_marker_line(std::string_view line) {
  if (line.size() >= kMaxMarkerLine) {
    return invalid("line longer than " + std::to_string(kMaxMarkerLine - 1) + " bytes");
  }
  std::string_view rest = trim(line);
  if (rest.empty()) {
    MarkerLine m;
    m.verb = MarkerLine::Verb::kBlank;
    return m;
  }
  const std::string_view verb = next_token(&rest);
  MarkerLine m;
  if (verb == "begin" || verb == "end") {
    const std::string_view name = next_token(&rest);
    if (name.empty()) return invalid(std::string(verb) + " without a phase name");
    if (!is_valid_marker_name(name)) {
      return invalid("bad phase name " + quoted(name) + " (want [a-z0-9_.-]{1,64})");
    }
    if (!trim(rest).empty()) return invalid("unexpected text after the phase name");
    m.verb = verb == "begin" ? MarkerLine::Verb::kBegin : MarkerLine::Verb::kEnd;
    m.name = std::string(name);
    return m;
  }
  if (verb == "metric") {
    const std::string_view name = next_token(&rest);
    const std::string_view value = next_token(&rest);
    const std::string_view unit = next_token(&rest);
    if (name.empty() || value.empty()) return invalid("metric needs a name and a value");
    if (!is_valid_marker_name(name)) {
      return invalid("bad metric name " + quoted(name) + " (want [a-z0-9_.-]{1,64})");
    }
    const std::string value_text(value);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(value_text.c_str(), &end);
    // nan and inf pass: a diverged run's value is kept, and the run is flagged invalid.
    if (end != value_text.c_str() + value_text.size() || errno == ERANGE) {
      return invalid("bad metric value " + quoted(value) + " (want a number)");
    }
    if (unit.size() > kMaxMarkerName) return invalid("metric unit longer than 64 bytes");
    if (!trim(rest).empty()) return invalid("unexpected text after the metric unit");
    m.verb = MarkerLine::Verb::kMetric;
    m.name = std::string(name);
    m.value = v;
    m.unit = valid_utf8(unit);
    return m;
  }
  if (verb == "info") {
    const std::string_view key = next_token(&rest);
    if (key.empty()) return invalid("info without a key");
    if (!is_valid_marker_name(key)) {
      return invalid("bad info key " + quoted(key) + " (want [a-z0-9_.-]{1,64})");
    }
    m.verb = MarkerLine::Verb::kInfo;
    m.name = std::string(key);
    m.text = valid_utf8(trim(rest));
    return m;
  }
  return invalid("unknown verb " + quoted(verb) + " (want begin, end, metric or info)");
}

std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    const std::size_t n = utf8_char_length(bytes);
    if (n == 0) {
      out += kReplacement;
      bytes.remove_prefix(1);
    } else {
      out += bytes.substr(0, n);
      bytes.remove_prefix(n);
    }
  }
  return out;
}

std::string printable_excerpt(std::string_view line, std::size_t max_bytes) {
  // The excerpt goes into warnings and JSON: keep whole characters, so it stays valid UTF-8
  // however the line is cut. At most max_bytes of the line are shown.
  std::string out;
  std::size_t used = 0;
  bool cut = false;
  while (!line.empty()) {
    const std::size_t n = utf8_char_length(line);
    const std::size_t take = n == 0 ? 1 : n;
    if (used + take > max_bytes) {
      cut = true;
      break;
    }
    const auto u = static_cast<unsigned char>(line[0]);
    if (n == 0) {
      out += kReplacement;
    } else if (u < 0x20 || u == 0x7f) {
      out.push_back('?');
    } else {
      out += line.substr(0, n);
    }
    used += take;
    line.remove_prefix(take);
  }
  if (cut) out += "...";
  return out;
}

void LineSplitter::feed(std::string_view bytes, std::vector<Line>* out) {
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (discarding_) {
      if (nl == std::string_view::npos) return;
      discarding_ = false;
    } else {
      // Keep at most one byte more than allowed: enough to know the line is too long.
      const std::size_t room = kMaxMarkerLine - pending_.size();
      pending_.append(piece.substr(0, std::min(piece.size(), room)));
      if (pending_.size() >= kMaxMarkerLine) {
        out->push_back({std::move(pending_), true});
        pending_.clear();
        discarding_ = nl == std::string_view::npos;
      } else if (nl != std::string_view::npos) {
        out->push_back({std::move(pending_), false});
        pending_.clear();
      }
    }
    if (nl == std::string_view::npos) return;
    bytes.remove_prefix(nl + 1);
  }
}

void LineSplitter::flush(std::vector<Line>* out) {
  if (!pending_.empty()) out->push_back({std::move(pending_), false});
  pending_.clear();
  discarding_ = false;
}

}  // namespace greenbench::measure
