// image_file.cc: see image_file.h.
#include "runtime/image/image_file.h"

#include "util/read_file.h"

namespace postern::image {

Result<std::shared_ptr<const ImageFile>> ImageFile::Read(const std::string& path) {
  Result<std::string> bytes = ReadRegularFile(path);
  if (!bytes.ok()) return bytes.status();
  return std::shared_ptr<const ImageFile>(new ImageFile(std::move(bytes).value()));
}

}  // namespace postern::image
