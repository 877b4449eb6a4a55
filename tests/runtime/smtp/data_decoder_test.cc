// data_decoder_test.cc: end of data is <CR><LF>.<CR><LF> and nothing else;
// every smuggling variant is content; dot-unstuffing; bare <LF> policies;
// the same results whether bytes come at once or one at a time.
#include "runtime/smtp/data_decoder.h"

#include <gtest/gtest.h>

namespace postern::smtp {
namespace {

struct Decoded {
  DataDecoder::State state;
  std::vector<std::string> lines;
  size_t used;
};

// The content as lines (split at CRLF; the content always ends in one).
Decoded Decode(std::string_view input, DataOptions options = {}, bool bytewise = false) {
  DataDecoder d(options);
  std::string content;
  size_t used = 0;
  if (bytewise) {
    for (size_t i = 0; i < input.size() && d.state() == DataDecoder::State::kContent; ++i) {
      used += d.Feed(input.substr(i, 1), &content);
    }
  } else {
    used = d.Feed(input, &content);
  }
  std::vector<std::string> lines;
  for (size_t at = 0; at < content.size();) {
    size_t end = content.find("\r\n", at);
    if (end == std::string::npos) {
      lines.push_back(content.substr(at) + "<no CRLF>");
      break;
    }
    lines.push_back(content.substr(at, end - at));
    at = end + 2;
  }
  return {d.state(), lines, used};
}

using Lines = std::vector<std::string>;

TEST(DataDecoderTest, EndsOnlyAtCrLfDotCrLf) {
  for (bool bytewise : {false, true}) {
    Decoded d = Decode("Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<next@example>\r\n", {}, bytewise);
    EXPECT_EQ(d.state, DataDecoder::State::kDone);
    EXPECT_EQ(d.lines, (Lines{"Subject: x", "", "body"}));
    // The decoder stops right after the terminator: the rest is the next command.
    EXPECT_EQ(d.used, std::string_view("Subject: x\r\n\r\nbody\r\n.\r\n").size());
  }
}

TEST(DataDecoderTest, SmugglingVariantsAreContent) {
  struct Case {
    const char* input;
    Lines lines;  // what the message holds before the real terminator
  };
  const Case cases[] = {
      {"a\n.\nb\r\n.\r\n", {"a", "", "b"}},         // \n.\n (the dot is unstuffed, as any)
      {"a\r.\rb\r\n.\r\n", {"a\r.\rb"}},            // \r.\r: bare CRs are content
      {"a\n.\r\nb\r\n.\r\n", {"a", "", "b"}},       // \n.\r\n: the dot line follows a bare-LF line
      {"a\r\n.\nb\r\n.\r\n", {"a", "", "b"}},       // \r\n.\n: the dot line ends in bare LF
      {"a\r\n.\r\rb\r\n.\r\n", {"a", "\r\rb"}},     // \r\n.\r\r...
      {"a\r\n.\r b\r\n.\r\n", {"a", "\r b"}},       // dot, CR, space
      {"a\r\n .\r\nb\r\n.\r\n", {"a", " .", "b"}},  // space before the dot
      {"a\r\n..\r\nb\r\n.\r\n", {"a", ".", "b"}},   // a stuffed dot line
  };
  for (const Case& c : cases) {
    for (bool bytewise : {false, true}) {
      Decoded d = Decode(c.input, {}, bytewise);
      EXPECT_EQ(d.state, DataDecoder::State::kDone) << c.input;
      EXPECT_EQ(d.lines, c.lines) << testing::PrintToString(std::string(c.input)) << (bytewise ? " bytewise" : "");
    }
  }
}

TEST(DataDecoderTest, NoTerminatorWithoutCrLf) {
  for (const char* input : {"a\n.\n", "a\r.\r", "a\n.\r\n", "a\r\n.\n", "a\r\n.", "a\r\n.\r"}) {
    EXPECT_EQ(Decode(input).state, DataDecoder::State::kContent) << testing::PrintToString(std::string(input));
  }
}

TEST(DataDecoderTest, EmptyMessage) {
  EXPECT_EQ(Decode(".\r\n").state, DataDecoder::State::kDone);
  EXPECT_EQ(Decode(".\r\n").lines, Lines{});
  DataOptions after_bare_lf;
  after_bare_lf.data_line_ended_in_crlf = false;  // DATA\n: its line ended in bare LF
  EXPECT_EQ(Decode(".\r\n", after_bare_lf).state, DataDecoder::State::kContent);
}

TEST(DataDecoderTest, BareNewlineRejectMode) {
  DataOptions reject;
  reject.bare_newline = BareNewline::kReject;
  EXPECT_EQ(Decode("a\nb\r\n.\r\n", reject).state, DataDecoder::State::kBareNewlineError);
  EXPECT_EQ(Decode("a\rb\r\n.\r\n", reject).state, DataDecoder::State::kDone);  // bare CR is fine
}

TEST(DataDecoderTest, LongLinesAreSplitAndNeverTerminate) {
  DataOptions small;
  small.line_length_limit = 4;
  for (bool bytewise : {false, true}) {
    // Pieces are joined back; only the first is dot-unstuffed.
    Decoded d = Decode("..abcdefg\r\n.\r\n", small, bytewise);
    EXPECT_EQ(d.state, DataDecoder::State::kDone);
    EXPECT_EQ(d.lines, (Lines{".abcdefg"}));
    // A "." that continues a long line is not a terminator.
    d = Decode("abcd.\r\nx\r\n.\r\n", small, bytewise);
    EXPECT_EQ(d.lines, (Lines{"abcd.", "x"}));
    // A line of exactly the limit, its CRLF split from it, is whole.
    d = Decode("abcd\r\n.\r\n", small, bytewise);
    EXPECT_EQ(d.state, DataDecoder::State::kDone);
    EXPECT_EQ(d.lines, (Lines{"abcd"}));
  }
  DataOptions tiny;
  tiny.line_length_limit = 2;
  EXPECT_EQ(Decode(".\r\n", tiny).state, DataDecoder::State::kDone);
}

TEST(DataDecoderTest, SizeAndLimit) {
  DataOptions limited;
  limited.message_size_limit = 10;
  DataDecoder d(limited);
  std::string content;
  d.Feed("12345\r\n123456\r\n.\r\n", &content);
  EXPECT_EQ(d.state(), DataDecoder::State::kDone);
  EXPECT_EQ(d.size(), 15u);  // both lines with CRLF
  EXPECT_TRUE(d.too_big());
  EXPECT_EQ(content, "12345\r\n");  // nothing is kept past the limit
}

}  // namespace
}  // namespace postern::smtp
