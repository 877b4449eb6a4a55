// message_content_test.cc: the header section is kept and the rest
// streamed, wherever the chunks of content break; body_checks get the
// first body_checks_size_limit bytes in pieces of line_length_limit; a
// header section over its limit is reported, not kept.
#include "runtime/session/message_content.h"

#include <gtest/gtest.h>

namespace postern::session {
namespace {

struct Split {
  std::string header_section;
  std::string body;
  std::vector<std::string> body_lines;
  bool too_big = false;
};

// Feeds `content` in chunks of `chunk` bytes.
Split Feed(std::string_view content, size_t chunk, MessageContent::Limits limits = {}) {
  MessageContent c(std::make_unique<queue::BodySpool>("", "Q", 0, 0), limits);
  for (size_t i = 0; i < content.size(); i += chunk) c.Append(content.substr(i, chunk));
  c.Finish();
  EXPECT_EQ(c.size(), content.size());
  Split s;
  s.too_big = c.header_too_big();
  s.header_section = c.header_section();
  s.body_lines = c.TakeBodyCheckLines();
  s.body = std::string(c.TakeBody()->memory());
  return s;
}

void ExpectSameForEveryChunking(std::string_view content, const std::string& header_section,
                                MessageContent::Limits limits = {}) {
  Split whole = Feed(content, content.size() + 1, limits);
  EXPECT_EQ(whole.header_section, header_section);
  EXPECT_EQ(whole.header_section + whole.body, content);
  for (size_t chunk = 1; chunk < 9; ++chunk) {
    Split s = Feed(content, chunk, limits);
    EXPECT_EQ(s.header_section, whole.header_section) << "chunks of " << chunk;
    EXPECT_EQ(s.body, whole.body) << "chunks of " << chunk;
    EXPECT_EQ(s.body_lines, whole.body_lines) << "chunks of " << chunk;
  }
}

TEST(MessageContentTest, TheHeaderSectionEndsAtTheBlankLine) {
  ExpectSameForEveryChunking("Subject: hi\r\nX-A: 1\r\n\tcontinued\r\n\r\nbody\r\n",
                             "Subject: hi\r\nX-A: 1\r\n\tcontinued\r\n");
}

TEST(MessageContentTest, OrAtTheFirstLineThatIsNotAHeader) {
  ExpectSameForEveryChunking("Subject: hi\r\nno colon here\r\nX: y\r\n", "Subject: hi\r\n");
  ExpectSameForEveryChunking("Bad Name: x\r\n", "");
  ExpectSameForEveryChunking(":x\r\n", "");
  ExpectSameForEveryChunking(" leading space: x\r\n", "");  // no header to continue
  ExpectSameForEveryChunking("\r\nonly a body\r\n", "");
  ExpectSameForEveryChunking("A: b\rc\r\n\r\n", "A: b\rc\r\n");  // a bare CR inside a value
  ExpectSameForEveryChunking("A\rB: c\r\n", "");                 // and in a name
  ExpectSameForEveryChunking("Subject: only headers\r\n", "Subject: only headers\r\n");
  ExpectSameForEveryChunking("", "");
}

TEST(MessageContentTest, ALongLineThatIsNoHeaderIsNotHeld) {
  // Its third byte decides; nothing of it waits in the header section.
  MessageContent c(std::make_unique<queue::BodySpool>("", "Q", 0, 0), {});
  c.Append("no header line ");
  c.Append(std::string(1 << 21, 'x'));
  EXPECT_FALSE(c.header_too_big());
  c.Finish();
  EXPECT_EQ(c.header_section(), "");
  EXPECT_EQ(c.TakeBody()->size(), 15u + (1 << 21));
}

TEST(MessageContentTest, AHeaderSectionOverTheLimitIsReportedAndNotKept) {
  MessageContent::Limits limits;
  limits.header_section = 1000;
  std::string content;
  for (int i = 0; i < 100; ++i) content += "X-Padding-" + std::to_string(i) + ": yes\r\n";
  content += "\r\nbody\r\n";
  Split s = Feed(content, 64, limits);
  EXPECT_TRUE(s.too_big);
  EXPECT_EQ(s.header_section, "");
  EXPECT_EQ(s.body, "");
}

TEST(MessageContentTest, BodyChecksSeeTheBodyLinesWithoutTheBlankLine) {
  MessageContent::Limits limits;
  limits.body_checks = true;
  Split s = Feed("Subject: x\r\n\r\none\r\n\r\ntwo\r\n", 3, limits);
  EXPECT_EQ(s.body_lines, (std::vector<std::string>{"one", "", "two"}));
  s = Feed("no headers\r\nline two\r\n", 5, limits);
  EXPECT_EQ(s.body_lines, (std::vector<std::string>{"no headers", "line two"}));
  limits.body_checks = false;
  EXPECT_TRUE(Feed("A: b\r\n\r\nbody\r\n", 4, limits).body_lines.empty());
}

TEST(MessageContentTest, BodyChecksSeeLongLinesInPiecesAndOnlyTheFirstBytes) {
  MessageContent::Limits limits;
  limits.body_checks = true;
  limits.line_length = 4;
  limits.body_checks_size = 16;
  // Body offsets: "abcdefghij" 0 (pieces at 0, 4, 8), "klmn" 12, "op" 18.
  std::string content = "S: x\r\n\r\nabcdefghij\r\nklmn\r\nop\r\n";
  ExpectSameForEveryChunking(content, "S: x\r\n", limits);
  EXPECT_EQ(Feed(content, 2, limits).body_lines, (std::vector<std::string>{"abcd", "efgh", "ij", "klmn"}));
  limits.body_checks_size = 0;  // Postfix: no limit
  EXPECT_EQ(Feed(content, 3, limits).body_lines, (std::vector<std::string>{"abcd", "efgh", "ij", "klmn", "op"}));
}

}  // namespace
}  // namespace postern::session
