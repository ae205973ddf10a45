// GNMT v2 on the TensorFlow graph, as workloads/common/MODELS.md ("GNMT v2") specifies it. The
// sequences have fixed lengths (S, T of the preset), so every LSTM is unrolled into cells built
// from ops with C++ gradients (MatMul, BiasAdd, Split, Sigmoid, Tanh, Mul, AddV2, Unpack, Pack):
// TensorFlow's fused LSTM ops (BlockLSTM) have their gradients only in Python. Inference is one
// encoder run and the shared beam search over runs of a one-position decoder subgraph.
#include <string>
#include <vector>

#include "common/beam_search.hpp"
#include "greenbench/error.hpp"
#include "tf_backend.hpp"

namespace greenbench::workloads::tf {
namespace {

struct Lstm {
  TF_Output w_ih, w_hh, b_ih, b_hh;
};

// An LSTM state; a null h/c stands for the zero state at the start of a sequence.
struct State {
  TF_Output h{nullptr, 0};
  TF_Output c{nullptr, 0};
};

// The encoder's results that the decoder needs.
struct Encoded {
  TF_Output outputs;  ///< K = x_L [B, S, H]
  TF_Output keys;     ///< K · linear_kᵀ [B, S, H]
  TF_Output lengths;  ///< ℓ int64 [B]
};

class GnmtGraph {
 public:
  explicit GnmtGraph(ModelBuilder& b)
      : b_(b),
        g_(b.graph()),
        c_(b.spec().gnmt),
        h_(static_cast<int32_t>(c_.hidden_size)),
        v_(static_cast<int32_t>(c_.vocab_size)),
        s_(static_cast<int32_t>(c_.data.max_source_len)),
        t_(static_cast<int32_t>(c_.data.max_target_len)) {}

  [[nodiscard]] int32_t source_len() const { return s_; }
  [[nodiscard]] int32_t target_len() const { return t_; }

  Lstm lstm(const std::string& prefix, const std::string& suffix = "") const {
    return {b_.param(prefix + ".weight_ih_l0" + suffix),
            b_.param(prefix + ".weight_hh_l0" + suffix), b_.param(prefix + ".bias_ih_l0" + suffix),
            b_.param(prefix + ".bias_hh_l0" + suffix)};
  }

  // x·W_ihᵀ + b_ih for every position of x [B, steps, in], as one MatMul, split per position.
  std::vector<TF_Output> project_inputs(const Lstm& l, TF_Output x, int32_t steps, int32_t in) {
    TF_Output xw =
        g_.reshape(b_.linear(g_.reshape(x, {-1, in}), l.w_ih, &l.b_ih), {-1, steps, 4 * h_});
    return unstack(xw, steps);
  }

  // One PyTorch LSTM cell from the projected input xw = x·W_ihᵀ + b_ih [R, 4H]:
  // z = xw + h·W_hhᵀ + b_hh; c' = σ(f)⊙c + σ(i)⊙tanh(g); h' = σ(o)⊙tanh(c').
  State cell(const Lstm& l, TF_Output xw, const State& s) {
    // A zero h gives h·W_hhᵀ = 0 exactly, so the first cell of a sequence adds b_hh alone.
    TF_Output z = s.h.oper == nullptr ? g_.build("BiasAdd").in(xw).in(l.b_hh).out()
                                      : g_.add(xw, b_.linear(s.h, l.w_hh, &l.b_hh));
    TF_Operation* split =
        g_.build("Split").in(g_.scalar_i32(1)).in(z).attr("num_split", int64_t{4}).finish();
    TF_Output i = g_.op("Sigmoid", {{split, 0}});
    TF_Output f = g_.op("Sigmoid", {{split, 1}});
    TF_Output gg = g_.op("Tanh", {{split, 2}});
    TF_Output o = g_.op("Sigmoid", {{split, 3}});
    TF_Output c = g_.mul(i, gg);
    if (s.c.oper != nullptr) c = g_.add(g_.mul(f, s.c), c);
    return {g_.mul(o, g_.op("Tanh", {c})), c};
  }

  // The outputs [B, steps, H] of an LSTM over x [B, steps, in] from the zero state.
  TF_Output sequence(const Lstm& l, TF_Output x, int32_t steps, int32_t in) {
    const std::vector<TF_Output> xw = project_inputs(l, x, steps, in);
    State s;
    std::vector<TF_Output> out;
    for (int32_t t = 0; t < steps; ++t) {
      s = cell(l, xw[t], s);
      out.push_back(s.h);
    }
    return stack(out);
  }

  Encoded encoder(TF_Output source, TF_Output lengths) {
    TF_Output e = g_.gather(b_.param("embedder.weight"), source);  // [B, S, H]
    // valid[b, t] = t < ℓ_b, as float [B, S], split per position into [B, 1].
    std::vector<int32_t> positions(s_);
    for (int32_t t = 0; t < s_; ++t) positions[t] = t;
    TF_Output len = g_.reshape(g_.cast(lengths, TF_INT32), {-1, 1});
    TF_Output valid =
        g_.cast(g_.op("Less", {g_.reshape(g_.constant_i32(positions), {1, s_}), len}), TF_FLOAT);
    const std::vector<TF_Output> m = unstack(g_.reshape(valid, {-1, s_, 1}), s_);
    // Layer 0, bidirectional over the valid positions: the forward direction runs over all S
    // positions and its outputs at t ≥ ℓ_b are zeroed (they never reach t < ℓ_b); the backward
    // one runs t = S−1 … 0 with its state forced to 0 at t ≥ ℓ_b, so it starts from the zero
    // state at ℓ_b − 1, as pack_padded_sequence does.
    const Lstm fwd = lstm("encoder.rnn_layers.0");
    const Lstm bwd = lstm("encoder.rnn_layers.0", "_reverse");
    const std::vector<TF_Output> xf = project_inputs(fwd, e, s_, h_);
    const std::vector<TF_Output> xb = project_inputs(bwd, e, s_, h_);
    std::vector<TF_Output> hf(s_), hb(s_);
    State sf, sb;
    for (int32_t t = 0; t < s_; ++t) {
      sf = cell(fwd, xf[t], sf);
      hf[t] = g_.mul(sf.h, m[t]);
    }
    for (int32_t t = s_ - 1; t >= 0; --t) {
      sb = cell(bwd, xb[t], sb);
      sb = {g_.mul(sb.h, m[t]), g_.mul(sb.c, m[t])};
      hb[t] = sb.h;
    }
    std::vector<TF_Output> x1;
    for (int32_t t = 0; t < s_; ++t) x1.push_back(g_.concat({hf[t], hb[t]}, 1));
    TF_Output x = sequence(lstm("encoder.rnn_layers.1"), stack(x1), s_, 2 * h_);
    for (int64_t i = 2; i < c_.num_layers; ++i) {
      x = g_.add(sequence(lstm("encoder.rnn_layers." + std::to_string(i)), x, s_, h_), x);
    }
    TF_Output keys =
        g_.reshape(b_.linear(g_.reshape(x, {-1, h_}),
                             b_.param("decoder.att_rnn.attn.linear_k.weight"), nullptr),
                   {-1, s_, h_});
    // An Identity so that predict() can fetch the lengths it feeds (a placeholder cannot be both).
    return {x, keys, g_.op("Identity", {lengths})};
  }

  // Normalised Bahdanau attention of queries d [N, Q, H] over the encoder outputs `values`
  // [N, S, H] with projected `keys` [N, S, H] and lengths [N]: the context [N, Q, H] and the
  // weights α [N, Q, S].
  std::pair<TF_Output, TF_Output> attention(TF_Output d, int32_t q_len, TF_Output values,
                                            TF_Output keys, TF_Output lengths) {
    const std::string p = "decoder.att_rnn.attn.";
    TF_Output w = b_.param(p + "linear_att");
    // v̂ = (linear_att / ‖linear_att‖₂) · normalize_scalar (DLE's order), as a [H, 1] column.
    TF_Output norm = g_.op("Sqrt", {g_.sum(g_.op("Square", {w}), {0})});
    TF_Output v_hat =
        g_.reshape(g_.mul(g_.div(w, norm), b_.param(p + "normalize_scalar")), {h_, 1});
    TF_Output q =
        g_.reshape(b_.linear(g_.reshape(d, {-1, h_}), b_.param(p + "linear_q.weight"), nullptr),
                   {-1, q_len, 1, h_});
    TF_Output sum = g_.add(g_.add(q, g_.reshape(keys, {-1, 1, s_, h_})),
                           b_.param(p + "normalize_bias"));  // [N, Q, S, H]
    TF_Output score =
        g_.reshape(g_.matmul(g_.reshape(g_.op("Tanh", {sum}), {-1, h_}), v_hat), {-1, q_len, s_});
    // Positions s ≥ ℓ get −65504 exactly (score·1 + 0 and ±0 − 65504), as DLE's masked_fill.
    std::vector<int32_t> positions(s_);
    for (int32_t t = 0; t < s_; ++t) positions[t] = t;
    TF_Output valid = g_.cast(g_.op("Less", {g_.reshape(g_.constant_i32(positions), {1, 1, s_}),
                                             g_.reshape(g_.cast(lengths, TF_INT32), {-1, 1, 1})}),
                              TF_FLOAT);  // [N, 1, S]
    TF_Output fill = g_.mul(g_.sub(g_.scalar(1.0f), valid), g_.scalar(-65504.0f));
    score = g_.add(g_.mul(score, valid), fill);
    TF_Output alpha = g_.op("Softmax", {score});
    // float32 with every precision (MODELS.md, GNMT v2: only the linear layers compute in 16 bits).
    return {g_.batch_matmul(alpha, values), alpha};
  }

  // Teacher-forced decoder logits [B, T, V] of `target_input` [B, T].
  TF_Output decoder(const Encoded& enc, TF_Output target_input) {
    TF_Output y = g_.gather(b_.param("embedder.weight"), target_input);
    TF_Output d = sequence(lstm("decoder.att_rnn.rnn"), y, t_, h_);
    TF_Output a = attention(d, t_, enc.outputs, enc.keys, enc.lengths).first;
    for (int64_t i = 0; i + 1 < c_.num_layers; ++i) {
      TF_Output next = sequence(lstm("decoder.rnn_layers." + std::to_string(i)),
                                g_.concat({d, a}, 2), t_, 2 * h_);
      d = i == 0 ? next : g_.add(next, d);
    }
    return g_.reshape(classifier(g_.reshape(d, {-1, h_})), {-1, t_, v_});
  }

  TF_Output classifier(TF_Output d) {
    TF_Output bias = b_.param("decoder.classifier.classifier.bias");
    return b_.linear(d, b_.param("decoder.classifier.classifier.weight"), &bias);
  }

  // MODELS.md's label-smoothed loss: Σ over non-pad labels of (1−ε)·(−lp[y]) + ε·mean(−lp),
  // divided by the batch size.
  TF_Output loss(TF_Output logits, TF_Output target_output) {
    TF_Output lp = g_.op("LogSoftmax", {g_.reshape(logits, {-1, v_})});  // [B·T, V]
    TF_Output labels = g_.reshape(g_.cast(target_output, TF_INT32), {-1});
    TF_Output onehot = g_.build("OneHot")
                           .in(labels)
                           .in(g_.scalar_i32(v_))
                           .in(g_.scalar(1.0f))
                           .in(g_.scalar(0.0f))
                           .attr("axis", -1)
                           .out();
    TF_Output nll = g_.op("Neg", {g_.sum(g_.mul(onehot, lp), {1})});
    TF_Output smooth = g_.op("Neg", {g_.mean(lp, {1})});
    const auto eps = static_cast<float>(c_.label_smoothing);
    TF_Output per = g_.add(g_.mul(nll, g_.scalar(1.0f - eps)), g_.mul(smooth, g_.scalar(eps)));
    TF_Output counted = g_.cast(g_.op("NotEqual", {labels, g_.scalar_i32(0)}), TF_FLOAT);
    TF_Output batch = g_.cast(g_.build("StridedSlice")
                                  .in(g_.op("Shape", {target_output}))
                                  .in(g_.constant_i32({0}))
                                  .in(g_.constant_i32({1}))
                                  .in(g_.constant_i32({1}))
                                  .attr("Index", TF_INT32)
                                  .attr("shrink_axis_mask", int64_t{1})
                                  .out(),
                              TF_FLOAT);
    return g_.div(g_.sum(g_.mul(per, counted), {0}), batch);
  }

  /// The decoder-step subgraph's feeds and fetches.
  struct Step {
    TF_Output tokens, parents, sentences;  ///< int64 [R] each
    std::vector<TF_Output> state_in;       ///< h, c per layer: f32 [R_prev, H]
    TF_Output outputs, keys, lengths;      ///< the encoder run's results, fed back
    std::vector<TF_Output> state_out;      ///< h, c per layer: f32 [R, H]
    TF_Output top_values, top_indices;     ///< the best `width` log-probabilities [R, width]
    TF_Output attention;                   ///< α [R, S]
    int64_t width = 0;
  };

  // One decoder position for R rows: the states of the previous step gathered by `parents`, the
  // encoder's results by `sentences`, all inside the graph.
  Step step() {
    Step st;
    st.tokens = g_.placeholder(TF_INT64, {-1}, "decode/tokens");
    st.parents = g_.placeholder(TF_INT64, {-1}, "decode/parents");
    st.sentences = g_.placeholder(TF_INT64, {-1}, "decode/sentences");
    st.outputs = g_.placeholder(TF_FLOAT, {-1, s_, h_}, "decode/encoder_outputs");
    st.keys = g_.placeholder(TF_FLOAT, {-1, s_, h_}, "decode/encoder_keys");
    st.lengths = g_.placeholder(TF_INT64, {-1}, "decode/source_lengths");
    std::vector<State> states;
    for (int64_t l = 0; l < c_.num_layers; ++l) {
      const std::string n = "decode/state" + std::to_string(l);
      st.state_in.push_back(g_.placeholder(TF_FLOAT, {-1, h_}, n + "_h"));
      st.state_in.push_back(g_.placeholder(TF_FLOAT, {-1, h_}, n + "_c"));
      states.push_back({g_.gather(st.state_in[2 * l], st.parents),
                        g_.gather(st.state_in[2 * l + 1], st.parents)});
    }
    TF_Output values = g_.gather(st.outputs, st.sentences);
    TF_Output keys = g_.gather(st.keys, st.sentences);
    TF_Output lengths = g_.gather(st.lengths, st.sentences);
    TF_Output y = g_.gather(b_.param("embedder.weight"), st.tokens);  // [R, H]
    auto step_cell = [&](const std::string& prefix, TF_Output x, const State& s) {
      const Lstm l = lstm(prefix);
      State next = cell(l, b_.linear(x, l.w_ih, &l.b_ih), s);
      st.state_out.push_back(next.h);
      st.state_out.push_back(next.c);
      return next.h;
    };
    TF_Output d = step_cell("decoder.att_rnn.rnn", y, states[0]);
    auto [context, alpha] = attention(g_.reshape(d, {-1, 1, h_}), 1, values, keys, lengths);
    TF_Output a = g_.reshape(context, {-1, h_});
    st.attention = g_.reshape(alpha, {-1, s_});
    for (int64_t i = 0; i + 1 < c_.num_layers; ++i) {
      TF_Output next =
          step_cell("decoder.rnn_layers." + std::to_string(i), g_.concat({d, a}, 1), states[i + 1]);
      d = i == 0 ? next : g_.add(next, d);
    }
    TF_Output lp = g_.op("LogSoftmax", {classifier(d)});
    // The search needs each row's best K candidates, best first, the lower token id first on
    // equal values: TopKV2's order (sorted = true).
    st.width = c_.beam_width;
    TF_Operation* top = g_.build("TopKV2")
                            .in(lp)
                            .in(g_.scalar_i32(static_cast<int32_t>(st.width)))
                            .attr("sorted", true)
                            .finish();
    st.top_values = {top, 0};
    st.top_indices = {top, 1};
    return st;
  }

 private:
  std::vector<TF_Output> unstack(TF_Output x, int32_t n) {
    TF_Operation* op = g_.build("Unpack").in(x).attr("num", int64_t{n}).attr("axis", 1).finish();
    std::vector<TF_Output> out;
    for (int32_t t = 0; t < n; ++t) out.push_back({op, t});
    return out;
  }

  TF_Output stack(const std::vector<TF_Output>& xs) {
    return g_.build("Pack")
        .in_list(xs)
        .attr("N", static_cast<int64_t>(xs.size()))
        .attr("axis", 1)
        .out();
  }

  ModelBuilder& b_;
  Graph& g_;
  const GnmtConfig& c_;
  int32_t h_, v_, s_, t_;
};

HostTensor i64_host(const std::vector<int64_t>& v) {
  return HostTensor{HostTensor::DType::kI64, {static_cast<int64_t>(v.size())}, {}, v};
}

}  // namespace

void build_gnmt(ModelBuilder& b) {
  Graph& g = b.graph();
  const GnmtConfig& c = b.spec().gnmt;
  GnmtGraph net(b);
  const int64_t s = net.source_len(), t = net.target_len();

  g.set_scope("train");
  Encoded enc = net.encoder(b.input(Mode::kTrain, "source", TF_INT64, {-1, s}),
                            b.input(Mode::kTrain, "source_lengths", TF_INT64, {-1}));
  TF_Output logits = net.decoder(enc, b.input(Mode::kTrain, "target_input", TF_INT64, {-1, t}));
  b.loss = net.loss(logits, b.input(Mode::kTrain, "target_output", TF_INT64, {-1, t}));
  b.train_logits = logits;

  // Inference: the encoder run of predict(), and the teacher-forced logits of head_outputs().
  g.set_scope("infer");
  const Encoded infer = net.encoder(b.input(Mode::kInfer, "source", TF_INT64, {-1, s}),
                                    b.input(Mode::kInfer, "source_lengths", TF_INT64, {-1}));
  b.logits = net.decoder(infer, b.input(Mode::kInfer, "target_input", TF_INT64, {-1, t}));

  g.set_scope("decode");
  auto step = std::make_shared<GnmtGraph::Step>(net.step());
  g.set_scope("");

  const BeamSearchConfig search = beam_search_config(c);
  const int64_t vocab = c.vocab_size, layers = c.num_layers, hidden = c.hidden_size;
  const int64_t max_len = c.max_decode_length;
  b.predict = [infer, step, search, vocab, layers, hidden, s, max_len](
                  const ModelBuilder::Feeds& batch, const ModelBuilder::Run& run) {
    // The encoder's outputs stay TF_Tensors, fed back to every decoder step.
    std::vector<Tensor> enc = run(batch, {infer.outputs, infer.keys, infer.lengths});
    const int64_t sentences = TF_Dim(enc[0].get(), 0);
    // Step 0 continues each sentence's zero state (parents = sentences).
    std::vector<Tensor> states;
    const std::vector<float> zeros(static_cast<size_t>(sentences * hidden), 0.0f);
    for (int64_t l = 0; l < 2 * layers; ++l) states.push_back(to_tf({sentences, hidden}, zeros));
    const bool need_attention = search.cov_penalty_factor != 0.0;
    BeamStepFn decode = [&](const BeamStepRequest& req) {
      const Tensor tokens = to_tf(i64_host(req.tokens));
      const Tensor parents = to_tf(i64_host(req.parents));
      const Tensor rows = to_tf(i64_host(req.sentences));
      ModelBuilder::Feeds feeds{{step->tokens, tokens.get()},  {step->parents, parents.get()},
                                {step->sentences, rows.get()}, {step->outputs, enc[0].get()},
                                {step->keys, enc[1].get()},    {step->lengths, enc[2].get()}};
      for (size_t i = 0; i < states.size(); ++i)
        feeds.emplace_back(step->state_in[i], states[i].get());
      std::vector<TF_Output> fetches = step->state_out;
      fetches.push_back(step->top_values);
      fetches.push_back(step->top_indices);
      if (need_attention) fetches.push_back(step->attention);
      std::vector<Tensor> out = run(feeds, fetches);
      BeamStepResult result;
      result.width = step->width;
      const size_t n = states.size();
      const HostTensor values = to_host(out[n].get());
      const HostTensor indices = to_host(out[n + 1].get());
      result.log_probs = values.f32;
      result.tokens = indices.i64;
      if (need_attention) result.attention = to_host(out[n + 2].get()).f32;
      for (size_t i = 0; i < n; ++i) states[i] = std::move(out[i]);
      return result;
    };
    const BeamSearchResult result = beam_search(search, sentences, vocab, s, decode);
    return decoded_tensor(result.tokens, max_len);
  };
}

}  // namespace greenbench::workloads::tf
