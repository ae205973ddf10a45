// Live status line: "  3.2 s · train · total 41.0 W (est.) · run 2/5 of command 1".
#include "cli/status_line.hpp"

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "greenbench/error.hpp"

namespace greenbench::cli {

std::string status_text(const LiveStatus& status, const std::string& context) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f s", status.elapsed_s);
  std::string text = buf;
  text += " · " + printable(status.phase, 40);
  for (std::size_t i = 0; i < status.keys.size() && i < status.power_w.size(); ++i) {
    const double w = status.power_w[i];
    if (std::isnan(w)) {
      std::snprintf(buf, sizeof buf, " · %s n/a", status.keys[i].c_str());
    } else {
      std::snprintf(buf, sizeof buf, " · %s %.1f W", status.keys[i].c_str(), w);
    }
    text += buf;
    if (i < status.estimated.size() && status.estimated[i]) text += " (est.)";
  }
  if (!context.empty()) text += " · " + context;
  return text;
}

StatusLine::StatusLine(bool enabled) : active_(enabled && isatty(STDERR_FILENO) != 0) {
  // While the command has the terminal we are a background group: with `stty tostop` a write
  // would stop us (SIGTTOU), so there is no status line then.
  struct termios t {};
  if (active_ && tcgetattr(STDERR_FILENO, &t) == 0 && (t.c_lflag & TOSTOP) != 0) active_ = false;
}

void StatusLine::set_context(const std::string& context) {
  std::lock_guard<std::mutex> lock(mutex_);
  context_ = context;
}

void StatusLine::show(const LiveStatus& status) {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  draw(status_text(status, context_));
}

void StatusLine::clear() {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!shown_) return;
  static const char kErase[] = "\r\033[K";
  [[maybe_unused]] const ssize_t n = write(STDERR_FILENO, kErase, sizeof kErase - 1);
  shown_ = false;
}

void StatusLine::draw(const std::string& text) {
  // Cut to the terminal's width (in characters): a line that wraps cannot be redrawn in place.
  std::size_t width = 80;
  struct winsize ws {};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
  std::string line = "\r\033[K";
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80 && ++chars >= width) break;  // leave the last column free
    line += text[i];
  }
  [[maybe_unused]] const ssize_t n = write(STDERR_FILENO, line.data(), line.size());
  shown_ = true;
}

}  // namespace greenbench::cli
