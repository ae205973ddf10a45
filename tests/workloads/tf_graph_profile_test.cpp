// A hand-made TensorFlow graph run through the worker's Session with tracing on: the RunMetadata
// TensorFlow returns decodes, and the op profile lists exactly the graph's op types in their
// passes. Built where the TensorFlow wheel is (GREENBENCH_TEST_TENSORFLOW); skipped otherwise.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#if GREENBENCH_TEST_TENSORFLOW
#include "graph.hpp"
#include "run_metadata.hpp"
#include "step_profile.hpp"
#endif

namespace greenbench::workloads::tf {
namespace {

#if GREENBENCH_TEST_TENSORFLOW

// The graph's own op type of a node, as TfBackend::start_profile looks it up.
StepProfile graph_profile(Graph& g) {
  return StepProfile([&g](const std::string& node) {
    TF_Operation* op = TF_GraphOperationByName(g.get(), node.c_str());
    return op == nullptr ? std::string() : std::string(TF_OperationOpType(op));
  });
}

// The ops of a profile as pass -> {op type: calls}.
std::map<std::string, std::map<std::string, int64_t>> by_pass(const OpProfile& p) {
  std::map<std::string, std::map<std::string, int64_t>> out;
  for (const OpTime& op : p.ops) out[op.pass][op.name] += op.calls;
  return out;
}

// The framework's own nodes in every run: feeds (_Arg), fetches (_Retval), the executor's source
// node (a NoOp) and constants.
bool plumbing(const std::string& type) {
  return type == "_Arg" || type == "_Retval" || type == "NoOp" || type == "Const";
}

bool is_matmul(const std::string& type) { return type == "MatMul" || type == "_MklMatMul"; }

TEST(TfGraphProfile, MatMulReluGivesExactlyItsOps) {
  Graph g;
  const TF_Output x = g.placeholder(TF_FLOAT, {2, 3}, "x");
  const TF_Output w = g.placeholder(TF_FLOAT, {3, 4}, "w");
  g.set_scope("model");
  const TF_Output y = g.relu(g.matmul(x, w));
  g.set_scope("");
  Session session(g, 1, 1, /*grappler=*/false);
  const Tensor xt = to_tf({2, 3}, {1, -2, 3, 4, 5, -6});
  const Tensor wt = to_tf({3, 4}, {1, 0, 0, 1, 0, 1, 0, -1, 0, 0, 1, 1});

  std::string metadata = "stale";
  StepProfile profile = graph_profile(g);
  profile.start();
  const int runs = 3;
  for (int i = 0; i < runs; ++i) {
    const std::vector<Tensor> out = session.run({{x, xt.get()}, {w, wt.get()}}, {y}, {}, &metadata);
    ASSERT_EQ(TF_TensorElementCount(out[0].get()), 8);
    const auto* v = static_cast<const float*>(TF_TensorData(out[0].get()));
    EXPECT_EQ(v[0], 1.0f);  // relu([1, -2, 3]·[1, 0, 0])
    EXPECT_EQ(v[1], 0.0f);  // relu([1, -2, 3]·[0, 1, 0])
    EXPECT_EQ(v[3], 6.0f);  // relu([1, -2, 3]·[1, -1, 1])
    const StepStats stats = parse_run_metadata(metadata);
    ASSERT_FALSE(stats.dev_stats.empty());
    bool cpu = false;
    for (const DeviceStepStats& d : stats.dev_stats) cpu = cpu || is_executor_device(d.device);
    EXPECT_TRUE(cpu) << "no executor stats of the CPU in " << stats.dev_stats[0].device;
    profile.add(stats);
  }
  const OpProfile p = profile.finish();
  const auto passes = by_pass(p);
  ASSERT_EQ(passes.size(), 1U);
  const auto& forward = passes.at("forward");
  std::set<std::string> compute;
  for (const auto& [type, calls] : forward) {
    if (!plumbing(type)) {
      compute.insert(type);
      EXPECT_EQ(calls, runs) << type;
    }
  }
  // MatMul, or _MklMatMul where oneDNN rewrote it, and Relu: nothing else.
  ASSERT_EQ(compute.size(), 2U) << ::testing::PrintToString(compute);
  EXPECT_EQ(compute.erase("Relu"), 1U) << ::testing::PrintToString(compute);
  EXPECT_TRUE(is_matmul(*compute.begin())) << *compute.begin();
  EXPECT_EQ(forward.at("_Arg"), 2 * runs);
  EXPECT_EQ(forward.at("_Retval"), runs);
  // Every span lies inside the profile and the op times add up to the ops' self time.
  double self_s = 0;
  for (const OpTime& op : p.ops) self_s += op.self_s;
  double span_s = 0;
  for (const OpSpan& s : p.spans) {
    EXPECT_GE(s.start_s, 0.0);
    EXPECT_LT(s.start_s, 60.0);
    span_s += s.dur_s;
  }
  EXPECT_NEAR(span_s, self_s, 1e-9);
  EXPECT_GT(self_s, 0.0);
}

TEST(TfGraphProfile, TrainingGraphHasForwardBackwardAndOptimizerOps) {
  Graph g;
  const TF_Output x = g.placeholder(TF_FLOAT, {2, 3}, "x");
  const TF_Output w = g.placeholder(TF_FLOAT, {3, 4}, "w");
  g.set_scope("model");
  const TF_Output loss = g.sum(g.relu(g.matmul(x, w)), {0, 1});
  // As TfBackend::build_optimizer: gradients under "gradients/", the update under "optimizer/".
  g.set_scope("optimizer");
  const std::vector<TF_Output> grad = g.gradients(loss, {w});
  const TF_Output w_new = g.sub(w, g.mul(g.scalar(0.5f), grad[0]));
  g.set_scope("");
  Session session(g, 1, 1, /*grappler=*/false);
  const Tensor xt = to_tf({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor wt = to_tf({3, 4}, std::vector<float>(12, 1.0f));
  StepProfile profile = graph_profile(g);
  profile.start();
  std::string metadata;
  const std::vector<Tensor> out =
      session.run({{x, xt.get()}, {w, wt.get()}}, {w_new}, {}, &metadata);
  // d(sum relu(xw))/dw = xᵀ·1 where xw > 0 (all of it): row i of the gradient is Σ_n x[n, i].
  const auto* v = static_cast<const float*>(TF_TensorData(out[0].get()));
  EXPECT_FLOAT_EQ(v[0], 1.0f - 0.5f * 5.0f);
  profile.add(parse_run_metadata(metadata));
  const auto passes = by_pass(profile.finish());
  ASSERT_EQ(passes.size(), 3U) << ::testing::PrintToString(passes);
  bool forward_matmul = false, backward_matmul = false;
  for (const auto& [type, calls] : passes.at("forward")) forward_matmul |= is_matmul(type);
  for (const auto& [type, calls] : passes.at("backward")) backward_matmul |= is_matmul(type);
  EXPECT_TRUE(forward_matmul);
  EXPECT_TRUE(passes.at("forward").count("Relu"));
  EXPECT_TRUE(passes.at("forward").count("Sum"));
  EXPECT_TRUE(backward_matmul) << ::testing::PrintToString(passes.at("backward"));
  EXPECT_TRUE(passes.at("backward").count("ReluGrad"));
  EXPECT_FALSE(passes.at("backward").count("Relu"));
  EXPECT_EQ(passes.at("optimizer").at("Mul"), 1);
  EXPECT_EQ(passes.at("optimizer").at("Sub"), 1);
}

#else

TEST(TfGraphProfile, NeedsTensorFlow) {
  GTEST_SKIP() << "built without the TensorFlow wheel (GREENBENCH_WITH_TENSORFLOW)";
}

#endif

}  // namespace
}  // namespace greenbench::workloads::tf
