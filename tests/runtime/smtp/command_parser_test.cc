// command_parser_test.cc: command lines and their arguments.
#include "runtime/smtp/command_parser.h"

#include <gtest/gtest.h>

namespace postern::smtp {
namespace {

TEST(LineReaderTest, CutsLinesAndKeepsWhatFollows) {
  LineReader r;
  r.Feed("EHLO a.example\r\nMAIL FROM:<x@y>\r\nDAT");
  auto first = r.Next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->text, "EHLO a.example");
  EXPECT_TRUE(first->crlf);
  EXPECT_EQ(r.Next()->text, "MAIL FROM:<x@y>");
  EXPECT_FALSE(r.Next());
  EXPECT_EQ(r.pending(), "DAT");
  r.Feed("A\n");
  auto bare = r.Next();
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->text, "DATA");
  EXPECT_FALSE(bare->crlf);
}

TEST(LineReaderTest, RejectModeStopsAtBareNewline) {
  LineReader r(BareNewline::kReject);
  r.Feed("NOOP\nQUIT\r\n");
  EXPECT_FALSE(r.Next());
  EXPECT_TRUE(r.error());
}

TEST(LineReaderTest, OverlongLinesAreCut) {
  LineReader r(BareNewline::kNormalize, 8);
  r.Feed("NOOP 1234567890\r\nQUIT\r\n");
  auto cut = r.Next();
  ASSERT_TRUE(cut);
  EXPECT_TRUE(cut->too_long);
  EXPECT_EQ(cut->text, "NOOP 123");
  EXPECT_EQ(r.Next()->text, "QUIT");
  // Without a line end in sight, the buffer does not grow past the limit.
  r.Feed(std::string(100, 'x'));
  auto partial = r.Next();
  ASSERT_TRUE(partial);
  EXPECT_TRUE(partial->too_long);
  r.Feed("yyy\r\nNOOP\r\n");
  EXPECT_EQ(r.Next()->text, "NOOP");
}

TEST(ParseCommandTest, VerbsAreCaseInsensitive) {
  EXPECT_EQ(ParseCommand("ehlo client.example").verb, Command::Verb::kEhlo);
  EXPECT_EQ(ParseCommand("ehlo client.example").argument, "client.example");
  EXPECT_EQ(ParseCommand("StartTLS").verb, Command::Verb::kStarttls);
  EXPECT_EQ(ParseCommand("FROB").verb, Command::Verb::kUnknown);
}

TEST(ParseCommandTest, MailWithParameters) {
  Command c = ParseCommand("MAIL FROM:<fred@example.com> SIZE=1000 BODY=8BITMIME smtputf8");
  EXPECT_EQ(c.error, "");
  EXPECT_EQ(c.path, "fred@example.com");
  ASSERT_EQ(c.parameters.size(), 3u);
  EXPECT_EQ(c.parameters[0], (std::pair<std::string, std::string>{"SIZE", "1000"}));
  EXPECT_EQ(c.parameters[2], (std::pair<std::string, std::string>{"SMTPUTF8", ""}));
}

TEST(ParseCommandTest, PathsAsPostfixTakesThem) {
  EXPECT_EQ(ParseCommand("MAIL FROM:<>").path, "");
  EXPECT_EQ(ParseCommand("mail from: <a@b>").path, "a@b");
  EXPECT_EQ(ParseCommand("RCPT TO:a@b").path, "a@b");
  EXPECT_EQ(ParseCommand("RCPT TO:<\"x>y\"@b> NOTIFY=NEVER").path, "\"x>y\"@b");
  EXPECT_EQ(ParseCommand("RCPT TO:<@relay:user@b>").path, "@relay:user@b");
}

TEST(ParseCommandTest, SyntaxErrors) {
  EXPECT_NE(ParseCommand("MAIL TO:<a@b>").error, "");
  EXPECT_NE(ParseCommand("RCPT TO:<a@b").error, "");
  EXPECT_NE(ParseCommand("RCPT TO:<a@b>X").error, "");
  EXPECT_NE(ParseCommand("RCPT TO:<a@b> =x").error, "");
}

}  // namespace
}  // namespace postern::smtp
