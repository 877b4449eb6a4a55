// logical_lines.h: Postfix's logical-line reader, shared by main.cf,
// master.cf and every table source format.
//
// As Postfix's readlline(3): empty lines, whitespace-only lines and lines
// whose first non-whitespace character is '#' are ignored; a line that starts
// with whitespace continues the current logical line. Physical lines are
// concatenated as they are (the newline is dropped, the leading whitespace of
// a continuation is kept). Each logical line remembers where each piece came
// from, so a byte offset in it maps back to file:line:col.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/diagnostic.h"
#include "util/source_file.h"

namespace postern {

struct LogicalLine {
  struct Piece {
    size_t offset;  // where this physical line's text starts in `text`
    int line;       // its physical line number (1-based)
  };
  std::string text;
  std::vector<Piece> pieces;

  // Location of byte `offset` of `text`; `length` is the caret width.
  SourceLocation Locate(const std::shared_ptr<const SourceFile>& file, size_t offset, size_t length = 1) const;
  int first_line() const { return pieces.empty() ? 0 : pieces.front().line; }
};

// Splits `file` into logical lines. A continuation line with nothing to
// continue is reported (code PU0001) and skipped, as Postfix does.
std::vector<LogicalLine> ReadLogicalLines(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics);

}  // namespace postern
