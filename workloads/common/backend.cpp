#include "common/backend.hpp"

#include "greenbench/error.hpp"

namespace greenbench::workloads {

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    n *= d;
  }
  return n;
}

const HostTensor& Batch::get(const std::string& name) const {
  for (const auto& [key, value] : inputs) {
    if (key == name) {
      return value;
    }
  }
  throw Error("batch has no input named '" + name + "'");
}

void Backend::start_profile() { throw Error(framework() + " worker: this backend cannot profile"); }

OpProfile Backend::stop_profile() { return {}; }

}  // namespace greenbench::workloads
