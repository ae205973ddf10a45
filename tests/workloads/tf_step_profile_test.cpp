// The TensorFlow worker's step-stats profiler (workloads/tensorflow/step_profile.hpp) on hand-made
// StepStats: op types from timeline labels and the graph, passes from name scopes, aggregation,
// spans on the profile's clock, and which devices' stats count.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "greenbench/error.hpp"
#include "step_profile.hpp"

namespace greenbench::workloads::tf {
namespace {

TEST(TfStepProfile, PassFromNameScope) {
  EXPECT_EQ(pass_of_node("train/MatMul_3"), "forward");
  EXPECT_EQ(pass_of_node("gradients/train/MatMul_3_grad/MatMul"), "backward");
  EXPECT_EQ(pass_of_node("optimizer/AssignVariableOp_9"), "optimizer");
  EXPECT_EQ(pass_of_node("optimizer/train"), "optimizer");
  // Grappler's own prefix in front of the scope.
  EXPECT_EQ(pass_of_node("ConstantFolding/gradients/Add-broadcastto_shape-1"), "backward");
  EXPECT_EQ(pass_of_node("train/ArithmeticOptimizer/AddOpsRewrite_Add"), "forward");
  // The first of the two scopes decides; whole components only.
  EXPECT_EQ(pass_of_node("optimizer/gradients/x"), "optimizer");
  EXPECT_EQ(pass_of_node("gradients_x/optimizer_y/z"), "forward");
  EXPECT_EQ(pass_of_node("train/my_gradients"), "forward");
  EXPECT_EQ(pass_of_node("_SOURCE"), "forward");
  EXPECT_EQ(pass_of_node("_arg_train/users_0_5"), "forward");
  EXPECT_EQ(pass_of_node(""), "forward");
}

TEST(TfStepProfile, OpTypeFromTimelineLabel) {
  EXPECT_EQ(op_type_from_label("train/MatMul_3 = _MklMatMul(train/x, ReadVariableOp_1)",
                               "train/MatMul_3"),
            "_MklMatMul");
  EXPECT_EQ(op_type_from_label("_SOURCE = NoOp()", "_SOURCE"), "NoOp");
  EXPECT_EQ(op_type_from_label("optimizer/train = NoOp(^a, ^b)", "optimizer/train"), "NoOp");
  // A memory summary in front of the name.
  EXPECT_EQ(op_type_from_label("[cpu 0.1MB 0.1MB] a/b = _FusedConv2D(x, y)", "a/b"),
            "_FusedConv2D");
  // A label of another node, or of another form, gives nothing.
  EXPECT_EQ(op_type_from_label("other = Relu(x)", "a"), "");
  EXPECT_EQ(op_type_from_label("xa = Relu(x)", "a"), "");
  EXPECT_EQ(op_type_from_label("a = Relu", "a"), "");
  EXPECT_EQ(op_type_from_label("a = (x)", "a"), "");
  EXPECT_EQ(op_type_from_label("", "a"), "");
  EXPECT_EQ(op_type_from_label("a = Relu(x)", ""), "");
}

TEST(TfStepProfile, ExecutorDevices) {
  EXPECT_TRUE(is_executor_device("/job:localhost/replica:0/task:0/device:CPU:0"));
  EXPECT_TRUE(is_executor_device("/job:localhost/replica:0/task:0/device:GPU:1"));
  EXPECT_TRUE(is_executor_device("/device:GPU:0"));
  EXPECT_FALSE(is_executor_device("/device:GPU:0/stream:all"));
  EXPECT_FALSE(is_executor_device("/device:GPU:0/stream:7"));
  EXPECT_FALSE(is_executor_device("/device:GPU:0/memcpy"));
  EXPECT_FALSE(is_executor_device("/host:CPU"));
  EXPECT_FALSE(is_executor_device("/device:CPU:"));
  EXPECT_FALSE(is_executor_device(""));
}

NodeExecStats node(const std::string& name, const std::string& label, int64_t start_ns,
                   int64_t op_start, int64_t op_end) {
  NodeExecStats n;
  n.node_name = name;
  n.timeline_label = label;
  n.all_start_nanos = start_ns;
  n.op_start_rel_nanos = op_start;
  n.op_end_rel_nanos = op_end;
  n.all_end_rel_nanos = op_end + 10;
  n.all_start_micros = start_ns / 1000;
  return n;
}

TEST(TfStepProfile, AggregatesByOpTypeAndPass) {
  const std::map<std::string, std::string> graph{
      {"train/MatMul_1", "MatMul"},
      {"train/Relu_2", "Relu"},
      {"gradients/train/Relu_2_grad/ReluGrad", "ReluGrad"},
      {"optimizer/Sub_5", "Sub"}};
  int lookups = 0;
  StepProfile p([&](const std::string& n) {
    ++lookups;
    auto it = graph.find(n);
    return it == graph.end() ? std::string() : it->second;
  });
  const int64_t t0 = 1'800'000'000'000'000'000;
  p.start_at(t0);
  StepStats run;
  DeviceStepStats& cpu = run.dev_stats.emplace_back();
  cpu.device = "/job:localhost/replica:0/task:0/device:CPU:0";
  // Rewritten in place by oneDNN: the label holds the executed type.
  cpu.node_stats.push_back(
      node("train/MatMul_1", "train/MatMul_1 = _MklMatMul(a, b)", t0 + 1'000'000, 100, 2'100));
  // No label: the graph's type.
  cpu.node_stats.push_back(node("train/Relu_2", "", t0 + 3'000'000, 50, 550));
  cpu.node_stats.push_back(node("gradients/train/Relu_2_grad/ReluGrad",
                                "gradients/train/Relu_2_grad/ReluGrad = ReluGrad(x, y)",
                                t0 + 4'000'000, 0, 300));
  // Created by Grappler: neither label nor graph knows it, so its name stands.
  cpu.node_stats.push_back(node("ConstantFolding/gradients/c", "", t0 + 5'000'000, 0, 40));
  cpu.node_stats.push_back(
      node("optimizer/Sub_5", "optimizer/Sub_5 = Sub(p, d)", t0 + 6'000'000, 10, 1'010));
  // The same work seen by a GPU tracer's stream: never counted.
  DeviceStepStats& stream = run.dev_stats.emplace_back();
  stream.device = "/device:GPU:0/stream:all";
  stream.node_stats.push_back(node("train/MatMul_1", "sgemm", t0 + 1'000'000, 0, 5'000'000));
  p.add(run);
  // A second run: the same ops again, one of them a second time.
  for (NodeExecStats& n : run.dev_stats[0].node_stats) n.all_start_nanos += 10'000'000;
  run.dev_stats[0].node_stats.push_back(
      node("train/MatMul_1", "train/MatMul_1 = _MklMatMul(a, b)", t0 + 19'000'000, 0, 1'000));
  p.add(run);
  const OpProfile out = p.finish();
  EXPECT_EQ(out.profiler, "TensorFlow RunMetadata step_stats (FULL_TRACE)");

  std::map<std::pair<std::string, std::string>, OpTime> ops;
  for (const OpTime& op : out.ops) ops[{op.name, op.pass}] = op;
  ASSERT_EQ(ops.size(), 5U);
  const OpTime& mm = ops.at({"_MklMatMul", "forward"});
  EXPECT_EQ(mm.calls, 3);
  EXPECT_NEAR(mm.self_s, (2'000 + 2'000 + 1'000) * 1e-9, 1e-15);
  EXPECT_EQ(ops.at({"Relu", "forward"}).calls, 2);
  EXPECT_NEAR(ops.at({"Relu", "forward"}).self_s, 1'000e-9, 1e-15);
  EXPECT_EQ(ops.at({"ReluGrad", "backward"}).calls, 2);
  EXPECT_EQ(ops.at({"ConstantFolding/gradients/c", "backward"}).calls, 2);
  EXPECT_NEAR(ops.at({"Sub", "optimizer"}).self_s, 2'000e-9, 1e-15);

  ASSERT_EQ(out.spans.size(), 11U);
  for (size_t i = 1; i < out.spans.size(); ++i) {
    EXPECT_LE(out.spans[i - 1].start_s, out.spans[i].start_s);
  }
  // Spans start at the op's start, on the profile's clock, and last the op's time.
  EXPECT_EQ(out.spans[0].name, "_MklMatMul");
  EXPECT_EQ(out.spans[0].pass, "forward");
  EXPECT_NEAR(out.spans[0].start_s, 1'000'100e-9, 1e-12);
  EXPECT_NEAR(out.spans[0].dur_s, 2'000e-9, 1e-15);
  EXPECT_EQ(out.spans[0].step, -1);  // the driver assigns steps
  EXPECT_EQ(out.spans.back().name, "_MklMatMul");
  EXPECT_NEAR(out.spans.back().start_s, 19'000'000e-9, 1e-12);
  // The graph was asked only for nodes without a usable label.
  EXPECT_EQ(lookups, 4);

  // finish() leaves nothing behind for the next profile.
  p.start_at(t0);
  const OpProfile empty = p.finish();
  EXPECT_TRUE(empty.ops.empty());
  EXPECT_TRUE(empty.spans.empty());
}

TEST(TfStepProfile, MicrosecondStatsAndNegativeTimes) {
  StepProfile p(nullptr);
  p.start_at(5'000'000'000);
  StepStats run;
  DeviceStepStats& cpu = run.dev_stats.emplace_back();
  cpu.device = "/device:CPU:0";
  NodeExecStats n;
  n.node_name = "a";
  n.timeline_label = "a = Relu(x)";
  n.all_start_micros = 5'000'002;  // microseconds only
  n.op_start_rel_micros = 1;
  n.op_end_rel_micros = 4;
  cpu.node_stats.push_back(n);
  // An end before the start (a clock step inside a node) counts as no time, not negative time.
  NodeExecStats back = n;
  back.op_start_rel_micros = 4;
  back.op_end_rel_micros = 1;
  cpu.node_stats.push_back(back);
  p.add(run);
  const OpProfile out = p.finish();
  ASSERT_EQ(out.ops.size(), 1U);
  EXPECT_EQ(out.ops[0].calls, 2);
  EXPECT_NEAR(out.ops[0].self_s, 3e-6, 1e-15);
  ASSERT_EQ(out.spans.size(), 2U);
  EXPECT_NEAR(out.spans[0].start_s, 3e-6, 1e-12);
  EXPECT_EQ(out.spans[1].dur_s, 0.0);
}

TEST(TfStepProfile, NonsenseTimesStayFiniteAndNonNegative) {
  // Times no TensorFlow writes but a corrupt buffer can hold: no overflow (UBSan checks it in
  // `make sanitize`), no negative duration.
  StepProfile p(nullptr);
  p.start_at(1'800'000'000'000'000'000);
  StepStats run;
  DeviceStepStats& cpu = run.dev_stats.emplace_back();
  cpu.device = "/device:CPU:0";
  NodeExecStats n;
  n.node_name = "a";
  // Op start at INT64_MIN ns, op end at 0: the duration and the start since the origin leave
  // int64's range.
  n.all_start_nanos = -(int64_t{1} << 62);
  n.op_start_rel_nanos = -(int64_t{1} << 62);
  n.op_end_rel_nanos = int64_t{1} << 62;
  cpu.node_stats.push_back(n);
  n.all_start_nanos = 0;
  n.all_start_micros = std::numeric_limits<int64_t>::max();
  n.op_start_rel_micros = std::numeric_limits<int64_t>::max();
  cpu.node_stats.push_back(n);
  p.add(run);
  const OpProfile out = p.finish();
  ASSERT_EQ(out.spans.size(), 2U);
  for (const OpSpan& s : out.spans) {
    EXPECT_TRUE(std::isfinite(s.start_s));
    EXPECT_GE(s.dur_s, 0.0);
  }
}

TEST(TfStepProfile, StartUsesTheWallClock) {
  // start() takes the wall clock: a node stamped now lands near 0 s, not decades away.
  StepProfile p(nullptr);
  p.start();
  StepStats run;
  DeviceStepStats& cpu = run.dev_stats.emplace_back();
  cpu.device = "/device:CPU:0";
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  cpu.node_stats.push_back(node("a", "a = Relu(x)", now_ns, 0, 1'000));
  p.add(run);
  const OpProfile out = p.finish();
  ASSERT_EQ(out.spans.size(), 1U);
  EXPECT_GE(out.spans[0].start_s, 0.0);
  EXPECT_LT(out.spans[0].start_s, 60.0);
}

}  // namespace
}  // namespace greenbench::workloads::tf
