// diagnostic.cc: collecting and rendering diagnostics.
#include "util/diagnostic.h"

#include <algorithm>

namespace postern {

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kNote:
      return "note";
  }
  return "error";
}

void DiagnosticSink::Add(Diagnostic diagnostic) {
  if (diagnostic.file.empty() && diagnostic.location.file) {
    diagnostic.file = diagnostic.location.file->name();
  }
  if (diagnostic.severity == Severity::kError) ++errors_;
  if (diagnostic.severity == Severity::kWarning) ++warnings_;
  diagnostics_.push_back(std::move(diagnostic));
}

void DiagnosticSink::Error(const std::string& code, SourceLocation location, std::string message, std::string hint) {
  Add({Severity::kError, code, "", std::move(location), std::move(message), std::move(hint)});
}

void DiagnosticSink::Warning(const std::string& code, SourceLocation location, std::string message, std::string hint) {
  Add({Severity::kWarning, code, "", std::move(location), std::move(message), std::move(hint)});
}

void DiagnosticSink::FileError(const std::string& code, const std::string& file, std::string message,
                               std::string hint) {
  Add({Severity::kError, code, file, {}, std::move(message), std::move(hint)});
}

void DiagnosticSink::FileWarning(const std::string& code, const std::string& file, std::string message,
                                 std::string hint) {
  Add({Severity::kWarning, code, file, {}, std::move(message), std::move(hint)});
}

std::string RenderDiagnostic(const Diagnostic& d) {
  std::string out = d.file.empty() ? std::string("postern") : d.file;
  const SourceLocation& loc = d.location;
  if (loc.line > 0) {
    out += ":" + std::to_string(loc.line);
    if (loc.column > 0) out += ":" + std::to_string(loc.column);
  }
  out += ": ";
  out += SeverityName(d.severity);
  out += ": " + d.message;
  if (!d.code.empty()) out += " [" + d.code + "]";
  out += "\n";
  std::string gutter;
  if (loc.file && loc.line > 0) {
    std::string number = std::to_string(loc.line);
    gutter = std::string(number.size() + 1, ' ');
    std::string_view line = loc.file->Line(loc.line);
    out += " " + number + " | ";
    out.append(line.data(), line.size());
    out += "\n";
    if (loc.column > 0) {
      out += gutter + " | ";
      // Keep tabs so that the caret lines up under the quoted text.
      size_t col = static_cast<size_t>(loc.column - 1);
      for (size_t i = 0; i < col && i < line.size(); ++i) out += line[i] == '\t' ? '\t' : ' ';
      out += '^';
      size_t available = line.size() > col ? line.size() - col : 0;
      size_t tildes = std::min(static_cast<size_t>(std::max(loc.length, 1) - 1), available > 0 ? available - 1 : 0);
      out.append(tildes, '~');
      out += "\n";
    }
  }
  if (!d.hint.empty()) out += (gutter.empty() ? std::string(" ") : gutter) + " = hint: " + d.hint + "\n";
  return out;
}

std::string RenderDiagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += RenderDiagnostic(d);
  return out;
}

}  // namespace postern
