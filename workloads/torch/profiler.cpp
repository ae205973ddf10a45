// The LibTorch op profiler: one global at::RecordFunction callback.
//
// Why not LibTorch's own profiler (torch::autograd::profiler::enableProfiler, Kineto-based, whose
// KinetoEvents come from these same RecordFunction events): it reports each event's start and
// duration only, so self times would still have to be rebuilt here from the nesting; its times
// are on its own clock (c10's approximate TSC time, converted), not the steady clock the driver
// times steps with; and it keeps a per-event record with metadata in its own buffers, more work
// per op than the two clock reads needed. A callback of our own records exactly what MODELS.md
// asks for: the operator's name, its nesting on one thread, and steady_clock times.
//
// Threads: the callback is global, so it also fires for operators dispatched on LibTorch's
// intra-op worker threads (at::parallel_for). Their time lies inside an operator of the calling
// thread, which waits for them, so counting them would count that time twice; only the thread
// that called start() is recorded and the records seen on any other thread are counted and
// named in OpProfile::profiler. (With --threads 2, training resnet50 and transformer_xl shows
// none: ATen's kernels run their parallel_for bodies without dispatching further operators.)
// On the CPU, the autograd engine runs backward on the calling thread, so the backward pass is
// recorded in full.
//
// Autograd nodes (ConvolutionBackward0, "autograd::engine::evaluate_function: ...") are scopes,
// not ops: the operators they run are the backward pass, and their own time, the engine's
// bookkeeping, is what MODELS.md calls framework overhead (phase time no op covers). Taken as
// ops they would turn bookkeeping into per-node "ops" whose names say conv or matmul.
#include "torch/profiler.hpp"

#include <ATen/record_function.h>
#include <torch/headeronly/version.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

enum Pass : uint8_t { kForward = 0, kBackward = 1, kOptimizer = 2 };
constexpr std::array<const char*, 3> kPassNames = {"forward", "backward", "optimizer"};

// The engine wraps each node's call in a record of this name (scope BACKWARD_FUNCTION in recent
// releases; matched by name as well so that a release recording it as FUNCTION still works).
constexpr std::string_view kEvaluateFunction = "autograd::engine::evaluate_function: ";

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// An open record on the profiling thread.
struct Frame {
  const at::RecordFunction* fn = nullptr;  // pairs the end callback with its start
  uint32_t name = 0;                       // interned op name (ops only)
  bool op = false;                         // false: a scope (autograd node, user scope)
  Pass pass = kForward;
  int64_t start_ns = 0;
  int64_t nested_ns = 0;  // total duration of the records directly inside this one
};

struct Totals {
  int64_t self_ns = 0;
  int64_t calls = 0;
};

struct SpanRecord {
  uint32_t name;
  Pass pass;
  int64_t start_ns;
  int64_t dur_ns;
};

std::atomic<bool> g_recording{false};
std::atomic<int64_t> g_other_thread_records{0};

}  // namespace

// What one recording collects; touched only by the profiling thread.
struct OpTape {
  std::thread::id thread;
  int64_t origin_ns = 0;
  at::CallbackHandle handle = 0;
  std::vector<Frame> stack;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ids;
  std::vector<std::string> names;
  std::vector<std::array<Totals, 3>> totals;  // by name id, then pass
  std::vector<SpanRecord> spans;
  int64_t unpaired = 0;  // records whose end did not match the innermost open record

  uint32_t intern(std::string_view name) {
    const auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    const auto id = static_cast<uint32_t>(names.size());
    names.emplace_back(name);
    totals.emplace_back();
    ids.emplace(names.back(), id);
    return id;
  }

  void close(const Frame& f, int64_t end_ns) {
    const int64_t dur = std::max<int64_t>(0, end_ns - f.start_ns);
    if (!stack.empty()) stack.back().nested_ns += dur;
    if (!f.op) return;
    Totals& t = totals[f.name][f.pass];
    t.self_ns += std::max<int64_t>(0, dur - f.nested_ns);
    ++t.calls;
    spans.push_back({f.name, f.pass, f.start_ns - origin_ns, dur});
  }
};

namespace {

// The profiling thread's tape; null on every other thread.
thread_local OpTape* t_tape = nullptr;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  OpTape* tape = t_tape;
  if (tape == nullptr) {
    g_other_thread_records.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const char* raw = fn.name();
  const std::string_view name = raw != nullptr ? raw : "";
  Frame f;
  f.fn = &fn;
  f.pass = tape->stack.empty() ? kForward : tape->stack.back().pass;
  if (fn.scope() == at::RecordScope::BACKWARD_FUNCTION || name.starts_with(kEvaluateFunction)) {
    f.pass = kBackward;
  } else if (fn.scope() == at::RecordScope::USER_SCOPE) {
    if (name == kOptimizerScope) f.pass = kOptimizer;
  } else {
    f.op = true;
    f.name = tape->intern(name);
  }
  f.start_ns = now_ns();  // last, so that the bookkeeping above is not charged to the op
  tape->stack.push_back(f);
  return nullptr;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* /*unused*/) {
  OpTape* tape = t_tape;
  if (tape == nullptr) return;
  const int64_t end = now_ns();
  // Records end in the reverse order of their starts on one thread; anything else (a record
  // that started before start(), or an end that was skipped) is closed here and counted.
  auto it = std::find_if(tape->stack.rbegin(), tape->stack.rend(),
                         [&](const Frame& f) { return f.fn == &fn; });
  if (it == tape->stack.rend()) {
    ++tape->unpaired;
    return;
  }
  while (!tape->stack.empty()) {
    const Frame f = tape->stack.back();
    tape->stack.pop_back();
    tape->close(f, end);
    if (f.fn == &fn) break;
    ++tape->unpaired;
  }
}

}  // namespace

OpRecorder::OpRecorder() = default;

OpRecorder::~OpRecorder() {
  if (tape_ != nullptr) {
    at::removeCallback(tape_->handle);
    if (t_tape == tape_.get()) t_tape = nullptr;
    g_recording.store(false);
  }
}

bool OpRecorder::recording() const { return tape_ != nullptr; }

void OpRecorder::start() {
  if (g_recording.exchange(true)) {
    throw Error("pytorch profiler: a recorder is already recording in this process");
  }
  tape_ = std::make_unique<OpTape>();
  tape_->thread = std::this_thread::get_id();
  tape_->stack.reserve(64);
  tape_->spans.reserve(1 << 16);
  g_other_thread_records.store(0);
  t_tape = tape_.get();
  // Operators (FUNCTION), autograd nodes (BACKWARD_FUNCTION) and user scopes; no inputs,
  // outputs or ids, which would cost time per op.
  tape_->handle = at::addGlobalCallback(
      at::RecordFunctionCallback(&on_start, &on_end)
          .needsInputs(false)
          .needsOutputs(false)
          .needsIds(false)
          .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION,
                   at::RecordScope::USER_SCOPE}));
  tape_->origin_ns = now_ns();
}

OpProfile OpRecorder::stop() {
  if (tape_ == nullptr) throw Error("pytorch profiler: stop() without start()");
  if (std::this_thread::get_id() != tape_->thread) {
    throw Error("pytorch profiler: stop() on another thread than start()");
  }
  at::removeCallback(tape_->handle);
  t_tape = nullptr;
  const std::unique_ptr<OpTape> tape = std::move(tape_);
  g_recording.store(false);
  const int64_t other = g_other_thread_records.load();
  // Records still open (none when stop() is called outside any operator) are dropped.
  const auto open = static_cast<int64_t>(tape->stack.size());

  OpProfile out;
  out.profiler =
      "RecordFunction callback (LibTorch " + std::string(TORCH_VERSION) +
      "): ATen operators on the worker thread, host wall time on steady_clock; autograd nodes "
      "and greenbench::optimizer are scopes";
  if (other > 0) {
    out.profiler += "; " + std::to_string(other) +
                    " records on other threads not counted (intra-op workers run inside an op of "
                    "the worker thread)";
  }
  if (tape->unpaired + open > 0) {
    out.profiler += "; " + std::to_string(tape->unpaired + open) + " unpaired records dropped";
  }
  for (size_t id = 0; id < tape->names.size(); ++id) {
    for (size_t pass = 0; pass < kPassNames.size(); ++pass) {
      const Totals& t = tape->totals[id][pass];
      if (t.calls == 0) continue;
      out.ops.push_back(
          {tape->names[id], kPassNames[pass], static_cast<double>(t.self_ns) * 1e-9, t.calls});
    }
  }
  std::stable_sort(out.ops.begin(), out.ops.end(),
                   [](const OpTime& a, const OpTime& b) { return a.self_s > b.self_s; });
  out.spans.reserve(tape->spans.size());
  for (const SpanRecord& s : tape->spans) {
    OpSpan span;
    span.name = tape->names[s.name];
    span.pass = kPassNames[s.pass];
    span.start_s = static_cast<double>(s.start_ns) * 1e-9;
    span.dur_s = static_cast<double>(s.dur_ns) * 1e-9;
    out.spans.push_back(std::move(span));
  }
  // Spans are recorded as ops end; the trace wants them in start order.
  std::stable_sort(out.spans.begin(), out.spans.end(),
                   [](const OpSpan& a, const OpSpan& b) { return a.start_s < b.start_s; });
  return out;
}

}  // namespace greenbench::workloads
