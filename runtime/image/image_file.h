// image_file.h: one file of an image, copied into memory when the image is
// loaded and shared by the tables that point into it until the last owner
// lets go. A copy, not a mapping: a file truncated or rewritten under a
// running daemon cannot fault it (a mapping would SIGBUS on the next
// lookup), and what was verified at load stays what is served.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace postern::image {

class ImageFile {
 public:
  ImageFile(const ImageFile&) = delete;
  ImageFile& operator=(const ImageFile&) = delete;

  // A regular file only, never through a symbolic link (util/read_file.h).
  static Result<std::shared_ptr<const ImageFile>> Read(const std::string& path);
  std::string_view bytes() const { return bytes_; }

 private:
  explicit ImageFile(std::string bytes) : bytes_(std::move(bytes)) {}
  const std::string bytes_;
};

}  // namespace postern::image
