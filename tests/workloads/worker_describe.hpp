#pragma once
// What a worker's --describe must say of a model: the specification's parameters, in order and
// shape, and its trainable parameter count (the first evidence that two workers build the same
// model).
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/models.hpp"
#include "workloads/worker_run.hpp"

namespace greenbench::workloads::test {

/// Checks one --describe run of `framework`'s worker for `model` at `scale`.
inline void expect_describe_matches_spec(const RunResult& r, const std::string& framework,
                                         const std::string& model, const std::string& scale) {
  SCOPED_TRACE(model + " " + scale);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("framework"), framework);
  const ModelSpec spec = make_model_spec(model, scale);
  EXPECT_EQ(j.at("parameter_count").get<int64_t>(), spec.trainable_parameter_count());
  ASSERT_EQ(j.at("layers").size(), spec.params.size());
  for (size_t i = 0; i < spec.params.size(); ++i) {
    EXPECT_EQ(j.at("layers")[i].at("name"), spec.params[i].name);
    EXPECT_EQ(j.at("layers")[i].at("shape").get<std::vector<int64_t>>(), spec.params[i].shape);
  }
}

}  // namespace greenbench::workloads::test
