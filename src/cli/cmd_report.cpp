// Placeholder until the 'report' command is implemented.
#include <cstdio>

#include "cli/commands.hpp"

namespace greenbench::cli {

int cmd_report(const Args& /*args*/) {
  std::fputs("greenbench report: not implemented yet\n", stderr);
  return 2;
}

}  // namespace greenbench::cli
