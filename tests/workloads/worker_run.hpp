#pragma once
// Running a built worker from a test: its exit code, output and "name value [unit]" metrics.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace greenbench::workloads::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::map<std::string, double> metrics;  ///< "name value [unit]" lines of stdout
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs `worker` from `bin` with `args` (and `env`, "NAME=value ...", prepended), its standard
/// output and error kept in `dir`, standard input empty.
inline RunResult run_worker(const std::filesystem::path& bin, const std::filesystem::path& dir,
                            const char* worker, const std::vector<std::string>& args,
                            const std::string& env = "") {
  const std::filesystem::path out = dir / "stdout", err = dir / "stderr";
  std::string cmd = env.empty() ? "" : "env " + env + " ";
  cmd += quote((bin / worker).string());
  for (const std::string& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(out.string()) + " 2>" + quote(err.string()) + " </dev/null";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name;
    double value = 0.0;
    if (fields >> name >> value) r.metrics[name] = value;
  }
  return r;
}

}  // namespace greenbench::workloads::test
