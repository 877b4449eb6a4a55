// compiled_table.h: a text or aliases(5) table source compiled straight
// into a CDB file, line by line, as postmap builds a cdb: table: the source
// is read through a buffer and never held, keys are folded as Postfix folds
// them, the first of repeated keys is kept (PT0302 for the others), and
// the records stay in source order (the same source gives the same bytes).
// The file is unnamed (O_TMPFILE) in a scratch directory: the table answers
// from its mapping, and the image builder links or copies it into the
// image as it is, so a table of a million entries costs neither its size
// in memory nor a second build.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "compiler/tables/table_reference.h"
#include "mail/case_fold.h"
#include "mail/cdb_table.h"
#include "util/diagnostic.h"
#include "util/status.h"

namespace postern::tables {

// A finished CDB file: an open descriptor and a read-only mapping of it.
class CompiledFile {
 public:
  CompiledFile(int fd, uint64_t size);
  ~CompiledFile();
  CompiledFile(const CompiledFile&) = delete;
  CompiledFile& operator=(const CompiledFile&) = delete;

  bool mapped() const { return data_ != nullptr || size_ == 0; }
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  int fd_;
  uint64_t size_;
  void* data_ = nullptr;
};

struct CompiledTable {
  std::shared_ptr<const CompiledFile> file;
  std::shared_ptr<const mail::CdbTable> table;  // answers from `file`
  uint64_t entries = 0;
  std::string source_sha256;  // of the source as it was read
};

// Compiles the source at `path` (`display` names it in diagnostics) of a
// kText or kAliases table into a file in `scratch_directory` (empty:
// $TMPDIR, else /tmp). Line problems go to `diagnostics`; an error when the
// source cannot be read or the file cannot be written.
Result<CompiledTable> CompileTableSource(const std::string& path, const std::string& display, TableFormat format,
                                         mail::CaseFold fold, const std::string& scratch_directory,
                                         DiagnosticSink* diagnostics);

}  // namespace postern::tables
