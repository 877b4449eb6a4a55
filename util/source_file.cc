// source_file.cc: reading a file into memory and indexing its lines.
#include "util/source_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace postern {

SourceFile::SourceFile(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n' && i + 1 < text_.size()) line_starts_.push_back(i + 1);
  }
}

Result<std::shared_ptr<const SourceFile>> SourceFile::Read(const std::string& path, std::string display_name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Permanent("cannot open " + path + ": " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::Permanent("cannot read " + path + ": " + std::strerror(errno));
  return std::make_shared<const SourceFile>(display_name.empty() ? path : std::move(display_name), buffer.str());
}

std::string_view SourceFile::Line(int line) const {
  if (line < 1 || line > line_count()) return {};
  size_t start = line_starts_[static_cast<size_t>(line - 1)];
  size_t end = text_.find('\n', start);
  if (end == std::string::npos) end = text_.size();
  std::string_view view(text_.data() + start, end - start);
  if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
  return view;
}

const std::shared_ptr<const SourceFile>& SourceFileRef::Get() const {
  if (!file_) {
    auto read = SourceFile::Read(path_, name_);
    file_ = read.ok() ? read.value() : std::make_shared<const SourceFile>(name_, "");
  }
  return file_;
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace postern
