#pragma once
// The live status line of `greenbench measure` on a terminal: one line on stderr, redrawn in
// place, cleared at the end. Nothing is written when stderr is not a terminal.
#include <mutex>
#include <string>

#include "greenbench/measure.hpp"

namespace greenbench::cli {

/// One redrawn line on stderr; inert unless enabled and stderr is a terminal.
class StatusLine {
 public:
  /// Draws only when `enabled` and isatty(stderr).
  explicit StatusLine(bool enabled);
  ~StatusLine() { clear(); }
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  /// Whether this line draws at all.
  [[nodiscard]] bool active() const { return active_; }
  /// Text shown after the measurement, e.g. "run 2/5 of command 1".
  void set_context(const std::string& context);
  /// Redraws the line from a status (called from the measuring thread).
  void show(const LiveStatus& status);
  /// Erases the line, if one is shown.
  void clear();

 private:
  void draw(const std::string& text);
  bool active_ = false;
  bool shown_ = false;
  std::string context_;
  std::mutex mutex_;
};

/// The line's text for a status and context, not yet cut to the terminal's width.
std::string status_text(const LiveStatus& status, const std::string& context);

}  // namespace greenbench::cli
