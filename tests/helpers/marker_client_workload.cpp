// A measured program that uses the header-only C++ marker client; the measure tests check that
// what it announces arrives as phases, metrics and info.
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "greenbench/markers.hpp"

namespace gm = greenbench::markers;

int main() {
  if (!gm::enabled()) {
    std::fputs("marker_client_workload: not measured (no GREENBENCH_MARKER_FD)\n", stderr);
  }
  // Invalid names are programming errors and must be refused before anything is written.
  int refused = 0;
  try {
    gm::begin("Bad Name");
  } catch (const std::invalid_argument&) {
    ++refused;
  }
  try {
    gm::step(-1);
  } catch (const std::invalid_argument&) {
    ++refused;
  }
  if (refused != 2) return 10;

  gm::info("client", "c++ header\nsecond line");
  gm::begin("setup");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  gm::end("setup");
  {
    gm::Phase train("train");
    {
      gm::Phase epoch("epoch-1");
      for (int t = 0; t < 3; ++t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        gm::step(t);
      }
      gm::metric("loss", 0.25);
    }
    gm::metric("samples", 51200, "samples");
  }
  gm::metric("accuracy_top1", 0.734);
  return 0;
}
