// The op taxonomy and summarise_profile on hand-made worker profiles (tests/profile/data).
#include "greenbench/profile.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "greenbench/error.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const std::string kData = std::string(GREENBENCH_SOURCE_DIR) + "/tests/profile/data/";

json fixture() {
  std::ifstream in(kData + "worker_profile_torch_train.json");
  return json::parse(in);
}

OpTaxonomy test_taxonomy() { return OpTaxonomy::load(kData + "taxonomy.tsv"); }

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    std::string pattern = (fs::temp_directory_path() / "greenbench-taxonomy-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd >= 0) close(fd);
    path_ = pattern;
    std::ofstream(path_) << text;
  }
  ~TempFile() { fs::remove(path_); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The message of the Error that loading `text` as a taxonomy throws ("" when none).
std::string load_error(const std::string& text, std::string* path = nullptr) {
  TempFile file(text);
  if (path != nullptr) *path = file.path();
  try {
    OpTaxonomy::load(file.path());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* const kHeader = "framework\tname\tcategory\n";

TEST(OpTaxonomy, CategoriesInContractOrder) {
  EXPECT_EQ(op_categories(), (std::vector<std::string>{
                                 "conv", "matmul", "norm", "activation", "pool", "embedding",
                                 "recurrent", "attention", "softmax_loss", "elementwise",
                                 "reduction", "optimizer", "layout_copy", "nms_decode", "other"}));
}

TEST(OpTaxonomy, LoadsRowsSkippingCommentsBlankLinesAndCarriageReturns) {
  const OpTaxonomy t = test_taxonomy();
  EXPECT_EQ(t.category("pytorch", "aten::addmm"), "matmul");
  EXPECT_EQ(t.category("pytorch", "aten::relu"), "activation");
  EXPECT_EQ(t.category("tensorflow", "MatMul"), "matmul");  // its line ends in CRLF
  // By framework: the same name in the other framework is unmapped.
  EXPECT_EQ(t.category("tensorflow", "aten::addmm"), "");
  EXPECT_EQ(t.category("pytorch", "aten::unknown"), "");
}

TEST(OpTaxonomy, UnknownCategoryNamesFileLineAndValue) {
  std::string path;
  const std::string e = load_error(
      std::string("# c\n") + kHeader + "pytorch\taten::mm\tmatmul\npytorch\tx\tconvv\n", &path);
  EXPECT_THAT(e, HasSubstr(path + ":4: unknown category 'convv'"));
  EXPECT_THAT(e, HasSubstr("conv, matmul"));
}

TEST(OpTaxonomy, DuplicateRowNamesBothLines) {
  std::string path;
  const std::string e = load_error(
      std::string(kHeader) + "pytorch\taten::mm\tmatmul\n# x\npytorch\taten::mm\tmatmul\n", &path);
  EXPECT_THAT(e, HasSubstr(path + ":4: duplicate row for pytorch op 'aten::mm' (first at line 2)"));
  // The same name in the other framework is no duplicate.
  EXPECT_EQ(
      load_error(std::string(kHeader) + "pytorch\tMatMul\tmatmul\ntensorflow\tMatMul\tmatmul\n"),
      "");
}

TEST(OpTaxonomy, WrongColumnCount) {
  std::string path;
  EXPECT_THAT(load_error(std::string(kHeader) + "pytorch aten::mm matmul\n", &path),
              HasSubstr(path + ":2: expected 3 tab-separated columns (framework, name, category), "
                               "got 1"));
  EXPECT_THAT(load_error(std::string(kHeader) + "pytorch\taten::mm\tmatmul\textra\n"),
              HasSubstr(":2: expected 3 tab-separated columns"));
}

TEST(OpTaxonomy, HeaderFrameworkAndEmptyName) {
  std::string path;
  EXPECT_THAT(load_error("pytorch\taten::mm\tmatmul\n", &path),
              HasSubstr(path + ":1: expected the header 'framework<TAB>name<TAB>category'"));
  EXPECT_THAT(load_error("# only comments\n"), HasSubstr("no header line"));
  EXPECT_THAT(load_error(std::string(kHeader) + "torch\taten::mm\tmatmul\n"),
              HasSubstr(":2: unknown framework 'torch'"));
  EXPECT_THAT(load_error(std::string(kHeader) + "pytorch\t\tmatmul\n"),
              HasSubstr(":2: empty op name"));
  EXPECT_THROW(OpTaxonomy::load("/nonexistent/op_taxonomy.tsv"), Error);
}

TEST(OpTaxonomy, BuiltinIsFoundAndLoads) {
  unsetenv("GREENBENCH_OP_TAXONOMY");
  EXPECT_NO_THROW(OpTaxonomy::builtin());
  EXPECT_THAT(OpTaxonomy::find(), HasSubstr("op_taxonomy.tsv"));
  setenv("GREENBENCH_OP_TAXONOMY", (kData + "taxonomy.tsv").c_str(), 1);
  EXPECT_EQ(OpTaxonomy::find(), kData + "taxonomy.tsv");
  EXPECT_EQ(OpTaxonomy::builtin().category("pytorch", "aten::mm"), "matmul");
  setenv("GREENBENCH_OP_TAXONOMY", "/nonexistent/taxonomy.tsv", 1);
  try {
    OpTaxonomy::find();
    ADD_FAILURE() << "a missing explicit table was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("GREENBENCH_OP_TAXONOMY: no such file"));
  }
  unsetenv("GREENBENCH_OP_TAXONOMY");
}

TEST(SummariseProfile, CategoriesOverheadAndAttributedEnergy) {
  const Profile p = summarise_profile(fixture(), test_taxonomy(), 10.0, "estimated", "f.json");
  EXPECT_EQ(p.framework, "pytorch");
  EXPECT_EQ(p.model, "ncf");
  EXPECT_EQ(p.phase, "train");
  EXPECT_EQ(p.threads, 2);
  EXPECT_EQ(p.steps, 4);
  EXPECT_DOUBLE_EQ(p.phase_s, 1.0);
  EXPECT_EQ(p.energy_quality, "estimated");
  // Every category is there, zero or not.
  EXPECT_EQ(p.categories.size(), op_categories().size());
  EXPECT_NEAR(p.categories.at("matmul").self_s, 0.5, 1e-12);
  EXPECT_NEAR(p.categories.at("matmul").share, 0.5, 1e-12);
  EXPECT_NEAR(p.categories.at("matmul").energy_j, 5.0, 1e-12);
  EXPECT_NEAR(p.categories.at("activation").energy_j, 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(p.categories.at("conv").self_s, 0);
  // The optimizer's pass is "optimizer" although the table says aten::add_ is elementwise.
  EXPECT_NEAR(p.categories.at("optimizer").self_s, 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(p.categories.at("elementwise").self_s, 0);
  // The unmapped op is listed and counted in "other".
  EXPECT_EQ(p.unmapped, std::vector<std::string>{"aten::mystery"});
  EXPECT_NEAR(p.categories.at("other").self_s, 0.05, 1e-12);
  // Overhead: phase − Σ self, with its share and attributed energy.
  EXPECT_NEAR(p.framework_overhead_s, 0.3, 1e-12);
  EXPECT_NEAR(p.framework_overhead_share, 0.3, 1e-12);
  EXPECT_NEAR(p.framework_overhead_energy_j, 3.0, 1e-12);
  // Categories and overhead add up to the phase, in time, share and energy.
  double seconds = p.framework_overhead_s, share = p.framework_overhead_share,
         energy = p.framework_overhead_energy_j;
  for (const auto& [name, c] : p.categories) {
    seconds += c.self_s;
    share += c.share;
    energy += c.energy_j;
  }
  EXPECT_NEAR(seconds, 1.0, 1e-12);
  EXPECT_NEAR(share, 1.0, 1e-12);
  EXPECT_NEAR(energy, 10.0, 1e-12);
  // Ops by self time, largest first, each with its energy share.
  ASSERT_EQ(p.ops.size(), 5u);
  EXPECT_EQ(p.ops[0].name, "aten::addmm");
  EXPECT_EQ(p.ops[0].category, "matmul");
  EXPECT_EQ(p.ops[0].calls, 12);
  EXPECT_NEAR(p.ops[0].energy_j, 3.0, 1e-12);
  EXPECT_EQ(p.ops[1].name, "aten::mm");
  EXPECT_EQ(p.ops[1].pass, "backward");
  EXPECT_EQ(p.ops[2].name, "aten::add_");
  EXPECT_EQ(p.ops[2].category, "optimizer");
  EXPECT_EQ(p.ops[3].name, "aten::mystery");  // ties by name
  EXPECT_EQ(p.ops[3].category, "other");
  // Spans carry their category too.
  ASSERT_EQ(p.spans.size(), 3u);
  EXPECT_EQ(p.spans[1].category, "optimizer");
  EXPECT_EQ(p.spans[2].step, 1);
  EXPECT_EQ(p.spans[2].category, "other");
  EXPECT_DOUBLE_EQ(median_step_s(p), 0.24);
  EXPECT_EQ(p.step_start_s, (std::vector<double>{0.0, 0.3, 0.55, 0.77}));
}

TEST(SummariseProfile, NoEnergyLeavesItUnknown) {
  const Profile p =
      summarise_profile(fixture(), test_taxonomy(), std::nan(""), "estimated", "f.json");
  EXPECT_TRUE(std::isnan(p.categories.at("matmul").energy_j));
  EXPECT_TRUE(std::isnan(p.ops[0].energy_j));
  EXPECT_EQ(p.energy_quality, "");
  EXPECT_NEAR(p.categories.at("matmul").share, 0.5, 1e-12);
}

// The Error summarise_profile throws on `worker` ("" when none).
std::string summary_error(const json& worker) {
  try {
    summarise_profile(worker, test_taxonomy(), 1.0, "estimated", "w.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SummariseProfile, BadFieldsNameFileAndField) {
  json j = fixture();
  j.erase("framework");
  EXPECT_EQ(summary_error(j), "w.json: field 'framework': missing");
  j = fixture();
  j["ops"][1]["self_s"] = "0.3";
  EXPECT_EQ(summary_error(j), "w.json: field 'ops[1].self_s': expected a number, got \"0.3\"");
  j = fixture();
  j["ops"][0]["calls"] = -1;
  EXPECT_THAT(summary_error(j), HasSubstr("w.json: field 'ops[0].calls': expected >= 0"));
  j = fixture();
  j["ops"][0]["pass"] = "sideways";
  EXPECT_THAT(summary_error(j), HasSubstr("w.json: field 'ops[0].pass': expected forward"));
  j = fixture();
  j["phase"] = "eval";
  EXPECT_THAT(summary_error(j), HasSubstr("w.json: field 'phase'"));
  j = fixture();
  j["phase_s"] = 0;
  EXPECT_THAT(summary_error(j), HasSubstr("w.json: field 'phase_s': expected a time > 0"));
  j = fixture();
  j["step_s"] = {0.5};
  EXPECT_EQ(summary_error(j), "w.json: field 'step_s': has 1 entries, but steps is 4");
  j = fixture();
  j["ops"][1]["self_s"] = 0.7;  // Σ self = 1.1 s > phase_s
  j.erase("ops_self_s");
  EXPECT_THAT(summary_error(j), HasSubstr("w.json: field 'ops': self times add up to 1.1"));
  j = fixture();
  j["ops_self_s"] = 0.5;
  EXPECT_THAT(summary_error(j), HasSubstr("w.json: field 'ops_self_s': 0.5 s, but the ops'"));
  j = fixture();
  j["ops"].push_back(j["ops"][0]);
  EXPECT_THAT(summary_error(j), HasSubstr("field 'ops[5].name': a second entry for op"));
  j = fixture();
  j["step_start_s"] = {0.0};
  EXPECT_EQ(summary_error(j), "w.json: field 'step_start_s': has 1 entries, but steps is 4");
  j = fixture();
  j["spans"][0].erase("dur_s");
  EXPECT_EQ(summary_error(j), "w.json: field 'spans[0].dur_s': missing");
  EXPECT_THAT(summary_error(json::array()), HasSubstr("w.json: expected a JSON object"));
}

TEST(StepEnergy, FirstSteadyAndDrift) {
  const StepEnergySummary s = summarise_step_energy({5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2});
  EXPECT_EQ(s.steps, 11);
  EXPECT_DOUBLE_EQ(s.first_j, 5);
  EXPECT_DOUBLE_EQ(s.steady_median_j, 1);
  EXPECT_DOUBLE_EQ(s.drift, 1.0);  // last tenth (2) against first tenth (1) of steps 2…11
  const StepEnergySummary two = summarise_step_energy({3, 2});
  EXPECT_DOUBLE_EQ(two.steady_median_j, 2);
  EXPECT_TRUE(std::isnan(two.drift));
  EXPECT_TRUE(std::isnan(summarise_step_energy({}).first_j));
}

StepRecord step(const std::string& phase, int64_t index, double joules,
                const std::string& quality) {
  StepRecord s;
  s.phase = phase;
  s.index = index;
  s.energy_j = {{"total", joules}, {"cpu_package", joules}};
  s.quality = {{"total", quality}, {"cpu_package", quality}};
  return s;
}

TEST(StepEnergy, FromStepMarkersOfThePhase) {
  RunRecord r;
  r.steps = {step("setup", 0, 9, "measured"), step("train", 0, 3, "measured"),
             step("train", 1, 1, "measured"), step("train", 2, 1.5, "measured")};
  std::string quality;
  EXPECT_EQ(step_energies(r, "train", &quality), (std::vector<double>{3, 1, 1.5}));
  EXPECT_EQ(quality, "measured");
  // One estimated step makes them all estimated: never called measured.
  r.steps[2].quality["total"] = "estimated";
  EXPECT_EQ(step_energies(r, "train", &quality).size(), 3u);
  EXPECT_EQ(quality, "estimated");
  EXPECT_TRUE(step_energies(r, "infer", &quality).empty());
  EXPECT_EQ(quality, "");
  // A step without a total (its source failed) leaves the phase without step energy.
  r.steps[3].energy_j.erase("total");
  r.steps[3].quality["total"] = "failed";
  EXPECT_TRUE(step_energies(r, "train", &quality).empty());
  EXPECT_EQ(quality, "");
}

TEST(ProfileJson, ContractFieldsAndRoundTrip) {
  Profile p = summarise_profile(fixture(), test_taxonomy(), 10.0, "estimated", "f.json");
  p.profiler_overhead = 0.25;
  p.unprofiled_step_s = 0.192;
  p.step_energy_j = {5, 1, 1, 2};
  p.step_energy_quality = "estimated";
  const json j = profile_json(p);
  for (const char* key : {"framework", "model", "phase", "steps", "phase_s", "ops", "categories",
                          "framework_overhead_s", "unmapped", "energy_quality", "profiler_overhead",
                          "step_energy_j"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["ops"][0]["name"], "aten::addmm");
  EXPECT_DOUBLE_EQ(j["ops"][0]["energy_j"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(j["categories"]["matmul"]["share"].get<double>(), 0.5);
  EXPECT_EQ(j["energy_quality"], "estimated");
  EXPECT_THAT(j["energy_attribution"].get<std::string>(), HasSubstr("attributed"));
  EXPECT_DOUBLE_EQ(j["step_energy"]["first_j"].get<double>(), 5);
  EXPECT_FALSE(j.contains("spans"));
  const Profile back = profile_from_json(j);
  EXPECT_EQ(profile_json(back), j);
  EXPECT_EQ(back.ops.size(), p.ops.size());
  EXPECT_EQ(back.unmapped, p.unmapped);

  // Unknown values are null and come back as NaN.
  Profile none = summarise_profile(fixture(), test_taxonomy(), std::nan(""), "", "f.json");
  const json jn = profile_json(none);
  EXPECT_TRUE(jn["phase_energy_j"].is_null());
  EXPECT_TRUE(jn["energy_quality"].is_null());
  EXPECT_TRUE(jn["profiler_overhead"].is_null());
  EXPECT_TRUE(jn["categories"]["matmul"]["energy_j"].is_null());
  const Profile none_back = profile_from_json(jn);
  EXPECT_TRUE(std::isnan(none_back.phase_energy_j));
  EXPECT_EQ(profile_json(none_back), jn);
}

TEST(ProfileJson, FromJsonNamesBadField) {
  json j = profile_json(summarise_profile(fixture(), test_taxonomy(), 10.0, "estimated", "f"));
  j["categories"]["matmul"]["share"] = "half";
  try {
    profile_from_json(j);
    ADD_FAILURE() << "accepted a bad share";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("field 'categories.matmul.share'"));
  }
}

}  // namespace
}  // namespace greenbench
