// Placeholder until the 'measure' command is implemented.
#include <cstdio>

#include "cli/commands.hpp"

namespace greenbench::cli {

int cmd_measure(const Args& /*args*/) {
  std::fputs("greenbench measure: not implemented yet\n", stderr);
  return 2;
}

}  // namespace greenbench::cli
