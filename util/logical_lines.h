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
#include "util/sha256.h"
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

// Puts physical lines, given one at a time, together into logical lines:
// the rules above, once, for text in memory and for a file read piece by
// piece (LogicalLineReader).
class LogicalLineAssembler {
 public:
  enum class Fed {
    kIgnored,    // blank or comment
    kStarted,    // starts a logical line
    kContinued,  // continues the current one
    kOrphan,     // a continuation with nothing to continue: to be reported and skipped
  };
  // Takes physical line `number`. When it starts a logical line after
  // another, that one is complete: it is moved into *completed and
  // *has_completed is set. (`completed`'s old text is reused.)
  Fed Feed(std::string_view physical, int number, LogicalLine* completed, bool* has_completed);
  // At the end of the input: the last logical line, if there is one.
  bool Finish(LogicalLine* completed);

 private:
  LogicalLine current_;
  bool open_ = false;
};

// Splits `file` into logical lines. A continuation line with nothing to
// continue is reported (code PU0001) and skipped, as Postfix does.
std::vector<LogicalLine> ReadLogicalLines(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics);

// The logical lines of a file read through a buffer, one at a time, so a
// file of any size is read without being held. Not thread-safe.
class LogicalLineReader {
 public:
  // `fd` is read from its current offset (not owned); `hash`, when given,
  // gets every byte read (the file's sha256 without reading it twice).
  explicit LogicalLineReader(int fd, Sha256* hash = nullptr) : fd_(fd), hash_(hash) {}
  // The next logical line into *line; false at the end of the file or on a
  // read error (then status() says which). `orphans` gets the number of
  // each continuation line that continues nothing (PU0001).
  bool Next(LogicalLine* line, std::vector<int>* orphans);
  const Status& status() const { return status_; }

 private:
  // The next physical line (without its newline), valid until the next call.
  bool Physical(std::string_view* line);

  int fd_;
  Sha256* hash_;
  Status status_;
  std::string buffer_;
  size_t start_ = 0;  // first unread byte of buffer_
  bool eof_ = false;
  int number_ = 0;
  LogicalLineAssembler assembler_;
  bool finished_ = false;
};

}  // namespace postern
