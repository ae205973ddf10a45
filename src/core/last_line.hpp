#pragma once
// The last non-empty line of a file: what a failed command said last on its standard error.
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace greenbench {

/// The last non-empty line of `path` (trailing spaces and CRs removed), cut to 300 characters;
/// "" when the file cannot be read. Only the last 8 KiB are read: a command may write megabytes.
inline std::string last_line_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(size > 8192 ? size - 8192 : 0);
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string last;
  std::istringstream lines(tail);
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last = line;
  }
  if (last.size() > 300) last = last.substr(0, 300) + "...";
  return last;
}

}  // namespace greenbench
