// Tests for util/logical_lines: Postfix's readlline(3) rules.
#include "util/logical_lines.h"

#include <gtest/gtest.h>

namespace postern {
namespace {

std::vector<LogicalLine> Read(const std::string& text, DiagnosticSink* sink) {
  auto file = std::make_shared<const SourceFile>("f", text);
  return ReadLogicalLines(file, sink);
}

TEST(LogicalLinesTest, JoinsContinuationsAndSkipsCommentsAndBlanks) {
  DiagnosticSink sink;
  auto lines = Read("a = 1,\n  2\n# comment\n\n   # indented comment\n\t3\nb = x\r\n", &sink);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "a = 1,  2\t3");
  EXPECT_EQ(lines[0].first_line(), 1);
  EXPECT_EQ(lines[1].text, "b = x\r");
  EXPECT_EQ(lines[1].first_line(), 7);
  EXPECT_TRUE(sink.diagnostics().empty());
}

TEST(LogicalLinesTest, LocatesOffsetsOnContinuationLines) {
  DiagnosticSink sink;
  auto file = std::make_shared<const SourceFile>("f", "a = 1,\n  2\n");
  auto lines = ReadLogicalLines(file, &sink);
  ASSERT_EQ(lines.size(), 1u);
  SourceLocation loc = lines[0].Locate(file, lines[0].text.find('2'));
  EXPECT_EQ(loc.line, 2);
  EXPECT_EQ(loc.column, 3);
}

TEST(LogicalLinesTest, LeadingContinuationIsReportedAndSkipped) {
  DiagnosticSink sink;
  auto lines = Read("  orphan\na = b\n", &sink);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "a = b");
  ASSERT_EQ(sink.diagnostics().size(), 1u);
  EXPECT_EQ(sink.diagnostics()[0].code, "PU0001");
  EXPECT_EQ(sink.diagnostics()[0].location.line, 1);
}

TEST(LogicalLinesTest, CommentBetweenContinuationsDoesNotEndTheLine) {
  DiagnosticSink sink;
  auto lines = Read("a = b\n#c\n  d\n", &sink);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "a = b  d");
}

}  // namespace
}  // namespace postern
