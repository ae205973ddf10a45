// Placeholder until the 'run' command is implemented.
#include <cstdio>

#include "cli/commands.hpp"

namespace greenbench::cli {

int cmd_run(const Args& /*args*/) {
  std::fputs("greenbench run: not implemented yet\n", stderr);
  return 2;
}

}  // namespace greenbench::cli
