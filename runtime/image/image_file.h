// image_file.h: one file of an image, copied into memory when the image is
// loaded and shared by the tables that point into it until the last owner
// lets go. posternd copies: a file truncated or rewritten under a running
// daemon cannot fault it (a mapping would SIGBUS on the next lookup), and
// what was verified at load stays what is served. The tools map instead
// (Map): a dry run on an image with a table of a million entries then
// costs the pages it looks at, not the whole table.
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

  ~ImageFile();
  // A regular file only, never through a symbolic link (util/read_file.h).
  static Result<std::shared_ptr<const ImageFile>> Read(const std::string& path);
  // The same file mapped; with `hash`, its sha256 computed as it was read
  // through a buffer before the mapping (so the mapping's pages are only
  // those used).
  static Result<std::shared_ptr<const ImageFile>> Map(const std::string& path, bool hash = true);
  std::string_view bytes() const { return mapped_ != nullptr ? std::string_view(mapped_, size_) : bytes_; }
  bool mapped() const { return mapped_ != nullptr; }
  // Map(): the hex sha256 of the file; Read(): empty (hash bytes()).
  const std::string& sha256() const { return sha256_; }

 private:
  explicit ImageFile(std::string bytes) : bytes_(std::move(bytes)) {}
  ImageFile(const char* mapped, size_t size, std::string sha256)
      : mapped_(mapped), size_(size), sha256_(std::move(sha256)) {}
  const std::string bytes_;
  const char* mapped_ = nullptr;
  size_t size_ = 0;
  std::string sha256_;
};

}  // namespace postern::image
