// The energy sources on this machine's real hardware; each test skips, saying why, where the
// hardware or the permission to read it is absent.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "energy/sources.hpp"

namespace greenbench::energy {
namespace {

std::string why(const std::vector<Problem>& problems) {
  std::string text;
  for (const auto& p : problems) text += p.reason + " (fix: " + p.fix + ") ";
  return text;
}

// Two reads 100 ms apart: every counter advances by a plausible amount, every gauge is sane.
void expect_plausible(EnergySource& source) {
  const auto before = source.read();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto after = source.read();
  ASSERT_EQ(before.size(), source.domains().size());
  ASSERT_EQ(after.size(), source.domains().size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    const DomainInfo& d = source.domains()[i];
    if (d.kind == DomainKind::kCounter) {
      const double joules = counter_delta_j(before[i], after[i], d.range_j);
      EXPECT_GE(joules, 0.0) << d.id;
      EXPECT_LT(joules, 0.2 * (d.max_power_w > 0 ? d.max_power_w : 2000.0)) << d.id;
    } else {
      EXPECT_GE(after[i], 0.0) << d.id;
      EXPECT_LT(after[i], 5000.0) << d.id;
    }
  }
}

TEST(HwEnergy, RaplPowercap) {
  RaplPowercapSource source;
  if (source.domains().empty()) GTEST_SKIP() << why(source.problems());
  expect_plausible(source);
}

TEST(HwEnergy, RaplPerf) {
  RaplPerfSource source;
  if (source.domains().empty()) GTEST_SKIP() << why(source.problems());
  expect_plausible(source);
}

TEST(HwEnergy, Nvml) {
  NvmlSource source;
  if (source.domains().empty()) GTEST_SKIP() << why(source.problems());
  expect_plausible(source);
}

}  // namespace
}  // namespace greenbench::energy
