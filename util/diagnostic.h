// diagnostic.h: configuration diagnostics with location, stable code,
// message, quoted source line with a caret, and an optional hint.
//
// Every front end reports into a DiagnosticSink and keeps going, so that a
// run reports all errors, not only the first. Rendering is deterministic:
// tests assert the exact text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/source_file.h"

namespace postern {

enum class Severity { kError, kWarning, kNote };

const char* SeverityName(Severity severity);

// A position in a source file. line and column are 1-based; 0 means unknown
// (a diagnostic about a whole file, or about a command-line argument).
struct SourceLocation {
  std::shared_ptr<const SourceFile> file;
  int line = 0;
  int column = 0;
  int length = 1;  // how many characters the caret underlines
};

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;  // stable, e.g. "PC0101"
  std::string file;  // as printed; may be set without a SourceFile
  SourceLocation location;
  std::string message;
  std::string hint;
};

class DiagnosticSink {
 public:
  void Add(Diagnostic diagnostic);
  void Error(const std::string& code, SourceLocation location, std::string message, std::string hint = "");
  void Warning(const std::string& code, SourceLocation location, std::string message, std::string hint = "");
  // Diagnostics about a named file without a position (missing files...).
  void FileError(const std::string& code, const std::string& file, std::string message, std::string hint = "");
  void FileWarning(const std::string& code, const std::string& file, std::string message, std::string hint = "");

  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  int error_count() const { return errors_; }
  int warning_count() const { return warnings_; }
  bool has_errors() const { return errors_ > 0; }

 private:
  std::vector<Diagnostic> diagnostics_;
  int errors_ = 0;
  int warnings_ = 0;
};

// gcc-style text:
//   main.cf:3:1: warning: unknown parameter "mydestinaton" [PC0104]
//       3 | mydestinaton = example.com
//         | ^~~~~~~~~~~~
//         = hint: did you mean "mydestination"?
std::string RenderDiagnostic(const Diagnostic& diagnostic);
std::string RenderDiagnostics(const std::vector<Diagnostic>& diagnostics);

}  // namespace postern
