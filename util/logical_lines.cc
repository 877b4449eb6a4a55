// logical_lines.cc: see logical_lines.h.
#include "util/logical_lines.h"

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

std::vector<LogicalLine> ReadLogicalLines(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics) {
  std::vector<LogicalLine> lines;
  const std::string& text = file->text();
  size_t pos = 0;
  int line_number = 0;
  bool open = false;  // whether the last logical line may still continue
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    std::string_view physical(text.data() + pos, end - pos);
    pos = end + 1;

    size_t first = 0;
    while (first < physical.size() && IsSpace(physical[first])) ++first;
    if (first == physical.size() || physical[first] == '#') continue;  // blank or comment

    if (first > 0) {  // continuation
      if (!open) {
        SourceLocation loc{file, line_number, 1, 1};
        diagnostics->Warning("PU0001", loc, "continuation line does not continue a logical line; ignored",
                             "a logical line must start in column 1; indented lines continue it");
        continue;
      }
      LogicalLine& current = lines.back();
      current.pieces.push_back({current.text.size(), line_number});
      current.text.append(physical);
      continue;
    }
    LogicalLine line;
    line.pieces.push_back({0, line_number});
    line.text.assign(physical);
    lines.push_back(std::move(line));
    open = true;
  }
  return lines;
}

}  // namespace postern
