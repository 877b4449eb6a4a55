// source_file.h: a text file held in memory with its line index, so that
// diagnostics can quote the line they point at.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern {

class SourceFile {
 public:
  // `name` is what diagnostics print (usually the path as given).
  SourceFile(std::string name, std::string text);

  // Reads a whole file. A missing or unreadable file is a permanent error.
  static Result<std::shared_ptr<const SourceFile>> Read(const std::string& path, std::string display_name = "");

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  int line_count() const { return static_cast<int>(line_starts_.size()); }
  // The text of physical line `line` (1-based) without its newline.
  // Returns "" for a line outside the file.
  std::string_view Line(int line) const;

 private:
  std::string name_;
  std::string text_;
  std::vector<size_t> line_starts_;
};

// A source file for diagnostics, read only when one needs it: a table
// read piece by piece from disk is not held in memory, yet a diagnostic
// about one of its lines still quotes the line. Not thread-safe.
class SourceFileRef {
 public:
  explicit SourceFileRef(std::shared_ptr<const SourceFile> file) : file_(std::move(file)) {}
  // The file at `path`, named `name` in diagnostics.
  SourceFileRef(std::string path, std::string name) : path_(std::move(path)), name_(std::move(name)) {}
  // Reads the file on first use; one that cannot be read then gives its
  // name without text (diagnostics still name file and line).
  const std::shared_ptr<const SourceFile>& Get() const;

 private:
  mutable std::shared_ptr<const SourceFile> file_;
  std::string path_, name_;
};

// Whether something exists at `path` (file or directory).
bool PathExists(const std::string& path);

}  // namespace postern
