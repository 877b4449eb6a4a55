// strings_test.cc: Printable keeps what is safe in a header or a log line.
#include "util/strings.h"

#include <gtest/gtest.h>

namespace postern {
namespace {

TEST(PrintableTest, ControlCharactersBecomeTheReplacement) {
  EXPECT_EQ(Printable("good.example\rX-Injected: yes"), "good.example?X-Injected: yes");
  EXPECT_EQ(Printable(std::string("a\nb\tc\0d\x7f", 8)), "a?b?c?d?");
  EXPECT_EQ(Printable("\x1b[31mred", '_'), "_[31mred");
}

TEST(PrintableTest, WellFormedUtf8StaysAndMalformedBytesDoNot) {
  EXPECT_EQ(Printable("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x93\xa7"), "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x93\xa7");
  EXPECT_EQ(Printable("\xc3"), "?");                 // truncated
  EXPECT_EQ(Printable("\xc0\xaf"), "??");            // overlong
  EXPECT_EQ(Printable("\xed\xa0\x80"), "???");       // a surrogate
  EXPECT_EQ(Printable("\xf4\x90\x80\x80"), "????");  // beyond U+10FFFF
  EXPECT_EQ(Printable("\x80x"), "?x");               // a stray continuation byte
}

}  // namespace
}  // namespace postern
