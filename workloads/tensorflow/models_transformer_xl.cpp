// Transformer-XL (MemTransformerLM, relative partial learnable attention) on the TensorFlow graph,
// as workloads/common/MODELS.md specifies it. The memory length varies between segments (0 after
// reset_state), so shapes that involve it or the batch are computed in the graph.
#include <cmath>
#include <string>
#include <variant>

#include "tf_backend.hpp"

namespace greenbench::workloads::tf {
namespace {

class TxlForward {
 public:
  TxlForward(ModelBuilder& b, Mode mode) : b_(b), g_(b.graph()), mode_(mode), c_(b.spec().txl) {}

  void build() {
    const bool train = mode_ == Mode::kTrain;
    const int64_t q_len = train ? c_.tgt_len : c_.eval_tgt_len;
    const int64_t mem_len = train ? c_.mem_len : c_.eval_mem_len;
    const int64_t clamp_len = train ? c_.clamp_len : c_.eval_clamp_len;
    const int64_t d = c_.d_model;
    q_ = static_cast<int32_t>(q_len);
    TF_Output data = b_.input(mode_, "data", TF_INT64, {q_len, -1});
    batch_ = dim(data, 1);

    // The memory lives in resource variables shared by both modes. reset_state() sets it to
    // [0, 1, D] (the batch is unknown then); the reshape gives it the batch dimension and leaves
    // a full memory unchanged.
    std::vector<TF_Output> mems;
    for (int64_t l = 0; l < c_.n_layer; ++l) {
      TF_Output mem = b_.state("mem" + std::to_string(l), {-1, -1, d}, {0, 1, d});
      mems.push_back(reshape(mem, {-1, batch_, static_cast<int32_t>(d)}));
    }
    // Memory length M and key length Kl = M + Q.
    TF_Output m = dim(mems[0], 0);
    kl_ = g_.add(m, g_.scalar_i32(q_));

    TF_Output h = g_.mul(g_.gather(b_.param("word_emb.weight"), data),
                         g_.scalar(static_cast<float>(std::sqrt(static_cast<double>(d)))));
    TF_Output r_emb = positional(clamp_len);
    TF_Output mask_bias = mask(m);
    for (int64_t l = 0; l < c_.n_layer; ++l) {
      TF_Output cat = g_.concat({mems[l], h}, 0);
      // The new memory: the last min(mem_len, Kl) rows of [mem; h], detached from the graph.
      // mem_len 0 keeps an empty memory (an explicit end 0 on axis 0).
      const auto keep = static_cast<int32_t>(mem_len);
      TF_Output next = g_.build("StridedSlice")
                           .in(g_.stop_gradient(cat))
                           .in(g_.constant_i32({-keep, 0, 0}))
                           .in(g_.constant_i32({0, 0, 0}))
                           .in(g_.constant_i32({1, 1, 1}))
                           .attr("Index", TF_INT32)
                           .attr("begin_mask", keep > 0 ? 0b110 : 0b111)
                           .attr("end_mask", keep > 0 ? 0b111 : 0b110)
                           .out();
      b_.set_state_next(mode_, "mem" + std::to_string(l), next);
      h = layer(l, h, cat, r_emb, mask_bias);
    }
    TF_Output bias = b_.param("crit.out_layers.0.bias");
    TF_Output logits2 = b_.linear(g_.reshape(h, {-1, static_cast<int32_t>(d)}),
                                  b_.param("word_emb.weight"), &bias);  // [Q·B, V]
    if (train) {
      TF_Output target = g_.reshape(b_.input(mode_, "target", TF_INT64, {q_len, -1}), {-1});
      TF_Output onehot = g_.build("OneHot")
                             .in(target)
                             .in(g_.scalar_i32(static_cast<int32_t>(c_.n_token)))
                             .in(g_.scalar(1.0f))
                             .in(g_.scalar(0.0f))
                             .attr("axis", -1)
                             .out();
      TF_Output logp = g_.op("LogSoftmax", {logits2});
      b_.loss = g_.op("Neg", {g_.mean(g_.sum(g_.mul(onehot, logp), {1}), {0})});
    } else {
      b_.logits = g_.reshape(logits2, {q_, -1, static_cast<int32_t>(c_.n_token)});
    }
  }

 private:
  using Dim = std::variant<int32_t, TF_Output>;

  // Size of axis `axis` of x, as an int32 scalar.
  TF_Output dim(TF_Output x, int axis) {
    return g_.build("StridedSlice")
        .in(g_.op("Shape", {x}))
        .in(g_.constant_i32({axis}))
        .in(g_.constant_i32({axis + 1}))
        .in(g_.constant_i32({1}))
        .attr("Index", TF_INT32)
        .attr("shrink_axis_mask", 1)
        .out();
  }

  // A shape vector from constant and dynamic dimensions.
  TF_Output shape(std::initializer_list<Dim> dims) {
    std::vector<TF_Output> parts;
    for (const Dim& d : dims) {
      parts.push_back(std::holds_alternative<int32_t>(d) ? g_.scalar_i32(std::get<int32_t>(d))
                                                         : std::get<TF_Output>(d));
    }
    return g_.build("Pack")
        .in_list(parts)
        .attr("N", static_cast<int64_t>(parts.size()))
        .attr("axis", 0)
        .out();
  }

  TF_Output reshape(TF_Output x, std::initializer_list<Dim> dims) {
    return g_.op("Reshape", {x, shape(dims)});
  }

  // x [..., in] · Wᵀ over the last axis, as one 2-D MatMul.
  TF_Output project(TF_Output x, const std::string& weight, const TF_Output* bias, int32_t in) {
    return b_.linear(g_.reshape(x, {-1, in}), b_.param(weight), bias);
  }

  // R [Kl, D]: sinusoids of the relative positions Kl−1 … 0 (clamped when clamp_len > 0).
  TF_Output positional(int64_t clamp_len) {
    const int64_t d = c_.d_model;
    TF_Output kl_f = g_.cast(kl_, TF_FLOAT);
    TF_Output pos = g_.build("Range")
                        .in(g_.sub(kl_f, g_.scalar(1.0f)))
                        .in(g_.scalar(-1.0f))
                        .in(g_.scalar(-1.0f))
                        .attr("Tidx", TF_FLOAT)
                        .out();
    if (clamp_len > 0) pos = g_.op("Minimum", {pos, g_.scalar(static_cast<float>(clamp_len))});
    std::vector<float> inv_freq;
    for (int64_t i = 0; i < d; i += 2) {
      inv_freq.push_back(1.0f / std::pow(10000.0f, static_cast<float>(i) / static_cast<float>(d)));
    }
    TF_Output freq = g_.constant_f32({1, static_cast<int64_t>(inv_freq.size())}, inv_freq);
    TF_Output sinusoid = g_.mul(g_.reshape(pos, {-1, 1}), freq);
    return g_.concat({g_.op("Sin", {sinusoid}), g_.op("Cos", {sinusoid})}, 1);
  }

  // Additive mask [Q, Kl]: 0 where key j may be attended by query i (j ≤ M + i), −1e30
  // elsewhere, which softmax turns into exactly zero weight, as PyTorch's −inf fill does.
  TF_Output mask(TF_Output m) {
    TF_Output ones = g_.op("Fill", {shape({q_, kl_}), g_.scalar(1.0f)});
    TF_Output allowed = g_.build("MatrixBandPart")
                            .in(ones)
                            .in(g_.scalar_i32(-1))
                            .in(m)
                            .attr("Tindex", TF_INT32)
                            .out();
    return g_.mul(g_.sub(g_.scalar(1.0f), allowed), g_.scalar(-1e30f));
  }

  // DeepLearningExamples' _rel_shift on [B, H, Q, Kl]: pad one zero column in front, view as
  // [B, H, Kl+1, Q], drop the first row, view back as [B, H, Q, Kl].
  TF_Output rel_shift(TF_Output x) {
    const auto h = static_cast<int32_t>(c_.n_head);
    TF_Output padded = g_.pad(x, {0, 0, 0, 0, 0, 0, 1, 0});
    TF_Output kl1 = g_.add(kl_, g_.scalar_i32(1));
    TF_Output viewed = reshape(padded, {batch_, h, kl1, q_});
    TF_Output sliced = g_.build("StridedSlice")
                           .in(viewed)
                           .in(g_.constant_i32({0, 0, 1, 0}))
                           .in(g_.constant_i32({0, 0, 0, 0}))
                           .in(g_.constant_i32({1, 1, 1, 1}))
                           .attr("Index", TF_INT32)
                           .attr("begin_mask", 0b1011)
                           .attr("end_mask", 0b1111)
                           .out();
    return reshape(sliced, {batch_, h, q_, kl_});
  }

  TF_Output layer_norm(TF_Output x, const std::string& prefix) {
    TF_Output mu = g_.mean(x, {-1}, true);
    TF_Output centred = g_.sub(x, mu);
    TF_Output var = g_.mean(g_.op("Square", {centred}), {-1}, true);
    TF_Output inv = g_.op("Rsqrt", {g_.add(var, g_.scalar(static_cast<float>(c_.layer_norm_eps)))});
    return g_.add(g_.mul(g_.mul(centred, inv), b_.param(prefix + ".weight")),
                  b_.param(prefix + ".bias"));
  }

  TF_Output layer(int64_t l, TF_Output h, TF_Output cat, TF_Output r_emb, TF_Output mask_bias) {
    const std::string p = "layers." + std::to_string(l);
    const auto d_model = static_cast<int32_t>(c_.d_model);
    const auto n_head = static_cast<int32_t>(c_.n_head);
    const auto d_head = static_cast<int32_t>(c_.d_head);
    const int32_t hd = n_head * d_head;
    g_.set_scope(std::string(mode_ == Mode::kTrain ? "train/" : "infer/") + p);

    TF_Output heads =
        project(cat, p + ".dec_attn.qkv_net.weight", nullptr, d_model);  // [Kl·B, 3hd]
    TF_Output split = g_.build("Split").in(g_.scalar_i32(1)).in(heads).attr("num_split", 3).out();
    TF_Operation* parts = split.oper;
    // q: the last Q rows (rows are time-major: row = t·B + b).
    TF_Output q_rows = g_.build("StridedSlice")
                           .in(TF_Output{parts, 0})
                           .in(shape({g_.op("Neg", {g_.mul(g_.scalar_i32(q_), batch_)}), 0}))
                           .in(g_.constant_i32({0, 0}))
                           .in(g_.constant_i32({1, 1}))
                           .attr("Index", TF_INT32)
                           .attr("begin_mask", 0b10)
                           .attr("end_mask", 0b11)
                           .out();
    // [B, H, Q, d] and [B, H, Kl, d]
    TF_Output q = g_.transpose(reshape(q_rows, {q_, batch_, n_head, d_head}), {1, 2, 0, 3});
    TF_Output k =
        g_.transpose(reshape(TF_Output{parts, 1}, {kl_, batch_, n_head, d_head}), {1, 2, 0, 3});
    TF_Output v =
        g_.transpose(reshape(TF_Output{parts, 2}, {kl_, batch_, n_head, d_head}), {1, 2, 0, 3});
    // r: [H, Kl, d]
    TF_Output r = g_.transpose(
        g_.reshape(b_.matmul(r_emb, b_.param(p + ".dec_attn.r_net.weight"), false, true),
                   {-1, n_head, d_head}),
        {1, 0, 2});
    TF_Output w_bias = g_.reshape(b_.param("r_w_bias"), {n_head, 1, d_head});
    TF_Output r_bias = g_.reshape(b_.param("r_r_bias"), {n_head, 1, d_head});
    TF_Output ac = b_.batch_matmul(g_.add(q, w_bias), k, false, true);  // [B, H, Q, Kl]
    TF_Output bd = rel_shift(b_.batch_matmul(g_.add(q, r_bias), r, false, true));
    TF_Output score =
        g_.add(g_.mul(g_.add(ac, bd), g_.scalar(static_cast<float>(1.0 / std::sqrt(c_.d_head)))),
               mask_bias);
    TF_Output prob = g_.op("Softmax", {score});
    TF_Output attn = b_.batch_matmul(prob, v);                      // [B, H, Q, d]
    attn = g_.reshape(g_.transpose(attn, {2, 0, 1, 3}), {-1, hd});  // [Q·B, hd]
    TF_Output out = b_.matmul(attn, b_.param(p + ".dec_attn.o_net.weight"), false, true);
    TF_Output h_rows = g_.reshape(h, {-1, d_model});
    TF_Output a = layer_norm(g_.add(h_rows, out), p + ".dec_attn.layer_norm");
    TF_Output b0 = b_.param(p + ".pos_ff.CoreNet.0.bias");
    TF_Output b3 = b_.param(p + ".pos_ff.CoreNet.3.bias");
    TF_Output f = b_.linear(g_.relu(b_.linear(a, b_.param(p + ".pos_ff.CoreNet.0.weight"), &b0)),
                            b_.param(p + ".pos_ff.CoreNet.3.weight"), &b3);
    TF_Output next = layer_norm(g_.add(a, f), p + ".pos_ff.layer_norm");
    g_.set_scope(mode_ == Mode::kTrain ? "train" : "infer");
    return reshape(next, {q_, batch_, d_model});
  }

  ModelBuilder& b_;
  Graph& g_;
  Mode mode_;
  const TransformerXlConfig& c_;
  int32_t q_ = 0;
  TF_Output batch_{nullptr, 0};
  TF_Output kl_{nullptr, 0};
};

}  // namespace

void build_transformer_xl(ModelBuilder& b) {
  Graph& g = b.graph();
  g.set_scope("train");
  TxlForward(b, Mode::kTrain).build();
  g.set_scope("infer");
  TxlForward(b, Mode::kInfer).build();
  g.set_scope("");
}

}  // namespace greenbench::workloads::tf
