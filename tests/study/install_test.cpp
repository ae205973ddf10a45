// `make install PREFIX=...` puts greenbench and the workers in PREFIX/bin, and they run from
// there: greenbench answers --version and `sources`, each built worker answers --describe (so it
// still finds its framework libraries), and a study finds the workers beside the installed
// greenbench.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace greenbench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Result {
  int status = -1;
  std::string output;
};

Result shell(const std::string& command, const std::string& log) {
  const int status = std::system((command + " >" + log + " 2>&1").c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

TEST(Install, MakeInstallPutsRunnableProgramsOnThePrefix) {
  const fs::path bin_dir(GREENBENCH_BIN_DIR);
  if (access((bin_dir / "greenbench").c_str(), X_OK) != 0) GTEST_SKIP() << "greenbench not built";
  std::string tmp = (fs::temp_directory_path() / "greenbench-install-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmp.data()), nullptr);
  const fs::path prefix = fs::path(tmp) / "usr local";  // a space: the paths must be quoted
  const std::string log = tmp + "/log";
  const Result install =
      shell("make -s -C '" + std::string(GREENBENCH_SOURCE_DIR) + "' install BUILD='" +
                bin_dir.parent_path().string() + "' PREFIX='" + prefix.string() + "'",
            log);
  ASSERT_EQ(install.status, 0) << install.output;

  const std::string installed = (prefix / "bin" / "greenbench").string();
  Result r = shell("'" + installed + "' --version", log);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("greenbench "));
  r = shell("'" + installed + "' sources --powercap-root /nonexistent --perf-root /nonexistent",
            log);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cpu-estimate"));

  // Started from a PATH that holds only the prefix, by its bare name.
  r = shell("env PATH='" + (prefix / "bin").string() + ":/usr/bin:/bin' greenbench --version", log);
  EXPECT_EQ(r.status, 0) << r.output;

  int workers = 0;
  for (const char* worker : {"greenbench-torch", "greenbench-tf"}) {
    if (access((bin_dir / worker).c_str(), X_OK) != 0) continue;  // not built here
    ++workers;
    const fs::path path = prefix / "bin" / worker;
    ASSERT_TRUE(fs::exists(path)) << worker << " was built but not installed";
    r = shell("'" + path.string() + "' --model ncf --phase infer --describe", log);
    EXPECT_EQ(r.status, 0) << worker << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("\"model\"")) << worker;
  }
  if (workers == 0) std::cout << "no worker built: only greenbench was checked\n";
  fs::remove_all(tmp);
}

TEST(Install, MakeInstallWithoutABuildSaysSo) {
  std::string tmp = (fs::temp_directory_path() / "greenbench-install-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmp.data()), nullptr);
  const Result r = shell("make -s -C '" + std::string(GREENBENCH_SOURCE_DIR) + "' install BUILD='" +
                             tmp + "/nobuild' PREFIX='" + tmp + "/p'",
                         tmp + "/log");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("run make first"));
  EXPECT_FALSE(fs::exists(tmp + "/p"));
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace greenbench
