// Marker protocol parsing. Everything here is lenient in what it reports and strict in what it
// accepts: a bad line never stops a measurement, it only becomes a warning.
#include "measure/marker_parser.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "greenbench/error.hpp"

namespace greenbench::measure {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

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

// Info text and units end up in records, reports and on the terminal: valid UTF-8 without
// control characters (a tab becomes a space, any other control character U+FFFD).
std::string displayable(std::string_view s) {
  const std::string text = valid_utf8(s);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      out += kReplacement;
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += kReplacement;  // C1 control U+0080..U+009F
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string quoted(std::string_view s) { return "'" + printable(s) + "'"; }

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
  if (verb == "step") {
    const std::string_view index = next_token(&rest);
    if (index.empty()) return invalid("step without an index");
    // Plain decimal digits only: no sign, no "0x", no exponent, so every writer means the same.
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), n);
    const bool digits = index.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits || end != index.data() + index.size() || ec != std::errc()) {
      std::string why = "bad step index " + quoted(index);
      why += digits ? " (larger than 2^63-1)" : " (want a non-negative integer)";
      return invalid(std::move(why));
    }
    if (!trim(rest).empty()) return invalid("unexpected text after the step index");
    m.verb = MarkerLine::Verb::kStep;
    m.index = n;
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
    errno = 0;  // strtod leaves it as it was on success: an earlier ERANGE would refuse "inf"
    const double v = std::strtod(value_text.c_str(), &end);
    // nan and inf pass: a diverged run's value is kept, and the run is flagged invalid. ERANGE
    // alone is no reason to refuse: strtod sets it for subnormal results such as 1e-320, which
    // Python's repr() writes; only a finite number that overflows to infinity is out of range.
    if (end != value_text.c_str() + value_text.size() || (errno == ERANGE && std::isinf(v))) {
      return invalid("bad metric value " + quoted(value) + " (want a number)");
    }
    if (unit.size() > kMaxMarkerName) return invalid("metric unit longer than 64 bytes");
    if (!trim(rest).empty()) return invalid("unexpected text after the metric unit");
    m.verb = MarkerLine::Verb::kMetric;
    m.name = std::string(name);
    m.value = v;
    m.unit = displayable(unit);
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
    m.text = displayable(trim(rest));
    return m;
  }
  return invalid("unknown verb " + quoted(verb) + " (want begin, end, step, metric or info)");
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

std::string printable_excerpt(std::string_view line, std::size_t max_chars) {
  return printable(line, max_chars);
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
