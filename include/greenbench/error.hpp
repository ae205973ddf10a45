#pragma once
/// The one exception type the library throws; the CLI turns it into a one-line message.
#include <stdexcept>
#include <string>

namespace greenbench {

/// An error whose message names what is wrong: the file, the field or line, and the value.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace greenbench
