// Tests for util/logical_lines: Postfix's readlline(3) rules.
#include "util/logical_lines.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

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

// The reader gives, from a file, the lines ReadLogicalLines gives from
// memory: also with a line longer than its buffer and no final newline.
TEST(LogicalLineReaderTest, ReadsAFileAsReadLogicalLinesReadsTheText) {
  std::string text = "  orphan\na = 1,\n  2\n# comment\n\n\t3\n";
  text += "long = " + std::string(3 << 20, 'x') + "\n  tail\n";
  for (int i = 0; i < 1000; ++i) text += "key" + std::to_string(i) + " value\n";
  text += "last line";
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), f), text.size());
  std::fflush(f);
  ASSERT_EQ(lseek(fileno(f), 0, SEEK_SET), 0);

  DiagnosticSink sink;
  std::vector<LogicalLine> expected = Read(text, &sink);
  LogicalLineReader reader(fileno(f));
  std::vector<int> orphans;
  LogicalLine line;
  size_t n = 0;
  while (reader.Next(&line, &orphans)) {
    ASSERT_LT(n, expected.size());
    EXPECT_EQ(line.text, expected[n].text);
    ASSERT_EQ(line.pieces.size(), expected[n].pieces.size());
    for (size_t p = 0; p < line.pieces.size(); ++p) {
      EXPECT_EQ(line.pieces[p].line, expected[n].pieces[p].line);
      EXPECT_EQ(line.pieces[p].offset, expected[n].pieces[p].offset);
    }
    ++n;
  }
  EXPECT_TRUE(reader.status().ok());
  EXPECT_EQ(n, expected.size());
  EXPECT_EQ(orphans, std::vector<int>{1});
  ASSERT_EQ(sink.diagnostics().size(), 1u);
  EXPECT_EQ(sink.diagnostics()[0].location.line, 1);
  std::fclose(f);
}

}  // namespace
}  // namespace postern
