// NCF (NeuMF) in LibTorch, as workloads/common/MODELS.md specifies it.
#include <memory>
#include <string>

#include "torch/torch_backend.hpp"

namespace greenbench::workloads {
namespace {

class Ncf final : public TorchModel {
 public:
  Ncf(const ModelSpec& spec, const TorchOps& ops) : spec_(spec), ops_(ops) {}

  at::Tensor forward(const TorchBatch& batch, bool /*training*/) override {
    const at::Tensor users = batch.get("users");
    const at::Tensor items = batch.get("items");
    const at::Tensor gmf = at::embedding(ops_.P("mf_user_embed.weight"), users) *
                           at::embedding(ops_.P("mf_item_embed.weight"), items);
    at::Tensor h = at::cat({at::embedding(ops_.P("mlp_user_embed.weight"), users),
                            at::embedding(ops_.P("mlp_item_embed.weight"), items)},
                           1);
    for (size_t j = 0; j + 1 < spec_.ncf.mlp_sizes.size(); ++j) {
      const std::string p = "mlp." + std::to_string(j);
      h = at::relu(ops_.linear(h, ops_.P(p + ".weight"), ops_.P(p + ".bias")));
    }
    return ops_.linear(at::cat({gmf, h}, 1), ops_.P("final.weight"), ops_.P("final.bias"));
  }

  at::Tensor loss(const TorchBatch& batch) override {
    const at::Tensor logits = forward(batch, /*training=*/true);
    const at::Tensor labels = batch.get("labels");
    return at::binary_cross_entropy_with_logits(logits.squeeze(1), labels);
  }

 private:
  const ModelSpec& spec_;
  const TorchOps& ops_;
};

}  // namespace

std::unique_ptr<TorchModel> make_ncf(const ModelSpec& spec, const TorchOps& ops) {
  return std::make_unique<Ncf>(spec, ops);
}

}  // namespace greenbench::workloads
