#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "common/driver.hpp"
#include "common/models.hpp"
#include "common/weights.hpp"
#include "greenbench/error.hpp"

namespace greenbench::workloads {
namespace {

TEST(ModelSpec, ResNet50PaperHasTorchvisionsParameterCount) {
  // torchvision.models.resnet50(): 25,557,032 trainable parameters.
  EXPECT_EQ(make_model_spec("resnet50", "paper").trainable_parameter_count(), 25557032);
}

TEST(ModelSpec, NcfAndTransformerXlCountsFollowTheirFormulas) {
  const ModelSpec n = make_model_spec("ncf", "paper");
  const int64_t users = n.ncf.num_users, items = n.ncf.num_items;
  // mf 1 + mlp 1 per user and item, MLP 2→2→1→1, final 2→1.
  EXPECT_EQ(n.trainable_parameter_count(), (users + items) * 2 + (4 + 2) + (2 + 1) + (1 + 1) + 3);

  const ModelSpec t = make_model_spec("transformer_xl", "tiny");
  const auto& c = t.txl;
  const int64_t hd = c.n_head * c.d_head;
  const int64_t per_layer = 3 * hd * c.d_model + hd * c.d_model + c.d_model * hd + 2 * c.d_model +
                            c.d_inner * c.d_model + c.d_inner + c.d_model * c.d_inner + c.d_model +
                            2 * c.d_model;
  EXPECT_EQ(t.trainable_parameter_count(),
            c.n_token * c.d_model + 2 * hd + c.n_layer * per_layer + c.n_token);
}

TEST(ModelSpec, NamesAreUniqueAndBuffersAreMarked) {
  for (const std::string& model : model_names()) {
    for (const std::string& scale : scale_names()) {
      const ModelSpec s = make_model_spec(model, scale);
      std::set<std::string> names;
      for (const ParamSpec& p : s.params) {
        EXPECT_TRUE(names.insert(p.name).second) << p.name;
        const bool running = p.name.find("running_") != std::string::npos;
        if (model == "mask_rcnn" && s.mask_rcnn.frozen_bn) {
          // Frozen batch norm and the frozen stages are buffers too (MODELS.md, "Mask R-CNN").
          if (running) EXPECT_FALSE(p.trainable) << p.name;
          continue;
        }
        EXPECT_EQ(p.trainable, !running) << p.name;
      }
      EXPECT_GT(s.batch_size, 0);
      EXPECT_GT(s.train_steps, 0);
      EXPECT_GT(s.eval_batches, 0);
    }
  }
}

TEST(ModelSpec, UnknownModelOrScaleIsNamed) {
  try {
    (void)make_model_spec("bert", "tiny");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'bert'"), std::string::npos);
  }
  EXPECT_THROW((void)make_model_spec("ncf", "huge"), Error);
}

TEST(InitialWeights, FollowTheInitRulesAndTheSeed) {
  const ModelSpec s = make_model_spec("transformer_xl", "tiny");
  const Weights a = make_initial_weights(s, 1);
  EXPECT_NO_THROW(check_weights(s, a, "test"));
  EXPECT_EQ(trainable_count(a), s.trainable_parameter_count());
  EXPECT_EQ(make_initial_weights(s, 1)[0].value.f32, a[0].value.f32);
  EXPECT_NE(make_initial_weights(s, 2)[0].value.f32, a[0].value.f32);
  // word_emb ~ N(0, 0.02²), layer-norm weight ~ N(1, 0.02²), biases 0.
  const auto moments = [](const std::vector<float>& v) {
    double m = 0, m2 = 0;
    for (float x : v) m += x;
    m /= static_cast<double>(v.size());
    for (float x : v) m2 += (x - m) * (x - m);
    return std::pair{m, std::sqrt(m2 / static_cast<double>(v.size()))};
  };
  const auto [emb_mean, emb_std] = moments(a[0].value.f32);
  EXPECT_NEAR(emb_mean, 0.0, 0.002);
  EXPECT_NEAR(emb_std, 0.02, 0.002);
  for (const NamedTensor& w : a) {
    if (w.name.ends_with("layer_norm.weight")) EXPECT_NEAR(moments(w.value.f32).first, 1.0, 0.01);
    if (w.name.ends_with(".bias") && w.name.find("layer_norm") == std::string::npos) {
      for (float x : w.value.f32) EXPECT_EQ(x, 0.0F);
    }
  }
  Weights bad = a;
  bad[1].name = "renamed";
  EXPECT_THROW(check_weights(s, bad, "test"), Error);
}

TEST(LearningRate, ConstantAndWarmupCosine) {
  const LrSchedule constant{"constant", 0.5, 0, 0.0};
  EXPECT_DOUBLE_EQ(learning_rate_at(constant, 17, 100), 0.5);
  const LrSchedule s{"warmup_cosine", 1.0, 4, 0.1};
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 0, 104), 0.25);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 3, 104), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 4, 104), 1.0);      // cosine starts at the base
  EXPECT_NEAR(learning_rate_at(s, 54, 104), 0.55, 1e-12);  // halfway: (base + min) / 2
  EXPECT_NEAR(learning_rate_at(s, 104, 104), 0.1, 1e-12);  // ends at min
}

TEST(WorkerArgs, DefaultsComeFromThePreset) {
  const ParsedArgs a = parse_worker_args({"--model", "resnet50", "--phase=infer"});
  const ModelSpec spec = make_model_spec("resnet50", "tiny");
  EXPECT_EQ(a.settings.model, "resnet50");
  EXPECT_EQ(a.settings.phase, "infer");
  EXPECT_EQ(a.settings.scale, "tiny");
  EXPECT_EQ(a.settings.seed, 1U);
  EXPECT_EQ(a.settings.threads, 1);
  EXPECT_EQ(a.settings.steps, spec.train_steps);
  EXPECT_EQ(a.settings.batch_size, spec.batch_size);
  const ParsedArgs b = parse_worker_args({"--model", "ncf", "--phase", "train", "--steps", "3",
                                          "--batch-size", "8", "--seed", "9", "--threads", "2"});
  EXPECT_EQ(b.settings.steps, 3);
  EXPECT_EQ(b.settings.batch_size, 8);
  EXPECT_EQ(b.settings.seed, 9U);
  EXPECT_EQ(b.settings.threads, 2);
  EXPECT_TRUE(parse_worker_args({"--help"}).help);
}

TEST(WorkerArgs, ErrorsNameTheFlagAndValue) {
  const auto message = [](const std::vector<std::string>& args) {
    try {
      (void)parse_worker_args(args);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"--model", "vgg", "--phase", "train"}).find("'vgg'"), std::string::npos);
  EXPECT_NE(message({"--model", "ncf", "--phase", "test"}).find("--phase"), std::string::npos);
  EXPECT_NE(message({"--model", "ncf", "--phase", "train", "--scale", "xl"}).find("'xl'"),
            std::string::npos);
  EXPECT_NE(message({"--model", "ncf", "--phase", "train", "--bogus"}).find("--bogus"),
            std::string::npos);
  EXPECT_NE(message({"--model", "ncf", "--phase", "train", "--steps", "0"}).find("--steps"),
            std::string::npos);
  EXPECT_NE(message({"--model", "ncf", "--phase", "train", "--seed", "-1"}).find("--seed"),
            std::string::npos);
  EXPECT_NE(message({"--model", "ncf", "--phase", "train", "--device", "tpu"}).find("'tpu'"),
            std::string::npos);
  EXPECT_NE(message({"--model", "ncf", "--phase"}).find("needs a value"), std::string::npos);
  EXPECT_NE(message({"--phase", "train"}).find("--model"), std::string::npos);
}

}  // namespace
}  // namespace greenbench::workloads
