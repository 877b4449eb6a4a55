// logical_lines.cc: see logical_lines.h.
#include "util/logical_lines.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/strings.h"

namespace postern {

SourceLocation LogicalLine::Locate(const std::shared_ptr<const SourceFile>& file, size_t offset, size_t length) const {
  SourceLocation loc;
  loc.file = file;
  loc.length = static_cast<int>(length == 0 ? 1 : length);
  if (pieces.empty()) return loc;
  const Piece* piece = &pieces.front();
  for (const Piece& p : pieces) {
    if (p.offset <= offset) piece = &p;
  }
  loc.line = piece->line;
  loc.column = static_cast<int>(offset - piece->offset) + 1;
  return loc;
}

LogicalLineAssembler::Fed LogicalLineAssembler::Feed(std::string_view physical, int number, LogicalLine* completed,
                                                     bool* has_completed) {
  *has_completed = false;
  size_t first = 0;
  while (first < physical.size() && IsSpace(physical[first])) ++first;
  if (first == physical.size() || physical[first] == '#') return Fed::kIgnored;  // blank or comment
  if (first > 0) {
    if (!open_) return Fed::kOrphan;
    current_.pieces.push_back({current_.text.size(), number});
    current_.text.append(physical);
    return Fed::kContinued;
  }
  if (open_) {
    std::swap(*completed, current_);
    *has_completed = true;
  }
  current_.pieces.assign(1, {0, number});
  current_.text.assign(physical);
  open_ = true;
  return Fed::kStarted;
}

bool LogicalLineAssembler::Finish(LogicalLine* completed) {
  if (!open_) return false;
  std::swap(*completed, current_);
  open_ = false;
  return true;
}

namespace {

void ReportOrphan(const std::shared_ptr<const SourceFile>& file, int line, DiagnosticSink* diagnostics) {
  SourceLocation loc{file, line, 1, 1};
  diagnostics->Warning("PU0001", loc, "continuation line does not continue a logical line; ignored",
                       "a logical line must start in column 1; indented lines continue it");
}

}  // namespace

std::vector<LogicalLine> ReadLogicalLines(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics) {
  std::vector<LogicalLine> lines;
  LogicalLineAssembler assembler;
  LogicalLine completed;
  bool has_completed = false;
  const std::string& text = file->text();
  size_t pos = 0;
  int line_number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view physical(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (assembler.Feed(physical, line_number, &completed, &has_completed) == LogicalLineAssembler::Fed::kOrphan) {
      ReportOrphan(file, line_number, diagnostics);
    }
    if (has_completed) lines.push_back(std::move(completed));
  }
  if (assembler.Finish(&completed)) lines.push_back(std::move(completed));
  return lines;
}

bool LogicalLineReader::Physical(std::string_view* line) {
  constexpr size_t kChunk = 1 << 20;
  while (true) {
    size_t newline = buffer_.find('\n', start_);
    if (newline != std::string::npos) {
      *line = std::string_view(buffer_).substr(start_, newline - start_);
      start_ = newline + 1;
      return true;
    }
    if (eof_) {
      if (start_ >= buffer_.size()) return false;
      *line = std::string_view(buffer_).substr(start_);  // the last line has no newline
      start_ = buffer_.size();
      return true;
    }
    buffer_.erase(0, start_);  // keep the partial line, read more after it
    start_ = 0;
    size_t have = buffer_.size();
    buffer_.resize(have + kChunk);
    ssize_t n;
    do {
      n = read(fd_, buffer_.data() + have, kChunk);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      status_ = Status::Temporary(std::string("read error: ") + std::strerror(errno));
      buffer_.resize(have);
      return false;
    }
    buffer_.resize(have + static_cast<size_t>(n));
    if (hash_ != nullptr) hash_->Update(std::string_view(buffer_).substr(have));
    if (n == 0) eof_ = true;
  }
}

bool LogicalLineReader::Next(LogicalLine* line, std::vector<int>* orphans) {
  std::string_view physical;
  bool has_completed = false;
  while (!finished_ && status_.ok()) {
    if (!Physical(&physical)) {
      finished_ = true;
      return status_.ok() && assembler_.Finish(line);
    }
    ++number_;
    if (assembler_.Feed(physical, number_, line, &has_completed) == LogicalLineAssembler::Fed::kOrphan) {
      orphans->push_back(number_);
    }
    if (has_completed) return true;
  }
  return false;
}

}  // namespace postern
