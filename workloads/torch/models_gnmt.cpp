// GNMT v2 in LibTorch, as workloads/common/MODELS.md ("GNMT v2") specifies it: the shared
// embedding, the residual LSTM encoder with its bidirectional first layer over the valid positions
// only, normalised Bahdanau attention, the residual LSTM decoder and the classifier; the
// label-smoothed loss; and inference by the shared beam search (common/beam_search.hpp), for
// which this file runs one decoder step at a time on device-resident states.
#include <c10/core/GradMode.h>

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/beam_search.hpp"
#include "common/data_translation.hpp"
#include "torch/torch_backend.hpp"

namespace greenbench::workloads {
namespace {

// DLE's mask value for source positions past a sentence's length (the largest float16).
constexpr double kMaskScore = -65504.0;

class Gnmt final : public TorchModel {
 public:
  Gnmt(const ModelSpec& spec, const TorchOps& ops) : spec_(spec), ops_(ops) {}

  // Teacher-forced logits f32 [B, T, V].
  at::Tensor forward(const TorchBatch& batch, bool training) override {
    const Encoded enc = encode(batch.get("source"), batch.get("source_lengths"), training);
    const at::Tensor y = embed(batch.get("target_input"));
    const int64_t b = y.size(0);
    std::vector<State> state(static_cast<size_t>(spec_.gnmt.num_layers), zero_state(b));
    return decode(y, enc, state, training, nullptr);
  }

  // (1/B) Σ over the non-pad labels of (1 − ε)·nll + ε·mean_k(−lp_k): cross entropy with label
  // smoothing, pads ignored, summed (what PyTorch's cross_entropy computes for this).
  at::Tensor loss(const TorchBatch& batch) override {
    const at::Tensor logits = forward(batch, /*training=*/true);
    const at::Tensor target = batch.get("target_output");
    const int64_t v = logits.size(2);
    return at::cross_entropy_loss(logits.reshape({-1, v}), target.reshape({-1}), {},
                                  at::Reduction::Sum, kPadToken, spec_.gnmt.label_smoothing) /
           static_cast<double>(target.size(0));
  }

  // The decoded tokens int64 [B, max_decode_length] of the shared beam search.
  HostTensor predict(const TorchBatch& batch) override {
    const GnmtConfig& g = spec_.gnmt;
    const Encoded enc = encode(batch.get("source"), batch.get("source_lengths"), false);
    const int64_t sentences = enc.keys.size(0);
    const int64_t source_len = enc.keys.size(1);
    const BeamSearchConfig config = beam_search_config(g);
    const int64_t width = std::min(config.beam_width, g.vocab_size);
    const auto i64 = at::TensorOptions().dtype(at::kLong);
    std::vector<State> state;  // per decoder LSTM, rows of the previous step
    const BeamStepFn step = [&](const BeamStepRequest& req) {
      const auto rows = static_cast<int64_t>(req.tokens.size());
      const auto to_device = [&](const std::vector<int64_t>& v) {
        return at::from_blob(const_cast<int64_t*>(v.data()), {rows}, i64).to(ops_.device());
      };
      const at::Tensor tokens = to_device(req.tokens);
      const at::Tensor sentence = to_device(req.sentences);
      if (req.step == 0) {
        state.assign(static_cast<size_t>(g.num_layers), zero_state(rows));
      } else {
        const at::Tensor parents = to_device(req.parents);
        for (State& s : state) {
          s = {s.h.index_select(0, parents), s.c.index_select(0, parents)};
        }
      }
      const Encoded rows_enc = {enc.keys.index_select(0, sentence),
                                enc.keys_proj.index_select(0, sentence),
                                enc.lengths.index_select(0, sentence)};
      at::Tensor attention;
      const at::Tensor logits = decode(embed(tokens.unsqueeze(1)), rows_enc, state, false,
                                       config.cov_penalty_factor != 0.0 ? &attention : nullptr)
                                    .squeeze(1);  // [R, V]
      const at::Tensor lp = at::log_softmax(logits, 1);
      // The row's best `width` by log-probability, ties to the lower token id (stable sort).
      const auto [values, indices] = at::sort(lp, /*stable=*/true, /*dim=*/1, /*descending=*/true);
      BeamStepResult out;
      out.width = width;
      const at::Tensor best = values.narrow(1, 0, width).contiguous().cpu();
      const at::Tensor ids = indices.narrow(1, 0, width).contiguous().cpu();
      out.log_probs.assign(best.data_ptr<float>(), best.data_ptr<float>() + best.numel());
      out.tokens.assign(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
      if (attention.defined()) {
        const at::Tensor a = attention.squeeze(1).contiguous().cpu();  // [R, S]
        out.attention.assign(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
      }
      return out;
    };
    const BeamSearchResult result = beam_search(config, sentences, g.vocab_size, source_len, step);
    return decoded_tensor(result.tokens, g.max_decode_length);
  }

  // The teacher-forced logits of the batch's target_input, in inference mode.
  HostTensor head_outputs(const TorchBatch& batch) override {
    return host_f32(forward(batch, /*training=*/false));
  }

 private:
  struct State {
    at::Tensor h, c;  // [R, H] each
  };
  struct Encoded {
    at::Tensor keys;       // K [B, S, H]
    at::Tensor keys_proj;  // K·linear_kᵀ [B, S, H]
    at::Tensor lengths;    // ℓ [B]
  };

  State zero_state(int64_t rows) const {
    const at::Tensor z = at::zeros({rows, spec_.gnmt.hidden_size},
                                   at::TensorOptions().dtype(at::kFloat).device(ops_.device()));
    return {z, z};
  }

  // The shared embedding; the pad row gets no gradient (DLE's padding_idx).
  at::Tensor embed(const at::Tensor& ids) const {
    return at::embedding(ops_.P("embedder.weight"), ids, /*padding_idx=*/kPadToken);
  }

  at::Tensor layer(const at::Tensor& x, const std::string& prefix, State& s, bool training,
                   const std::string& suffix = "") const {
    auto [out, h, c] = ops_.lstm(x, prefix, suffix, s.h, s.c, training);
    s = {h, c};
    return out;
  }

  // The encoder. Its first layer sees positions t < ℓ_b only: the forward direction runs over
  // the padded sentence (its outputs before ℓ_b do not depend on later positions), the backward
  // direction over each sentence reversed within its length (positions ≥ ℓ_b stay in place, after
  // the valid ones), and both outputs are 0 past ℓ_b. This is what pack_padded_sequence computes,
  // without sorting the batch by length.
  Encoded encode(const at::Tensor& source, const at::Tensor& lengths, bool training) const {
    const GnmtConfig& g = spec_.gnmt;
    const int64_t b = source.size(0);
    const int64_t s = source.size(1);
    const int64_t hidden = g.hidden_size;
    const at::Tensor e = embed(source);  // [B, S, H]
    const at::Tensor pos = at::arange(s, lengths.options()).unsqueeze(0);
    const at::Tensor len = lengths.unsqueeze(1);
    const at::Tensor valid = pos < len;                                // [B, S]
    const at::Tensor reversed = at::where(valid, len - 1 - pos, pos);  // an involution
    const at::Tensor gather = reversed.unsqueeze(2).expand({b, s, hidden});
    State fwd_state = zero_state(b);
    State bwd_state = zero_state(b);
    const at::Tensor fwd = layer(e, "encoder.rnn_layers.0", fwd_state, training);
    const at::Tensor bwd =
        layer(e.gather(1, gather), "encoder.rnn_layers.0", bwd_state, training, "_reverse")
            .gather(1, gather);
    at::Tensor x = at::cat({fwd, bwd}, 2).masked_fill(valid.logical_not().unsqueeze(2), 0.0);
    State st = zero_state(b);
    x = layer(x, "encoder.rnn_layers.1", st, training);
    for (int64_t i = 2; i < g.num_layers; ++i) {
      st = zero_state(b);
      x = layer(x, "encoder.rnn_layers." + std::to_string(i), st, training) + x;
    }
    return {x, ops_.linear(x, ops_.P("decoder.att_rnn.attn.linear_k.weight")), lengths};
  }

  // Normalised Bahdanau attention of queries q [N, Tq, H] over the encoder outputs: the context
  // [N, Tq, H] and the weights α [N, Tq, S].
  std::pair<at::Tensor, at::Tensor> attend(const at::Tensor& q, const Encoded& enc) const {
    const std::string p = "decoder.att_rnn.attn.";
    const at::Tensor& att = ops_.P(p + "linear_att");
    const at::Tensor v = att / at::linalg_vector_norm(att, 2) * ops_.P(p + "normalize_scalar");
    const at::Tensor pq = ops_.linear(q, ops_.P(p + "linear_q.weight"));  // [N, Tq, H]
    const at::Tensor sum =
        pq.unsqueeze(2) + enc.keys_proj.unsqueeze(1) + ops_.P(p + "normalize_bias");
    at::Tensor score = at::matmul(at::tanh(sum), v);  // [N, Tq, S]
    const int64_t s = enc.keys.size(1);
    const at::Tensor past =
        at::arange(s, enc.lengths.options()).view({1, 1, s}) >= enc.lengths.view({-1, 1, 1});
    score = score.masked_fill(past, kMaskScore);
    const at::Tensor alpha = at::softmax(score, 2);
    return {at::bmm(alpha, enc.keys), alpha};
  }

  // The decoder over inputs y [N, T, H] from `state` (updated to the states after the last
  // position): logits [N, T, V]; the attention weights [N, T, S] in `attention` when asked.
  at::Tensor decode(const at::Tensor& y, const Encoded& enc, std::vector<State>& state,
                    bool training, at::Tensor* attention) const {
    const GnmtConfig& g = spec_.gnmt;
    const at::Tensor d1 = layer(y, "decoder.att_rnn.rnn", state[0], training);
    auto [context, alpha] = attend(d1, enc);
    if (attention != nullptr) {
      *attention = alpha;
    }
    at::Tensor x = layer(at::cat({d1, context}, 2), "decoder.rnn_layers.0", state[1], training);
    for (int64_t i = 1; i + 1 < g.num_layers; ++i) {
      x = layer(at::cat({x, context}, 2), "decoder.rnn_layers." + std::to_string(i),
                state[static_cast<size_t>(i) + 1], training) +
          x;
    }
    return ops_.linear(x, ops_.P("decoder.classifier.classifier.weight"),
                       ops_.P("decoder.classifier.classifier.bias"));
  }

  const ModelSpec& spec_;
  const TorchOps& ops_;
};

}  // namespace

std::unique_ptr<TorchModel> make_gnmt(const ModelSpec& spec, const TorchOps& ops) {
  return std::make_unique<Gnmt>(spec, ops);
}

}  // namespace greenbench::workloads
