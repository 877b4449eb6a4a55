// compiled_table.cc: see compiled_table.h.
#include "compiler/tables/compiled_table.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "compiler/tables/table_source.h"
#include "mail/cdb_writer.h"
#include "util/logical_lines.h"
#include "util/sha256.h"
#include "util/source_file.h"
#include "util/strings.h"

namespace postern::tables {
namespace {

// An unnamed file in `directory`, removed with its last descriptor; a
// named one unlinked at once where O_TMPFILE is not supported.
Result<int> ScratchFile(const std::string& directory) {
  std::string dir = directory;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string pattern = dir + "/.postern-table-XXXXXX";
  fd = mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) return Status::Temporary("cannot create a file in " + dir + ": " + std::strerror(errno));
  unlink(pattern.c_str());
  return fd;
}

// `key` folded as the table's lookups fold it, into *out (reused).
void FoldKey(std::string_view key, mail::CaseFold fold, std::string* out) {
  bool ascii = true;
  for (char c : key) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (!ascii && fold == mail::CaseFold::kUtf8) {
    *out = mail::FoldCase(key, fold);
    return;
  }
  out->assign(key);
  if (fold == mail::CaseFold::kNone) return;
  for (char& c : *out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

}  // namespace

CompiledFile::CompiledFile(int fd, uint64_t size) : fd_(fd), size_(size) {
  if (size_ == 0) return;
  void* data = mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
  if (data != MAP_FAILED) data_ = data;
}

CompiledFile::~CompiledFile() {
  if (data_ != nullptr) munmap(data_, size_);
  close(fd_);
}

Result<CompiledTable> CompileTableSource(const std::string& path, const std::string& display, TableFormat format,
                                         mail::CaseFold fold, const std::string& scratch_directory,
                                         DiagnosticSink* diagnostics) {
  int source = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (source < 0) return Status::Permanent("cannot open " + path + ": " + std::strerror(errno));
  Result<int> scratch = ScratchFile(scratch_directory);
  if (!scratch.ok()) {
    close(source);
    return scratch.status();
  }
  int fd = *scratch;
  SourceFileRef file(path, display);
  Sha256 source_hash;
  LogicalLineReader reader(source, &source_hash);
  mail::CdbWriter writer(fd, /*unique_keys=*/true);
  LogicalLine line;
  std::vector<int> orphans;
  std::string folded, name, value;
  Status status;
  auto report_orphans = [&] {
    for (int orphan : orphans) {
      diagnostics->Warning("PU0001", SourceLocation{file.Get(), orphan, 1, 1},
                           "continuation line does not continue a logical line; ignored",
                           "a logical line must start in column 1; indented lines continue it");
    }
    orphans.clear();
  };
  while (status.ok() && reader.Next(&line, &orphans)) {
    report_orphans();
    std::string_view key, text;
    size_t key_end = 0;
    if (format == TableFormat::kAliases) {
      if (!ParseAliasEntry(line, file, diagnostics, &name, &value, &key_end)) continue;
      key = name;
      text = value;
    } else {
      if (!ParseTextEntry(line, file, diagnostics, &key, &text)) continue;
      key_end = key.size();
    }
    FoldKey(key, fold, &folded);
    Result<bool> added = writer.Add(folded, text);
    if (!added.ok()) {
      status = added.status();
    } else if (!*added) {
      diagnostics->Warning("PT0302", line.Locate(file.Get(), 0, key_end), "duplicate entry \"" + ToLower(key) + "\"",
                           "Postfix uses the first value; remove one of them");
    }
  }
  report_orphans();
  close(source);
  if (status.ok() && !reader.status().ok()) {
    close(fd);
    return Status::Permanent("cannot read " + path + ": " + reader.status().message());
  }
  Result<uint64_t> size = status.ok() ? writer.Finish() : Result<uint64_t>(status);
  if (!size.ok()) {  // the compiled file cannot be written
    close(fd);
    return Status::Temporary(path + ": " + size.status().message());
  }
  auto compiled = std::make_shared<const CompiledFile>(fd, *size);
  if (!compiled->mapped()) return Status::Temporary(path + ": cannot map the compiled table");
  CompiledTable result;
  result.file = compiled;
  result.table = std::make_shared<const mail::CdbTable>(compiled, compiled->bytes(), fold, /*mapped=*/true);
  result.entries = writer.count();
  result.source_sha256 = Sha256::Hex(source_hash.Final());
  return result;
}

}  // namespace postern::tables
