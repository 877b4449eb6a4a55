// Tests for util/diagnostic: the exact rendered text.
#include "util/diagnostic.h"

#include <gtest/gtest.h>

namespace postern {
namespace {

TEST(DiagnosticTest, RendersLocationCodeSourceCaretAndHint) {
  auto file = std::make_shared<const SourceFile>("main.cf", "a = b\nmydestinaton = example.com\n");
  DiagnosticSink sink;
  sink.Warning("PC0104", SourceLocation{file, 2, 1, 12}, "unknown parameter \"mydestinaton\"",
               "did you mean \"mydestination\"?");
  EXPECT_EQ(RenderDiagnostics(sink.diagnostics()),
            "main.cf:2:1: warning: unknown parameter \"mydestinaton\" [PC0104]\n"
            " 2 | mydestinaton = example.com\n"
            "   | ^~~~~~~~~~~~\n"
            "   = hint: did you mean \"mydestination\"?\n");
  EXPECT_EQ(sink.warning_count(), 1);
  EXPECT_FALSE(sink.has_errors());
}

TEST(DiagnosticTest, CaretKeepsTabsAndStopsAtLineEnd) {
  auto file = std::make_shared<const SourceFile>("t", "\tkey\n");
  DiagnosticSink sink;
  sink.Error("PT0301", SourceLocation{file, 1, 2, 40}, "expected format: key whitespace value");
  EXPECT_EQ(RenderDiagnostic(sink.diagnostics()[0]),
            "t:1:2: error: expected format: key whitespace value [PT0301]\n"
            " 1 | \tkey\n"
            "   | \t^~~\n");
  EXPECT_TRUE(sink.has_errors());
}

TEST(DiagnosticTest, FileLevelDiagnosticHasNoPosition) {
  DiagnosticSink sink;
  sink.FileError("PC0001", "/x/main.cf", "cannot open /x/main.cf: No such file or directory");
  EXPECT_EQ(RenderDiagnostic(sink.diagnostics()[0]),
            "/x/main.cf: error: cannot open /x/main.cf: No such file or directory [PC0001]\n");
}

}  // namespace
}  // namespace postern
