// One rule for labels: a study file and an imported CSV accept and refuse the same ones, with the
// same words, and export refuses to write what import would refuse.
#include "greenbench/label.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "greenbench/error.hpp"
#include "greenbench/store.hpp"
#include "greenbench/study.hpp"

namespace greenbench {
namespace {

using ::testing::HasSubstr;

std::string study_with(const std::string& framework) {
  return "[[command]]\nframework = \"" + framework +
         "\"\nmodel = \"m\"\nphase = \"train\"\nargv = [\"/bin/true\"]\n";
}

std::string csv_with(const std::string& framework) {
  return "model,framework,phase,run,metric,value,unit\nm," + framework + ",train,1,duration,1,s\n";
}

// The message of the one error, or "" when it parsed.
std::string study_error(const std::string& framework) {
  try {
    parse_study(study_with(framework), "study.toml", "/");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string csv_error(const std::string& framework) {
  try {
    parse_long_csv(csv_with(framework), "in.csv");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Label, TheRule) {
  for (const char* ok : {"PyTorch", "pytorch", "tf-2.16", "JAX_0.4", "a", "9lives"}) {
    EXPECT_EQ(label_problem(ok), "") << ok;
  }
  for (const char* bad : {"", "torch:2", "-x", ".hidden", "a/b", "a b", "naïve", "a\"b"}) {
    EXPECT_NE(label_problem(bad), "") << bad;
  }
  EXPECT_EQ(label_problem(std::string(64, 'a')), "");
  EXPECT_NE(label_problem(std::string(65, 'a')), "");
}

TEST(Label, AStudyFileAndAnImportAcceptTheSameLabel) {
  for (const char* label : {"PyTorch", "TensorFlow-2.16", "my_fw.v1"}) {
    EXPECT_EQ(study_error(label), "") << label;
    EXPECT_EQ(csv_error(label), "") << label;
  }
  const StudySettings s = parse_study(study_with("PyTorch"), "study.toml", "/");
  ASSERT_EQ(s.commands.size(), 1u);
  EXPECT_EQ(s.commands[0].framework, "PyTorch");
}

TEST(Label, AStudyFileAndAnImportRefuseTheSameLabelWithTheSameLine) {
  for (const char* label : {"torch:2", "-torch", "a b"}) {
    const std::string why = label_problem(label);
    ASSERT_NE(why, "");
    const std::string from_study = study_error(label);
    const std::string from_csv = csv_error(label);
    EXPECT_THAT(from_study, HasSubstr(why)) << label;
    EXPECT_THAT(from_csv, HasSubstr(why)) << label;
    EXPECT_EQ(from_study.find('\n'), std::string::npos) << from_study;
    EXPECT_EQ(from_csv.find('\n'), std::string::npos) << from_csv;
  }
}

TEST(Label, ExportRefusesWhatImportWouldRefuse) {
  ResultSet results;
  results.path = "old";
  Observation o;
  o.model = "m";
  o.framework = "torch:2";
  o.phase = "train";
  o.run = 1;
  o.metric = "duration";
  o.value = 1;
  o.unit = "s";
  results.observations.push_back(o);
  try {
    to_long_csv(results);
    FAIL() << "exported a label that import refuses";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(label_problem("torch:2")));
  }
  results.observations[0].framework = "PyTorch";
  EXPECT_THAT(to_long_csv(results), HasSubstr("m,PyTorch,train,1,duration"));
}

}  // namespace
}  // namespace greenbench
