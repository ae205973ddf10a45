// A workload that advances a fake powercap energy counter and writes markers, so a test knows
// exactly how many joules each phase must get. Usage:
//   fake_rapl_workload COUNTER_FILE[,COUNTER_FILE...] STEP...
// Steps: add:J[,J...] (advance the counters by so many joules), set:UJ[,UJ...] (set the raw
// counters, e.g. to a value past a wrap), begin:NAME, end:NAME, step:INDEX, sleep:MS,
// metric:NAME:VALUE, raw:TEXT (a marker line as is), exit:CODE. The counter file holds a 13-digit
// number of microjoules and is rewritten in place with one pwrite of the same length, so a
// concurrent reader never sees a partial value; the counter is advanced before the marker that
// follows it is written.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "greenbench/markers.hpp"

namespace gm = greenbench::markers;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: fake_rapl_workload COUNTER_FILE STEP...\n", stderr);
    return 2;
  }
  struct Counter {
    int fd;
    uint64_t uj;
  };
  std::vector<Counter> counters;
  const std::string files = argv[1];
  for (std::size_t pos = 0; pos <= files.size();) {
    const std::size_t comma = std::min(files.find(',', pos), files.size());
    const std::string path = files.substr(pos, comma - pos);
    const int fd = open(path.c_str(), O_RDWR);
    char buf[64] = {};
    if (fd < 0 || pread(fd, buf, sizeof buf - 1, 0) <= 0) {
      std::perror(path.c_str());
      return 2;
    }
    counters.push_back({fd, std::strtoull(buf, nullptr, 10)});
    pos = comma + 1;
  }
  for (int i = 2; i < argc; ++i) {
    const std::string step = argv[i];
    const auto colon = step.find(':');
    const std::string verb = step.substr(0, colon);
    const std::string arg = colon == std::string::npos ? "" : step.substr(colon + 1);
    if (verb == "add") {
      const char* p = arg.c_str();
      for (auto& c : counters) {
        char* end = nullptr;
        c.uj += static_cast<uint64_t>(std::llround(std::strtod(p, &end) * 1e6));
        char buf[64];
        const int len = std::snprintf(buf, sizeof buf, "%013" PRIu64 "\n", c.uj);
        if (pwrite(c.fd, buf, static_cast<size_t>(len), 0) != len) return 3;
        if (*end != ',') break;
        p = end + 1;
      }
    } else if (verb == "set") {
      const char* p = arg.c_str();
      for (auto& c : counters) {
        char* end = nullptr;
        c.uj = std::strtoull(p, &end, 10);
        char buf[64];
        const int len = std::snprintf(buf, sizeof buf, "%013" PRIu64 "\n", c.uj);
        if (pwrite(c.fd, buf, static_cast<size_t>(len), 0) != len) return 3;
        if (*end != ',') break;
        p = end + 1;
      }
    } else if (verb == "begin") {
      gm::begin(arg);
    } else if (verb == "end") {
      gm::end(arg);
    } else if (verb == "step") {
      gm::step(std::strtoll(arg.c_str(), nullptr, 10));
    } else if (verb == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(arg.c_str())));
    } else if (verb == "metric") {
      const auto c2 = arg.find(':');
      gm::metric(arg.substr(0, c2), std::strtod(arg.substr(c2 + 1).c_str(), nullptr));
    } else if (verb == "raw") {
      const char* fd_text = std::getenv("GREENBENCH_MARKER_FD");
      if (fd_text != nullptr) {
        const std::string line = arg + "\n";
        if (write(std::atoi(fd_text), line.data(), line.size()) < 0) return 4;
      }
    } else if (verb == "exit") {
      return std::atoi(arg.c_str());
    } else {
      std::fprintf(stderr, "fake_rapl_workload: unknown step '%s'\n", step.c_str());
      return 2;
    }
  }
  for (auto& c : counters) close(c.fd);
  return 0;
}
