// The LibTorch worker's op recorder (workloads/torch/profiler.hpp) on small hand-made
// computations of plain at:: ops: the exact op list, self times that exclude nested ops, passes
// from autograd nodes and the optimizer scope, and ops of other threads left out.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "greenbench/error.hpp"
#include "torch/profiler.hpp"

namespace greenbench::workloads {
namespace {

// (name, pass) -> calls
using OpCalls = std::map<std::pair<std::string, std::string>, int64_t>;

OpCalls calls_of(const OpProfile& p) {
  OpCalls out;
  for (const OpTime& op : p.ops) {
    EXPECT_TRUE(out.emplace(std::make_pair(op.name, op.pass), op.calls).second)
        << "op " << op.name << " (" << op.pass << ") listed twice";
  }
  return out;
}

double total_self_s(const OpProfile& p) {
  double s = 0;
  for (const OpTime& op : p.ops) s += op.self_s;
  return s;
}

const OpTime* find_op(const OpProfile& p, const std::string& name, const std::string& pass) {
  for (const OpTime& op : p.ops) {
    if (op.name == name && op.pass == pass) return &op;
  }
  return nullptr;
}

class OpRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

TEST_F(OpRecorderTest, MatmulThenReluGivesExactlyTheirOps) {
  const at::Tensor a = at::rand({64, 64});
  const at::Tensor b = at::rand({64, 64});
  OpRecorder recorder;
  const auto start = std::chrono::steady_clock::now();
  recorder.start();
  const at::Tensor y = at::relu(at::mm(a, b));
  const OpProfile p = recorder.stop();
  const double window_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // ATen's CPU relu is clamp_min(x, 0) (aten/src/ATen/native/Activation.cpp), dispatched as its
  // own operator inside aten::relu; mm is a structured kernel that allocates its output without
  // the dispatcher.
  // The CPU mm (addmm_impl_cpu_ in aten/src/ATen/native/LinearAlgebra.cpp) resolves the
  // conjugate bit of its two operands and its result, three aten::resolve_conj calls.
  const OpCalls expected = {{{"aten::mm", "forward"}, 1},
                            {{"aten::resolve_conj", "forward"}, 3},
                            {{"aten::relu", "forward"}, 1},
                            {{"aten::clamp_min", "forward"}, 1}};
  EXPECT_EQ(calls_of(p), expected);
  ASSERT_EQ(p.spans.size(), 6u);
  // Spans in start order: mm with its resolve_conj calls inside, then relu with clamp_min.
  const std::vector<std::string> order = {"aten::mm",           "aten::resolve_conj",
                                          "aten::resolve_conj", "aten::resolve_conj",
                                          "aten::relu",         "aten::clamp_min"};
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(p.spans[i].name, order[i]) << i;
  const auto inside = [&](size_t inner, size_t outer) {
    EXPECT_GE(p.spans[inner].start_s, p.spans[outer].start_s);
    EXPECT_LE(p.spans[inner].start_s + p.spans[inner].dur_s,
              p.spans[outer].start_s + p.spans[outer].dur_s + 1e-9);
  };
  for (size_t i = 1; i <= 3; ++i) inside(i, 0);
  inside(5, 4);
  EXPECT_GE(p.spans[4].start_s, p.spans[0].start_s + p.spans[0].dur_s);
  for (const OpSpan& s : p.spans) {
    EXPECT_EQ(s.pass, "forward");
    EXPECT_GE(s.start_s, 0.0);
    EXPECT_GE(s.dur_s, 0.0);
    EXPECT_LE(s.start_s + s.dur_s, window_s);
  }
  // relu's self time excludes clamp_min: together they are relu's span.
  const OpTime* relu = find_op(p, "aten::relu", "forward");
  const OpTime* clamp = find_op(p, "aten::clamp_min", "forward");
  ASSERT_NE(relu, nullptr);
  ASSERT_NE(clamp, nullptr);
  EXPECT_NEAR(relu->self_s + clamp->self_s, p.spans[4].dur_s, 1e-9);
  EXPECT_NEAR(clamp->self_s, p.spans[5].dur_s, 1e-9);
  const OpTime* mm = find_op(p, "aten::mm", "forward");
  const OpTime* conj = find_op(p, "aten::resolve_conj", "forward");
  ASSERT_NE(mm, nullptr);
  ASSERT_NE(conj, nullptr);
  EXPECT_NEAR(mm->self_s + conj->self_s, p.spans[0].dur_s, 1e-9);
  EXPECT_LE(total_self_s(p), window_s);
  for (const OpTime& op : p.ops) EXPECT_GE(op.self_s, 0.0) << op.name;
  EXPECT_NE(p.profiler.find("RecordFunction"), std::string::npos) << p.profiler;
  EXPECT_TRUE(at::allclose(y, at::mm(a, b).clamp_min(0)));
}

TEST_F(OpRecorderTest, OpsInsideAutogradNodesAreBackwardAndNodesAreNotOps) {
  const at::Tensor x = at::rand({16, 8});
  const at::Tensor w = at::rand({8, 4}).requires_grad_(true);
  OpRecorder recorder;
  recorder.start();
  const at::Tensor loss = at::relu(at::mm(x, w)).sum();
  loss.backward();
  const OpProfile p = recorder.stop();
  const OpCalls calls = calls_of(p);
  // Forward: mm, relu (with clamp_min), sum. Backward (MmBackward0, ReluBackward0, SumBackward0):
  // relu's gradient is threshold_backward; w's gradient is x^T · g, an mm.
  EXPECT_EQ(calls.count({"aten::mm", "forward"}), 1u);
  EXPECT_EQ(calls.count({"aten::sum", "forward"}), 1u);
  EXPECT_EQ(calls.count({"aten::threshold_backward", "backward"}), 1u);
  EXPECT_EQ(calls.count({"aten::mm", "backward"}), 1u);
  EXPECT_EQ(calls.count({"aten::threshold_backward", "forward"}), 0u);
  for (const OpTime& op : p.ops) {
    EXPECT_EQ(op.name.find("Backward0"), std::string::npos) << op.name << " is a scope";
    EXPECT_EQ(op.name.find("autograd::engine"), std::string::npos) << op.name << " is a scope";
    EXPECT_NE(op.pass, "optimizer") << op.name;
  }
  EXPECT_TRUE(w.grad().defined());
}

TEST_F(OpRecorderTest, OpsInTheOptimizerScopeAreTheOptimizerPass) {
  // Tensor operands only: an op with a Scalar operand wraps it in a tensor, which adds ops.
  at::Tensor p = at::zeros({4});
  const at::Tensor g = at::ones({4});
  const at::Tensor two = at::full({4}, 2.0);
  OpRecorder recorder;
  recorder.start();
  {
    RECORD_USER_SCOPE(kOptimizerScope);
    p.add_(g, -0.5);
  }
  p.mul_(two);
  const OpProfile prof = recorder.stop();
  const OpCalls expected = {{{"aten::add_", "optimizer"}, 1}, {{"aten::mul_", "forward"}, 1}};
  EXPECT_EQ(calls_of(prof), expected);
  EXPECT_TRUE(at::equal(p, at::full({4}, -1.0)));
}

TEST_F(OpRecorderTest, OtherThreadsAreNotCounted) {
  const at::Tensor a = at::rand({32, 32});
  OpRecorder recorder;
  recorder.start();
  std::thread other([&] {
    for (int i = 0; i < 5; ++i) (void)at::relu(a);
  });
  other.join();
  (void)at::relu(a);
  const OpProfile p = recorder.stop();
  const OpCalls expected = {{{"aten::relu", "forward"}, 1}, {{"aten::clamp_min", "forward"}, 1}};
  EXPECT_EQ(calls_of(p), expected);
  // Five relu calls, two records each, on the other thread.
  EXPECT_NE(p.profiler.find("; 10 records on other threads not counted"), std::string::npos)
      << p.profiler;
}

TEST_F(OpRecorderTest, RecordsOnceAtATimeAndAgainAfterStop) {
  OpRecorder first;
  OpRecorder second;
  EXPECT_THROW((void)first.stop(), Error);
  first.start();
  EXPECT_TRUE(first.recording());
  EXPECT_THROW(second.start(), Error);
  (void)at::ones({2}).neg();
  const OpProfile p1 = first.stop();
  EXPECT_FALSE(first.recording());
  second.start();
  (void)at::ones({2}).neg();
  (void)at::ones({2}).neg();
  const OpProfile p2 = second.stop();
  // Nothing runs outside a recording: ops after stop() are not kept.
  (void)at::ones({2}).neg();
  EXPECT_EQ(calls_of(p1).at({"aten::neg", "forward"}), 1);
  EXPECT_EQ(calls_of(p2).at({"aten::neg", "forward"}), 2);
}

TEST_F(OpRecorderTest, StopOnAnotherThreadThrows) {
  OpRecorder recorder;
  recorder.start();
  bool threw = false;
  std::thread other([&] {
    try {
      (void)recorder.stop();
    } catch (const Error&) {
      threw = true;
    }
  });
  other.join();
  EXPECT_TRUE(threw);
  EXPECT_TRUE(recorder.recording());
  (void)recorder.stop();
}

}  // namespace
}  // namespace greenbench::workloads
