// Placeholder until the 'compare' command is implemented.
#include <cstdio>

#include "cli/commands.hpp"

namespace greenbench::cli {

int cmd_compare(const Args& /*args*/) {
  std::fputs("greenbench compare: not implemented yet\n", stderr);
  return 2;
}

}  // namespace greenbench::cli
