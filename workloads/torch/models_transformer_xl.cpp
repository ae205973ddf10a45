// Transformer-XL (MemTransformerLM, relative partial learnable attention) in LibTorch, as
// workloads/common/MODELS.md specifies it.
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "torch/torch_backend.hpp"

namespace greenbench::workloads {
namespace {

class TransformerXl final : public TorchModel {
 public:
  TransformerXl(const ModelSpec& spec, const TorchOps& ops) : spec_(spec), ops_(ops) {}

  at::Tensor loss(const TorchBatch& batch) override {
    const at::Tensor logits = forward(batch, /*training=*/true);
    const at::Tensor target = batch.get("target");
    return at::cross_entropy_loss(logits.reshape({-1, spec_.txl.n_token}), target.reshape({-1}));
  }

  void reset_state() override { mems_.clear(); }

  static at::Tensor rel_shift(const at::Tensor& x) {
    // x [b, n, i, j] → out[b, n, i, j] = x[b, n, i, j + i_len − 1 − i] where j ≤ j_len − i_len + i.
    const at::Tensor zero_pad = at::zeros({x.size(0), x.size(1), x.size(2), 1}, x.options());
    const at::Tensor padded =
        at::cat({zero_pad, x}, 3).view({x.size(0), x.size(1), x.size(3) + 1, x.size(2)});
    return padded.slice(2, 1).view_as(x);
  }

  at::Tensor attention(const at::Tensor& h, const at::Tensor& r, const at::Tensor& mask,
                       const at::Tensor& mem, const std::string& p) {
    const TransformerXlConfig& c = spec_.txl;
    const int64_t q_len = h.size(0), bsz = h.size(1);
    const at::Tensor cat = mem.defined() && mem.size(0) > 0 ? at::cat({mem, h}, 0) : h;
    const int64_t k_len = cat.size(0);
    const std::vector<at::Tensor> heads =
        ops_.linear(cat, ops_.P(p + ".qkv_net.weight")).chunk(3, -1);
    const at::Tensor q = heads[0].slice(0, k_len - q_len).view({q_len, bsz, c.n_head, c.d_head});
    const at::Tensor k = heads[1].view({k_len, bsz, c.n_head, c.d_head});
    const at::Tensor v = heads[2].view({k_len, bsz, c.n_head, c.d_head});
    const at::Tensor rk =
        ops_.linear(r, ops_.P(p + ".r_net.weight")).view({k_len, c.n_head, c.d_head});
    const at::Tensor ac = ops_.einsum("ibnd,jbnd->bnij", q + ops_.P("r_w_bias"), k);
    const at::Tensor bd = rel_shift(ops_.einsum("ibnd,jnd->bnij", q + ops_.P("r_r_bias"), rk));
    at::Tensor score = (ac + bd) * (1.0 / std::sqrt(static_cast<double>(c.d_head)));
    score =
        score.masked_fill(mask.unsqueeze(0).unsqueeze(0), -std::numeric_limits<float>::infinity());
    const at::Tensor prob = at::softmax(score, 3);
    const at::Tensor vec =
        ops_.einsum("bnij,jbnd->ibnd", prob, v).reshape({q_len, bsz, c.n_head * c.d_head});
    const at::Tensor out = ops_.linear(vec, ops_.P(p + ".o_net.weight"));
    return at::layer_norm(h + out, {c.d_model}, ops_.P(p + ".layer_norm.weight"),
                          ops_.P(p + ".layer_norm.bias"), c.layer_norm_eps);
  }

  at::Tensor feed_forward(const at::Tensor& a, const std::string& p) {
    const TransformerXlConfig& c = spec_.txl;
    const at::Tensor inner =
        at::relu(ops_.linear(a, ops_.P(p + ".CoreNet.0.weight"), ops_.P(p + ".CoreNet.0.bias")));
    const at::Tensor f =
        ops_.linear(inner, ops_.P(p + ".CoreNet.3.weight"), ops_.P(p + ".CoreNet.3.bias"));
    return at::layer_norm(a + f, {c.d_model}, ops_.P(p + ".layer_norm.weight"),
                          ops_.P(p + ".layer_norm.bias"), c.layer_norm_eps);
  }

  at::Tensor forward(const TorchBatch& batch, bool training) override {
    const TransformerXlConfig& c = spec_.txl;
    const at::Tensor data = batch.get("data");
    const int64_t q_len = data.size(0);
    const int64_t mem_limit = training ? c.mem_len : c.eval_mem_len;
    const int64_t clamp = training ? c.clamp_len : c.eval_clamp_len;
    const int64_t m_len = mems_.empty() ? 0 : mems_[0].size(0);
    const int64_t k_len = m_len + q_len;
    const auto f32 = at::TensorOptions().dtype(at::kFloat).device(ops_.device());

    at::Tensor h =
        at::embedding(ops_.P("word_emb.weight"), data) * std::sqrt(static_cast<double>(c.d_model));
    at::Tensor pos = at::arange(static_cast<double>(k_len - 1), -1.0, -1.0, f32);
    if (clamp > 0) pos = pos.clamp_max(static_cast<double>(clamp));
    const at::Tensor inv_freq =
        1.0 / at::pow(10000.0, at::arange(0.0, static_cast<double>(c.d_model), 2.0, f32) /
                                   static_cast<double>(c.d_model));
    const at::Tensor sinusoid = at::outer(pos, inv_freq);
    const at::Tensor r = at::cat({sinusoid.sin(), sinusoid.cos()}, -1);
    const at::Tensor mask =
        at::ones({q_len, k_len}, at::TensorOptions().dtype(at::kBool).device(ops_.device()))
            .triu(1 + m_len);

    std::vector<at::Tensor> hids = {h};
    for (int64_t l = 0; l < c.n_layer; ++l) {
      const std::string p = "layers." + std::to_string(l);
      const at::Tensor mem = mems_.empty() ? at::Tensor() : mems_[static_cast<size_t>(l)];
      const at::Tensor a = attention(h, r, mask, mem, p + ".dec_attn");
      h = feed_forward(a, p + ".pos_ff");
      hids.push_back(h);
    }
    {
      // New memory: the last mem_limit inputs of each layer, without gradient.
      c10::NoGradGuard no_grad;
      std::vector<at::Tensor> next;
      const int64_t end = m_len + q_len;
      const int64_t begin = std::max<int64_t>(0, end - mem_limit);
      for (int64_t l = 0; l < c.n_layer; ++l) {
        const at::Tensor& hl = hids[static_cast<size_t>(l)];
        const at::Tensor cat =
            m_len > 0 ? at::cat({mems_[static_cast<size_t>(l)], hl.detach()}, 0) : hl.detach();
        next.push_back(cat.slice(0, begin, end).contiguous());
      }
      mems_ = std::move(next);
    }
    return ops_.linear(h, ops_.P("word_emb.weight"), ops_.P("crit.out_layers.0.bias"));
  }

 private:
  const ModelSpec& spec_;
  const TorchOps& ops_;
  std::vector<at::Tensor> mems_;
};

}  // namespace

std::unique_ptr<TorchModel> make_transformer_xl(const ModelSpec& spec, const TorchOps& ops) {
  return std::make_unique<TransformerXl>(spec, ops);
}

}  // namespace greenbench::workloads
