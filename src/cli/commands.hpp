#pragma once
// One function per subcommand; each gets the arguments after the subcommand name.
#include <string>
#include <vector>

namespace greenbench::cli {

using Args = std::vector<std::string>;

int cmd_sources(const Args& args);
int cmd_measure(const Args& args);
int cmd_run(const Args& args);
int cmd_compare(const Args& args);
int cmd_report(const Args& args);
int cmd_import(const Args& args);
int cmd_export(const Args& args);

}  // namespace greenbench::cli
