// mapped_file.h: a read-only memory mapping of a whole file, unmapped when
// the last owner lets go.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace postern::image {

class MappedFile {
 public:
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  static Result<std::shared_ptr<const MappedFile>> Open(const std::string& path);
  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  MappedFile(void* data, size_t size) : data_(data), size_(size) {}
  void* data_;
  size_t size_;
};

}  // namespace postern::image
