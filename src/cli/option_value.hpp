#pragma once
// One command-line option written as "--name=value" or "--name value".
#include <cstddef>
#include <string>

#include "cli/commands.hpp"
#include "greenbench/error.hpp"

namespace greenbench::cli {

/// The option at args[i]: its name (the text before a '=' of a "--" argument, else the whole
/// argument) and its value, read on demand: the text after '=', or the next argument (which
/// advances i); a missing value throws "<name>: missing value".
class OptionValue {
 public:
  OptionValue(const Args& args, std::size_t& i) : args_(args), i_(i), name_(args[i]) {
    const std::string& arg = args[i];
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name_ = arg.substr(0, eq);
      value_ = arg.substr(eq + 1);
      inline_ = true;
    }
  }
  [[nodiscard]] const std::string& name() const { return name_; }
  const std::string& value() {
    if (!inline_ && !taken_) {
      if (i_ + 1 >= args_.size()) throw Error(name_ + ": missing value");
      value_ = args_[++i_];
      taken_ = true;
    }
    return value_;
  }

 private:
  const Args& args_;
  std::size_t& i_;
  std::string name_;
  std::string value_;
  bool inline_ = false;
  bool taken_ = false;
};

}  // namespace greenbench::cli
