// The marker protocol parser: every accepted form and every malformed case.
#include "measure/marker_parser.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace greenbench::measure {
namespace {

using Verb = MarkerLine::Verb;

TEST(MarkerParser, BeginAndEnd) {
  auto m = parse_marker_line("begin train");
  EXPECT_EQ(m.verb, Verb::kBegin);
  EXPECT_EQ(m.name, "train");
  m = parse_marker_line("end train\r");
  EXPECT_EQ(m.verb, Verb::kEnd);
  EXPECT_EQ(m.name, "train");
  m = parse_marker_line("  begin \t epoch-1.warm_up  ");
  EXPECT_EQ(m.verb, Verb::kBegin);
  EXPECT_EQ(m.name, "epoch-1.warm_up");
}

TEST(MarkerParser, Metric) {
  auto m = parse_marker_line("metric accuracy_top1 0.734");
  EXPECT_EQ(m.verb, Verb::kMetric);
  EXPECT_EQ(m.name, "accuracy_top1");
  EXPECT_DOUBLE_EQ(m.value, 0.734);
  EXPECT_EQ(m.unit, "");
  m = parse_marker_line("metric samples 51200 samples");
  EXPECT_EQ(m.verb, Verb::kMetric);
  EXPECT_DOUBLE_EQ(m.value, 51200);
  EXPECT_EQ(m.unit, "samples");
  m = parse_marker_line("metric loss -1.5e-3 nats/token");
  EXPECT_EQ(m.verb, Verb::kMetric);
  EXPECT_DOUBLE_EQ(m.value, -1.5e-3);
  EXPECT_EQ(m.unit, "nats/token");
}

// A diverged run reports what it has; the value is kept (the run is then flagged invalid).
TEST(MarkerParser, MetricNanAndInfinityAreKept) {
  auto m = parse_marker_line("metric loss nan");
  EXPECT_EQ(m.verb, Verb::kMetric);
  EXPECT_TRUE(std::isnan(m.value));
  m = parse_marker_line("metric loss inf");
  EXPECT_EQ(m.verb, Verb::kMetric);
  EXPECT_TRUE(std::isinf(m.value) && m.value > 0);
  m = parse_marker_line("metric loss -inf");
  EXPECT_EQ(m.verb, Verb::kMetric);
  EXPECT_TRUE(std::isinf(m.value) && m.value < 0);
  // Leading carriage returns, spaces and tabs are trimmed before the verb, as at the end.
  m = parse_marker_line("\r\tmetric loss nan");
  EXPECT_EQ(m.verb, Verb::kMetric);
  EXPECT_TRUE(std::isnan(m.value));
}

// A written infinity is kept whatever the parser read before: a subnormal that left ERANGE
// behind, or an overflow that was refused.
TEST(MarkerParser, InfinityIsKeptAfterAnOutOfRangeValue) {
  for (const char* before : {"metric x 1e-320", "metric x 1e999"}) {
    parse_marker_line(before);
    const auto m = parse_marker_line("metric loss inf");
    ASSERT_EQ(m.verb, Verb::kMetric) << "after '" << before << "': " << m.error;
    EXPECT_TRUE(std::isinf(m.value) && m.value > 0);
  }
  EXPECT_EQ(parse_marker_line("metric x 1e999").verb, Verb::kInvalid);
}

TEST(MarkerParser, Info) {
  auto m = parse_marker_line("info framework torch 2.15.0 (cpu, 2 threads)");
  EXPECT_EQ(m.verb, Verb::kInfo);
  EXPECT_EQ(m.name, "framework");
  EXPECT_EQ(m.text, "torch 2.15.0 (cpu, 2 threads)");
  m = parse_marker_line("info device");
  EXPECT_EQ(m.verb, Verb::kInfo);
  EXPECT_EQ(m.text, "");
}

TEST(MarkerParser, Step) {
  auto m = parse_marker_line("step 0");
  EXPECT_EQ(m.verb, Verb::kStep);
  EXPECT_EQ(m.index, 0);
  m = parse_marker_line("  step\t41 \r");
  EXPECT_EQ(m.verb, Verb::kStep);
  EXPECT_EQ(m.index, 41);
  m = parse_marker_line("step 007");
  EXPECT_EQ(m.verb, Verb::kStep);
  EXPECT_EQ(m.index, 7);
  m = parse_marker_line("step 9223372036854775807");
  EXPECT_EQ(m.verb, Verb::kStep);
  EXPECT_EQ(m.index, INT64_MAX);
}

TEST(MarkerParser, BlankLinesAreNotErrors) {
  EXPECT_EQ(parse_marker_line("").verb, Verb::kBlank);
  EXPECT_EQ(parse_marker_line(" \t\r").verb, Verb::kBlank);
}

TEST(MarkerParser, PhaseNames) {
  EXPECT_TRUE(is_valid_marker_name("a"));
  EXPECT_TRUE(is_valid_marker_name(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_marker_name(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_marker_name(""));
  EXPECT_FALSE(is_valid_marker_name("Train"));
  EXPECT_FALSE(is_valid_marker_name("tr ain"));
  EXPECT_FALSE(is_valid_marker_name("train/1"));
  EXPECT_FALSE(is_valid_marker_name("z\xc3\xa9"));
}

struct BadLine {
  std::string line;
  std::string error_part;
};

class MalformedLine : public ::testing::TestWithParam<BadLine> {};

TEST_P(MalformedLine, IsInvalidWithReason) {
  const auto m = parse_marker_line(GetParam().line);
  EXPECT_EQ(m.verb, Verb::kInvalid) << GetParam().line;
  EXPECT_NE(m.error.find(GetParam().error_part), std::string::npos) << m.error;
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, MalformedLine,
    ::testing::Values(
        BadLine{"start train", "unknown verb 'start'"}, BadLine{"BEGIN train", "unknown verb"},
        BadLine{"begin", "without a phase name"}, BadLine{"end", "without a phase name"},
        BadLine{"begin Train", "bad phase name 'Train'"},
        BadLine{"begin " + std::string(65, 'a'), "bad phase name"},
        BadLine{"begin a/b", "bad phase name"}, BadLine{"begin train extra", "unexpected text"},
        BadLine{"metric", "needs a name and a value"},
        BadLine{"metric loss", "needs a name and a value"},
        BadLine{"metric Loss 1", "bad metric name"},
        BadLine{"metric loss abc", "bad metric value 'abc'"},
        BadLine{"metric loss 1.5x", "bad metric value"},
        BadLine{"metric loss 1e999", "bad metric value"},
        BadLine{"metric loss 1 J extra", "unexpected text after the metric unit"},
        BadLine{"metric loss 1 " + std::string(65, 'u'), "unit longer"},
        BadLine{"step", "step without an index"},
        BadLine{"step -1", "bad step index '-1' (want a non-negative integer)"},
        BadLine{"step +1", "bad step index '+1'"}, BadLine{"step 1.0", "bad step index '1.0'"},
        BadLine{"step 1e3", "bad step index"}, BadLine{"step 0x10", "bad step index"},
        BadLine{"step ten", "bad step index 'ten'"},
        BadLine{"step 9223372036854775808", "larger than 2^63-1"},
        BadLine{"step 99999999999999999999999", "larger than 2^63-1"},
        BadLine{"step 3 train", "unexpected text after the step index"},
        BadLine{"STEP 3", "unknown verb 'STEP' (want begin, end, step, metric or info)"},
        BadLine{"info", "info without a key"}, BadLine{"info Key text", "bad info key"},
        BadLine{"begin " + std::string(4100, 'a'), "longer than 4095 bytes"}));

TEST(LineSplitter, SplitsAcrossChunks) {
  LineSplitter s;
  std::vector<LineSplitter::Line> out;
  s.feed("begin a\nend", &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text, "begin a");
  s.feed(" a\nmetric x 1\n", &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].text, "end a");
  EXPECT_EQ(out[2].text, "metric x 1");
  s.feed("info k v", &out);
  EXPECT_EQ(out.size(), 3u);
  s.flush(&out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].text, "info k v");
  EXPECT_FALSE(out[3].overlong);
}

TEST(LineSplitter, OverlongLineIsDroppedAndReportedOnce) {
  LineSplitter s;
  std::vector<LineSplitter::Line> out;
  const std::string big(5000, 'x');
  s.feed(big.substr(0, 3000), &out);
  s.feed(big.substr(3000), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].overlong);
  EXPECT_EQ(out[0].text.size(), kMaxMarkerLine);
  s.feed("yyy\nbegin b\n", &out);  // the rest of the long line is dropped, the next line is kept
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].text, "begin b");
  EXPECT_FALSE(out[1].overlong);
}

TEST(LineSplitter, LongestAllowedLineIsKept) {
  LineSplitter s;
  std::vector<LineSplitter::Line> out;
  const std::string line = "info k " + std::string(kMaxMarkerLine - 1 - 7, 'v');
  ASSERT_EQ(line.size() + 1, kMaxMarkerLine);
  s.feed(line + "\n", &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].overlong);
  EXPECT_EQ(parse_marker_line(out[0].text).verb, MarkerLine::Verb::kInfo);
  s.feed(std::string(kMaxMarkerLine, 'v') + "\n", &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1].overlong);
}

TEST(PrintableExcerpt, TruncatesAndEscapesControlCharacters) {
  EXPECT_EQ(printable_excerpt("a\x01z"), "a\\x01z");
  EXPECT_EQ(printable_excerpt("a\x1b[2Jz"), "a\\x1b[2Jz");
  EXPECT_EQ(printable_excerpt(std::string(100, 'a'), 10), "aaaaaaaaaa\u2026");
}

TEST(PrintableExcerpt, CutsOnACharacterBoundaryAndEscapesInvalidBytes) {
  std::string e_acute;
  for (int i = 0; i < 40; ++i) e_acute += "\xC3\xA9";  // 'é' is two bytes, one character
  const std::string line = "begin a" + e_acute;
  const std::string excerpt = printable_excerpt(line, 72);
  // 7 ASCII characters + 40 'é' = 47 characters fit in 72.
  EXPECT_EQ(excerpt, line);
  EXPECT_EQ(printable_excerpt(line, 20), "begin a" + e_acute.substr(0, 26) + "\u2026");
  EXPECT_EQ(valid_utf8(printable_excerpt(line, 20)), printable_excerpt(line, 20));
  EXPECT_EQ(printable_excerpt("a\xFF\xFEz"), "a\\xff\\xfez");
}

TEST(MarkerParser, InfoTextAndUnitAreMadeValidUtf8) {
  const auto info = parse_marker_line("info framework \xFF\xFE bad \xC3\xA9");
  ASSERT_EQ(info.verb, MarkerLine::Verb::kInfo);
  EXPECT_EQ(info.text, "\xEF\xBF\xBD\xEF\xBF\xBD bad \xC3\xA9");
  const auto metric = parse_marker_line("metric acc 0.5 \xE2\x82");
  ASSERT_EQ(metric.verb, MarkerLine::Verb::kMetric);
  EXPECT_EQ(metric.unit, "\xEF\xBF\xBD\xEF\xBF\xBD");
  const auto control = parse_marker_line("info framework a\x1b[2Jb\x7f");
  ASSERT_EQ(control.verb, MarkerLine::Verb::kInfo);
  EXPECT_EQ(control.text, "a\xEF\xBF\xBD[2Jb\xEF\xBF\xBD");
  const auto bad = parse_marker_line("frobnicate \xC3");
  ASSERT_EQ(bad.verb, MarkerLine::Verb::kInvalid);
  EXPECT_EQ(valid_utf8(bad.error), bad.error);
}

// Every finite double has a shortest round-trip form, which is what Python's repr() writes
// (the marker client formats metrics with %r); each must be accepted and read back exactly.
TEST(MarkerParser, AcceptsEveryFiniteDoubleTheClientsWrite) {
  for (const char* text :
       {"1e-320", "5e-324", "-5e-324", "2.225073858507201e-308", "2.2250738585072014e-308",
        "1.7976931348623157e+308", "-0.0", "0.0", "1e+16", "123456789012345680.0", "0.1"}) {
    const auto m = parse_marker_line(std::string("metric x ") + text);
    ASSERT_EQ(m.verb, Verb::kMetric) << text << ": " << m.error;
    EXPECT_EQ(m.value, std::strtod(text, nullptr)) << text;
  }
  std::mt19937_64 bits(7);
  for (int i = 0; i < 200000; ++i) {
    const double v = std::bit_cast<double>(bits());
    if (!std::isfinite(v)) continue;
    char shortest[64];
    const auto end = std::to_chars(shortest, shortest + sizeof shortest, v).ptr;
    char g17[64];
    std::snprintf(g17, sizeof g17, "%.17g", v);
    for (const std::string text : {std::string(shortest, end), std::string(g17)}) {
      const auto m = parse_marker_line("metric x " + text);
      ASSERT_EQ(m.verb, Verb::kMetric) << text << ": " << m.error;
      ASSERT_EQ(std::bit_cast<std::uint64_t>(m.value), std::bit_cast<std::uint64_t>(v)) << text;
    }
  }
}

TEST(ValidUtf8, KeepsWellFormedAndReplacesEachBadByte) {
  const std::string good = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a, é, €, emoji
  EXPECT_EQ(valid_utf8(good), good);
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8("\xC0\xAF"), fffd + fffd);                        // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), fffd + fffd + fffd);             // surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // > U+10FFFF
  EXPECT_EQ(valid_utf8("x\xE2\x82"), "x" + fffd + fffd);                 // truncated at the end
}

}  // namespace
}  // namespace greenbench::measure
