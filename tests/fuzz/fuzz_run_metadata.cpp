// Fuzzes the TensorFlow worker's RunMetadata reader (workloads/tensorflow/run_metadata.hpp) and
// the step-stats profile built from what it decodes (step_profile.hpp).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "greenbench/error.hpp"
#include "run_metadata.hpp"
#include "step_profile.hpp"

using namespace greenbench;
using namespace greenbench::workloads;
using namespace greenbench::workloads::tf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const StepStats stats = parse_run_metadata(bytes);
    std::size_t nodes = 0;
    for (const DeviceStepStats& d : stats.dev_stats) {
      FUZZ_CHECK(d.device.size() <= size);
      for (const NodeExecStats& n : d.node_stats) {
        FUZZ_CHECK(n.node_name.size() + n.timeline_label.size() <= size);
        ++nodes;
      }
    }
    FUZZ_CHECK(nodes <= size);  // every node takes at least one byte of its device's message
    StepProfile profile([](const std::string& node) { return node.size() % 2 ? "Odd" : ""; });
    profile.start_at(1'800'000'000'000'000'000);  // a wall-clock time in 2027
    profile.add(stats);
    const OpProfile out = profile.finish();
    std::int64_t calls = 0;
    for (const OpTime& op : out.ops) {
      FUZZ_CHECK(op.calls > 0);
      FUZZ_CHECK(op.pass == "forward" || op.pass == "backward" || op.pass == "optimizer");
      FUZZ_CHECK(op.self_s >= 0);
      calls += op.calls;
    }
    FUZZ_CHECK(static_cast<std::size_t>(calls) == out.spans.size());
    for (std::size_t i = 1; i < out.spans.size(); ++i) {
      FUZZ_CHECK(out.spans[i - 1].start_s <= out.spans[i].start_s);
    }
  } catch (const Error& error) {
    fuzz::check_message(error.what());
  }
  return 0;
}
