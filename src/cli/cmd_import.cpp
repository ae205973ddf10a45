// Placeholder until the 'import' command is implemented.
#include <cstdio>

#include "cli/commands.hpp"

namespace greenbench::cli {

int cmd_import(const Args& /*args*/) {
  std::fputs("greenbench import: not implemented yet\n", stderr);
  return 2;
}

}  // namespace greenbench::cli
