// Placeholder until the 'sources' command is implemented.
#include <cstdio>

#include "cli/commands.hpp"

namespace greenbench::cli {

int cmd_sources(const Args& /*args*/) {
  std::fputs("greenbench sources: not implemented yet\n", stderr);
  return 2;
}

}  // namespace greenbench::cli
