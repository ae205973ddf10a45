// printable(): what every error message does to a value it quotes.
#include "greenbench/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace greenbench {
namespace {

TEST(Printable, KeepsOrdinaryTextAsItIs) {
  EXPECT_EQ(printable("resnet50"), "resnet50");
  EXPECT_EQ(printable("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, EscapesControlCharactersAndBytesThatAreNotUtf8) {
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("\x1b[2J\x1b]0;title\x07"), "\\x1b[2J\\x1b]0;title\\x07");
  EXPECT_EQ(printable("a\nb\tc\rd\x7f"), "a\\nb\\tc\\rd\\x7f");
  EXPECT_EQ(printable("back\\slash"), "back\\\\slash");
  EXPECT_EQ(printable("\xFF\xC3"), "\\xff\\xc3");
  EXPECT_EQ(printable("\xC2\x9B"
                      "31m"),
            "\\u009b31m");  // C1 CSI
  EXPECT_EQ(printable("abc\xE2\x80\xAE"
                      "fed"),
            "abc\\u202efed");  // right-to-left override
  EXPECT_EQ(printable("a\xE2\x80\xA8"
                      "b"),
            "a\\u2028b");  // line separator
}

TEST(Printable, CutsAtACharacterCountWithAnEllipsis) {
  EXPECT_EQ(printable(std::string(60, 'x')), std::string(60, 'x'));
  EXPECT_EQ(printable(std::string(61, 'x')), std::string(60, 'x') + "\xE2\x80\xA6");
  EXPECT_EQ(printable(std::string(10000, 'x'), 5), "xxxxx\xE2\x80\xA6");
  std::string accents;
  for (int i = 0; i < 10; ++i) accents += "\xC3\xA9";
  EXPECT_EQ(printable(accents, 4), "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xE2\x80\xA6");
  // An escape counts by what it shows and is never split.
  EXPECT_EQ(printable("ab\x1b", 4), "ab\xE2\x80\xA6");
  EXPECT_EQ(printable("ab\x1b", 6), "ab\\x1b");
}

TEST(Printable, AlwaysGivesValidUtf8WithoutControlCharacters) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  for (const std::string& s : {all, all + all, std::string("\xE2\x80"), std::string("\xF0\x9F")}) {
    const std::string out = printable(s, 10000);
    EXPECT_TRUE(is_valid_utf8(out));
    EXPECT_FALSE(has_control_character(out)) << out;
  }
}

TEST(Utf8, ValidityAndControlCharacters) {
  EXPECT_TRUE(is_valid_utf8("a\xC3\xA9"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_TRUE(has_control_character(std::string("a\0", 2)));
  EXPECT_TRUE(has_control_character("\xC2\x85"));
  EXPECT_FALSE(has_control_character("\xC2\xA0 x"));
}

}  // namespace
}  // namespace greenbench
