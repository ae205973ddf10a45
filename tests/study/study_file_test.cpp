// Study files: defaults, every kind of malformed key with its message and line, overrides.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "greenbench/error.hpp"
#include "greenbench/store.hpp"
#include "greenbench/study.hpp"

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// The message parse_study throws for `text`, or "" if it parses.
std::string error_of(const std::string& text) {
  try {
    parse_study(text, "study.toml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(StudyFile, EmptyFileGivesTheDesignDefaults) {
  const StudySettings s = parse_study("", "study.toml");
  EXPECT_EQ(s.name, "default");
  EXPECT_EQ(s.frameworks, (std::vector<std::string>{"pytorch", "tensorflow"}));
  EXPECT_EQ(s.models, (std::vector<std::string>{"ncf", "resnet50", "transformer_xl", "ssd", "gnmt",
                                                "mask_rcnn"}));
  EXPECT_EQ(s.phases, (std::vector<std::string>{"train", "infer"}));
  EXPECT_EQ(s.scale, "tiny");
  EXPECT_EQ(s.repetitions, 6);
  EXPECT_EQ(s.warmup, 1);
  EXPECT_EQ(s.order, "interleaved");
  EXPECT_EQ(s.seed, 1u);
  EXPECT_LT(s.cooldown_s, 0);  // adaptive
  EXPECT_DOUBLE_EQ(s.cooldown_tolerance, 0.1);
  EXPECT_DOUBLE_EQ(s.cooldown_max_s, 60);
  EXPECT_DOUBLE_EQ(s.timeout_s, 600);
  EXPECT_DOUBLE_EQ(s.idle_baseline_s, 5);
  EXPECT_EQ(s.threads, 0);
  EXPECT_FALSE(s.models_given);
  EXPECT_TRUE(s.commands.empty());

  const EffectiveSettings e = make_effective(s);
  EXPECT_GE(e.settings.threads, 1);         // resolved to the online CPUs
  EXPECT_EQ(e.configurations.size(), 24u);  // 2 frameworks x 6 models x 2 phases
  EXPECT_EQ(make_plan(e).size(), 168u);     // (1 warm-up + 6) per configuration
}

TEST(StudyFile, ReadsEveryKey) {
  const StudySettings s = parse_study(R"(
name = "night"
frameworks = ["tensorflow"]
models = ["transformer_xl", "ncf"]
phases = ["infer"]
scale = "paper"
repetitions = 10
warmup = 0
order = "sequential"
seed = 7
cooldown = 60
cooldown_tolerance = 0.05
cooldown_max = 120.5
timeout = 3600
idle_baseline = 10
threads = 4
numerics = "strict"
)");
  EXPECT_EQ(s.name, "night");
  EXPECT_EQ(s.frameworks, std::vector<std::string>{"tensorflow"});
  EXPECT_EQ(s.models, (std::vector<std::string>{"transformer_xl", "ncf"}));
  EXPECT_TRUE(s.models_given);
  EXPECT_EQ(s.phases, std::vector<std::string>{"infer"});
  EXPECT_EQ(s.scale, "paper");
  EXPECT_EQ(s.repetitions, 10);
  EXPECT_EQ(s.warmup, 0);
  EXPECT_EQ(s.order, "sequential");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_DOUBLE_EQ(s.cooldown_s, 60);
  EXPECT_DOUBLE_EQ(s.cooldown_tolerance, 0.05);
  EXPECT_DOUBLE_EQ(s.cooldown_max_s, 120.5);
  EXPECT_DOUBLE_EQ(s.timeout_s, 3600);
  EXPECT_DOUBLE_EQ(s.idle_baseline_s, 10);
  EXPECT_EQ(s.threads, 4);
  EXPECT_EQ(make_effective(s).settings.threads, 4);
  EXPECT_EQ(s.numerics, "strict");
  EXPECT_EQ(to_json(make_effective(s)).at("numerics"), "strict");
  EXPECT_EQ(parse_study("").numerics, "default");
  EXPECT_NE(error_of("numerics = \"fast\"").find("key 'numerics'"), std::string::npos);
  EXPECT_LT(parse_study("cooldown = \"adaptive\"").cooldown_s, 0);
}

TEST(StudyFile, WrongTypeNamesLineKeyAndValue) {
  EXPECT_EQ(error_of("name = \"x\"\n\n\nrepetitions = -3\n"),
            "study.toml:4: key 'repetitions': expected an integer from 1 to 10000, got -3");
  EXPECT_EQ(error_of("repetitions = \"five\""),
            "study.toml:1: key 'repetitions': expected an integer from 1 to 10000 or \"auto\", got "
            "\"five\"");
  EXPECT_EQ(error_of("repetitions = 2.5"),
            "study.toml:1: key 'repetitions': expected an integer from 1 to 10000, got 2.5");
  EXPECT_EQ(error_of("warmup = -1"),
            "study.toml:1: key 'warmup': expected an integer from 0 to 1000, got -1");
  EXPECT_EQ(error_of("timeout = 0"),
            "study.toml:1: key 'timeout': expected a number of seconds above 0 and at most 604800 "
            "(7 days), got 0");
  EXPECT_EQ(error_of("name = 5"), "study.toml:1: key 'name': expected a string, got 5");
  EXPECT_EQ(error_of("frameworks = \"pytorch\""),
            "study.toml:1: key 'frameworks': expected an array of strings, got \"pytorch\"");
  EXPECT_EQ(error_of("models = []"),
            "study.toml:1: key 'models': expected at least one model, got an empty array");
  EXPECT_EQ(error_of("threads = 0"),
            "study.toml:1: key 'threads': expected an integer from 1 to 4096, got 0");
  EXPECT_EQ(error_of("cooldown = \"slow\""),
            "study.toml:1: key 'cooldown': expected \"adaptive\" or a number of seconds, got "
            "\"slow\"");
  EXPECT_EQ(error_of("cooldown = -5"),
            "study.toml:1: key 'cooldown': expected \"adaptive\" or a number of seconds from 0 to "
            "3600, got -5");
  EXPECT_EQ(
      error_of("cooldown_tolerance = 0"),
      "study.toml:1: key 'cooldown_tolerance': expected a fraction above 0 and at most 1, such "
      "as 0.1, got 0");
  EXPECT_EQ(error_of("seed = true"),
            "study.toml:1: key 'seed': expected an integer >= 0, got true");
  EXPECT_EQ(error_of("name = \"a/b\""),
            "study.toml:1: key 'name': expected a non-empty name of at most 100 bytes without '/', "
            "got \"a/b\"");
}

TEST(StudyFile, AutoRepetitionsReadTheSequentialKeys) {
  const StudySettings defaults = parse_study("repetitions = \"auto\"");
  EXPECT_TRUE(defaults.repetitions_auto);
  EXPECT_EQ(defaults.min_repetitions, 5);
  EXPECT_EQ(defaults.max_repetitions, 30);
  EXPECT_EQ(defaults.repetitions, 30);  // the plan holds every run the study may need
  EXPECT_DOUBLE_EQ(defaults.alpha, 0.05);
  EXPECT_DOUBLE_EQ(defaults.equivalence_margin, 0.02);

  const StudySettings s = parse_study(
      "repetitions = \"auto\"\nmin_repetitions = 4\nmax_repetitions = 12\nalpha = 0.01\n"
      "equivalence_margin = 0.05\n");
  EXPECT_EQ(s.min_repetitions, 4);
  EXPECT_EQ(s.max_repetitions, 12);
  EXPECT_EQ(s.repetitions, 12);
  EXPECT_DOUBLE_EQ(s.alpha, 0.01);
  EXPECT_DOUBLE_EQ(s.equivalence_margin, 0.05);

  // Stored as the study's settings, where compare --sequential finds them.
  StudySettings with_models = s;
  with_models.threads = 1;
  const nlohmann::json j = to_json(make_effective(with_models));
  EXPECT_EQ(j["repetitions"], "auto");
  EXPECT_EQ(j["min_repetitions"], 4);
  EXPECT_EQ(j["max_repetitions"], 12);
  EXPECT_EQ(j["alpha"], 0.01);
  EXPECT_EQ(j["equivalence_margin"], 0.05);
  EXPECT_FALSE(to_json(make_effective(StudySettings{})).contains("min_repetitions"));

  // --reps asks for a fixed design.
  StudySettings fixed = s;
  StudyOverrides o;
  o.repetitions = 7;
  apply_overrides(fixed, o);
  EXPECT_FALSE(fixed.repetitions_auto);
  EXPECT_EQ(fixed.repetitions, 7);
}

TEST(StudyFile, SequentialKeysAreBoundedAndNeedAutoRepetitions) {
  const std::string a = "repetitions = \"auto\"\n";
  EXPECT_EQ(error_of("repetitions = \"often\""),
            "study.toml:1: key 'repetitions': expected an integer from 1 to 10000 or \"auto\", "
            "got \"often\"");
  EXPECT_EQ(error_of("repetitions = 5\nmax_repetitions = 10"),
            "study.toml:2: key 'max_repetitions': is used only with repetitions = \"auto\"");
  EXPECT_EQ(error_of(a + "min_repetitions = 1"),
            "study.toml:2: key 'min_repetitions': expected an integer from 2 to 10000, got 1");
  EXPECT_EQ(error_of(a + "max_repetitions = 20000"),
            "study.toml:2: key 'max_repetitions': expected an integer from 2 to 10000, got 20000");
  EXPECT_EQ(
      error_of(a + "min_repetitions = 8\nmax_repetitions = 6"),
      "study.toml:3: key 'max_repetitions': max_repetitions (6) is below min_repetitions (8)");
  EXPECT_EQ(error_of(a + "min_repetitions = 40"),
            "study.toml:2: key 'min_repetitions': max_repetitions (30) is below min_repetitions "
            "(40)");
  EXPECT_EQ(error_of(a + "alpha = 0"),
            "study.toml:2: key 'alpha': expected a level in (0, 0.5] such as 0.05, got 0");
  EXPECT_EQ(error_of(a + "alpha = 0.9"),
            "study.toml:2: key 'alpha': expected a level in (0, 0.5] such as 0.05, got 0.9");
  EXPECT_EQ(error_of(a + "equivalence_margin = -0.1"),
            "study.toml:2: key 'equivalence_margin': expected a fraction in [0, 0.5] such as "
            "0.02, got -0.1");
  EXPECT_EQ(error_of(a + "order = \"sequential\""),
            "study.toml:2: key 'order': repetitions = \"auto\" looks after blocks of one run per "
            "configuration, so it needs order = \"interleaved\"");
}

TEST(StudyFile, ProfileIsABooleanStoredOnlyWhenTrue) {
  EXPECT_TRUE(parse_study("profile = true").profile);
  EXPECT_FALSE(parse_study("").profile);
  EXPECT_EQ(error_of("profile = \"yes\""),
            "study.toml:1: key 'profile': expected true or false, got \"yes\"");
  EXPECT_EQ(error_of("profile = 1"), "study.toml:1: key 'profile': expected true or false, got 1");
  EXPECT_EQ(to_json(make_effective(parse_study("profile = true")))["profile"], true);
  // Absent when false, so stores of studies from before the key still resume.
  EXPECT_FALSE(to_json(make_effective(parse_study("profile = false"))).contains("profile"));
  EXPECT_NE(describe(make_effective(parse_study("profile = true")))
                .find("profile: 24 profiled run(s) after the measured ones"),
            std::string::npos);
}

TEST(StudyFile, UnknownKeysAndValuesSuggestTheNearestName) {
  EXPECT_EQ(
      error_of("\nrepetitons = 3"),
      "study.toml:2: key 'repetitons': unknown key 'repetitons' (did you mean "
      "'repetitions'?); expected one of name, frameworks, models, phases, scale, "
      "repetitions, min_repetitions, max_repetitions, alpha, equivalence_margin, warmup, "
      "order, seed, cooldown, cooldown_tolerance, cooldown_max, timeout, idle_baseline, "
      "threads, numerics, device, precision, profile, sources, cpu_watts_per_core, cpu_idle_watts, "
      "carbon_intensity, region, pue, price, currency, command, slurm");
  EXPECT_EQ(error_of("frameworks = [\"pytorch\", \"tensorflw\"]"),
            "study.toml:1: key 'frameworks[1]': unknown framework 'tensorflw' (did you mean "
            "'tensorflow'?); expected one of pytorch, tensorflow");
  EXPECT_EQ(error_of("models = [\"bert\"]"),
            "study.toml:1: key 'models[0]': unknown model 'bert'; expected one of ncf, resnet50, "
            "transformer_xl, ssd, gnmt, mask_rcnn");
  EXPECT_EQ(error_of("phases = [\"test\"]"),
            "study.toml:1: key 'phases[0]': unknown phase 'test'; expected one of train, infer");
  EXPECT_EQ(error_of("scale = \"huge\""),
            "study.toml:1: key 'scale': unknown scale 'huge'; expected one of tiny, small, paper");
  EXPECT_EQ(error_of("order = \"random\""),
            "study.toml:1: key 'order': unknown order 'random'; expected one of interleaved, "
            "sequential");
  EXPECT_EQ(error_of("models = [\"ncf\", \"ncf\"]"),
            "study.toml:1: key 'models[1]': 'ncf' is listed twice");
}

TEST(StudyFile, CollectsEveryErrorOnItsOwnLine) {
  const std::string message = error_of(R"(name = "x"
repetitions = 0
scale = "big"
colour = "green"
timeout = "long"
)");
  EXPECT_EQ(
      message,
      "study.toml:2: key 'repetitions': expected an integer from 1 to 10000, got 0\n"
      "study.toml:3: key 'scale': unknown scale 'big'; expected one of tiny, small, paper\n"
      "study.toml:4: key 'colour': unknown key 'colour'; expected one of name, frameworks, "
      "models, phases, scale, repetitions, min_repetitions, max_repetitions, alpha, "
      "equivalence_margin, warmup, order, seed, cooldown, "
      "cooldown_tolerance, cooldown_max, timeout, idle_baseline, threads, numerics, device, "
      "precision, profile, sources, cpu_watts_per_core, cpu_idle_watts, carbon_intensity, region, "
      "pue, price, currency, command, slurm\n"
      "study.toml:5: key 'timeout': expected a number of seconds above 0 and at most 604800 "
      "(7 days), got \"long\"");
}

TEST(StudyFile, SyntaxErrorNamesLineAndColumn) {
  const std::string message = error_of("name = \"x\"\nrepetitions = = 3\n");
  EXPECT_THAT(message, HasSubstr("study.toml:2:"));
  EXPECT_THAT(message, HasSubstr("syntax error"));
}

TEST(StudyFile, CommandsAreReadAndChecked) {
  const StudySettings s = parse_study(R"(
[[command]]
framework = "pytorch"
model = "ncf"
phase = "train"
argv = ["python3", "ncf.py", "--epochs", "1"]

[[command]]
framework = "jax"
model = "ncf"
phase = "train"
argv = ["python3", "ncf_jax.py"]
)");
  ASSERT_EQ(s.commands.size(), 2u);
  EXPECT_EQ(s.commands[0].argv, (std::vector<std::string>{"python3", "ncf.py", "--epochs", "1"}));
  EXPECT_EQ(s.commands[1].framework, "jax");

  EXPECT_EQ(error_of("[[command]]\nframework = \"pytorch\"\nmodel = \"ncf\"\nphase = \"train\"\n"
                     "argv = []\n"),
            "study.toml:5: key 'command[0].argv': expected a non-empty array (the program and its "
            "arguments)");
  EXPECT_EQ(error_of("[[command]]\nframework = \"pytorch\"\nmodel = \"ncf\"\nphase = \"train\"\n"
                     "argv = [\"a\", 3]\n"),
            "study.toml:5: key 'command[0].argv[1]': expected a string, got 3");
  EXPECT_EQ(error_of("[[command]]\nframework = \"pytorch\"\nmodel = \"ncf\"\nphase = \"eval\"\n"
                     "argv = [\"a\"]\n"),
            "study.toml:4: key 'command[0].phase': unknown phase 'eval'; expected one of train, "
            "infer");
  EXPECT_EQ(error_of("[[command]]\nframework = \"pytorch\"\nmodel = \"ncf\"\nargv = [\"a\"]\n"),
            "study.toml:1: key 'command[0]': missing key 'phase'");
  EXPECT_EQ(error_of("[[command]]\nframework = \"torch:2\"\nmodel = \"ncf\"\nphase = \"train\"\n"
                     "argv = [\"a\"]\nargs = 1\n"),
            "study.toml:2: key 'command[0].framework': \"torch:2\" is not a label (1 to 64 "
            "characters A-Z a-z 0-9 _ . -, starting with a letter or digit)\n"
            "study.toml:6: key 'command[0].args': unknown key 'args' (did you mean 'argv'?); "
            "expected one of framework, model, phase, argv, cwd");
  EXPECT_EQ(error_of("command = 3"),
            "study.toml:1: key 'command': expected [[command]] tables, "
            "got 3");
}

TEST(StudyFile, CommandsRunAloneUnlessModelsAreNamed) {
  const std::string commands = R"(
[[command]]
framework = "pytorch"
model = "mine"
phase = "train"
argv = ["/bin/true"]
)";
  EffectiveSettings only = make_effective(parse_study("frameworks = [\"pytorch\"]\n" + commands));
  ASSERT_EQ(only.configurations.size(), 1u);
  EXPECT_EQ(only.configurations[0].model, "mine");
  EXPECT_EQ(only.configurations[0].argv, std::vector<std::string>{"/bin/true"});

  EffectiveSettings both =
      make_effective(parse_study("frameworks = [\"pytorch\"]\nmodels = [\"ncf\"]\n" + commands));
  ASSERT_EQ(both.configurations.size(), 3u);  // ncf train, ncf infer, the command
  EXPECT_TRUE(both.configurations[0].argv.empty());
  EXPECT_EQ(both.configurations[2].model, "mine");

  // A command may not shadow a built-in configuration.
  const std::string clash = R"(models = ["ncf"]
[[command]]
framework = "pytorch"
model = "ncf"
phase = "train"
argv = ["/bin/true"]
)";
  EXPECT_THROW(make_effective(parse_study(clash)), Error);
}

TEST(StudyFile, OverridesReplaceKeysAndNameTheOption) {
  StudySettings s = parse_study("repetitions = 5");
  StudyOverrides o;
  o.repetitions = 2;
  o.models = std::vector<std::string>{"ncf"};
  o.frameworks = std::vector<std::string>{"pytorch"};
  o.phases = std::vector<std::string>{"infer"};
  o.scale = "small";
  apply_overrides(s, o);
  EXPECT_EQ(s.repetitions, 2);
  EXPECT_EQ(s.models, std::vector<std::string>{"ncf"});
  EXPECT_TRUE(s.models_given);
  EXPECT_EQ(s.frameworks, std::vector<std::string>{"pytorch"});
  EXPECT_EQ(s.phases, std::vector<std::string>{"infer"});
  EXPECT_EQ(s.scale, "small");

  StudyOverrides bad;
  bad.repetitions = 0;
  bad.models = std::vector<std::string>{"resnet"};
  try {
    apply_overrides(s, bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "--reps: expected an integer from 1 to 10000, got 0\n"
                 "--models: unknown model 'resnet' (did you mean 'resnet50'?); expected one of "
                 "ncf, resnet50, transformer_xl, ssd, gnmt, mask_rcnn");
  }
}

TEST(StudyFile, EffectiveSettingsJsonHoldsEveryKey) {
  StudySettings s;
  s.threads = 3;
  const nlohmann::json j = to_json(make_effective(s));
  for (const char* key :
       {"name", "frameworks", "models", "phases", "scale", "repetitions", "warmup", "order", "seed",
        "cooldown", "cooldown_tolerance", "cooldown_max", "timeout", "idle_baseline", "threads",
        "configurations"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["cooldown"], "adaptive");
  EXPECT_EQ(j["threads"], 3);
  EXPECT_EQ(j["configurations"].size(), 24u);
  EXPECT_THAT(describe(make_effective(s)), HasSubstr("24 configurations x (1 warm-up + 6 "
                                                     "repetitions) = 168 runs"));
}

TEST(StudyFile, AdaptiveCooldownWithoutBaselineWarns) {
  StudySettings s;
  s.idle_baseline_s = 0;
  EXPECT_EQ(make_effective(s).warnings.size(), 1u);
  s.cooldown_s = 0;
  EXPECT_TRUE(make_effective(s).warnings.empty());
}

// Integers are checked in 64 bits: 4294967297 once narrowed to 1 and 2147483647 warm-ups once
// planned 1.8e19 runs.
TEST(StudyFile, NumbersAreBoundedBeforeNarrowing) {
  EXPECT_EQ(error_of("repetitions = 4294967297"),
            "study.toml:1: key 'repetitions': expected an integer from 1 to 10000, got "
            "4294967297");
  EXPECT_EQ(error_of("warmup = 2147483647"),
            "study.toml:1: key 'warmup': expected an integer from 0 to 1000, got 2147483647");
  EXPECT_EQ(error_of("threads = 4294967298"),
            "study.toml:1: key 'threads': expected an integer from 1 to 4096, got 4294967298");
  EXPECT_EQ(error_of("repetitions = -9223372036854775808"),
            "study.toml:1: key 'repetitions': expected an integer from 1 to 10000, got "
            "-9223372036854775808");
  EXPECT_THAT(error_of("timeout = 1e308"), HasSubstr("key 'timeout': expected a number of "
                                                     "seconds above 0 and at most 604800"));
  EXPECT_THAT(error_of("idle_baseline = 3601"), HasSubstr("key 'idle_baseline': expected a "
                                                          "number of seconds from 0 to 3600"));
  EXPECT_THAT(error_of("cooldown = 1e9"), HasSubstr("key 'cooldown': expected"));
  EXPECT_THAT(error_of("cooldown_max = 86400"), HasSubstr("key 'cooldown_max': expected"));
  EXPECT_THAT(error_of("cooldown_tolerance = 1.5"), HasSubstr("key 'cooldown_tolerance'"));
  EXPECT_THAT(error_of("timeout = nan"), HasSubstr("key 'timeout'"));
  EXPECT_THAT(error_of("idle_baseline = inf"), HasSubstr("key 'idle_baseline'"));

  // The bounds themselves are allowed.
  const StudySettings s = parse_study(
      "repetitions = 10000\nwarmup = 1000\nthreads = 4096\ntimeout = 604800\n"
      "idle_baseline = 3600\ncooldown = 3600\ncooldown_max = 3600\ncooldown_tolerance = 1\n"
      "seed = 9223372036854775807\n");
  EXPECT_EQ(s.repetitions, 10000);
  EXPECT_EQ(s.warmup, 1000);
  EXPECT_EQ(s.threads, 4096);
  EXPECT_EQ(s.seed, 9223372036854775807u);

  StudyOverrides too_many;
  too_many.repetitions = 10001;
  StudySettings o;
  EXPECT_THROW(apply_overrides(o, too_many), Error);
}

TEST(StudyFile, PlanSizeIsBoundedBeforeItIsAllocated) {
  StudySettings s;
  s.repetitions = 10000;
  s.warmup = 1000;
  for (int i = 0; i < 100; ++i) {
    s.commands.push_back({"fw", "m" + std::to_string(i), "train", {"/bin/true"}, ""});
  }
  try {
    make_effective(s);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "study: 100 configurations x 11000 runs is more than the 1000000 runs a study "
                 "may plan");
  }
}

TEST(StudyFile, StringsWithControlCharactersAreRefusedAndShownEscaped) {
  const std::string nul = error_of("name = \"a\\u0000b\"");
  EXPECT_EQ(nul,
            "study.toml:1: key 'name': expected a string without control characters, got "
            "\"a\\x00b\"");
  const std::string escape = error_of(
      "[[command]]\nframework = \"f\"\nmodel = \"m\"\nphase = \"train\"\n"
      "argv = [\"/bin/true\", \"\\u001b[2J\"]\n");
  EXPECT_EQ(escape,
            "study.toml:5: key 'command[0].argv[1]': expected a string without control "
            "characters, got \"\\x1b[2J\"");
  EXPECT_THAT(error_of("scale = \"\\u009b31m\""), HasSubstr("without control characters"));
  EXPECT_THAT(error_of("frameworks = [\"py\\ntorch\"]"), HasSubstr("got \"py\\ntorch\""));
}

TEST(StudyFile, LongValuesAreCutInMessages) {
  const std::string long_name(1000, 'x');
  const std::string message = error_of("scale = \"" + long_name + "\"");
  EXPECT_THAT(message, HasSubstr("unknown scale '" + std::string(60, 'x') + "\u2026'"));
  EXPECT_LT(message.size(), 200u);
  // A misspelt key of any length: the key is cut too.
  const std::string key_message = error_of("\"" + std::string(3000, 'k') + "\" = 1");
  // (The message also lists every key, so it grows with them; the key itself stays short.)
  EXPECT_LT(key_message.size(), 1000u);
  EXPECT_THAT(key_message, ::testing::Not(HasSubstr(std::string(200, 'k'))));
  EXPECT_THAT(key_message, HasSubstr("\u2026"));
  // Nothing a message quotes can hold a control character.
  for (const std::string& m : {message, key_message, error_of("name = \"\\u001b]0;x\\u0007\"")}) {
    for (const char c : m) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\n') << m;
  }
}

// A study folder laid out as users write them: the study file, its program, its data.
class StudyFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "greenbench-study-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ / "bin");
    fs::create_directories(dir_ / "data");
    // Fails unless it runs where its relative input is.
    write_script(dir_ / "bin" / "bench.sh", "#!/bin/sh\ntest -f ./input.txt || exit 3\n");
    std::ofstream(dir_ / "input.txt") << "x\n";
    std::ofstream(dir_ / "data" / "input.txt") << "y\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write_script(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
    chmod(path.c_str(), 0755);
  }

  std::string study(const std::string& command_keys) {
    const fs::path file = dir_ / "study.toml";
    std::ofstream(file) << "name = \"s\"\nrepetitions = 1\nwarmup = 0\nidle_baseline = 0\n"
                           "cooldown = 0\n[[command]]\nframework = \"sh\"\nmodel = \"bench\"\n"
                           "phase = \"train\"\n"
                        << command_keys;
    return file.string();
  }

  fs::path dir_;
};

TEST_F(StudyFolder, CommandPathsAreRelativeToTheStudyFile) {
  // The test runs in the build folder, far from the study folder.
  ASSERT_NE(fs::current_path(), dir_);
  const EffectiveSettings e =
      make_effective(parse_study_file(study("argv = [\"./bin/bench.sh\", \"x.txt\"]\n")));
  ASSERT_EQ(e.configurations.size(), 1u);
  const Configuration& c = e.configurations[0];
  EXPECT_EQ(command_argv(e, c),
            (std::vector<std::string>{(dir_ / "bin" / "bench.sh").string(), "x.txt"}));
  EXPECT_EQ(command_working_dir(e, c), dir_.string());
  // As written in the stored settings, so a moved study folder still resumes.
  EXPECT_EQ(to_json(e)["configurations"][0]["argv"][0], "./bin/bench.sh");

  const EffectiveSettings with_cwd =
      make_effective(parse_study_file(study("argv = [\"bin/bench.sh\"]\ncwd = \"data\"\n")));
  EXPECT_EQ(command_argv(with_cwd, with_cwd.configurations[0])[0],
            (dir_ / "bin" / "bench.sh").string());
  EXPECT_EQ(command_working_dir(with_cwd, with_cwd.configurations[0]), (dir_ / "data").string());
  EXPECT_EQ(to_json(with_cwd)["configurations"][0]["cwd"], "data");

  // A bare name is looked up in PATH, as a shell would; an absolute path stays.
  const EffectiveSettings bare =
      make_effective(parse_study_file(study("argv = [\"true\"]\ncwd = \"/\"\n")));
  EXPECT_EQ(command_argv(bare, bare.configurations[0])[0], "true");
  EXPECT_EQ(command_working_dir(bare, bare.configurations[0]), "/");
}

TEST_F(StudyFolder, MissingProgramOrFolderIsReportedWithItsLine) {
  EXPECT_THROW(
      {
        try {
          parse_study_file(study("argv = [\"./bin/missing.sh\"]\n"));
        } catch (const Error& e) {
          EXPECT_EQ(std::string(e.what()),
                    (dir_ / "study.toml").string() + ":10: key 'command[0].argv[0]': '" +
                        (dir_ / "bin" / "missing.sh").string() +
                        "' is not an executable file (a relative program path is relative to "
                        "the study file's folder)");
          throw;
        }
      },
      Error);
  EXPECT_THAT(
      [&] {
        try {
          parse_study_file(study("argv = [\"true\"]\ncwd = \"nowhere\"\n"));
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      HasSubstr(":11: key 'command[0].cwd': '" + (dir_ / "nowhere").string() +
                "' is not a directory"));
  EXPECT_THROW(parse_study_file(dir_.string()), Error);  // a folder is not a study file
}

// The whole path: a study run from another folder runs its command where the study file is.
TEST_F(StudyFolder, AStudyRunFromAnotherFolderRunsItsCommands) {
  int n = 0;
  for (const std::string keys : {std::string("argv = [\"./bin/bench.sh\"]\n"),
                                 std::string("argv = [\"bin/bench.sh\"]\ncwd = \"data\"\n"),
                                 std::string("argv = [\"bin/bench.sh\"]\ncwd = \"bin\"\n")}) {
    const EffectiveSettings e = make_effective(parse_study_file(study(keys)));
    RunnerOptions o;
    o.out_dir = (dir_ / ("results-" + std::to_string(++n))).string();
    o.measure = measure_command;
    const StudyOutcome outcome = run_study(e, o);
    // bin/ holds no input.txt: there the script fails, which shows that cwd is where it runs.
    const bool in_bin = keys.find("cwd = \"bin\"") != std::string::npos;
    EXPECT_EQ(outcome.ok, in_bin ? 0 : 1) << keys;
    EXPECT_EQ(outcome.failed, in_bin ? 1 : 0) << keys;
  }
}

}  // namespace
}  // namespace greenbench
