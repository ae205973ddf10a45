// Labels end up in log and checkpoint file names (logs/0001-<framework>-<model>-<phase>-r1.err),
// in Slurm shard paths, in SQL (always bound, never spliced) and on command lines. So: no '/',
// no ':' (not portable in file names, and the separator of energy domain ids such as
// cpu_package:0), no spaces or quotes, and no leading '-' or '.' (an option, a hidden file, "..").
// Case is kept: "PyTorch" and "pytorch" are different labels.
#include "greenbench/label.hpp"

#include "greenbench/error.hpp"

namespace greenbench {

namespace {

constexpr std::size_t kMaxLabelLength = 64;

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string label_problem(const std::string& label) {
  bool ok = !label.empty() && label.size() <= kMaxLabelLength && alnum(label.front());
  for (std::size_t i = 0; ok && i < label.size(); ++i) {
    const char c = label[i];
    ok = alnum(c) || c == '_' || c == '.' || c == '-';
  }
  if (ok) return "";
  return "\"" + printable(label) + "\" is not a label (" + kLabelRule + ")";
}

}  // namespace greenbench
