#pragma once
/// Marker client: lets a measured program announce phases, steps, metrics and facts to greenbench.
///
/// Header-only, standard library and POSIX only. Without GREENBENCH_MARKER_FD in the environment
/// (the program is not being measured) every call does nothing. Each line goes out in a single
/// write() of less than PIPE_BUF bytes, so lines from several threads never interleave.
///
///   greenbench::markers::Phase train("train");   // begin train ... end train at scope exit
///   greenbench::markers::metric("accuracy_top1", 0.734);
///   greenbench::markers::step(t);                 // after each training step or batch
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace greenbench::markers {

/// Longest line the protocol allows, newline included.
inline constexpr std::size_t kMaxLineBytes = 4096;

/// Whether `name` is a valid phase, metric or info name: [a-z0-9_.-]{1,64}.
inline bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

namespace detail {

/// The marker descriptor, read from the environment once; -1 when not measured.
inline int& fd() {
  static int value = [] {
    const char* text = std::getenv("GREENBENCH_MARKER_FD");
    if (text == nullptr || *text == '\0') {
      return -1;
    }
    char* end = nullptr;
    const long n = std::strtol(text, &end, 10);
    return (*end == '\0' && n >= 0 && n < 1 << 20) ? static_cast<int>(n) : -1;
  }();
  return value;
}

inline void check_name(std::string_view what, std::string_view name) {
  if (!valid_name(name)) {
    throw std::invalid_argument("greenbench marker: bad " + std::string(what) + " '" +
                                std::string(name) + "' (want [a-z0-9_.-]{1,64})");
  }
}

/// Writes `size` bytes (a complete line, newline included) in one write() to descriptor `f`; a
/// failing descriptor switches markers off rather than disturbing the program being measured.
inline void write_bytes(int& f, const char* data, std::size_t size) {
  for (;;) {
    const ssize_t n = ::write(f, data, size);
    if (n >= 0) {
      return;
    }
    if (errno != EINTR) {
      f = -1;
      return;
    }
  }
}

/// Writes one complete line in one write().
inline void write_line(std::string line) {
  int& f = fd();
  if (f < 0) {
    return;
  }
  line.push_back('\n');
  write_bytes(f, line.data(), line.size());
}

}  // namespace detail

/// True when the program runs under greenbench (markers are recorded).
inline bool enabled() { return detail::fd() >= 0; }

/// Starts phase `name`; phases nest and must end in reverse order.
inline void begin(std::string_view name) {
  detail::check_name("phase name", name);
  detail::write_line("begin " + std::string(name));
}

/// Ends phase `name`, which must be the innermost open phase.
inline void end(std::string_view name) {
  detail::check_name("phase name", name);
  detail::write_line("end " + std::string(name));
}

/// Reports a result, e.g. metric("accuracy_top1", 0.734) or metric("samples", 51200, "samples").
/// NaN and infinity are written as they are (nan, inf): a diverged run is reported, not hidden.
inline void metric(std::string_view name, double value, std::string_view unit = {}) {
  detail::check_name("metric name", name);
  if (unit.size() > 64 || unit.find_first_of(" \t\r\n") != std::string_view::npos) {
    throw std::invalid_argument("greenbench marker: bad unit '" + std::string(unit) +
                                "' (one word of at most 64 bytes)");
  }
  char number[32];
  // Shortest text that reads back as the same double: 0.734, not 0.73399999999999999.
  const auto done = std::to_chars(number, number + sizeof number, value);
  std::string line = "metric " + std::string(name) + " " + std::string(number, done.ptr);
  if (!unit.empty()) {
    line += " " + std::string(unit);
  }
  detail::write_line(std::move(line));
}

/// Marks the end of step `index` (a training step or an inference batch) of the innermost open
/// phase: greenbench reads the energy counters when the line arrives, so each step gets the
/// energy since the previous step line of that phase (or since the phase began). Call it after
/// the step's device work has been synchronised. Costs one write() and no allocation; nothing at
/// all when not measured. Throws std::invalid_argument for a negative index.
inline void step(std::int64_t index) {
  if (index < 0) {
    throw std::invalid_argument("greenbench marker: bad step index " + std::to_string(index) +
                                " (want a non-negative integer)");
  }
  int& f = detail::fd();
  if (f < 0) {
    return;
  }
  char line[32] = {'s', 't', 'e', 'p', ' '};
  char* end = std::to_chars(line + 5, line + sizeof line - 1, index).ptr;
  *end++ = '\n';
  detail::write_bytes(f, line, static_cast<std::size_t>(end - line));
}

/// Records a fact such as the framework version; newlines become spaces, and text too long for
/// one line is cut (at a UTF-8 character boundary).
inline void info(std::string_view key, std::string_view text) {
  detail::check_name("info key", key);
  std::string line = "info " + std::string(key) + " ";
  const std::size_t room = kMaxLineBytes - 1 - line.size();
  std::size_t n = std::min(text.size(), room);
  if (n < text.size()) {
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) {
      --n;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    line.push_back(text[i] == '\n' || text[i] == '\r' ? ' ' : text[i]);
  }
  detail::write_line(std::move(line));
}

/// Marks a scope as a phase: begin in the constructor, end in the destructor.
class Phase {
 public:
  explicit Phase(std::string_view name) : name_(name) { markers::begin(name_); }
  ~Phase() { detail::write_line("end " + name_); }
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  std::string name_;
};

}  // namespace greenbench::markers
