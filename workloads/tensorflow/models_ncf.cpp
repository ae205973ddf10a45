// NCF (NeuMF) on the TensorFlow graph, as workloads/common/MODELS.md specifies it.
#include "greenbench/error.hpp"
#include "tf_backend.hpp"

namespace greenbench::workloads::tf {
namespace {

TF_Output forward(ModelBuilder& b, Mode mode) {
  Graph& g = b.graph();
  const NcfConfig& c = b.spec().ncf;
  TF_Output users = b.input(mode, "users", TF_INT64, {-1});
  TF_Output items = b.input(mode, "items", TF_INT64, {-1});
  // GMF branch: elementwise product of the user and item factors.
  TF_Output gmf = g.mul(g.gather(b.param("mf_user_embed.weight"), users),
                        g.gather(b.param("mf_item_embed.weight"), items));
  // MLP branch on the concatenated user and item embeddings.
  TF_Output x = g.concat({g.gather(b.param("mlp_user_embed.weight"), users),
                          g.gather(b.param("mlp_item_embed.weight"), items)},
                         1);
  for (size_t i = 1; i < c.mlp_sizes.size(); ++i) {
    const std::string p = "mlp." + std::to_string(i - 1);
    TF_Output bias = b.param(p + ".bias");
    x = g.relu(b.linear(x, b.param(p + ".weight"), &bias));
  }
  TF_Output bias = b.param("final.bias");
  return b.linear(g.concat({gmf, x}, 1), b.param("final.weight"), &bias);  // [batch, 1]
}

}  // namespace

void build_ncf(ModelBuilder& b) {
  Graph& g = b.graph();
  g.set_scope("train");
  TF_Output x = g.reshape(forward(b, Mode::kTrain), {-1});
  TF_Output z = b.input(Mode::kTrain, "labels", TF_FLOAT, {-1});
  // Binary cross entropy with logits, mean over the batch: softplus(x) − x·z is the stable form
  // of −z·log σ(x) − (1−z)·log(1−σ(x)).
  b.loss = g.mean(g.sub(g.op("Softplus", {x}), g.mul(x, z)), {0});
  g.set_scope("infer");
  b.logits = forward(b, Mode::kInfer);
  g.set_scope("");
}

}  // namespace greenbench::workloads::tf
